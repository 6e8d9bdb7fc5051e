/**
 * Volumes detach before the command: which volumes a node has attached
 * (VolumeAttachments naming it, its status.volumesAttached, named by their
 * PersistentVolume, claim and pods), and the run's wait for them on a
 * clock that moves only when waited on: the command starts only once none
 * is attached, a timeout stops the run with the node cordoned and the
 * volumes named, and --skip-volume-detach-wait does not wait.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { V1PersistentVolume, V1Pod, V1VolumeAttachment } from '@kubernetes/client-node';

import { ExitCode } from '../../../src/base/errors.js';
import { maintainExitCode, runMaintain } from '../../../src/maintain/run.js';
import { renderPlanSummary } from '../../../src/maintain/print.js';
import { VOLUME_POLL_MS } from '../../../src/maintain/steps.js';
import {
  attachedVolumes,
  describeVolumes,
  withEarlierPods,
  type AttachedVolume,
} from '../../../src/maintain/volumes.js';
import { FakeMaintainCluster, fakeWork, manualClock } from '../../support/fake-maintain.js';
import { context, hooks, options, statuses } from '../../support/maintain-run.js';

function va(name: string, node: string, pv?: string): V1VolumeAttachment {
  return {
    metadata: { name },
    spec: { attacher: 'csi.example.com', nodeName: node, source: pv ? { persistentVolumeName: pv } : {} },
  };
}

function pv(name: string, handle: string, claim?: string): V1PersistentVolume {
  const [namespace, claimName] = claim?.split('/') ?? [];
  return {
    metadata: { name },
    spec: {
      csi: { driver: 'csi.example.com', volumeHandle: handle },
      ...(claim ? { claimRef: { namespace: namespace!, name: claimName! } } : {}),
    },
  };
}

function pod(
  ns: string,
  name: string,
  volumes: V1Pod['spec'] extends infer S ? (S extends { volumes?: infer V } ? V : never) : never,
): V1Pod {
  return { metadata: { namespace: ns, name }, spec: { containers: [], volumes } };
}

test('the volumes attached to a node: from its VolumeAttachments and its status, one per PersistentVolume, with claim and pods', () => {
  const found = attachedVolumes('n1', {
    volumesAttached: [{ name: 'kubernetes.io/csi/csi.example.com^vol-a' }, { name: 'kubernetes.io/aws-ebs/vol-x' }],
    attachments: [va('csi-1', 'n1', 'pv-a'), va('csi-2', 'n1', 'pv-b'), va('csi-3', 'n2', 'pv-c')],
    persistentVolumes: [
      pv('pv-a', 'vol-a', 'db/data-db-0'),
      pv('pv-b', 'vol-b', 'web/web-1-cache'),
      pv('pv-c', 'vol-c'),
    ],
    pods: [
      pod('db', 'db-0', [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }]),
      pod('web', 'web-1', [{ name: 'cache', ephemeral: { volumeClaimTemplate: { spec: {} } } }]),
      pod('db', 'other', [{ name: 'x', emptyDir: {} }]),
    ],
  });
  assert.deepEqual(found, [
    { name: 'kubernetes.io/aws-ebs/vol-x', pods: [] },
    { name: 'pv-a', claim: 'db/data-db-0', pods: ['db/db-0'] },
    { name: 'pv-b', claim: 'web/web-1-cache', pods: ['web/web-1'] },
  ]);
  assert.deepEqual(
    attachedVolumes('n3', { volumesAttached: [], attachments: [va('x', 'n1')], persistentVolumes: [], pods: [] }),
    [],
    'another node\u2019s attachment is not this one\u2019s',
  );
  assert.equal(
    describeVolumes(found.slice(1)),
    '2 volumes: pv-a (claim db/data-db-0, used by db/db-0), pv-b (claim web/web-1-cache, used by web/web-1)',
  );
  // After the drain the pods are gone: the ones seen before still name the volume.
  assert.deepEqual(withEarlierPods([{ name: 'pv-a', claim: 'db/data-db-0', pods: [] }], found), [
    { name: 'pv-a', claim: 'db/data-db-0', pods: ['db/db-0'] },
  ]);
});

const DATA: AttachedVolume = { name: 'pv-a', claim: 'db/data-db-0', pods: ['db/db-0'] };

test('attached volumes that detach after a while: the command starts only once none is, the wait said with the volumes and pods, on the run\u2019s clock', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  // The plan sees it, the drain sees it (with its pod), three looks after the drain see it, then it is gone.
  cluster.volumes.set('n1', [
    [DATA],
    [DATA],
    [{ ...DATA, pods: [] }],
    [{ ...DATA, pods: [] }],
    [{ ...DATA, pods: [] }],
    [],
  ]);
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const phases: string[] = [];
  const report = await runMaintain(context(), options(['n1']), hooks([], phases), {
    api: cluster,
    work: fakeWork(cluster.log),
    clock,
  });
  assert.equal(report.outcome, 'done');
  assert.deepEqual(report.nodes[0]?.volumes, [DATA], 'the plan lists the node\u2019s attached volumes');
  const work = cluster.log.indexOf('work n1');
  assert.ok(work > cluster.log.lastIndexOf('volumes n1: pv-a'), cluster.log.join(' '));
  assert.equal(cluster.log.filter((l) => l === 'volumes n1: pv-a').length, 5);
  assert.deepEqual(clock.slept, [VOLUME_POLL_MS, VOLUME_POLL_MS, VOLUME_POLL_MS]);
  assert.ok(
    phases.includes('n1: waiting for 1 volume: pv-a (claim db/data-db-0, used by db/db-0) to detach'),
    phases.join('\n'),
  );
});

test('attached volumes that never detach: the run stops at the timeout, the node cordoned and the volumes named, the command never run', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  cluster.volumes.set('n1', [[DATA]]);
  const clock = manualClock(Date.UTC(2026, 0, 1));
  const report = await runMaintain(context(), options(['n1', 'n2'], { volumeDetachTimeout: '1m' }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
    clock,
  });
  assert.equal(report.outcome, 'timed-out');
  assert.equal(maintainExitCode(report), ExitCode.TIMEOUT);
  assert.equal(
    report.nodes[0]?.detail,
    '1 volume: pv-a (claim db/data-db-0, used by db/db-0) still attached to n1 after --volume-detach-timeout 1m0s; ' +
      'the command was not run and n1 stays cordoned',
  );
  assert.deepEqual(statuses(report), ['n1 failed', 'n2 not-started']);
  assert.equal(cluster.log.includes('work n1'), false);
  assert.deepEqual([...cluster.cordoned], ['n1']);
  assert.equal(
    clock.slept.reduce((a, b) => a + b, 0),
    60_000,
    'it waited the timeout on the run\u2019s clock, no longer',
  );
  assert.match(report.next ?? '', /kubectl study-drain uncordon n1$/);
});

test('--skip-volume-detach-wait: the command runs with the volume attached, and the plan warns that it will', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  cluster.volumes.set('n1', [[DATA]]);
  const looks: string[][] = [];
  const look = cluster.attachedVolumes.bind(cluster);
  cluster.attachedVolumes = (nodes) => {
    looks.push(nodes);
    return look(nodes);
  };
  const notes: string[] = [];
  const report = await runMaintain(context(), options(['n1'], { skipVolumeDetachWait: true }), hooks(notes), {
    api: cluster,
    work: fakeWork(cluster.log),
    clock: manualClock(0),
  });
  assert.equal(report.outcome, 'done');
  assert.ok(
    notes.includes(
      'warning: --skip-volume-detach-wait: the command for n1 may run while 1 volume: pv-a (claim db/data-db-0, used by db/db-0) is attached',
    ),
    notes.join('\n'),
  );
  assert.ok(cluster.log.includes('work n1'));
  // The plan looks once; the drain does not look again for a wait that is skipped (nor needs leave to list them).
  assert.deepEqual(looks, [['n1']]);
});

test('--dry-run: the plan lists each node\u2019s attached volumes', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  cluster.volumes.set('n2', [[DATA, { name: 'pv-z', pods: [] }]]);
  const report = await runMaintain(context(), options(['n1', 'n2'], { dryRun: true, journal: undefined }), hooks(), {
    api: cluster,
  });
  const text = renderPlanSummary(report, ['n1', 'n2'], new Map());
  assert.match(text, /^ {2}attached to n2: 2 volumes: pv-a \(claim db\/data-db-0, used by db\/db-0\), pv-z$/m);
  assert.doesNotMatch(text, /attached to n1/);
  assert.deepEqual(
    report.nodes[1]?.volumes?.map((v) => v.name),
    ['pv-a', 'pv-z'],
  );
});
