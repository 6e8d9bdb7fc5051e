/**
 * The maintenance loop in small parts: journal parsing and repair, resume
 * decisions, lease arithmetic, and one node's steps against fakes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  BlockedError,
  ExitCode,
  InterruptedError,
  StudyError,
  TimeoutError,
  UsageError,
} from '../../../src/base/errors.js';
import type { DrainPlan, DrainResult, WorkloadRef } from '../../../src/drain/lib.js';
import { checkOwner, Journal, parseJournal, progressFrom, type JournalEntry } from '../../../src/maintain/journal.js';
import { leaseState, stillHeld } from '../../../src/maintain/lease.js';
import type { NodeReport } from '../../../src/maintain/model.js';
import { batches } from '../../../src/drain/lib.js';
import { maintainNode, remainingSteps, type MaintainApi, type NodeDeps } from '../../../src/maintain/steps.js';
import { drainPlan, podPlan } from '../../support/fake-drain.js';
import { manualClock } from '../../support/fake-maintain.js';

const entry = (node: string, step: JournalEntry['step'], extra: Partial<JournalEntry> = {}): JournalEntry => ({
  time: 't',
  run: 'r',
  node,
  step,
  ...extra,
});

test('the journal: complete lines are read, a torn last line is set aside, any other damage is named', () => {
  const good = `${JSON.stringify(entry('n1', 'cordoned', { cordonedByRun: true }))}\n${JSON.stringify(entry('n1', 'drained'))}\n`;
  assert.equal(parseJournal(good, 'j').entries.length, 2);
  assert.equal(parseJournal(good, 'j').torn, undefined);
  const torn = parseJournal(`${good}{"time":"t","ru`, 'j');
  assert.equal(torn.entries.length, 2);
  assert.equal(torn.torn, '{"time":"t","ru');
  assert.equal(torn.completeBytes, Buffer.byteLength(good));
  // A whole record without its newline is torn too: its write did not finish.
  assert.equal(parseJournal(good.trimEnd(), 'j').torn, JSON.stringify(entry('n1', 'drained')));
  assert.throws(
    () => parseJournal(`{bad\n${good}`, 'j'),
    (e: unknown) => e instanceof UsageError && /journal j line 1 is not valid JSON/.test(e.message),
  );
  assert.throws(() => parseJournal('[1,2]\n', 'j'), /line 1 is not a journal entry/);
  assert.deepEqual(parseJournal('', 'j').entries, []);
});

test('a torn journal is repaired once asked (a run asks when it holds the lock): the torn bytes moved aside, new records never appended onto them', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-journal-'));
  const file = path.join(dir, 'j');
  const text = `${JSON.stringify(entry('n1', 'cordoned'))}\n{"half":`;
  writeFileSync(file, text);
  const j = Journal.open(file, 'run2');
  assert.equal(j.torn, '{"half":');
  assert.equal(readFileSync(file, 'utf8'), text, 'opening writes nothing');
  assert.deepEqual(readdirSync(dir), ['j']);
  const aside = j.setAsideTorn();
  assert.ok(aside);
  assert.equal(readFileSync(aside, 'utf8'), '{"half":');
  j.record({ node: 'n1', step: 'drained' });
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.equal((JSON.parse(lines[1]!) as JournalEntry).step, 'drained');
  assert.equal(Journal.open(file, 'run3').entries.length, 2);
});

test('checking that a journal can be written creates nothing', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-journal-'));
  const file = path.join(dir, 'j');
  Journal.open(file, 'r').checkWritable();
  assert.equal(existsSync(file), false);
  assert.throws(
    () => Journal.open(path.join(dir, 'no-such-dir', 'j'), 'r').checkWritable(),
    (e: unknown) => e instanceof UsageError && /its directory does not exist/.test(e.message),
  );
});

test('a journal that cannot be written is a usage error naming the path and why', () => {
  const missingDir = path.join(tmpdir(), `kstudy-no-such-dir-${process.pid}`, 'j');
  const j = Journal.open(missingDir, 'r');
  assert.throws(
    () => j.record({ node: 'n', step: 'run' }),
    (e: unknown) =>
      e instanceof UsageError && e.message.includes(missingDir) && /its directory does not exist/.test(e.message),
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-journal-'));
  assert.throws(
    () => Journal.open(dir, 'r'),
    (e: unknown) => e instanceof UsageError && /it is a directory/.test(e.message),
  );
});

test('progress from the journal, and what is left to do for a node', () => {
  const p = progressFrom([
    entry('', 'run'),
    entry('n1', 'cordoned', { cordonedByRun: true }),
    entry('n1', 'drained', { workloads: [{ namespace: 'a', kind: 'Deployment', name: 'web' }] }),
    entry('n1', 'failed', { detail: 'x' }),
    entry('n2', 'done'),
  ]);
  assert.equal(p.has(''), false, 'the run record is about no node');
  assert.equal(p.get('n1')?.cordonedByRun, true);
  assert.equal(p.get('n1')?.lastFailure, 'x');
  assert.deepEqual(p.get('n1')?.workloads, [{ namespace: 'a', kind: 'Deployment', name: 'web' }]);
  assert.deepEqual(remainingSteps(p.get('n1')), [
    'volumes-detached',
    'command-done',
    'ready',
    'uncordoned',
    'recovered',
  ]);
  assert.deepEqual(remainingSteps(p.get('n1'), { volumes: false }), [
    'command-done',
    'ready',
    'uncordoned',
    'recovered',
  ]);
  assert.deepEqual(remainingSteps(p.get('n2')), []);
  assert.deepEqual(remainingSteps(undefined), [
    'drained',
    'volumes-detached',
    'command-done',
    'ready',
    'uncordoned',
    'recovered',
  ]);
  // A step under way is taken again; a step an earlier run never took is not taken after a later one.
  const started = progressFrom([entry('n3', 'cordoned'), entry('n3', 'drained'), entry('n3', 'command-started')]);
  assert.deepEqual(remainingSteps(started.get('n3')), ['command-done', 'ready', 'uncordoned', 'recovered']);
  assert.deepEqual(remainingSteps(progressFrom([entry('n4', 'cordoned')]).get('n4'), { volumes: false }), [
    'drained',
    'command-done',
    'ready',
    'uncordoned',
    'recovered',
  ]);
});

test('a journal is refused for another cluster or another node list, saying whose it is', () => {
  const entries = [entry('', 'run', { cluster: { server: 'https://a:6443', uid: 'uid-a' }, nodes: ['n1', 'n2'] })];
  assert.doesNotThrow(() => checkOwner(entries, 'j', { server: 'https://a:6443', uid: 'uid-a' }, ['n2', 'n1']));
  assert.throws(
    () => checkOwner(entries, 'j', { server: 'https://b:6443', uid: 'uid-b' }, ['n1', 'n2']),
    /belongs to another cluster \(https:\/\/a:6443, kube-system uid uid-a\)/,
  );
  assert.throws(
    () => checkOwner(entries, 'j', { server: 'https://a:6443', uid: 'uid-a' }, ['n1']),
    /was written for the nodes n1, n2, not n1/,
  );
  assert.doesNotThrow(() => checkOwner([], 'j', { server: 's', uid: 'u' }, ['x']), 'a new journal belongs to this run');
});

test('lease arithmetic: held until it expires; a holder acts only while its renewal is fresh', () => {
  const at = new Date('2026-01-01T00:00:10Z');
  const lease = {
    spec: { holderIdentity: 'h', renewTime: new Date('2026-01-01T00:00:00Z'), leaseDurationSeconds: 30 },
  };
  assert.deepEqual(leaseState(lease, at), { held: true, holder: 'h', expiresInMs: 20_000, renewedAgoMs: 10_000 });
  assert.equal(leaseState(lease, new Date('2026-01-01T00:00:31Z')).held, false);
  assert.equal(leaseState(undefined, at).held, false);
  assert.equal(
    leaseState({ spec: { renewTime: new Date(at), leaseDurationSeconds: 30 } }, at).held,
    false,
    'no holder: free',
  );
  assert.equal(stillHeld(0, 26_000, 30), true);
  assert.equal(stillHeld(0, 27_000, 30), false, 'a margin of a tenth before anyone could take it over');
});

test('steps are planned in batches of --max-unavailable', () => {
  assert.deepEqual(batches(['a', 'b', 'c', 'd', 'e'], 2), [['a', 'b'], ['c', 'd'], ['e']]);
  assert.deepEqual(batches([], 3), []);
});

function fakeMaintain(plan: DrainPlan, overrides: Partial<MaintainApi> = {}): MaintainApi & { calls: string[] } {
  const calls: string[] = [];
  const result = (outcome: DrainResult['outcome']): DrainResult => ({
    kind: 'DrainResult',
    apiVersion: 'study.kubectl.io/v1',
    outcome,
    cordoned: [{ node: 'n1', changed: true }],
    pods: [],
    workloads: [],
    replacements: [],
    elapsedMs: 1,
    requests: 1,
    throttled: 0,
    plan,
  });
  return {
    calls,
    planRun: async (order) => (
      calls.push(`planRun ${order.map((s) => s.join(',')).join(' ')}`),
      { release: { serverRelease: 'v1.37.2', rules: '1.37' }, steps: [], blocked: [] }
    ),
    plan: async (nodes) => (calls.push(`plan ${nodes.join(',')}`), { plan, podListVersions: new Map() }),
    drain: async () => (calls.push('drain'), result('drained')),
    evictedWorkloads: (): WorkloadRef[] => [{ namespace: 'ns', kind: 'Deployment', name: 'web' }],
    isCordoned: async () => true,
    uncordon: async (n) => void calls.push(`uncordon ${n}`),
    waitReady: async (n) => void calls.push(`ready ${n}`),
    waitAvailable: async (w) => (
      calls.push('recover'),
      w.map((x) => ({ workload: `${x.kind}/${x.name}`, namespace: x.namespace, available: true }))
    ),
    attachedVolumes: async (nodes) => new Map(nodes.map((n) => [n, []])),
    ...overrides,
  };
}

function deps(api: MaintainApi, extra: Partial<NodeDeps> = {}): NodeDeps & { journaled: string[]; phases: string[] } {
  const journaled: string[] = [];
  const phases: string[] = [];
  return {
    api,
    work: {
      label: 'running: work',
      perform: async (_node, _signal, record) => {
        await record.starting({ pid: 0, pgid: 0, host: 'h', startedAt: 't', marker: 'm', log: 'l' });
        await record.started({ pid: 42, pgid: 42, host: 'h', startedAt: 't', marker: 'm', log: 'l' });
        journaled.push('work');
        return { code: 0, stderrTail: '' };
      },
    },
    journal: {
      record: async (e) =>
        void journaled.push(`${e.step}${e.cordonedByRun !== undefined ? `:${e.cordonedByRun}` : ''}`),
    },
    checkLock: () => {},
    say: (_n, phase) => void phases.push(phase),
    onDrainEvent: () => {},
    signal: new AbortController().signal,
    drainTimeoutMs: 0,
    readyTimeoutMs: 1000,
    recoverTimeoutMs: 1000,
    clock: manualClock(Date.UTC(2026, 0, 1)),
    volumeDetach: { wait: true, timeoutMs: 300_000 },
    journaled,
    phases,
    ...extra,
  };
}

const report = (): NodeReport => ({
  node: 'n1',
  status: 'pending',
  phase: 'waiting',
  cordonedByRun: false,
  cordonedNow: false,
  elapsedMs: 0,
});

test('one node from the start: cordon recorded before the drain, the command before its spawn and after, every step journaled in order, uncordoned', async () => {
  const api = fakeMaintain(drainPlan([podPlan('a')]));
  const d = deps(api);
  const r = report();
  await maintainNode(d, 'n1', undefined, r, []);
  assert.deepEqual(d.journaled, [
    'cordoned:true',
    'drained',
    'volumes-detached',
    'command-started',
    'command-started',
    'work',
    'command-done',
    'ready',
    'uncordoned',
    'recovered',
    'done',
  ]);
  assert.deepEqual(api.calls, ['plan n1', 'drain', 'ready n1', 'uncordon n1', 'recover']);
  assert.equal(r.status, 'done');
  assert.equal(r.cordonedNow, false);
});

test('replacements that could not start after the drain are kept in the node report', async () => {
  const plan = drainPlan([podPlan('a')]);
  const stuck = {
    namespace: 'ns',
    name: 'web-2',
    workload: 'Deployment/web',
    reason: 'Pending, unschedulable: 0/3 nodes are available',
  };
  const api = fakeMaintain(plan, {
    drain: async () => ({
      kind: 'DrainResult',
      apiVersion: 'study.kubectl.io/v1',
      outcome: 'drained',
      cordoned: [{ node: 'n1', changed: true }],
      pods: [],
      workloads: [],
      replacements: [stuck],
      elapsedMs: 1,
      requests: 1,
      throttled: 0,
      plan,
    }),
  });
  const r = report();
  await maintainNode(deps(api), 'n1', undefined, r, []);
  assert.deepEqual(r.replacements, ['ns/web-2 of Deployment/web: Pending, unschedulable: 0/3 nodes are available']);
  const plain = report();
  await maintainNode(deps(fakeMaintain(plan)), 'n1', undefined, plain, []);
  assert.equal(plain.replacements, undefined);
});

test('resumed after the command ran: never drained or worked on again', async () => {
  const api = fakeMaintain(drainPlan([podPlan('a')]));
  const d = deps(api);
  const progress = progressFrom([
    entry('n1', 'cordoned', { cordonedByRun: true }),
    entry('n1', 'drained', { workloads: [] }),
    entry('n1', 'command-started'),
    entry('n1', 'command-done'),
  ]);
  const r = { ...report(), cordonedByRun: true };
  await maintainNode(d, 'n1', progress.get('n1'), r, []);
  assert.deepEqual(api.calls, ['ready n1', 'uncordon n1', 'recover']);
  assert.deepEqual(d.journaled, ['ready', 'uncordoned', 'recovered', 'done']);
});

test('a node cordoned before the run is never uncordoned by it', async () => {
  const plan = drainPlan([podPlan('a')]);
  plan.nodes[0]!.unschedulable = true;
  const api = fakeMaintain(plan);
  const d = deps(api);
  const r = report();
  await maintainNode(d, 'n1', undefined, r, []);
  assert.equal(api.calls.includes('uncordon n1'), false);
  assert.ok(d.journaled.includes('cordoned:false'));
  assert.ok(d.phases.includes('stays cordoned: it was cordoned before this run'));
});

test('failures stop the node at the step, with the exit code of what failed', async () => {
  const plan = drainPlan([podPlan('a')]);
  const blocked = {
    ...plan,
    verdict: 'blocked' as const,
    blockers: ['DaemonSetPod: --ignore-daemonsets overrides it'],
  };
  await assert.rejects(
    maintainNode(deps(fakeMaintain(blocked)), 'n1', undefined, report(), []),
    (e: unknown) =>
      e instanceof BlockedError && e.exitCode === ExitCode.BLOCKED && /plan is blocked: DaemonSetPod/.test(e.message),
  );

  const timedOut = fakeMaintain(plan, {
    drain: async () => ({
      kind: 'DrainResult',
      apiVersion: 'study.kubectl.io/v1',
      outcome: 'timed-out',
      cordoned: [],
      pods: [],
      workloads: [],
      replacements: [],
      elapsedMs: 1,
      requests: 1,
      throttled: 0,
      plan,
    }),
  });
  const d = deps(timedOut);
  const r = report();
  await assert.rejects(
    maintainNode(d, 'n1', undefined, r, []),
    (e: unknown) => e instanceof StudyError && e.exitCode === ExitCode.TIMEOUT,
  );
  assert.equal(r.cordonedNow, true, 'the report says the node is cordoned now');
  assert.deepEqual(d.journaled, ['cordoned:true'], 'no drained record for a drain that did not finish');

  const failing = deps(fakeMaintain(plan), {
    work: { label: 'x', perform: async () => ({ code: 7, stderrTail: 'first\ndisk full' }) },
  });
  await assert.rejects(
    maintainNode(failing, 'n1', undefined, report(), []),
    (e: unknown) => e instanceof BlockedError && /the command failed with exit code 7: disk full/.test(e.message),
  );
  assert.equal(failing.journaled.includes('command-done'), false);

  const degraded: string[] = [];
  const slow = fakeMaintain(plan, {
    waitAvailable: async (w) =>
      w.map((x) => ({ workload: `${x.kind}/${x.name}`, namespace: x.namespace, available: false })),
  });
  await assert.rejects(
    maintainNode(deps(slow), 'n1', undefined, report(), degraded),
    (e: unknown) => e instanceof TimeoutError && e.exitCode === ExitCode.TIMEOUT,
  );
  assert.deepEqual(degraded, ['ns/Deployment/web']);
});

test('a lost lock stops the run before its next step', async () => {
  const api = fakeMaintain(drainPlan([podPlan('a')]));
  let held = true;
  const d = deps(api, {
    checkLock: () => {
      if (!held) throw new BlockedError('the maintenance lock was lost');
    },
    work: { label: 'x', perform: async () => ((held = false), { code: 0, stderrTail: '' }) },
  });
  await assert.rejects(maintainNode(d, 'n1', undefined, report(), []), /lock was lost/);
  assert.deepEqual(api.calls, ['plan n1', 'drain'], 'nothing after the step during which the lock was lost');
});

test('interrupted: no next step starts', async () => {
  const api = fakeMaintain(drainPlan([podPlan('a')]));
  const stop = new AbortController();
  const d = deps(api, {
    signal: stop.signal,
    work: { label: 'x', perform: async () => (stop.abort(), { code: 0, stderrTail: '' }) },
  });
  await assert.rejects(
    maintainNode(d, 'n1', undefined, report(), []),
    (e: unknown) => e instanceof InterruptedError && e.exitCode === ExitCode.INTERRUPTED,
  );
  assert.equal(api.calls.includes('ready n1'), false);
});

test('a command an earlier run started and never saw end: refused while alive here, skipped when it finished, run again when cut off; another host needs --resume-step', async () => {
  const { priorCommand } = await import('../../../src/maintain/steps.js');
  const rec = {
    pid: 7,
    pgid: 7,
    host: 'h1',
    startedAt: '2026-01-01T00:00:00Z',
    marker: '/j.n1.exit',
    log: '/j.n1.log',
  };
  const alive = priorCommand('n1', rec, { sameHost: true, alive: true, exitCode: null, neverStarted: false });
  assert.equal(alive.action, 'refuse');
  assert.match(
    alive.action === 'refuse' ? alive.message : '',
    /the command for n1, started by an earlier run at 2026-01-01T00:00:00Z on h1 \(process group 7\), is still running; it is not started again/,
  );
  assert.match(alive.action === 'refuse' ? alive.hint : '', /kill -TERM -- -7/);
  assert.equal(
    priorCommand('n1', rec, { sameHost: true, alive: false, exitCode: 0, neverStarted: false }).action,
    'skip',
  );
  const failed = priorCommand('n1', rec, { sameHost: true, alive: false, exitCode: 4, neverStarted: false });
  assert.equal(failed.action, 'rerun');
  assert.match(failed.action === 'rerun' ? failed.note : '', /ended with exit code 4; it is run again/);
  assert.match(
    JSON.stringify(priorCommand('n1', rec, { sameHost: true, alive: false, exitCode: null, neverStarted: false })),
    /cut off before it finished \(no exit marker\)/,
  );
  const elsewhere = priorCommand('n1', rec, { sameHost: false, alive: false, exitCode: null, neverStarted: false });
  assert.equal(elsewhere.action, 'refuse');
  assert.match(elsewhere.action === 'refuse' ? elsewhere.hint : '', /--resume-step=rerun .* --resume-step=skip/);
  assert.equal(
    priorCommand('n1', rec, { sameHost: false, alive: false, exitCode: null, neverStarted: false }, 'skip').action,
    'skip',
  );
  assert.equal(
    priorCommand('n1', rec, { sameHost: false, alive: false, exitCode: null, neverStarted: false }, 'rerun').action,
    'rerun',
  );
});

test('a gated command recorded just before its spawn and never after never started: it is run now, whatever --resume-step says', async () => {
  const { priorCommand } = await import('../../../src/maintain/steps.js');
  const rec = { pid: 0, pgid: 0, host: 'h1', startedAt: '2026-01-01T00:00:00Z', marker: '/m', log: '/l', gated: true };
  for (const sameHost of [true, false])
    for (const resumeStep of [undefined, 'skip', 'rerun'] as const) {
      const never = priorCommand(
        'n1',
        rec,
        { sameHost, alive: false, exitCode: null, neverStarted: false },
        resumeStep,
      );
      assert.equal(never.action, 'rerun');
      assert.match(
        never.action === 'rerun' ? never.note : '',
        /^the command for n1 was about to be started by an earlier run at 2026-01-01T00:00:00Z on h1 when that run stopped; it never started \(a command starts only once its start is recorded\): it is run now$/,
      );
    }
});

test('a command whose marker says it never passed its gate is run now, on any host, whatever --resume-step says', async () => {
  const { priorCommand } = await import('../../../src/maintain/steps.js');
  const rec = { pid: 7, pgid: 7, host: 'h1', startedAt: '2026-01-01T00:00:00Z', marker: '/m', log: '/l', gated: true };
  for (const sameHost of [true, false])
    for (const resumeStep of [undefined, 'skip', 'rerun'] as const) {
      const never = priorCommand('n1', rec, { sameHost, alive: false, exitCode: null, neverStarted: true }, resumeStep);
      assert.equal(never.action, 'rerun');
      assert.match(never.action === 'rerun' ? never.note : '', /process group 7\), never started: .* it is run now$/);
    }
});

test('an ungated command (a run from before the gate) recorded just before its spawn may or may not run: --resume-step decides', async () => {
  const { priorCommand } = await import('../../../src/maintain/steps.js');
  const rec = { pid: 0, pgid: 0, host: 'h1', startedAt: '2026-01-01T00:00:00Z', marker: '/m', log: '/l' };
  const unknown = priorCommand('n1', rec, { sameHost: true, alive: false, exitCode: null, neverStarted: false });
  assert.equal(unknown.action, 'refuse');
  assert.match(
    unknown.action === 'refuse' ? unknown.message : '',
    /whether it started, and still runs, cannot be told/,
  );
  assert.equal(
    priorCommand('n1', rec, { sameHost: true, alive: false, exitCode: null, neverStarted: false }, 'skip').action,
    'skip',
  );
  assert.equal(
    priorCommand('n1', rec, { sameHost: true, alive: false, exitCode: 0, neverStarted: false }).action,
    'skip',
    'its marker says',
  );
});

test('a prior command that finished is recorded done without running it again', async () => {
  const api = fakeMaintain(drainPlan([podPlan('a')]));
  const d = deps(api, {
    prior: new Map([['n1', { action: 'skip' as const, note: 'finished after that run stopped' }]]),
  });
  const progress = progressFrom([
    entry('n1', 'cordoned', { cordonedByRun: true }),
    entry('n1', 'drained', { workloads: [] }),
    entry('n1', 'command-started', { command: { pid: 1, pgid: 1, host: 'h', startedAt: 't', marker: 'm', log: 'l' } }),
  ]);
  assert.deepEqual(progress.get('n1')?.command?.pgid, 1);
  await maintainNode(d, 'n1', progress.get('n1'), { ...report(), cordonedByRun: true }, []);
  assert.equal(d.journaled.includes('work'), false);
  assert.deepEqual(d.journaled.slice(0, 1), ['command-done']);
});
