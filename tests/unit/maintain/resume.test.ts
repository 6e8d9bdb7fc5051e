/**
 * A maintenance run whose state the cluster keeps, against the fake
 * cluster: resumed by a command without the first one's journal (another
 * machine), the journal and the cluster's copy merged whichever is ahead,
 * a command started on another host settled with --resume-step, and what
 * stops a run: a missing permission, a 403, the state deleted, an outage.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { BlockedError, ExitCode, UsageError } from '../../../src/base/errors.js';
import type { CommandRecord, JournalEntry } from '../../../src/maintain/journal.js';
import { maintainExitCode, runMaintain } from '../../../src/maintain/run.js';
import { parseState, stateData, type RunState } from '../../../src/maintain/state.js';
import { statusOf } from '../../../src/maintain/status.js';
import { FakeMaintainCluster, fakeWork } from '../../support/fake-maintain.js';
import { context, hooks, journalFile, options, readJournal, statuses } from '../../support/maintain-run.js';

const NS = 'kube-system';
const NAME = 'kubectl-study-maintain';

function state(cluster: FakeMaintainCluster): RunState {
  return parseState(cluster.stateData(), 'fake');
}

function steps(cluster: FakeMaintainCluster, node: string): string[] {
  return (state(cluster).current?.entries ?? []).filter((e) => e.node === node).map((e) => e.step);
}

test('without --journal the run keeps its state in the cluster, and a second command (another machine, no journal) resumes it: nothing done twice, the first one\u2019s cordon known', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2', 'n3']);
  const nodes = ['n1', 'n2', 'n3'];
  const first = await runMaintain(context(), options(nodes, { journal: undefined }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log, (node) => (node === 'n2' ? 7 : 0)),
  });
  assert.equal(first.outcome, 'failed');
  assert.equal(first.state, `${NS}/${NAME}`);
  assert.deepEqual([...cluster.cordoned], ['n2']);
  assert.deepEqual(
    steps(cluster, 'n2'),
    ['cordoned', 'drained', 'volumes-detached', 'failed'],
    'the cluster knows n2 was cordoned by the run',
  );
  const status = statusOf(state(cluster), { namespace: NS, name: NAME }, undefined, new Set(['n2']));
  assert.equal(status.current?.state, 'stopped');
  assert.deepEqual(status.current?.done, ['n1']);
  assert.deepEqual(status.current?.working, [
    { node: 'n2', phase: 'stopped: the command failed with exit code 7', since: status.current!.working[0]!.since },
  ]);
  assert.deepEqual(status.current?.cordoned, [{ node: 'n2', cordonedNow: true }]);
  assert.match(
    status.next ?? '',
    /run the same command again \(nodes n1, n2, n3\) from any machine: .*; or give up with: kubectl study-drain uncordon n2$/,
  );

  cluster.log.length = 0;
  const notes: string[] = [];
  const second = await runMaintain(context(), options(nodes, { journal: undefined }), hooks(notes), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(second.outcome, 'done');
  assert.deepEqual(statuses(second), ['n1 skipped-done', 'n2 done', 'n3 done']);
  assert.deepEqual(cluster.log, [
    'lock',
    'work n2',
    'uncordon n2',
    'recover web-n2',
    'cordon n3',
    'drain n3',
    'work n3',
    'uncordon n3',
    'recover web-n3',
    'release',
  ]);
  const after = state(cluster);
  assert.equal(after.current, undefined, 'a finished run leaves the current slot');
  assert.equal(after.last[0]?.outcome, 'done');
  assert.equal(after.last[0]?.nodeCount, 3);
  assert.deepEqual(after.last[0]?.users, ['fake-user']);
  assert.ok(notes.includes(`the run's state is kept in configmap ${NS}/${NAME}`));
});

test('a run ends what its state says: after a finished run the same command starts a new run; the finished one\u2019s journal is told it finished', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  const file = journalFile();
  await runMaintain(context(), options(['n1'], { journal: file }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  // The journal misses the end (as if its machine died before it was written) while the cluster has it.
  const cut = readJournal(file).filter((e) => e.step !== 'done' && e.step !== 'ended');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, cut.map((e) => `${JSON.stringify(e)}\n`).join(''));
  cluster.log.length = 0;
  const resumed = await runMaintain(context(), options(['n1'], { journal: file }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(resumed.outcome, 'done');
  assert.deepEqual(statuses(resumed), ['n1 skipped-done']);
  assert.match(
    resumed.warnings.join('\n'),
    /the cluster's state says this run finished at .*; the journal missed its end/,
  );
  assert.deepEqual(cluster.log, [], 'no lock, no change');
  const fresh = await runMaintain(context(), options(['n1'], { journal: undefined }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(fresh.outcome, 'done');
  assert.deepEqual(cluster.log, [
    'lock',
    'cordon n1',
    'drain n1',
    'work n1',
    'uncordon n1',
    'recover web-n1',
    'release',
  ]);
  assert.equal(state(cluster).last.length, 2);
});

test('the journal ahead of the cluster (the API server down as the state was written): the run stops there; the same command writes what the cluster missed and goes on, the command not run again', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const file = journalFile();
  const work = fakeWork(cluster.log, (node) => {
    // The record after the command (command-done) meets the outage, as the API server goes away.
    if (node === 'n1' && !cluster.log.includes('work n2')) cluster.configMaps.fail('any', 'outage');
    return 0;
  });
  const first = await runMaintain(context(), options(['n1', 'n2'], { journal: file }), hooks(), { api: cluster, work });
  assert.equal(first.outcome, 'failed');
  assert.equal(maintainExitCode(first), ExitCode.API);
  assert.match(first.nodes[0]?.detail ?? '', /connection refused/);
  assert.ok(
    readJournal(file).some((e) => e.node === 'n1' && e.step === 'command-done'),
    'the journal has it',
  );
  assert.equal(steps(cluster, 'n1').includes('command-done'), false, 'the cluster missed it');
  cluster.log.length = 0;
  const notes: string[] = [];
  const second = await runMaintain(context(), options(['n1', 'n2'], { journal: file }), hooks(notes), {
    api: cluster,
    work,
  });
  assert.equal(second.outcome, 'done');
  assert.match(
    second.warnings.join('\n'),
    /the journal holds records the cluster missed: they are written to the cluster/,
  );
  assert.deepEqual(cluster.log.slice(0, 3), ['lock', 'uncordon n1', 'recover web-n1'], 'n1 goes on after its command');
  assert.equal(cluster.log.filter((l) => l === 'work n1').length, 0);
});

test('the cluster ahead of the journal (another machine went on): the journal gets the records it missed, and nothing is redone', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2', 'n3']);
  const nodes = ['n1', 'n2', 'n3'];
  const file = journalFile();
  await runMaintain(context(), options(nodes, { journal: file }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log, (node) => (node === 'n2' ? 1 : 0)),
  });
  // Another machine, without this journal, does n2 and fails on n3.
  await runMaintain(context(), options(nodes, { journal: undefined }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log, (node) => (node === 'n3' ? 1 : 0)),
  });
  cluster.log.length = 0;
  const third = await runMaintain(context(), options(nodes, { journal: file }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(third.outcome, 'done');
  assert.match(third.warnings.join('\n'), /the cluster holds records the journal missed/);
  assert.deepEqual(statuses(third), ['n1 skipped-done', 'n2 skipped-done', 'n3 done']);
  assert.deepEqual(cluster.log, ['lock', 'work n3', 'uncordon n3', 'recover web-n3', 'release']);
  const journal = readJournal(file);
  assert.deepEqual(
    journal.filter((e) => e.step === 'done').map((e) => e.node),
    ['n1', 'n2', 'n3'],
    'the journal now holds what the other machine did',
  );
});

/** The state of an earlier attempt on host-a that started the command for n1 and was never heard of again. */
function interruptedOnHostA(cluster: FakeMaintainCluster, nodes: string[]): void {
  const time = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const entries: JournalEntry[] = [
    {
      time: time(0),
      run: 'hosta1',
      node: '',
      step: 'run',
      nodes,
      host: 'host-a',
      pid: 100,
      user: 'ops',
      cluster: cluster.identity,
    },
    { time: time(1), run: 'hosta1', node: 'n1', step: 'cordoned', cordonedByRun: true },
    {
      time: time(2),
      run: 'hosta1',
      node: 'n1',
      step: 'drained',
      workloads: [{ namespace: 'ns', kind: 'Deployment', name: 'web-n1' }],
    },
    {
      time: time(3),
      run: 'hosta1',
      node: 'n1',
      step: 'command-started',
      command: { pid: 4242, pgid: 4242, host: 'host-a', startedAt: time(3), marker: '/home/a/m', log: '/home/a/log' },
    },
  ];
  cluster.configMaps.put(NS, NAME, stateData({ current: { id: 'hosta1', nodes, entries }, last: [] }));
  cluster.cordoned.add('n1');
}

test('a command started on another host: refused, naming the host and process group; --resume-step=skip takes it as done, and what host A cordoned is uncordoned', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  interruptedOnHostA(cluster, ['n1', 'n2']);
  await assert.rejects(
    runMaintain(context(), options(['n1', 'n2'], { journal: undefined }), hooks(), {
      api: cluster,
      work: fakeWork(cluster.log),
    }),
    (err: unknown) =>
      err instanceof BlockedError &&
      /the command for n1 was started by an earlier run at 2026-01-01T00:00:03.000Z on host-a \(process group 4242\), another host/.test(
        err.message,
      ) &&
      /--resume-step=rerun .* --resume-step=skip/.test(err.hint ?? ''),
  );
  assert.equal(cluster.log.length, 0);
  const report = await runMaintain(
    context(),
    options(['n1', 'n2'], { journal: undefined, resumeStep: 'skip' }),
    hooks(),
    { api: cluster, work: fakeWork(cluster.log) },
  );
  assert.equal(report.outcome, 'done');
  assert.deepEqual(
    cluster.log.slice(0, 3),
    ['lock', 'uncordon n1', 'recover web-n1'],
    'host A\u2019s cordon is known here',
  );
  assert.equal(cluster.log.includes('work n1'), false, 'the command is not run a second time');
});

test('a command on another host while a run holds the lock: refused as any second run is, naming the holder, not asked to decide', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  interruptedOnHostA(cluster, ['n1', 'n2']);
  cluster.lockHolder = 'host-a/pid-100/hosta1';
  await assert.rejects(
    runMaintain(context(), options(['n1', 'n2'], { journal: undefined }), hooks(), {
      api: cluster,
      work: fakeWork(cluster.log),
    }),
    (err: unknown) =>
      err instanceof BlockedError &&
      /^another maintenance run holds the lock kube-system\/kubectl-study-maintain: host-a\/pid-100\/hosta1/.test(
        err.message,
      ),
  );
  assert.equal(cluster.log.length, 0);
});

test('a missing permission on the state or the lock is one usage error naming each verb and resource, before anything changes', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  cluster.denied.add('update configmaps');
  cluster.denied.add('create leases');
  await assert.rejects(
    runMaintain(context(), options(['n1']), hooks(), { api: cluster, work: fakeWork(cluster.log) }),
    (err: unknown) =>
      err instanceof UsageError &&
      err.exitCode === ExitCode.USAGE &&
      err.message ===
        "not allowed to keep the maintenance run's state and lock: missing update configmaps " +
          '"kubectl-study-maintain" in namespace kube-system, create leases.coordination.k8s.io in namespace kube-system' &&
      /nothing was changed/.test(err.hint ?? ''),
  );
  assert.deepEqual(cluster.log, []);
  assert.deepEqual(cluster.configMaps.calls, [], 'not even read');
  // A dry run needs none of it.
  const dry = await runMaintain(context(), options(['n1'], { dryRun: true, journal: undefined }), hooks(), {
    api: cluster,
  });
  assert.equal(dry.outcome, 'planned');
});

test('a 403 when the run first writes its state is a usage error, before any node is touched; the journal says nothing', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  cluster.configMaps.fail('create', 403);
  const o = options(['n1']);
  await assert.rejects(
    runMaintain(context(), o, hooks(), { api: cluster, work: fakeWork(cluster.log) }),
    (err: unknown) =>
      err instanceof UsageError && /^not allowed to create configmaps in namespace kube-system/.test(err.message),
  );
  assert.deepEqual(cluster.log, ['lock', 'release']);
  assert.deepEqual(cluster.cordoned, new Set());
  assert.equal(existsSync(o.journal!), false);
});

test('the state deleted mid-run: the run stops at the next step boundary and says so, the node left cordoned and named', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const work = fakeWork(cluster.log, () => {
    cluster.configMaps.objects.clear();
    return 0;
  });
  const report = await runMaintain(context(), options(['n1', 'n2'], { journal: undefined }), hooks(), {
    api: cluster,
    work,
  });
  assert.equal(report.outcome, 'failed');
  assert.equal(maintainExitCode(report), ExitCode.BLOCKED);
  assert.equal(
    report.nodes[0]?.detail,
    `the run's state in configmap ${NS}/${NAME} was deleted (by someone else) during the run: stopping here, at a step boundary`,
  );
  assert.deepEqual(statuses(report), ['n1 failed', 'n2 not-started']);
  assert.deepEqual(cluster.log, ['lock', 'cordon n1', 'drain n1', 'work n1', 'release']);
  assert.match(report.next ?? '', /kubectl study-drain uncordon n1$/);
  assert.equal(cluster.stateData(), undefined, 'and it is not written again');
});

test('the command is recorded before it is spawned: when the state cannot take that record, the run stops and the command never runs', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  const work = {
    label: 'working',
    async perform(node: string, _signal: AbortSignal, record: { starting(rec: CommandRecord): Promise<void> }) {
      cluster.configMaps.fail('any', 'outage');
      await record.starting({ pid: 0, pgid: 0, host: 'h', startedAt: 't', marker: 'm', log: 'l' });
      cluster.log.push(`work ${node}`);
      return { code: 0, stderrTail: '' };
    },
  };
  const report = await runMaintain(context(), options(['n1'], { journal: undefined }), hooks(), { api: cluster, work });
  assert.equal(report.outcome, 'failed');
  assert.equal(maintainExitCode(report), ExitCode.API);
  assert.match(report.nodes[0]?.detail ?? '', /connection refused/);
  assert.equal(cluster.log.includes('work n1'), false, 'never spawned');
});

test('another writer between the run\u2019s read and its write: the write is read again and applied again; both changes are in', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  let writes = 0;
  cluster.configMaps.beforeWrite = (call) => {
    if (call !== 'replace' || ++writes !== 3) return;
    const theirs = parseState(cluster.stateData(), 'x');
    theirs.last.push({
      id: 'theirs',
      nodes: ['x'],
      nodeCount: 1,
      startedAt: 'a',
      endedAt: 'b',
      outcome: 'done',
      hosts: [],
      users: [],
    });
    cluster.configMaps.put(NS, NAME, stateData(theirs));
  };
  const report = await runMaintain(context(), options(['n1', 'n2'], { journal: undefined }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(report.outcome, 'done');
  assert.equal(cluster.configMaps.calls.filter((c) => c.endsWith('-> 409')).length, 1);
  assert.deepEqual(
    state(cluster).last.map((r) => r.id),
    [state(cluster).last[0]!.id, 'theirs'],
    'the other writer\u2019s entry is kept beside the finished run',
  );
});

test('a current run of other nodes: refused while its lock is held or a node it cordoned still is; once nothing is left of it, closed as abandoned', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n9']);
  interruptedOnHostA(cluster, ['n9', 'n8']);
  // The state names n1 (interruptedOnHostA's node): the run of n9, n8 cordoned it.
  cluster.lockHolder = 'host-a/pid-100/hosta1';
  await assert.rejects(
    runMaintain(context(), options(['n7']), hooks(), { api: cluster, work: fakeWork(cluster.log) }),
    (err: unknown) =>
      err instanceof BlockedError &&
      /another maintenance run holds the lock .*: host-a\/pid-100\/hosta1/.test(err.message),
  );
  cluster.lockHolder = undefined;
  await assert.rejects(
    runMaintain(context(), options(['n7']), hooks(), { api: cluster, work: fakeWork(cluster.log) }),
    (err: unknown) =>
      err instanceof BlockedError &&
      /the cluster's state holds an unfinished run of other nodes \(n9, n8; run hosta1, started .* on host-a by ops\), which left n1 cordoned/.test(
        err.message,
      ) &&
      /kubectl study-drain uncordon n1, then run this command again/.test(err.hint ?? ''),
  );
  assert.deepEqual(cluster.log, []);
  cluster.cordoned.delete('n1');
  const report = await runMaintain(context(), options(['n7']), hooks(), { api: cluster, work: fakeWork(cluster.log) });
  assert.equal(report.outcome, 'done');
  assert.match(report.warnings.join('\n'), /it left no node cordoned: it is closed as abandoned/);
  assert.deepEqual(
    state(cluster).last.map((r) => `${r.id} ${r.outcome}`),
    [`${state(cluster).last[0]!.id} done`, 'hosta1 abandoned'],
  );
});

test('--dry-run reads the state and says what is resumed, and writes nothing', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  interruptedOnHostA(cluster, ['n1', 'n2']);
  const before = structuredClone(cluster.stateData());
  const report = await runMaintain(context(), options(['n1', 'n2'], { dryRun: true, journal: undefined }), hooks(), {
    api: cluster,
  });
  assert.equal(report.outcome, 'planned');
  assert.equal(report.nodes[0]?.cordonedByRun, true, 'what host A cordoned is known');
  assert.match(
    report.warnings.join('\n'),
    /a real run stops here: the command for n1 was started .* on host-a \(process group 4242\)/,
  );
  assert.deepEqual(cluster.stateData(), before);
  assert.deepEqual(
    cluster.configMaps.calls.filter((c) => !c.startsWith('get')),
    [],
  );
});

test('a journal of an older run of these nodes is set aside, the cluster\u2019s newer run resumed into a fresh copy', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const file = journalFile();
  await runMaintain(context(), options(['n1', 'n2'], { journal: file }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  // Later, another machine starts a run of the same nodes and stops on n2.
  await runMaintain(context(), options(['n1', 'n2'], { journal: undefined }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log, (node) => (node === 'n2' ? 1 : 0)),
  });
  cluster.log.length = 0;
  const report = await runMaintain(context(), options(['n1', 'n2'], { journal: file }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(report.outcome, 'done');
  assert.match(
    report.warnings.join('\n'),
    /the journal holds an older run \(.*\); the cluster's run .* is newer and is resumed/,
  );
  assert.deepEqual(cluster.log, ['lock', 'work n2', 'uncordon n2', 'recover web-n2', 'release']);
  assert.equal(readdirSync(path.dirname(file)).filter((f) => f.startsWith('journal.older-')).length, 1);
});
