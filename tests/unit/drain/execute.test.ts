/**
 * The eviction loop against an in-memory fake API: every answer the API
 * server can give an eviction, in milliseconds.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

import { ExitCode } from '../../../src/base/errors.js';
import { classifyEviction } from '../../../src/drain/evict.js';
import type { DrainEvent } from '../../../src/drain/events.js';
import { drainExitCode, evictedWorkloads, executeDrain, type ExecuteOptions } from '../../../src/drain/execute.js';
import { EvictionQueue } from '../../../src/drain/queue.js';
import { answers, controlledPod, drainPlan, FakeDrainApi, pdbPlan, podPlan } from '../../support/fake-drain.js';

function options(extra: Partial<ExecuteOptions> = {}): ExecuteOptions & { events: DrainEvent[] } {
  const events: DrainEvent[] = [];
  return {
    interrupt: new AbortController().signal,
    concurrency: 10,
    gracePeriodSeconds: -1,
    disableEviction: false,
    waitHealthy: false,
    retry: { initialMs: 1, maxMs: 4 },
    apiOutageMs: 1000,
    pollMs: 1,
    onEvent: (e) => events.push(e),
    events,
    ...extra,
  };
}

const statusOf = (r: Awaited<ReturnType<typeof executeDrain>>, name: string) => r.pods.find((p) => p.name === name);

/**
 * Each drain here runs on node:test's mock clock (setTimeout and Date):
 * time moves 1 ms at a time, and only once everything that can happen at
 * the current instant has happened. Backoffs, deadlines, outage budgets and
 * the fake's pods going away all happen at the same virtual instants on
 * every machine, however loaded.
 */
function mockClock(t: TestContext): { drain: typeof executeDrain } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  return {
    async drain(...args) {
      let settled = false;
      const result = executeDrain(...args).finally(() => {
        settled = true;
      });
      while (!settled) {
        await new Promise((resolve) => setImmediate(resolve));
        if (!settled) t.mock.timers.tick(1);
      }
      return result;
    },
  };
}

test('every eviction answer classified as it means', () => {
  assert.deepEqual(classifyEviction(answers.notFound()), { kind: 'gone' });
  assert.deepEqual(classifyEviction(answers.uidConflict()), { kind: 'replaced' });
  assert.deepEqual(classifyEviction(answers.pdb('web', 3, 2)), {
    kind: 'pdb',
    pdb: 'web',
    needs: { healthy: 3, has: 2 },
    message:
      "The disruption budget web needs 3 healthy pods and has 2 currently Cannot evict pod as it would violate the pod's disruption budget.",
    retryAfterSeconds: 0,
  });
  assert.deepEqual(classifyEviction(answers.throttled(7)), { kind: 'throttled', retryAfterSeconds: 7 });
  assert.deepEqual(classifyEviction(answers.throttled()), { kind: 'throttled', retryAfterSeconds: 0 });
  assert.equal(classifyEviction(answers.multiplePdbs()).kind, 'multiple-pdbs');
  assert.deepEqual(classifyEviction(answers.namespaceTerminating()), { kind: 'namespace-terminating' });
  assert.deepEqual(classifyEviction(answers.forbidden()), {
    kind: 'refused',
    code: 403,
    message: 'pods "x" is forbidden: User "u" cannot create resource "pods/eviction"',
  });
  assert.deepEqual(classifyEviction(answers.reset()), { kind: 'no-answer', code: 'ECONNRESET' });
});

test('200: cordon, evict, wait until gone; every pod gone, exit 0', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a'), podPlan('b'), podPlan('c')];
  const api = new FakeDrainApi(pods, ['n1']);
  const o = options();
  const r = await clock.drain(api, drainPlan(pods), new Map([['n1', '1']]), o);
  assert.equal(r.outcome, 'drained');
  assert.deepEqual(
    r.pods.map((p) => p.status),
    ['gone', 'gone', 'gone'],
  );
  assert.deepEqual(r.cordoned, [{ node: 'n1', changed: true }]);
  assert.equal(api.log[0], 'cordon n1');
  assert.equal(drainExitCode(r), ExitCode.OK);
  assert.deepEqual(o.events.filter((e) => e.type === 'gone').length, 3);
});

test('404 and 409: gone already, or replaced by a pod of the same name; neither is evicted again', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a'), podPlan('b')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set('ns/a', [answers.notFound()]);
  api.script.set('ns/b', [answers.uidConflict()]);
  const r = await clock.drain(api, drainPlan(pods), new Map(), options());
  assert.equal(r.outcome, 'drained');
  assert.deepEqual(statusOf(r, 'a'), {
    namespace: 'ns',
    name: 'a',
    uid: 'uid-a',
    status: 'already-gone',
    message: 'already deleted',
  });
  assert.equal(statusOf(r, 'b')?.message, 'replaced by a new pod with the same name');
  assert.equal(api.log.filter((l) => l.startsWith('evict')).length, 2);
});

test('429 from a PDB: waits, names the PDB and its numbers, retries until allowed', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a', { pdbs: ['ns/web'] })];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set('ns/a', [answers.pdb('web'), answers.pdb('web'), 'ok']);
  const o = options();
  const r = await clock.drain(api, drainPlan(pods, [pdbPlan('web', 0)]), new Map(), o);
  assert.equal(r.outcome, 'drained');
  const waits = o.events.filter((e) => e.type === 'pdb-wait');
  assert.equal(waits.length, 2);
  assert.equal(waits[0]?.type === 'pdb-wait' && waits[0].detail, 'PDB ns/web: it needs 2 healthy pods and has 2');
  assert.equal(r.throttled, 0, 'a PDB refusal is not throttling');
});

test('429 from a PDB without numbers: the PDB is read and its numbers named', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a', { pdbs: ['ns/web'] })];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set('ns/a', [
    Object.assign(answers.pdb('web'), {
      body: JSON.stringify({ code: 429, message: "Cannot evict pod as it would violate the pod's disruption budget." }),
    }),
    'ok',
  ]);
  api.pdbStatus.set('ns/web', { currentHealthy: 1, desiredHealthy: 2, expectedPods: 3, disruptionsAllowed: 0 });
  const o = options();
  await clock.drain(api, drainPlan(pods, [pdbPlan('web', 0)]), new Map(), o);
  const wait = o.events.find((e) => e.type === 'pdb-wait');
  assert.equal(
    wait?.type === 'pdb-wait' && wait.detail,
    'PDB ns/web allows 0 disruptions (1 healthy, 2 required of 3)',
  );
});

test('429 without a PDB (API Priority and Fairness) with and without Retry-After: throttling, retried, reported as such', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a'), podPlan('b')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set('ns/a', [answers.throttled(1), 'ok']);
  api.script.set('ns/b', [answers.throttled(), answers.throttled(), 'ok']);
  const o = options();
  const r = await clock.drain(api, drainPlan(pods), new Map(), o);
  assert.equal(r.outcome, 'drained');
  assert.equal(r.throttled, 3);
  assert.equal(o.events.filter((e) => e.type === 'throttled').length, 3);
  assert.equal(o.events.filter((e) => e.type === 'pdb-wait').length, 0);
});

test('500 "more than one PodDisruptionBudget": that pod fails, the others go, the drain is not done (exit 3)', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a'), podPlan('b')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set('ns/a', [answers.multiplePdbs()]);
  const r = await clock.drain(api, drainPlan(pods), new Map(), options());
  assert.equal(r.outcome, 'failed');
  assert.equal(statusOf(r, 'a')?.status, 'failed');
  assert.match(statusOf(r, 'a')?.message ?? '', /more than one PodDisruptionBudget/);
  assert.equal(statusOf(r, 'b')?.status, 'gone');
  assert.equal(drainExitCode(r), ExitCode.BLOCKED);
});

test('403 NamespaceTerminating: retried, as kubectl retries it, until the namespace controller deletes the pod', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set('ns/a', [answers.namespaceTerminating()]);
  api.terminatingNamespaces.add('ns');
  const o = options();
  const r = await clock.drain(api, drainPlan(pods), new Map(), o);
  assert.equal(r.outcome, 'drained');
  assert.equal(statusOf(r, 'a')?.status, 'gone');
  const plain = new FakeDrainApi(pods, ['n1']);
  plain.script.set('ns/a', [answers.namespaceTerminating(), 'ok']);
  const r2 = await clock.drain(plain, drainPlan(pods), new Map(), options());
  assert.equal(r2.outcome, 'drained', 'a pod not yet marked for deletion is evicted again');
  assert.equal(plain.log.filter((l) => l.startsWith('evict')).length, 2);
});

test('a plain 403 fails that pod with the reason', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set('ns/a', [answers.forbidden()]);
  const r = await clock.drain(api, drainPlan(pods), new Map(), options());
  assert.equal(statusOf(r, 'a')?.status, 'failed');
  assert.match(statusOf(r, 'a')?.message ?? '', /^HTTP 403: .*cannot create resource "pods\/eviction"/);
});

test('a reset connection is retried; each pod has its own outage budget, and past it the drain stops with an API error', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a'), podPlan('b')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set('ns/a', [answers.reset(), answers.reset(), 'ok']);
  const r = await clock.drain(api, drainPlan(pods), new Map(), options());
  assert.equal(r.outcome, 'drained', 'two resets within the budget are ridden through');

  const down = new FakeDrainApi(pods, ['n1']);
  down.script.set(
    'ns/a',
    Array.from({ length: 1000 }, () => answers.reset()),
  );
  const r2 = await clock.drain(down, drainPlan(pods), new Map(), options({ apiOutageMs: 20 }));
  assert.equal(r2.outcome, 'failed');
  assert.match(r2.message ?? '', /cannot evict ns\/a/);
  assert.equal(drainExitCode(r2), ExitCode.API);
});

test('a PDB that allows one: the second eviction starts only after the first pod is gone', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a', { pdbs: ['ns/web'] }), podPlan('b', { pdbs: ['ns/web'] }), podPlan('c')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.goneAfterMs = 5;
  const r = await clock.drain(api, drainPlan(pods, [pdbPlan('web', 1)]), new Map(), options());
  assert.equal(r.outcome, 'drained');
  const at = (line: string): number => api.log.indexOf(line);
  assert.ok(at('gone uid-a') < at('evict ns/b'), api.log.join('\n'));
  assert.ok(at('evict ns/c') < at('gone uid-a'), 'a pod under no PDB does not wait');
});

test('the concurrency bound holds', () => {
  const q = new EvictionQueue([podPlan('a'), podPlan('b'), podPlan('c')], [], 2);
  assert.equal(q.take()?.name, 'a');
  assert.equal(q.take()?.name, 'b');
  assert.equal(q.take(), undefined);
  q.release(podPlan('a'));
  assert.equal(q.take()?.name, 'c');
  const budget = new EvictionQueue(
    [podPlan('a', { pdbs: ['ns/p'] }), podPlan('b', { pdbs: ['ns/p'] })],
    [pdbPlan('p', 0)],
    10,
  );
  assert.equal(budget.take()?.name, 'a', 'a budget of 0 still lets one try');
  assert.equal(budget.take(), undefined);
  budget.updateBudget('ns/p', 2);
  assert.equal(budget.take()?.name, 'b');
  const deleting = new EvictionQueue(
    [podPlan('a', { pdbs: ['ns/p'] }), podPlan('b', { pdbs: ['ns/p'] })],
    [pdbPlan('p', 0)],
    10,
    true,
  );
  assert.equal(deleting.take()?.name, 'a');
  assert.equal(deleting.take()?.name, 'b', '--disable-eviction spends no budget');
});

test('interrupted: no new eviction starts, the report is exact, the node stays cordoned', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a', { pdbs: ['ns/web'] }), podPlan('b', { pdbs: ['ns/web'] })];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set(
    'ns/a',
    Array.from({ length: 100 }, () => answers.pdb('web')),
  );
  const interrupt = new AbortController();
  const o = options({ interrupt: interrupt.signal, onEvent: (e) => e.type === 'pdb-wait' && interrupt.abort() });
  const r = await clock.drain(api, drainPlan(pods, [pdbPlan('web', 1)]), new Map(), o);
  assert.equal(r.outcome, 'interrupted');
  assert.equal(statusOf(r, 'a')?.status, 'blocked');
  assert.equal(statusOf(r, 'b')?.status, 'not-attempted');
  assert.equal(api.log.filter((l) => l === 'evict ns/b').length, 0);
  assert.equal(api.nodes.get('n1')?.unschedulable, true);
  assert.equal(drainExitCode(r), ExitCode.INTERRUPTED);
});

test('the deadline: timed out, evicted pods not yet gone say so', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.goneAfterMs = Infinity;
  const r = await clock.drain(api, drainPlan(pods), new Map(), options({ deadline: Date.now() + 30 }));
  api.markGone('uid-a');
  assert.equal(r.outcome, 'timed-out');
  assert.equal(statusOf(r, 'a')?.status, 'evicted');
  assert.equal(drainExitCode(r), ExitCode.TIMEOUT);
});

test('the watch of the drained pods failing for good stops the drain with an API error', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.goneAfterMs = Infinity;
  api.watchFatal = answers.reset();
  const r = await clock.drain(api, drainPlan(pods), new Map(), options());
  api.markGone('uid-a');
  assert.equal(r.outcome, 'failed');
  assert.match(r.message ?? '', /cannot watch the drained pods/);
  assert.equal(drainExitCode(r), ExitCode.API);
});

test('--disable-eviction deletes; already-terminating pods are waited for; --wait-healthy waits for the workloads', async (t) => {
  const clock = mockClock(t);
  const pods = [
    podPlan('a'),
    podPlan('t', { action: 'wait' }),
    podPlan('d', { action: 'skip', workload: 'DaemonSet/log' }),
  ];
  const api = new FakeDrainApi(pods, ['n1']);
  setTimeout(() => api.markGone('uid-t'), 5);
  api.availabilityAnswers.set('ns/Deployment/web', [
    { want: 2, have: 1 },
    { want: 2, have: 2 },
  ]);
  const r = await clock.drain(api, drainPlan(pods), new Map(), options({ disableEviction: true, waitHealthy: true }));
  assert.equal(r.outcome, 'drained');
  assert.ok(api.log.includes('delete ns/a'));
  assert.deepEqual(
    r.pods.map((p) => p.status),
    ['gone', 'gone', 'skipped'],
  );
  assert.deepEqual(r.workloads, [{ workload: 'Deployment/web', namespace: 'ns', available: true }]);
});

test('a server that accepts and never answers: an interrupt still ends the drain promptly, the unanswered eviction said to be unconfirmed', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a'), podPlan('b')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.hang.add('ns/a');
  api.goneAfterMs = Infinity;
  const interrupt = new AbortController();
  const o = options({
    interrupt: interrupt.signal,
    stopGraceMs: 20,
    onEvent: (e) => e.type === 'evicted' && interrupt.abort(),
  });
  const r = await clock.drain(api, drainPlan(pods), new Map(), o);
  assert.equal(r.outcome, 'interrupted');
  assert.deepEqual(statusOf(r, 'a'), {
    namespace: 'ns',
    name: 'a',
    uid: 'uid-a',
    status: 'unconfirmed',
    message: 'an eviction was sent and no answer came before the drain stopped',
  });
  assert.equal(statusOf(r, 'b')?.status, 'evicted');
});

test('a deadline while cordoning against a server that never answers: timed out, the cordon said to be unknown', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.hangNodes = true;
  const r = await clock.drain(api, drainPlan(pods), new Map(), options({ deadline: Date.now() + 20 }));
  assert.equal(r.outcome, 'timed-out');
  assert.match(r.message ?? '', /stopped while cordoning n1: whether it is cordoned now is not known/);
  assert.deepEqual(r.cordoned, []);
  assert.equal(statusOf(r, 'a')?.status, 'not-attempted');
});

test("a PDB that keeps refusing: the wait names the budget's pods that are not serving, and why", async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a', { pdbs: ['ns/web'] })];
  const api = new FakeDrainApi(pods, ['n1']);
  api.script.set('ns/a', [answers.pdb('web', 2, 1), 'ok']);
  api.unserving.set('ns/web', [
    {
      name: 'web-new',
      reason: 'Pending, unschedulable: 0/3 nodes are available: 3 node(s) had untolerated taint {gpu: true}.',
    },
  ]);
  const o = options();
  const r = await clock.drain(api, drainPlan(pods, [pdbPlan('web', 0)]), new Map(), o);
  assert.equal(r.outcome, 'drained');
  const wait = o.events.find((e) => e.type === 'pdb-wait');
  assert.equal(
    wait?.type === 'pdb-wait' && wait.detail,
    'PDB ns/web: it needs 2 healthy pods and has 1; not healthy yet: web-new is Pending, unschedulable: 0/3 nodes are available: 3 node(s) had untolerated taint {gpu: true}.',
  );
});

const unschedulable =
  "Pending, unschedulable: 0/5 nodes are available: 1 node(s) were unschedulable, 4 node(s) didn't match pod anti-affinity rules.";
const pullBackOff = 'ImagePullBackOff: Back-off pulling image "registry.local/app:2.0"';
const stuckEvents = (events: DrainEvent[]) => events.filter((e) => e.type === 'replacement-stuck');

test('replacements that cannot start are named once each, while the drain runs, and listed in the result; the outcome does not change', async (t) => {
  const clock = mockClock(t);
  const pods = [
    podPlan('a'),
    podPlan('b'),
    podPlan('c', {
      namespace: 'other',
      owners: [
        { kind: 'ReplicaSet', name: 'api-xyz' },
        { kind: 'Deployment', name: 'api' },
      ],
      workload: 'Deployment/api',
    }),
    podPlan('u', { owners: [], workload: '' }),
  ];
  const api = new FakeDrainApi(pods, ['n1']);
  api.goneAfterMs = 30;
  api.controlled.set('ns', [
    [
      controlledPod('web-new1', { stuck: unschedulable }),
      controlledPod('web-new2'), // scheduled, ContainerCreating: not stuck
      controlledPod('web-new3', { answered: false }), // not answered by the scheduler yet
      controlledPod('web-old', { stuck: 'CrashLoopBackOff: back-off 5m' }), // there before the drain
      controlledPod('a', { stuck: 'CrashLoopBackOff: back-off 5m' }), // an evicted pod itself
      controlledPod('other-rs', { controller: { kind: 'ReplicaSet', name: 'else' }, stuck: unschedulable }),
    ],
  ]);
  api.controlled.set('other', [
    [controlledPod('api-new', { controller: { kind: 'ReplicaSet', name: 'api-xyz' }, stuck: pullBackOff })],
  ]);
  const o = options({ replacementCheckMs: 1, replacementSettleMs: 20, existingPods: new Set(['uid-web-old']) });
  const r = await clock.drain(api, drainPlan(pods), new Map(), o);
  assert.equal(r.outcome, 'drained');
  assert.equal(drainExitCode(r), ExitCode.OK);
  assert.ok(api.controlledCalls.length > 4, `looked more than once per namespace (${api.controlledCalls.length})`);
  assert.deepEqual(
    new Set(api.controlledCalls.map((c) => `${c.namespace}:${c.controllers.join(',')}`)),
    new Set(['ns:ReplicaSet/web-abc', 'other:ReplicaSet/api-xyz']),
    'one look per namespace, at the evicted pods\u2019 controllers',
  );
  const byName = <T extends { name: string }>(xs: T[]): T[] => [...xs].sort((x, y) => x.name.localeCompare(y.name));
  assert.deepEqual(
    byName(
      stuckEvents(o.events).map((e) =>
        e.type === 'replacement-stuck'
          ? { name: e.pod.name, namespace: e.pod.namespace, workload: e.workload, reason: e.reason }
          : { name: '' },
      ),
    ),
    [
      { name: 'api-new', namespace: 'other', workload: 'Deployment/api', reason: pullBackOff },
      { name: 'web-new1', namespace: 'ns', workload: 'Deployment/web', reason: unschedulable },
    ],
    'each stuck replacement once, however many looks',
  );
  assert.deepEqual(byName(r.replacements), [
    { namespace: 'other', name: 'api-new', workload: 'Deployment/api', reason: pullBackOff },
    { namespace: 'ns', name: 'web-new1', workload: 'Deployment/web', reason: unschedulable },
  ]);
});

test('a replacement that starts after all is no longer listed; one not yet answered by the scheduler is not stuck', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.goneAfterMs = 30;
  api.controlled.set('ns', [
    [controlledPod('web-new', { answered: false })],
    [controlledPod('web-new', { stuck: unschedulable })],
    [],
  ]);
  const o = options({ replacementCheckMs: 1 });
  const r = await clock.drain(api, drainPlan(pods), new Map(), o);
  assert.equal(stuckEvents(o.events).length, 1, 'named when it was stuck');
  assert.deepEqual(r.replacements, [], 'Ready (or gone) at the last look');

  const fresh = new FakeDrainApi(pods, ['n1']);
  fresh.controlled.set('ns', [[controlledPod('web-new', { answered: false })], [controlledPod('web-new')]]);
  const o2 = options({ replacementCheckMs: 1 });
  const r2 = await clock.drain(fresh, drainPlan(pods), new Map(), o2);
  assert.deepEqual(stuckEvents(o2.events), []);
  assert.deepEqual(r2.replacements, []);
});

test('a look at the replacements that fails never fails the drain: noted once', async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.goneAfterMs = 30;
  api.controlled.set('ns', [answers.reset()]);
  const o = options({ replacementCheckMs: 1 });
  const r = await clock.drain(api, drainPlan(pods), new Map(), o);
  assert.equal(r.outcome, 'drained');
  assert.ok(api.controlledCalls.length > 1);
  assert.deepEqual(
    o.events.filter((e) => e.type === 'replacements-unchecked'),
    [{ type: 'replacements-unchecked', detail: 'request to https://127.0.0.1/api failed, reason: socket hang up' }],
  );
  assert.deepEqual(r.replacements, []);
});

test('the last look waits for the scheduler to answer, and stops as soon as it has', { timeout: 30_000 }, async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a')];
  const api = new FakeDrainApi(pods, ['n1']);
  api.controlled.set('ns', [
    [controlledPod('web-new', { answered: false })],
    [controlledPod('web-new', { answered: false })],
    [controlledPod('web-new', { stuck: unschedulable })],
  ]);
  // No look while the drain runs; the last one may take a minute: it must not need it.
  const o = options({ replacementCheckMs: 60_000, replacementSettleMs: 60_000, replacementSettleEveryMs: 5 });
  const r = await clock.drain(api, drainPlan(pods), new Map(), o);
  assert.equal(r.outcome, 'drained');
  assert.equal(api.controlledCalls.length, 3);
  assert.deepEqual(r.replacements, [
    { namespace: 'ns', name: 'web-new', workload: 'Deployment/web', reason: unschedulable },
  ]);
});

test('the last look is bounded: by its own limit, the deadline and an interrupt, and a drain that drained stays drained', {
  timeout: 30_000,
}, async (t) => {
  const clock = mockClock(t);
  const pods = [podPlan('a')];
  for (const answer of ['hang', [controlledPod('web-new', { answered: false })]] as const) {
    const api = new FakeDrainApi(pods, ['n1']);
    api.controlled.set('ns', [answer === 'hang' ? 'hang' : [...answer]]);
    const r = await clock.drain(
      api,
      drainPlan(pods),
      new Map(),
      options({ replacementCheckMs: 1, replacementSettleMs: 20 }),
    );
    assert.equal(
      r.outcome,
      'drained',
      `${answer === 'hang' ? 'a look never answered' : 'a pod the scheduler never answers'}: the drain ends`,
    );

    const late = new FakeDrainApi(pods, ['n1']);
    late.controlled.set('ns', [answer === 'hang' ? 'hang' : [...answer]]);
    const rd = await clock.drain(
      late,
      drainPlan(pods),
      new Map(),
      options({
        replacementCheckMs: 1,
        replacementSettleMs: 3_600_000,
        replacementSettleEveryMs: 5,
        deadline: Date.now() + 500,
      }),
    );
    assert.equal(rd.outcome, 'drained', 'the deadline ends the last look, and the drain had drained');
    assert.equal(drainExitCode(rd), ExitCode.OK);

    const interrupt = new AbortController();
    const stopped = new FakeDrainApi(pods, ['n1']);
    stopped.controlled.set('ns', [answer === 'hang' ? 'hang' : [...answer]]);
    const ri = await clock.drain(
      stopped,
      drainPlan(pods),
      new Map(),
      options({
        replacementCheckMs: 1,
        replacementSettleMs: 3_600_000,
        replacementSettleEveryMs: 5,
        interrupt: interrupt.signal,
        onEvent: (e) => e.type === 'gone' && setTimeout(() => interrupt.abort(), 20),
      }),
    );
    assert.equal(ri.outcome, 'drained', 'Ctrl-C during the last look: the drain had drained');
  }
});

test("the workloads to wait for are the built-in ones whose pods are gone; another group's StatefulSet is not apps/v1's", () => {
  const plan = drainPlan([
    podPlan('a', {
      owners: [
        { kind: 'ReplicaSet', name: 'web-abc', apiVersion: 'apps/v1' },
        { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
      ],
    }),
    podPlan('k', {
      owners: [{ kind: 'StatefulSet', name: 'web', apiVersion: 'apps.kruise.io/v1beta1' }],
      workload: 'StatefulSet/web',
    }),
    podPlan('s', { owners: [{ kind: 'StatefulSet', name: 'db', apiVersion: 'apps/v1' }], workload: 'StatefulSet/db' }),
    podPlan('b', {
      owners: [{ kind: 'StatefulSet', name: 'left', apiVersion: 'apps/v1' }],
      workload: 'StatefulSet/left',
    }),
  ]);
  const outcomes = ['a', 'k', 's', 'b'].map((n) => ({
    namespace: 'ns',
    name: n,
    uid: `uid-${n}`,
    status: n === 'b' ? ('blocked' as const) : ('gone' as const),
  }));
  assert.deepEqual(evictedWorkloads(plan, outcomes), [
    { namespace: 'ns', kind: 'Deployment', name: 'web' },
    { namespace: 'ns', kind: 'StatefulSet', name: 'db' },
  ]);
});
