/**
 * The run's state as the cluster keeps it, in small parts and in
 * milliseconds: the ConfigMap's data read and written, compaction and the
 * bound, the merge of the cluster's copy with a local journal (the newer
 * wins, the same run is the union of both), and the store's writes against
 * a fake API server that answers 409, 404, 403 and outages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { BlockedError, ExitCode, UsageError } from '../../../src/base/errors.js';
import { entryKey, progressFrom, type JournalEntry } from '../../../src/maintain/journal.js';
import {
  ATTEMPTS_KEPT,
  basisOf,
  beginRun,
  bounded,
  compactEntries,
  cordonedByRun,
  estimatedStateBytes,
  LAST_RUNS_KEPT,
  MAX_STATE_BYTES,
  mergeEntries,
  parseState,
  resolveRun,
  stateBytes,
  stateData,
  summarize,
  withRecords,
  type CurrentRun,
  type RunState,
  type RunSummary,
} from '../../../src/maintain/state.js';
import { CONFLICT_ATTEMPTS, StateStore } from '../../../src/maintain/store.js';
import { FakeConfigMaps } from '../../support/fake-maintain.js';

let clock = 0;
/** An entry written now (each one a millisecond after the one before). */
function e(run: string, node: string, step: JournalEntry['step'], extra: Partial<JournalEntry> = {}): JournalEntry {
  return { time: new Date(Date.UTC(2026, 0, 1) + clock++ * 1000).toISOString(), run, node, step, ...extra };
}

function start(run: string, nodes: string[], extra: Partial<JournalEntry> = {}): JournalEntry {
  return e(run, '', 'run', { nodes, host: `host-${run}`, user: 'ops', ...extra });
}

/** Every step of one node, from the cordon to done. */
function fullNode(run: string, node: string): JournalEntry[] {
  return [
    e(run, node, 'cordoned', { cordonedByRun: true }),
    e(run, node, 'drained', { workloads: [{ namespace: 'ns', kind: 'Deployment', name: 'web' }] }),
    e(run, node, 'command-started', {
      command: { pid: 7, pgid: 7, host: 'h', startedAt: 't', marker: 'm', log: 'l' },
    }),
    e(run, node, 'command-done'),
    e(run, node, 'ready'),
    e(run, node, 'uncordoned', { detail: 'uncordoned' }),
    e(run, node, 'recovered'),
    e(run, node, 'done'),
  ];
}

const keys = (entries: readonly JournalEntry[]): string[] => entries.map((x) => `${x.node || '-'}:${x.step}`);

test('the ConfigMap data: one key per part, read back as written; damage and a newer format are refused, named', () => {
  const state: RunState = {
    current: { id: 'r1', nodes: ['n1'], entries: [start('r1', ['n1'])] },
    last: [],
  };
  const data = stateData(state);
  assert.deepEqual(Object.keys(data).sort(), ['current', 'format', 'last']);
  assert.deepEqual(parseState(data, 'configmap ns/x'), state);
  assert.deepEqual(parseState(undefined, 'x'), { last: [] }, 'no ConfigMap: no runs');
  assert.throws(
    () => parseState({ ...data, current: '{"id":' }, 'configmap ns/x'),
    (err: unknown) =>
      err instanceof BlockedError && /the run's state in configmap ns\/x is damaged: its "current"/.test(err.message),
  );
  assert.throws(() => parseState({ ...data, format: '2' }, 'configmap ns/x'), /has format "2", which this kubectl/);
});

test('compaction: a node done keeps its done record alone; a node under way its latest record of each step, in order; the first and latest attempts', () => {
  const runs = Array.from({ length: ATTEMPTS_KEPT + 5 }, (_, i) => start(`a${i}`, ['n1', 'n2', 'n3']));
  const entries = [
    runs[0]!,
    ...fullNode('a0', 'n1'),
    e('a0', 'n2', 'cordoned', { cordonedByRun: true }),
    e('a0', 'n2', 'drained'),
    e('a0', 'n2', 'command-started', {
      command: { pid: 1, pgid: 1, host: 'h', startedAt: 't', marker: 'm', log: 'l' },
    }),
    e('a0', 'n2', 'command-stopped', { detail: 'stopped with SIGTERM' }),
    e('a0', 'n2', 'failed', { detail: 'first' }),
    ...runs.slice(1),
    e('a9', 'n2', 'command-started', {
      command: { pid: 2, pgid: 2, host: 'h', startedAt: 't', marker: 'm', log: 'l' },
    }),
    e('a9', 'n2', 'failed', { detail: 'second' }),
  ];
  const compacted = compactEntries(entries);
  assert.deepEqual(keys(compacted.filter((x) => x.node !== '')), [
    'n1:done',
    'n2:cordoned',
    'n2:drained',
    'n2:command-stopped',
    'n2:command-started',
    'n2:failed',
  ]);
  const kept = compacted.filter((x) => x.step === 'run');
  assert.equal(kept.length, ATTEMPTS_KEPT);
  assert.equal(kept[0]!.run, 'a0', 'the first attempt says whose run it is');
  assert.deepEqual(kept[0]!.nodes, ['n1', 'n2', 'n3']);
  assert.ok(
    kept.slice(1).every((x) => x.nodes === undefined),
    'the node list once',
  );
  // What the records say of each node is what they said before.
  const before = progressFrom(entries);
  const after = progressFrom(compacted);
  for (const node of ['n1', 'n2']) {
    assert.equal(after.get(node)?.done, before.get(node)?.done);
    assert.equal(after.get(node)?.lastFailure, before.get(node)?.lastFailure);
    assert.deepEqual(after.get(node)?.command, before.get(node)?.command, `${node}: the command still running`);
  }
  assert.equal(after.get('n2')?.lastFailure, 'second');
  assert.deepEqual(compactEntries(compacted), compacted, 'compacting twice changes nothing');
});

test('merge: the same records once, the ones only one copy has where that copy wrote them', () => {
  const all = [start('a', ['n1']), ...fullNode('a', 'n1').slice(0, 5)];
  // The cluster missed the last two (an outage); the journal has them.
  assert.deepEqual(mergeEntries(all.slice(0, 4), all), all);
  assert.deepEqual(mergeEntries(all, all.slice(0, 4)), all);
  // The cluster compacted some away; the journal holds them all: nothing is lost, nothing twice, the order kept.
  const compacted = [all[0]!, all[2]!, all[4]!];
  assert.deepEqual(mergeEntries(compacted, all), all);
  // Two tails after a common record (a copy of each written apart): both kept, the older first.
  const common = all.slice(0, 2);
  const mine = e('b', 'n1', 'command-started');
  const theirs = e('c', 'n1', 'failed', { detail: 'x' });
  assert.deepEqual(keys(mergeEntries([...common, theirs], [...common, mine])), [
    '-:run',
    'n1:cordoned',
    'n1:command-started',
    'n1:failed',
  ]);
});

const state = (current?: CurrentRun, last: RunSummary[] = []): RunState => ({ ...(current ? { current } : {}), last });

test('resolving the run: the same run in the cluster and the journal is both merged; of two runs of these nodes the newer wins', () => {
  const nodes = ['n1', 'n2'];
  const first = start('r1', nodes);
  const records = [first, ...fullNode('r1', 'n1').slice(0, 4)];

  assert.deepEqual(resolveRun(state(), undefined, nodes), {
    source: 'none',
    toCluster: false,
    toJournal: false,
    setAsideJournal: false,
    notes: [],
  });

  // From the cluster alone: another machine resumes; with --journal, the file gets a copy.
  const cluster = { id: 'r1', nodes, entries: records };
  const fromCluster = resolveRun(state(cluster), [], nodes);
  assert.equal(fromCluster.source, 'cluster');
  assert.deepEqual(fromCluster.resume?.entries, records);
  assert.equal(fromCluster.toJournal, true);
  assert.equal(resolveRun(state(cluster), undefined, nodes).toJournal, false);

  // Both, the journal ahead (the cluster missed records in an outage): the cluster gets them.
  const ahead = [...records, e('r1', 'n1', 'command-done')];
  const both = resolveRun(state(cluster), ahead, nodes);
  assert.equal(both.source, 'both');
  assert.deepEqual(keys(both.resume!.entries), keys(ahead));
  assert.equal(both.toCluster, true);
  assert.equal(both.toJournal, false);

  // Both, the cluster ahead (another machine went on): the journal gets them.
  const other = {
    ...cluster,
    entries: compactEntries([...records, e('r2', '', 'run'), e('r2', 'n1', 'command-done')]),
  };
  const behind = resolveRun(state(other), records, nodes);
  assert.equal(behind.toJournal, true);
  assert.equal(behind.toCluster, false);
  assert.match(behind.notes.join(), /the cluster holds records the journal missed/);

  // Two runs of these nodes: the journal's older one is set aside, the cluster's resumed.
  const older = [start('old', nodes), ...fullNode('old', 'n1')];
  const newer = { id: 'new', nodes, entries: [start('new', nodes)] };
  const clusterWins = resolveRun(state(newer), older, nodes);
  assert.equal(clusterWins.resume?.id, 'new');
  assert.equal(clusterWins.setAsideJournal, true);
  assert.match(
    clusterWins.notes.join(),
    /the journal holds an older run \(old, .*\); the cluster's run new .* is newer/,
  );

  // ...and the other way: the cluster's older run is moved to the history, superseded.
  const stale = { id: 'stale', nodes, entries: [{ ...start('stale', nodes), time: '2025-01-01T00:00:00.000Z' }] };
  const journalWins = resolveRun(state(stale), older, nodes);
  assert.equal(journalWins.resume?.id, 'old');
  assert.equal(journalWins.superseded?.id, 'stale');
  assert.equal(journalWins.toCluster, true);

  // The journal's run, finished by another machine: nothing to do.
  const finished = summarize({ id: 'old', nodes, entries: older }, 'done', 'T');
  const done = resolveRun(state(undefined, [finished]), older, nodes);
  assert.equal(done.finished?.id, 'old');
  assert.match(done.notes.join(), /the cluster's state says this run finished at T \(on host-old\)/);

  // A current run of other nodes is for the caller to settle; this command's own run is decided without it.
  const elsewhere = { id: 'x', nodes: ['n9'], entries: [start('x', ['n9'])] };
  const settled = resolveRun(state(elsewhere), older, nodes);
  assert.equal(settled.other?.id, 'x');
  assert.equal(settled.resume?.id, 'old');
});

test('the bound: the latest runs kept whole, older ones counted in one line, a state too heavy folded further', () => {
  const summary = (i: number): RunSummary => ({
    id: `r${i}`,
    nodes: ['n1'],
    nodeCount: 3,
    startedAt: `2026-01-0${(i % 9) + 1}T00:00:00.000Z`,
    endedAt: `2026-01-0${(i % 9) + 1}T01:00:00.000Z`,
    outcome: 'done',
    hosts: ['h'],
    users: ['u'],
  });
  const many = bounded({ last: Array.from({ length: LAST_RUNS_KEPT + 3 }, (_, i) => summary(i)) });
  assert.equal(many.last.length, LAST_RUNS_KEPT);
  assert.deepEqual(many.older, {
    runs: 3,
    nodes: 9,
    firstStartedAt: '2026-01-06T00:00:00.000Z',
    lastEndedAt: '2026-01-08T01:00:00.000Z',
  });
  const tight = bounded({ last: [summary(1), summary(2)] }, stateBytes({ last: [summary(1)] }) + 10);
  assert.equal(tight.last.length, 0, 'folded until it fits');
  assert.equal(tight.older?.runs, 2);
  const huge = {
    id: 'r',
    nodes: ['n1'],
    entries: [
      start(
        'r',
        Array.from({ length: 60_000 }, (_, i) => `node-${i}`),
      ),
    ],
  };
  assert.throws(
    () => bounded({ current: huge, last: [] }),
    (err: unknown) => err instanceof BlockedError && /more than the 512 KiB the cluster keeps/.test(err.message),
  );
});

test('the size a run can reach: thousands of nodes fit, a run far larger is left to the local journal', () => {
  const names = (n: number): string[] =>
    Array.from({ length: n }, (_, i) => `ip-10-0-${i % 256}-${i}.eu-west-1.compute.internal`);
  assert.ok(estimatedStateBytes(names(2000), 10) < MAX_STATE_BYTES, `${estimatedStateBytes(names(2000), 10)} bytes`);
  assert.ok(estimatedStateBytes(names(10_000), 1) > MAX_STATE_BYTES);
  // The estimate bounds a real run: 2000 nodes done, a full history.
  const run = 'a1b2c3d4';
  const entries = [start(run, names(2000)), ...names(2000).map((n) => e(run, n, 'done'))];
  const real = bounded({ current: { id: run, nodes: names(2000), entries }, last: [] });
  assert.ok(stateBytes(real) < estimatedStateBytes(names(2000), 10));
});

test('records are added once each; a state that holds another run, or none, stops the writer', () => {
  const nodes = ['n1'];
  const s0 = state({ id: 'r1', nodes, entries: [start('r1', nodes)] });
  const rec = e('r1', 'n1', 'cordoned', { cordonedByRun: true });
  const s1 = withRecords(s0, 'cm', 'r1', [rec]);
  assert.deepEqual(withRecords(s1, 'cm', 'r1', [rec]), s1, 'a write sent again after a lost answer adds nothing');
  assert.deepEqual(cordonedByRun(s1.current!.entries), ['n1']);
  assert.throws(
    () => withRecords(state({ id: 'r2', nodes, entries: [] }), 'configmap ns/x', 'r1', [rec]),
    (err: unknown) =>
      err instanceof BlockedError &&
      err.exitCode === ExitCode.BLOCKED &&
      /the run's state in configmap ns\/x now holds another run \(r2\): stopping here, at a step boundary/.test(
        err.message,
      ),
  );
  assert.throws(() => withRecords(state(), 'cm', 'r1', [rec]), /no longer holds this run/);
  const finished = withRecords(s1, 'cm', 'r1', fullNode('r1', 'n1').slice(1), 'done');
  assert.equal(finished.current, undefined);
  assert.equal(finished.last[0]?.id, 'r1');
  assert.equal(finished.last[0]?.outcome, 'done');
  assert.deepEqual(finished.last[0]?.hosts, ['host-r1']);
  assert.deepEqual(
    withRecords(finished, 'cm', 'r1', [e('r1', '', 'ended')], 'done'),
    finished,
    'the end sent again after a lost answer finds it there',
  );
  assert.throws(() => withRecords(finished, 'cm', 'r0', [rec], 'done'), /no longer holds this run/);
});

test('a run starts only on the state it planned from; a run of other nodes it replaces goes to the history, abandoned', () => {
  const other = {
    id: 'x',
    nodes: ['n9', 'n8'],
    entries: [
      start('x', ['n9', 'n8']),
      e('x', 'n9', 'cordoned', { cordonedByRun: true }),
      e('x', 'n9', 'failed', { detail: 'boom' }),
    ],
  };
  const read = state(other);
  const resolution = resolveRun(read, undefined, ['n1']);
  const mine = { id: 'me', nodes: ['n1'], entries: [start('me', ['n1'])] };
  const begun = beginRun(read, basisOf(read), 'cm', resolution, mine, 'T');
  assert.equal(begun.current?.id, 'me');
  assert.deepEqual(begun.last[0], {
    id: 'x',
    nodes: ['n9', 'n8'],
    nodeCount: 2,
    startedAt: other.entries[0]!.time,
    endedAt: 'T',
    outcome: 'abandoned',
    hosts: ['host-x'],
    users: ['ops'],
    lastError: 'boom',
  });
  const moved = withRecords(read, 'cm', 'x', [e('x', 'n9', 'drained')]);
  assert.throws(
    () => beginRun(moved, basisOf(read), 'configmap ns/x', resolution, mine, 'T'),
    (err: unknown) => err instanceof BlockedError && /changed while this command planned/.test(err.message),
  );
  // The start sent again after its answer was lost (it landed): found there, not taken for another run's change.
  assert.deepEqual(beginRun(begun, basisOf(read), 'cm', resolution, mine, 'T'), begun);
  const later = { ...mine, entries: [start('me', ['n1'], { time: '2099-01-01T00:00:00.000Z' })] };
  assert.throws(
    () => beginRun(begun, basisOf(read), 'cm', resolution, later, 'T'),
    /changed while this command planned/,
  );
});

const where = { namespace: 'ops', name: 'kubectl-study-maintain' };

test('the store writes as controllers write: a 409 is read again and the change applied again, the other writer\u2019s change kept', async () => {
  const api = new FakeConfigMaps();
  const store = new StateStore(api, where.namespace, where.name, async () => {});
  const nodes = ['n1'];
  await store.update((s) => ({ ...s, current: { id: 'r1', nodes, entries: [start('r1', nodes)] } }), { create: true });
  // Another writer comes between the run's read and its write, once: it adds a history entry.
  let other = true;
  api.beforeWrite = () => {
    if (!other) return;
    other = false;
    const data = api.objects.get('ops/kubectl-study-maintain')!.data!;
    const theirs = parseState(data, 'x');
    data.note = 'another writer\u2019s key';
    theirs.last.push({
      id: 'theirs',
      nodes: [],
      nodeCount: 0,
      startedAt: 'a',
      endedAt: 'b',
      outcome: 'done',
      hosts: [],
      users: [],
    });
    api.put(where.namespace, where.name, { ...data, ...stateData(theirs) });
  };
  const rec = e('r1', 'n1', 'cordoned', { cordonedByRun: true });
  await store.update((s) => withRecords(s, store.where, 'r1', [rec]), { create: false });
  assert.deepEqual(
    api.calls.filter((c) => c.startsWith('replace')),
    ['replace ops/kubectl-study-maintain -> 409', 'replace ops/kubectl-study-maintain'],
  );
  const after = await store.read();
  assert.deepEqual(
    after.last.map((r) => r.id),
    ['theirs'],
    'the other writer\u2019s change is kept',
  );
  assert.equal(
    api.objects.get('ops/kubectl-study-maintain')?.data?.note,
    'another writer\u2019s key',
    'and its own key',
  );
  assert.equal(
    after.current?.entries.at(-1) && entryKey(after.current.entries.at(-1)!),
    entryKey(rec),
    'and the run\u2019s record is in, once',
  );
  assert.equal(after.current?.entries.length, 2);
});

test('the store: a ConfigMap created by another at the same moment is read and written over its version; one that keeps changing is given up on', async () => {
  const api = new FakeConfigMaps();
  const store = new StateStore(api, where.namespace, where.name, async () => {});
  api.beforeWrite = (call) => {
    if (call === 'create' && !api.objects.size) api.put(where.namespace, where.name, stateData({ last: [] }));
  };
  await store.update((s) => ({ ...s, current: { id: 'r1', nodes: ['n1'], entries: [] } }), { create: true });
  assert.deepEqual(api.calls.slice(0, 3), [
    'get ops/kubectl-study-maintain',
    'create ops/kubectl-study-maintain',
    'get ops/kubectl-study-maintain',
  ]);
  assert.equal((await store.read()).current?.id, 'r1');
  api.fail('replace', 409, CONFLICT_ATTEMPTS);
  await assert.rejects(
    store.update((s) => s, { create: false }),
    (err: unknown) =>
      err instanceof BlockedError && /kept changing under this run \(12 writes in a row/.test(err.message),
  );
});

test('the store: deleted under the run, it stops the run; a 403 is a usage error naming the verb and resource; an outage is the API error it is', async () => {
  const api = new FakeConfigMaps();
  const store = new StateStore(api, where.namespace, where.name, async () => {});
  await assert.rejects(
    store.update((s) => s, { create: false }),
    (err: unknown) =>
      err instanceof BlockedError &&
      /the run's state in configmap ops\/kubectl-study-maintain was deleted \(by someone else\) during the run: stopping here, at a step boundary/.test(
        err.message,
      ),
  );
  api.fail('create', 403);
  await assert.rejects(
    store.update((s) => s, { create: true }),
    (err: unknown) =>
      err instanceof UsageError &&
      err.exitCode === ExitCode.USAGE &&
      /^not allowed to create configmaps in namespace ops \(the run's state, kubectl-study-maintain\)/.test(
        err.message,
      ),
  );
  api.fail('get', 'outage');
  await assert.rejects(
    store.read(),
    (err: unknown) =>
      err instanceof Error &&
      (err as { exitCode?: number }).exitCode === ExitCode.API &&
      /connection refused/.test(err.message),
  );
  // Deleted between the read and the write: the next read says so.
  await store.update((s) => s, { create: true });
  api.beforeWrite = () => api.objects.clear();
  await assert.rejects(
    store.update((s) => s, { create: false }),
    /was deleted/,
  );
});
