/**
 * The maintenance run against an in-memory fake cluster: its batches, its
 * lock, its journal and resume, and what stops it, in milliseconds. Each
 * test says which nodes were cordoned and uncordoned, where the run
 * stopped, and with which error and exit code.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test, type TestContext } from 'node:test';

import { BlockedError, ExitCode, TimeoutError, UsageError } from '../../../src/base/errors.js';
import { clusterDrainApi, waitAvailable } from '../../../src/drain/lib.js';
import { KubeClient } from '../../../src/kube/client.js';
import type { JournalEntry } from '../../../src/maintain/journal.js';
import { maintainExitCode, runMaintain } from '../../../src/maintain/run.js';
import { FakeMaintainCluster, fakeWork } from '../../support/fake-maintain.js';
import { context, hooks, journalFile, options, readJournal, statuses } from '../../support/maintain-run.js';

const journal = readJournal;

test('two nodes, one at a time: each cordoned, worked on, uncordoned and recovered before the next; the lock held throughout', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const o = options(['n1', 'n2']);
  const report = await runMaintain(context(), o, hooks(), { api: cluster, work: fakeWork(cluster.log) });
  assert.equal(report.outcome, 'done');
  assert.equal(maintainExitCode(report), ExitCode.OK);
  assert.deepEqual(statuses(report), ['n1 done', 'n2 done']);
  assert.deepEqual(cluster.log, [
    'lock',
    'cordon n1',
    'drain n1',
    'work n1',
    'uncordon n1',
    'recover web-n1',
    'cordon n2',
    'drain n2',
    'work n2',
    'uncordon n2',
    'recover web-n2',
    'release',
  ]);
  assert.deepEqual(cluster.cordoned, new Set(), 'nothing left cordoned');
  const entries = journal(o.journal!);
  assert.deepEqual(entries[0]?.cluster, cluster.identity, 'the run record says whose journal it is');
  assert.deepEqual(
    entries.filter((e) => e.step === 'done').map((e) => e.node),
    ['n1', 'n2'],
  );
});

test('a failure stops the run after its batch: the batch finishes, the next is not started, the failed node stays cordoned', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2', 'n3']);
  const work = fakeWork(cluster.log, (node) => (node === 'n1' ? 7 : 0));
  const report = await runMaintain(context(), options(['n1', 'n2', 'n3'], { maxUnavailable: '2' }), hooks(), {
    api: cluster,
    work,
  });
  assert.equal(report.outcome, 'failed');
  assert.equal(report.errorExitCode, ExitCode.BLOCKED);
  assert.equal(maintainExitCode(report), ExitCode.BLOCKED);
  assert.deepEqual(statuses(report), ['n1 failed', 'n2 done', 'n3 not-started']);
  assert.equal(report.nodes[0]?.detail, 'the command failed with exit code 7');
  assert.deepEqual([...cluster.cordoned], ['n1'], 'the failed node stays cordoned; n3 was never touched');
  assert.equal(cluster.log.includes('cordon n3'), false);
  assert.match(report.next ?? '', /kubectl study-drain uncordon n1$/);
  assert.equal(cluster.log.at(-1), 'release');
});

test('a drain that did not finish stops the node with the drain\u2019s exit code, before its work', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  cluster.drainOutcome.set('n1', {
    outcome: 'failed',
    message: 'cannot evict ns/web-n1: connection refused',
    errorExitCode: ExitCode.API,
  });
  const report = await runMaintain(context(), options(['n1', 'n2']), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(report.outcome, 'failed');
  assert.equal(maintainExitCode(report), ExitCode.API);
  assert.equal(
    report.nodes[0]?.detail,
    'the drain did not finish (failed: cannot evict ns/web-n1: connection refused)',
  );
  assert.deepEqual(cluster.log, ['lock', 'cordon n1', 'release']);
});

test('the recover step meets a 503 from the API server: the report names the request and the server\u2019s words, exit 6', async (t) => {
  const client = await clientAnswering(t, 503, 'the server is shutting down');
  const cluster = new FakeMaintainCluster(['n1']);
  // The real wait over the real client: the 503 goes the whole way, from the transport to the report.
  cluster.waitAvailable = (workloads, signal) => waitAvailable(clusterDrainApi(client), workloads, signal, () => {});
  const o = options(['n1']);
  const report = await runMaintain(context(), o, hooks(), { api: cluster, work: fakeWork(cluster.log) });
  const detail = 'cannot GET /apis/apps/v1/namespaces/ns/deployments/web-n1: the server is shutting down';
  assert.equal(report.outcome, 'failed');
  assert.equal(report.nodes[0]?.detail, detail);
  assert.equal(maintainExitCode(report), ExitCode.API);
  assert.equal(journal(o.journal!).findLast((e) => e.step === 'failed')?.detail, detail, 'the journal says it too');
  assert.deepEqual(cluster.log, ['lock', 'cordon n1', 'drain n1', 'work n1', 'uncordon n1', 'release']);
});

test('another run holds the lock: refused before anything changes, naming the holder (exit 3)', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  cluster.lockHolder = 'other-host/pid-1/run';
  const o = options(['n1']);
  await assert.rejects(
    runMaintain(context(), o, hooks(), { api: cluster, work: fakeWork(cluster.log) }),
    (e: unknown) =>
      e instanceof BlockedError && e.exitCode === ExitCode.BLOCKED && /other-host\/pid-1\/run/.test(e.message),
  );
  assert.deepEqual(cluster.log, []);
  assert.deepEqual(cluster.cordoned, new Set());
  assert.equal(existsSync(o.journal!), false, 'a refused run writes nothing: not even an empty journal');
});

test('a run refused by the lock leaves a torn journal as it found it: nothing set aside, nothing appended', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  cluster.lockHolder = 'other-host/pid-1/run';
  const file = journalFile();
  const text = `${JSON.stringify({ time: 't', run: 'old', node: 'n1', step: 'cordoned', cordonedByRun: true })}\n{"half":`;
  writeFileSync(file, text);
  await assert.rejects(
    runMaintain(context(), options(['n1'], { journal: file }), hooks(), { api: cluster, work: fakeWork(cluster.log) }),
    BlockedError,
  );
  assert.equal(readFileSync(file, 'utf8'), text);
  assert.deepEqual(readdirSync(path.dirname(file)), ['journal'], 'no .torn- file beside it');
  assert.deepEqual(cluster.log, []);
});

test('the lock lost during a node\u2019s work: the run stops before the next step, the node left cordoned (exit 3)', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const work = fakeWork(cluster.log, () => {
    cluster.lockHeld = false;
    return 0;
  });
  const report = await runMaintain(context(), options(['n1', 'n2']), hooks(), { api: cluster, work });
  assert.equal(report.outcome, 'failed');
  assert.equal(maintainExitCode(report), ExitCode.BLOCKED);
  assert.match(report.nodes[0]?.detail ?? '', /^the maintenance lock was lost/);
  assert.deepEqual(statuses(report), ['n1 failed', 'n2 not-started']);
  assert.deepEqual(cluster.log, ['lock', 'cordon n1', 'drain n1', 'work n1', 'release']);
  assert.deepEqual([...cluster.cordoned], ['n1']);
});

test('a node that does not come back Ready stops the run at that step with a timeout (exit 4)', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  cluster.notReady.add('n1');
  const report = await runMaintain(context(), options(['n1', 'n2']), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(report.outcome, 'timed-out');
  assert.equal(maintainExitCode(report), ExitCode.TIMEOUT);
  assert.equal(report.nodes[0]?.detail, 'node n1 was not Ready within 10m0s');
  assert.deepEqual(cluster.log, ['lock', 'cordon n1', 'drain n1', 'work n1', 'release']);
});

test('interrupted during the work: the run stops there, outcome interrupted (exit 130), the lock released', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const interrupt = new AbortController();
  const work = fakeWork(cluster.log, () => {
    interrupt.abort();
    return 0;
  });
  const report = await runMaintain(context(interrupt.signal), options(['n1', 'n2']), hooks(), { api: cluster, work });
  assert.equal(report.outcome, 'interrupted');
  assert.equal(maintainExitCode(report), ExitCode.INTERRUPTED);
  assert.equal(report.nodes[0]?.detail, 'interrupted while the command ran');
  assert.deepEqual(cluster.log, ['lock', 'cordon n1', 'drain n1', 'work n1', 'release']);
});

test('the run\u2019s --timeout running out mid-run: timed out at the step it was in (exit 4)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  const work = fakeWork(cluster.log, (_node, signal) => {
    t.mock.timers.tick(60_000);
    assert.ok(signal.aborted, 'the --timeout fired while the command ran');
    return 0;
  });
  const report = await runMaintain(context(), options(['n1', 'n2'], { timeout: '1m' }), hooks(), {
    api: cluster,
    work,
  });
  assert.equal(report.outcome, 'timed-out');
  assert.equal(maintainExitCode(report), ExitCode.TIMEOUT);
  assert.equal(report.nodes[0]?.detail, "the run's --timeout ran out while the command ran");
  assert.deepEqual(cluster.log, ['lock', 'cordon n1', 'drain n1', 'work n1', 'release']);
});

test('the --timeout running out while planning: the API server that never answered is named, not a run that ran out (exit 4)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const cases: Array<{ silent: boolean; error: RegExp }> = [
    { silent: true, error: /^the API server fake:6443 did not answer within --timeout 1m0s; nothing was changed$/ },
    { silent: false, error: /^no plan within --timeout 1m0s; nothing was changed$/ },
  ];
  for (const c of cases) {
    const cluster = new FakeMaintainCluster(['n1']);
    cluster.silent = c.silent;
    // An answered server that is slow to plan: the plan never comes, but the server spoke.
    if (!c.silent) cluster.planRun = () => new Promise(() => {});
    const run = runMaintain(context(), options(['n1'], { timeout: '1m' }), hooks(), {
      api: cluster,
      work: fakeWork(cluster.log),
    });
    await new Promise((resolve) => setImmediate(resolve));
    t.mock.timers.tick(60_000);
    await assert.rejects(run, (err: unknown) => {
      assert.ok(err instanceof TimeoutError, String(err));
      assert.match(err.message, c.error);
      assert.ok(err.hint, 'and a hint');
      return true;
    });
    assert.deepEqual(cluster.log, [], 'nothing was changed');
  }
});

test('a blocked run plan changes nothing: no lock, no cordon, outcome blocked (exit 3)', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2']);
  cluster.blocked.set('n2', ['DaemonSetPod: --ignore-daemonsets overrides it']);
  const report = await runMaintain(context(), options(['n1', 'n2']), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(report.outcome, 'blocked');
  assert.equal(maintainExitCode(report), ExitCode.BLOCKED);
  assert.deepEqual(report.plan.blocked, [{ node: 'n2', blockers: ['DaemonSetPod: --ignore-daemonsets overrides it'] }]);
  assert.deepEqual(cluster.log, []);
});

test('--dry-run plans and names the run holding the lock; it takes no lock and changes nothing', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  cluster.lockHolder = 'other-host/pid-1/run';
  const report = await runMaintain(context(), options(['n1'], { dryRun: true, journal: undefined }), hooks(), {
    api: cluster,
  });
  assert.equal(report.outcome, 'planned');
  assert.equal(maintainExitCode(report), ExitCode.OK);
  assert.equal(report.lockHeldBy, 'other-host/pid-1/run');
  assert.deepEqual(cluster.log, []);
});

test('resumed from the journal: a node done is skipped, a node drained is not drained again, and only what this run cordoned is uncordoned', async () => {
  const cluster = new FakeMaintainCluster(['n1', 'n2', 'n3']);
  cluster.cordoned.add('n2');
  cluster.cordoned.add('n3'); // by the operator, before this run
  const file = journalFile();
  const line = (node: string, step: JournalEntry['step'], extra: Partial<JournalEntry> = {}): string =>
    JSON.stringify({ time: 't', run: 'earlier', node, step, ...extra });
  writeFileSync(
    file,
    [
      line('', 'run', { cluster: cluster.identity, nodes: ['n1', 'n2', 'n3'] }),
      line('n1', 'done'),
      line('n2', 'cordoned', { cordonedByRun: true }),
      line('n2', 'drained', { workloads: [{ namespace: 'ns', kind: 'Deployment', name: 'web-n2' }] }),
      '',
    ].join('\n'),
  );
  const report = await runMaintain(context(), options(['n1', 'n2', 'n3'], { journal: file }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.equal(report.outcome, 'done');
  assert.deepEqual(statuses(report), ['n1 skipped-done', 'n2 done', 'n3 done']);
  assert.deepEqual(cluster.log, [
    'lock',
    'work n2',
    'uncordon n2',
    'recover web-n2',
    'cordon n3',
    'drain n3',
    'work n3',
    'recover web-n3',
    'release',
  ]);
  assert.deepEqual([...cluster.cordoned], ['n3'], 'n3 was cordoned before the run and stays so');
});

test('a journal of another cluster is refused before anything changes (exit 2)', async () => {
  const cluster = new FakeMaintainCluster(['n1']);
  const file = journalFile();
  writeFileSync(
    file,
    `${JSON.stringify({ time: 't', run: 'r', node: '', step: 'run', cluster: { server: 'https://other:6443', uid: 'other' }, nodes: ['n1'] })}\n`,
  );
  await assert.rejects(
    runMaintain(context(), options(['n1'], { journal: file }), hooks(), { api: cluster, work: fakeWork(cluster.log) }),
    (e: unknown) => e instanceof UsageError && /belongs to another cluster/.test(e.message),
  );
  assert.deepEqual(cluster.log, []);
});

test('-l: the nodes the selector matches, in name order', async () => {
  const cluster = new FakeMaintainCluster(['n2', 'n1']);
  const report = await runMaintain(context(), options([], { selector: 'pool=blue' }), hooks(), {
    api: cluster,
    work: fakeWork(cluster.log),
  });
  assert.deepEqual(report.plan.order, [['n1'], ['n2']]);
  assert.deepEqual(
    cluster.log.filter((l) => l.startsWith('work')),
    ['work n1', 'work n2'],
  );
});

/** A client of a loopback server that answers every request with `status` and a Status object. */
async function clientAnswering(t: TestContext, status: number, message: string): Promise<KubeClient> {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: status, message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const ctx = {
    contextName: 'c',
    clusterName: 'c',
    userName: 'u',
    cluster: { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    user: {},
    namespace: 'default',
    namespaceFromFlag: false,
  };
  return new KubeClient(ctx, undefined, 5000);
}
