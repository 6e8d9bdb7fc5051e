/**
 * The drain's filters, each on its own (a table per filter: the pods it
 * lets through untouched, and what it says of the others), then the chain:
 * its order, and how one filter's decision ends it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';

import {
  alreadyTerminating,
  classifyPod,
  controllerMissing,
  customScheduler,
  daemonSetPod,
  disruptionBudget,
  doNotDisrupt,
  finished,
  hostPathData,
  localStorageVolumes,
  mirrorPod,
  pdbNeverRecovers,
  permissionUnknown,
  placedAfterMove,
  placementUncertain,
  placementUnknown,
  POD_FILTERS,
  safeToEvictFalse,
  skipDeletedLongAgo,
  unplaceable,
  unreplicated,
  workloadOutage,
  type FilterInput,
  type FilterVerdict,
  type PodFacts,
  type PodFilter,
} from '../../../src/drain/filters.js';
import type { PdbPlan, PlanOptions } from '../../../src/drain/model.js';
import { NEWEST_DRAIN_RULES } from '../../../src/drain/rules.js';
import { pdbPlan } from '../../support/fake-drain.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const OPTIONS: PlanOptions = {
  force: false,
  ignoreDaemonSets: false,
  deleteEmptyDirData: false,
  disableEviction: false,
  ignoreOptOuts: false,
  strict: false,
};

const RS: V1OwnerReference = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'r', controller: true };
const DS: V1OwnerReference = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'd', controller: true };

interface PodShape {
  owner?: V1OwnerReference;
  phase?: string;
  ready?: boolean;
  /** When deletion began, relative to NOW, in seconds. */
  deletedSecondsAgo?: number;
  annotations?: Record<string, string>;
  volumes?: NonNullable<V1Pod['spec']>['volumes'];
  scheduler?: string;
}

/** A pod: by default Running, Ready, controlled by a ReplicaSet, with nothing special about it. */
function pod(shape: PodShape = {}): V1Pod {
  const owner = 'owner' in shape ? shape.owner : RS;
  return {
    metadata: {
      name: 'web-1-abc',
      namespace: 'ns',
      ownerReferences: owner ? [owner] : [],
      annotations: shape.annotations ?? {},
      ...(shape.deletedSecondsAgo !== undefined
        ? { deletionTimestamp: new Date(NOW.getTime() - shape.deletedSecondsAgo * 1000) }
        : {}),
    },
    spec: { containers: [], volumes: shape.volumes ?? [], schedulerName: shape.scheduler ?? 'default-scheduler' },
    status: {
      phase: shape.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: shape.ready === false ? 'False' : 'True' }],
    },
  };
}

function input(more: { facts?: Partial<PodFacts>; options?: Partial<PlanOptions>; skip?: number } = {}): FilterInput {
  return {
    facts: { controllerExists: true, pdbs: [], ...more.facts },
    options: { ...OPTIONS, ...more.options },
    now: NOW,
    skipWaitSeconds: more.skip ?? 0,
    rules: NEWEST_DRAIN_RULES.kubectl,
  };
}

/** A verdict in one line per reason: 'blocked: block LocalStorage: emptyDir volume cache (--delete-emptydir-data)'. */
function said(verdict: FilterVerdict): string[] {
  return verdict.reasons.map(
    (r) => `${verdict.action ?? 'next'}: ${r.severity} ${r.code}: ${r.message}${r.override ? ` (${r.override})` : ''}`,
  );
}

interface Row {
  name: string;
  pod: V1Pod;
  input?: FilterInput;
  /** What the filter says; [] when it lets the pod through without a word. */
  says: string[];
}

function table(filter: PodFilter, rows: Row[]): void {
  for (const row of rows) {
    const verdict = filter(row.pod, row.input ?? input());
    assert.deepEqual(said(verdict), row.says, `${filter.name}: ${row.name}`);
    if (row.says.length === 0) assert.equal(verdict.action, undefined, `${filter.name}: ${row.name} decides nothing`);
  }
}

function pdb(verdict: PdbPlan['verdict'], more: Partial<PdbPlan> = {}): PdbPlan {
  return pdbPlan('web', 1, { podsInDrain: 1, healthyInDrain: 1, verdict, ...more });
}

test('skipDeletedLongAgo: only with --skip-wait-for-delete-timeout, only pods deleting for longer', () => {
  table(skipDeletedLongAgo, [
    { name: 'not deleting', pod: pod(), input: input({ skip: 30 }), says: [] },
    { name: 'the flag off', pod: pod({ deletedSecondsAgo: 600 }), says: [] },
    {
      name: 'deleting for as long as the flag',
      pod: pod({ deletedSecondsAgo: 30.9 }),
      input: input({ skip: 30 }),
      says: [],
    },
    {
      name: 'deleting for longer',
      pod: pod({ deletedSecondsAgo: 45 }),
      input: input({ skip: 30 }),
      says: ['skip: info Terminating: terminating for 45s, longer than --skip-wait-for-delete-timeout'],
    },
  ]);
});

test('daemonSetPod: blocks, or skipped with --ignore-daemonsets; an orphan needs --force', () => {
  table(daemonSetPod, [
    { name: 'a ReplicaSet pod', pod: pod(), says: [] },
    { name: 'a finished DaemonSet pod', pod: pod({ owner: DS, phase: 'Succeeded' }), says: [] },
    {
      name: "another group's DaemonSet",
      pod: pod({ owner: { ...DS, apiVersion: 'apps.kruise.io/v1beta1' } }),
      says: [],
    },
    {
      name: 'a DaemonSet pod',
      pod: pod({ owner: DS }),
      says: ['blocked: block DaemonSetPod: managed by DaemonSet agent (--ignore-daemonsets)'],
    },
    {
      name: 'with --ignore-daemonsets',
      pod: pod({ owner: DS }),
      input: input({ options: { ignoreDaemonSets: true } }),
      says: ['skip: info DaemonSetPod: managed by DaemonSet agent'],
    },
    {
      name: 'a terminating one with --ignore-daemonsets: skipped all the same',
      pod: pod({ owner: DS, deletedSecondsAgo: 5 }),
      input: input({ options: { ignoreDaemonSets: true } }),
      says: ['skip: info DaemonSetPod: managed by DaemonSet agent'],
    },
    {
      name: 'its DaemonSet gone',
      pod: pod({ owner: DS }),
      input: input({ facts: { controllerExists: false }, options: { ignoreDaemonSets: true } }),
      says: ['blocked: block OrphanedDaemonSetPod: DaemonSet agent no longer exists (--force)'],
    },
    {
      name: 'its DaemonSet gone, with --force',
      pod: pod({ owner: DS }),
      input: input({ facts: { controllerExists: false }, options: { force: true } }),
      says: ['next: warning OrphanedDaemonSetPod: DaemonSet agent no longer exists (--force)'],
    },
  ]);
});

test('mirrorPod: a static pod is skipped', () => {
  table(mirrorPod, [
    { name: 'an ordinary pod', pod: pod(), says: [] },
    {
      name: 'a mirror pod',
      pod: pod({ owner: undefined, annotations: { 'kubernetes.io/config.mirror': 'abc' } }),
      says: ['skip: info MirrorPod: static pod mirrored from the kubelet'],
    },
  ]);
});

test('localStorageVolumes: emptyDir blocks unless --delete-emptydir-data', () => {
  const volumes = [
    { name: 'cache', emptyDir: {} },
    { name: 'host', hostPath: { path: '/x' } },
    { name: 'tmp', emptyDir: {} },
  ];
  table(localStorageVolumes, [
    { name: 'no emptyDir', pod: pod({ volumes: [{ name: 'host', hostPath: { path: '/x' } }] }), says: [] },
    { name: 'finished', pod: pod({ volumes, phase: 'Failed' }), says: [] },
    {
      name: 'one emptyDir',
      pod: pod({ volumes: [{ name: 'cache', emptyDir: {} }] }),
      says: ['blocked: block LocalStorage: emptyDir volume cache (--delete-emptydir-data)'],
    },
    {
      name: 'two, with --delete-emptydir-data',
      pod: pod({ volumes }),
      input: input({ options: { deleteEmptyDirData: true } }),
      says: ['next: warning LocalStorage: emptyDir volumes cache, tmp (--delete-emptydir-data)'],
    },
  ]);
});

test('unreplicated: a pod no controller recreates blocks unless --force', () => {
  table(unreplicated, [
    { name: 'controlled', pod: pod(), says: [] },
    { name: 'finished', pod: pod({ owner: undefined, phase: 'Succeeded' }), says: [] },
    {
      name: 'no controller',
      pod: pod({ owner: undefined }),
      says: ['blocked: block Unmanaged: no controller (--force)'],
    },
    {
      name: 'an owner that is not its controller',
      pod: pod({ owner: { ...RS, controller: false } }),
      says: ['blocked: block Unmanaged: no controller (--force)'],
    },
    {
      name: 'with --force',
      pod: pod({ owner: undefined }),
      input: input({ options: { force: true } }),
      says: ['next: warning Unmanaged: no controller (--force)'],
    },
  ]);
});

test('alreadyTerminating and finished: decided at once, nothing more to check', () => {
  table(alreadyTerminating, [
    { name: 'running', pod: pod(), says: [] },
    { name: 'terminating', pod: pod({ deletedSecondsAgo: 1 }), says: ['wait: info Terminating: already terminating'] },
  ]);
  table(finished, [
    { name: 'running', pod: pod(), says: [] },
    { name: 'pending', pod: pod({ phase: 'Pending' }), says: [] },
    { name: 'succeeded', pod: pod({ phase: 'Succeeded' }), says: ['evict: info Finished: phase Succeeded'] },
    { name: 'failed', pod: pod({ phase: 'Failed' }), says: ['evict: info Finished: phase Failed'] },
  ]);
});

test('controllerMissing: a controller that no longer exists blocks unless --force', () => {
  table(controllerMissing, [
    { name: 'it exists', pod: pod(), says: [] },
    { name: 'not known', pod: pod(), input: input({ facts: { controllerExists: undefined } }), says: [] },
    {
      name: 'no controller',
      pod: pod({ owner: undefined }),
      input: input({ facts: { controllerExists: false } }),
      says: [],
    },
    { name: 'a DaemonSet', pod: pod({ owner: DS }), input: input({ facts: { controllerExists: false } }), says: [] },
    {
      name: 'gone',
      pod: pod(),
      input: input({ facts: { controllerExists: false } }),
      says: ['next: block ControllerMissing: ReplicaSet web-1 no longer exists (--force)'],
    },
    {
      name: 'gone, with --force',
      pod: pod(),
      input: input({ facts: { controllerExists: false }, options: { force: true } }),
      says: ['next: warning ControllerMissing: ReplicaSet web-1 no longer exists (--force)'],
    },
  ]);
});

test("safeToEvictFalse and doNotDisrupt: the autoscalers' opt-outs block unless --ignore-opt-outs", () => {
  const autoscaler = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
  const karpenter = 'karpenter.sh/do-not-disrupt';
  table(safeToEvictFalse, [
    { name: 'no annotation', pod: pod(), says: [] },
    { name: 'safe to evict', pod: pod({ annotations: { [autoscaler]: 'true' } }), says: [] },
    {
      name: 'not safe to evict',
      pod: pod({ annotations: { [autoscaler]: 'false' } }),
      says: [`next: block SafeToEvictFalse: ${autoscaler}: "false" (--ignore-opt-outs)`],
    },
    {
      name: 'with --ignore-opt-outs',
      pod: pod({ annotations: { [autoscaler]: 'false' } }),
      input: input({ options: { ignoreOptOuts: true } }),
      says: [`next: warning SafeToEvictFalse: ${autoscaler}: "false" (--ignore-opt-outs)`],
    },
  ]);
  table(doNotDisrupt, [
    { name: 'no annotation', pod: pod(), says: [] },
    { name: 'disrupting allowed', pod: pod({ annotations: { [karpenter]: 'false' } }), says: [] },
    {
      name: 'do not disrupt',
      pod: pod({ annotations: { [karpenter]: 'true' } }),
      says: [`next: block DoNotDisrupt: ${karpenter}: "true" (--ignore-opt-outs)`],
    },
    {
      name: 'with --ignore-opt-outs',
      pod: pod({ annotations: { [karpenter]: 'true' } }),
      input: input({ options: { ignoreOptOuts: true } }),
      says: [`next: warning DoNotDisrupt: ${karpenter}: "true" (--ignore-opt-outs)`],
    },
  ]);
});

test('disruptionBudget: several PDBs, one that never allows, waits, or lets pods go one by one', () => {
  const budget = 'PDB ns/web allows 0 disruptions (2 healthy, 2 required of 3)';
  const waits = pdb('waits', { currentHealthy: 2, disruptionsAllowed: 0 });
  const other = pdb('at-once', { name: 'other' });
  table(disruptionBudget, [
    { name: 'no PDB', pod: pod(), says: [] },
    { name: 'a PDB that lets it go', pod: pod(), input: input({ facts: { pdbs: [pdb('at-once')] } }), says: [] },
    {
      name: 'a Pending pod: no PDB is looked at',
      pod: pod({ phase: 'Pending' }),
      input: input({ facts: { pdbs: [pdb('never'), other] } }),
      says: [],
    },
    {
      name: 'two PDBs',
      pod: pod(),
      input: input({ facts: { pdbs: [pdb('at-once'), other] } }),
      says: ['next: block MultiplePdbs: covered by ns/web and ns/other (--disable-eviction)'],
    },
    {
      name: 'two PDBs, with --disable-eviction',
      pod: pod(),
      input: input({ facts: { pdbs: [pdb('at-once'), other] }, options: { disableEviction: true } }),
      says: ['next: warning EvictionDisabled: deleted without checking PDB ns/web, PDB ns/other'],
    },
    {
      name: 'one that never allows, the pod Ready',
      pod: pod(),
      input: input({ facts: { pdbs: [pdb('never', { desiredHealthy: 3, disruptionsAllowed: 0 })] } }),
      says: [
        'next: block PdbNeverAllows: PDB ns/web allows 0 disruptions (3 healthy, 3 required of 3): ' +
          'it can never allow one (--disable-eviction)',
      ],
    },
    {
      name: 'one that never allows, the pod not Ready',
      pod: pod({ ready: false }),
      input: input({ facts: { pdbs: [pdb('never', { desiredHealthy: 3, disruptionsAllowed: 0 })] } }),
      says: [],
    },
    {
      name: 'one that waits, naming the first three pods not healthy',
      pod: pod(),
      input: input({ facts: { pdbs: [{ ...waits, notHealthy: ['a is X', 'b is Y', 'c is Z', 'd is W'] }] } }),
      says: [`next: warning PdbAllowsNone: ${budget}; not healthy: a is X; b is Y; c is Z (and 1 more)`],
    },
    {
      name: 'one that requires none and has none, the pod unready',
      pod: pod({ ready: false }),
      input: input({
        facts: { pdbs: [pdb('waits', { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0 })] },
      }),
      says: [
        'next: warning PdbAllowsNone: PDB ns/web allows 0 disruptions (0 healthy, 0 required of 3): ' +
          'the API server refuses its unready pods ("needs 0 healthy pods and has 0") until one is Ready',
      ],
    },
    {
      name: 'one that lets pods go one by one',
      pod: pod(),
      input: input({ facts: { pdbs: [pdb('one-by-one', { healthyInDrain: 2, unhealthyNeedBudget: 1 })] } }),
      says: [
        'next: info PdbSerial: PDB ns/web allows 1 disruption (3 healthy, 2 required of 3); ' +
          'this drain evicts 3 of the pods it counts',
      ],
    },
  ]);
});

test('permissionUnknown, workloadOutage, placementUncertain, placementUnknown: say what the plan found', () => {
  const facts = (more: Partial<PodFacts>): FilterInput => input({ facts: more });
  table(permissionUnknown, [
    { name: 'nothing forbidden', pod: pod(), says: [] },
    {
      name: 'a read forbidden',
      pod: pod(),
      input: facts({ permissionUnknown: 'you may not read ReplicaSet web-1' }),
      says: ['next: warning PermissionUnknown: you may not read ReplicaSet web-1'],
    },
  ]);
  table(workloadOutage, [
    { name: 'no outage', pod: pod(), says: [] },
    {
      name: 'an outage',
      pod: pod(),
      input: facts({ outage: 'Deployment/web has 1 ready replica' }),
      says: ['next: warning WorkloadOutage: Deployment/web has 1 ready replica'],
    },
  ]);
  table(placementUncertain, [
    { name: 'certain', pod: pod(), says: [] },
    {
      name: 'uncertain',
      pod: pod(),
      input: facts({ uncertain: '0 to 1 stay Pending' }),
      says: ['next: warning PlacementUncertain: 0 to 1 stay Pending'],
    },
  ]);
  table(placementUnknown, [
    { name: 'no notes', pod: pod(), input: facts({ placementNotes: [] }), says: [] },
    {
      name: 'two notes',
      pod: pod(),
      input: facts({ placementNotes: ['a volume to provision', 'a gate'] }),
      says: ['next: info PlacementUnknown: a volume to provision; a gate'],
    },
  ]);
});

test('unplaceable and pdbNeverRecovers: a replacement that finds no node blocks unless --allow-unplaceable', () => {
  table(unplaceable, [
    { name: 'it fits', pod: pod(), says: [] },
    {
      name: 'it fits nowhere',
      pod: pod(),
      input: input({ facts: { wontFit: '0/3 nodes are available' } }),
      says: ['next: block WontFit: 0/3 nodes are available (--allow-unplaceable)'],
    },
    {
      name: 'pinned by a local volume, with --allow-unplaceable',
      pod: pod(),
      input: input({ facts: { wontFit: '0/3 nodes', pinnedBy: 'pv-1' }, options: { allowUnplaceable: true } }),
      says: ['next: warning PinnedByLocalVolume: local PersistentVolume pv-1: 0/3 nodes (--allow-unplaceable)'],
    },
  ]);
  table(pdbNeverRecovers, [
    { name: 'it recovers', pod: pod(), says: [] },
    {
      name: 'it never recovers',
      pod: pod(),
      input: input({ facts: { pdbNeverRecovers: 'PDB ns/web waits' } }),
      says: ['next: block PdbNeverRecovers: PDB ns/web waits (--allow-unplaceable)'],
    },
  ]);
});

test('placedAfterMove: names the first three pods it depends on', () => {
  table(placedAfterMove, [
    { name: 'depends on none', pod: pod(), input: input({ facts: { dependsOn: [] } }), says: [] },
    {
      name: 'one',
      pod: pod(),
      input: input({ facts: { dependsOn: ['ns/a'] } }),
      says: ['next: info PlacedAfterMove: fits only after ns/a is placed'],
    },
    {
      name: 'five',
      pod: pod(),
      input: input({ facts: { dependsOn: ['a', 'b', 'c', 'd', 'e'] } }),
      says: ['next: info PlacedAfterMove: fits only after a, b, c and 2 more are placed'],
    },
  ]);
});

test('hostPathData and customScheduler: risks of the pod itself', () => {
  table(hostPathData, [
    { name: 'no hostPath', pod: pod({ volumes: [{ name: 'cache', emptyDir: {} }] }), says: [] },
    {
      name: 'two',
      pod: pod({
        volumes: [
          { name: 'a', hostPath: { path: '/var/a' } },
          { name: 'b', hostPath: { path: '/b' } },
        ],
      }),
      says: ['next: warning HostPathData: hostPath /var/a, /b'],
    },
  ]);
  table(customScheduler, [
    { name: 'the default scheduler', pod: pod(), says: [] },
    {
      name: 'another',
      pod: pod({ scheduler: 'volcano' }),
      says: ['next: warning CustomScheduler: schedulerName volcano'],
    },
  ]);
});

test("the chain: kubectl's filters in kubectl's order, then pods that will not run, then this project's checks", () => {
  assert.deepEqual(
    POD_FILTERS.map((f) => f.name),
    [
      'skipDeletedLongAgo',
      'daemonSetPod',
      'mirrorPod',
      'localStorageVolumes',
      'unreplicated',
      'alreadyTerminating',
      'finished',
      'controllerMissing',
      'safeToEvictFalse',
      'doNotDisrupt',
      'disruptionBudget',
      'permissionUnknown',
      'workloadOutage',
      'unplaceable',
      'pdbNeverRecovers',
      'placementUncertain',
      'placedAfterMove',
      'placementUnknown',
      'hostPathData',
      'customScheduler',
    ],
  );
});

test('the chain: the first decision ends it; a skip says only why; else every finding, blocked if one blocks', () => {
  const codes = (p: V1Pod, more: Parameters<typeof input>[0] = {}): string => {
    const verdict = classifyPod(p, input(more));
    return `${verdict.action}: ${verdict.reasons.map((r) => r.code).join(', ')}`;
  };
  const emptyDir = [{ name: 'cache', emptyDir: {} }];
  const optOut = { 'karpenter.sh/do-not-disrupt': 'true' };
  // kubectl refuses: nothing after it is looked at.
  assert.equal(codes(pod({ volumes: emptyDir, annotations: optOut })), 'blocked: LocalStorage');
  // Overridden, the refusal is a warning and the chain goes on.
  assert.equal(
    codes(pod({ volumes: emptyDir, annotations: optOut }), { options: { deleteEmptyDirData: true } }),
    'blocked: LocalStorage, DoNotDisrupt',
  );
  // A terminating pod is waited for, with what kubectl's filters found before.
  assert.equal(
    codes(pod({ owner: undefined, deletedSecondsAgo: 3, annotations: optOut }), { options: { force: true } }),
    'wait: Unmanaged, Terminating',
  );
  // A skip says only why it is skipped.
  assert.equal(
    codes(pod({ owner: DS, annotations: { 'kubernetes.io/config.mirror': 'x' } }), {
      facts: { controllerExists: false },
      options: { force: true },
    }),
    'skip: MirrorPod',
  );
  // This project's checks all have their say, in the list's order.
  assert.equal(
    codes(pod({ annotations: optOut, scheduler: 'volcano' }), {
      facts: { controllerExists: false, outage: 'x', wontFit: 'y' },
      options: { force: true, ignoreOptOuts: true, allowUnplaceable: true },
    }),
    'evict: ControllerMissing, DoNotDisrupt, WorkloadOutage, WontFit, CustomScheduler',
  );
  assert.equal(
    codes(pod({ annotations: optOut, scheduler: 'volcano' }), { facts: { outage: 'x' } }),
    'blocked: DoNotDisrupt, WorkloadOutage, CustomScheduler',
  );
  assert.equal(codes(pod()), 'evict: ');
});
