/**
 * The JSON study maintain prints is the JSON the README documents, checked
 * without a cluster: MaintainReport and MaintainStatus made by runs against
 * the fake cluster, every optional field made to appear once, compared
 * with the README's JSON line for the kind. A field printed that the line
 * does not name fails, and so does a field the line names that no run
 * prints.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import type { JournalEntry } from '../../../src/maintain/journal.js';
import type { MaintainReport, MaintainStatus } from '../../../src/maintain/model.js';
import { runMaintain } from '../../../src/maintain/run.js';
import { bounded, stateData, type RunState } from '../../../src/maintain/state.js';
import { statusOf } from '../../../src/maintain/status.js';
import { documentedJson, undocumentedFields, type JsonField } from '../../support/readme.js';
import { FakeMaintainCluster, fakeWork, manualClock } from '../../support/fake-maintain.js';
import { context, hooks, options } from '../../support/maintain-run.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The documented fields no document printed, with their path. */
function neverPrinted(docs: unknown[], fields: Map<string, JsonField>, where = ''): string[] {
  const out: string[] = [];
  for (const [key, field] of fields) {
    const values = docs.flatMap((d) =>
      d && typeof d === 'object' && key in d ? [(d as Record<string, unknown>)[key]] : [],
    );
    if (values.length === 0) {
      out.push(`${where}${key}`);
      continue;
    }
    if (field.fields) {
      const inner = values.flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v) => v && typeof v === 'object');
      if (inner.length) out.push(...neverPrinted(inner, field.fields, `${where}${key}.`));
    }
  }
  return out;
}

const json = (value: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

async function reports(): Promise<MaintainReport[]> {
  const out: MaintainReport[] = [];
  // Done, with a journal, the state, windows, volumes, replacements that could not start.
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  cluster.volumes.set('n1', [[{ name: 'pv-a', claim: 'ns/data', pods: ['ns/db-0'] }], []]);
  const drain = cluster.drain.bind(cluster);
  cluster.drain = async (...args) => ({
    ...(await drain(...args)),
    replacements: [{ namespace: 'ns', name: 'web-2', workload: 'Deployment/web', reason: 'Pending' }],
  });
  out.push(
    await runMaintain(context(), options(['n1', 'n2'], { window: ['09:00-17:00'], pauseBetween: '1m' }), hooks(), {
      api: cluster,
      work: fakeWork(cluster.log),
      clock: manualClock(Date.parse('2026-01-05T10:00:00Z')),
    }),
  );
  // Failed: next, errorExitCode, a node's detail, degraded workloads.
  const failing = new FakeMaintainCluster(['n1']);
  failing.waitAvailable = async (w) =>
    w.map((x) => ({ workload: `${x.kind}/${x.name}`, namespace: x.namespace, available: false }));
  out.push(await runMaintain(context(), options(['n1']), hooks(), { api: failing, work: fakeWork(failing.log) }));
  // A dry run while another run holds the lock.
  const held = new FakeMaintainCluster(['n1']);
  held.lockHolder = 'other/pid-1/x';
  out.push(await runMaintain(context(), options(['n1'], { dryRun: true, journal: undefined }), hooks(), { api: held }));
  // A plan where a replacement finds no node.
  const tight = new FakeMaintainCluster(['n1']);
  const planRun = tight.planRun.bind(tight);
  tight.planRun = async (order) => ({ ...(await planRun(order)), firstUnplaceable: 0, maxUnavailableThatFits: 1 });
  out.push(
    await runMaintain(context(), options(['n1'], { dryRun: true, journal: undefined }), hooks(), { api: tight }),
  );
  return out;
}

function statuses(): MaintainStatus[] {
  const t = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const entries: JournalEntry[] = [
    {
      time: t(0),
      run: 'a1',
      node: '',
      step: 'run',
      nodes: ['n1', 'n2'],
      host: 'h',
      pid: 1,
      user: 'u',
      schedule: { windows: ['09:00-17:00'], pauseBetweenMs: 0, outsideWindow: 'wait' },
    },
    { time: t(1), run: 'a1', node: 'n1', step: 'cordoned', cordonedByRun: true },
    { time: t(2), run: 'a1', node: 'n1', step: 'drained' },
    {
      time: t(3),
      run: 'a1',
      node: 'n1',
      step: 'command-started',
      command: { pid: 5, pgid: 5, host: 'h', startedAt: t(3), marker: 'm', log: 'l' },
    },
    { time: t(4), run: 'a1', node: 'n1', step: 'failed', detail: 'boom' },
    { time: t(5), run: 'a1', node: '', step: 'ended', outcome: 'failed', detail: 'n1: boom' },
  ];
  const history = Array.from({ length: 7 }, (_, i) => ({
    id: `old${i}`,
    nodes: ['x'],
    nodeCount: 1,
    startedAt: t(0),
    endedAt: t(1),
    outcome: 'superseded' as const,
    hosts: ['h'],
    users: ['u'],
    lastError: 'e',
    leftCordoned: ['x'],
  }));
  const state: RunState = bounded({ current: { id: 'a1', nodes: ['n1', 'n2'], entries }, last: history });
  assert.ok(stateData(state).older, 'the history overflowed into one line');
  const where = { namespace: 'kube-system', name: 'kubectl-study-maintain' };
  return [
    statusOf(state, where, { held: true, holder: 'h/pid-1/a1', expiresInMs: 1, renewedAgoMs: 1 }, new Set(['n1'])),
    statusOf({ last: [] }, where, undefined, new Set()),
  ];
}

for (const [kind, make] of [
  ['MaintainReport', reports],
  ['MaintainStatus', async () => statuses()],
] as const) {
  test(`${kind}: every field printed is in the README's JSON line, and every field the line names is printed`, async () => {
    const fields = documentedJson(README).get(kind);
    assert.ok(fields, `the README has no JSON line for ${kind}`);
    const docs = (await make()).map(json);
    assert.ok(docs.every((d) => d.kind === kind));
    assert.deepEqual(
      docs.flatMap((d) => undocumentedFields(d, fields)),
      [],
      `fields ${kind} prints that the README does not document`,
    );
    assert.deepEqual(neverPrinted(docs, fields), [], `fields the README documents for ${kind} that no run printed`);
  });
}
