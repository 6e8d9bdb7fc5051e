import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError } from '../../../src/base/errors.js';
import { ExecBroker, type ExecCredential, type Plugin } from '../../../src/kube/exec.js';

function plugin(userName: string, command = 'get-token', interactiveMode?: string): Plugin {
  return {
    userName,
    exec: { apiVersion: 'client.authentication.k8s.io/v1', command, ...(interactiveMode ? { interactiveMode } : {}) },
    cluster: { server: 'https://127.0.0.1:6443' },
  };
}

/** A fake plugin runner: records each run, and how many ran at once; each run ends when `release` is called. */
function fakeRunner() {
  const runs: Array<{ user: string; signal: AbortSignal | undefined; finish: (c: ExecCredential | Error) => void }> =
    [];
  let now = 0;
  let most = 0;
  const run = (p: Plugin, _timeout: number, signal?: AbortSignal): Promise<ExecCredential> =>
    new Promise<ExecCredential>((resolve, reject) => {
      now++;
      most = Math.max(most, now);
      runs.push({
        user: p.userName,
        signal,
        finish: (c) => {
          now--;
          if (c instanceof Error) reject(c);
          else resolve(c);
        },
      });
    });
  return { run, runs, most: () => most };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('one run per kubeconfig user for the whole command, however many contexts wait for it', async () => {
  const fake = fakeRunner();
  const broker = new ExecBroker(fake.run, () => false);
  const waiting = [1, 2, 3].map(() => broker.credential(plugin('alice'), 1000));
  const bob = broker.credential(plugin('bob'), 1000);
  await tick();
  assert.deepEqual(
    fake.runs.map((r) => r.user),
    ['alice', 'bob'],
  );
  fake.runs[0]!.finish({ token: 'a' });
  fake.runs[1]!.finish({ token: 'b' });
  assert.deepEqual(
    (await Promise.all(waiting)).map((c) => c.token),
    ['a', 'a', 'a'],
  );
  assert.equal((await bob).token, 'b');
  assert.equal((await broker.credential(plugin('alice'), 1000)).token, 'a', 'kept while it holds');
  assert.equal(fake.runs.length, 2);
});

test('a credential about to expire is asked for again; a failure is not kept', async () => {
  const fake = fakeRunner();
  const broker = new ExecBroker(fake.run, () => false);
  const first = broker.credential(plugin('alice'), 1000);
  await tick();
  fake.runs[0]!.finish({ token: 'old', expiresAt: Date.now() + 5_000 });
  await first;
  const second = broker.credential(plugin('alice'), 1000);
  await tick();
  assert.equal(fake.runs.length, 2, 'expiring within 10 s: run again');
  fake.runs[1]!.finish(new ApiError('plugin failed'));
  await assert.rejects(second, /plugin failed/);
  const third = broker.credential(plugin('alice'), 1000);
  await tick();
  assert.equal(fake.runs.length, 3, 'a failed run is tried again by the next request');
  fake.runs[2]!.finish({ token: 'new' });
  assert.equal((await third).token, 'new');
});

test('never more than the limit at once; an interactive plugin runs alone, the others waiting for it', async () => {
  const fake = fakeRunner();
  const broker = new ExecBroker(fake.run, (p) => p.exec.interactiveMode === 'Always');
  broker.limit = 2;
  const heard: boolean[] = [];
  broker.onInteractive((on) => heard.push(on));
  const pending = ['u1', 'u2', 'u3'].map((u) => broker.credential(plugin(u), 1000));
  await tick();
  assert.equal(fake.runs.length, 2, 'the third waits for a slot');
  const sso = broker.credential(plugin('sso', 'kubelogin', 'Always'), 1000);
  fake.runs[0]!.finish({ token: '1' });
  await tick();
  assert.deepEqual(
    fake.runs.map((r) => r.user),
    ['u1', 'u2', 'u3'],
  );
  fake.runs[1]!.finish({ token: '2' });
  fake.runs[2]!.finish({ token: '3' });
  await Promise.all(pending);
  await tick();
  assert.equal(fake.runs[3]?.user, 'sso', 'the interactive one starts once nothing else runs');
  const later = broker.credential(plugin('u4'), 1000);
  await tick();
  assert.equal(fake.runs.length, 4, 'nothing starts beside it');
  fake.runs[3]!.finish({ token: 's' });
  await sso;
  await tick();
  assert.equal(fake.runs[4]?.user, 'u4');
  fake.runs[4]!.finish({ token: '4' });
  await later;
  assert.equal(fake.most(), 2);
  assert.deepEqual(heard, [true, false]);
});

test('a run is stopped only when every request waiting for it has stopped waiting', async () => {
  const fake = fakeRunner();
  const broker = new ExecBroker(fake.run, () => false);
  const one = new AbortController();
  const two = new AbortController();
  const a = broker.credential(plugin('alice'), 1000, one.signal);
  const b = broker.credential(plugin('alice'), 1000, two.signal);
  await tick();
  one.abort(new Error('context a timed out'));
  await assert.rejects(a, /context a timed out/);
  assert.equal(fake.runs[0]!.signal?.aborted, false, 'b still waits for it');
  two.abort(new Error('context b timed out'));
  await assert.rejects(b, /context b timed out/);
  assert.equal(fake.runs[0]!.signal?.aborted, true);
});

test('a plugin whose every waiter stopped while it queued never runs (no prompt for a context already reported)', async () => {
  const fake = fakeRunner();
  const broker = new ExecBroker(fake.run, (p) => p.exec.interactiveMode === 'Always');
  const sso = broker.credential(plugin('sso', 'kubelogin', 'Always'), 1000);
  await tick();
  const gone = new AbortController();
  const queued = broker.credential(plugin('later'), 1000, gone.signal);
  await tick();
  gone.abort(new Error('context b: no answer within 60s'));
  await assert.rejects(queued, /no answer within 60s/);
  fake.runs[0]!.finish({ token: 's' });
  await sso;
  await tick();
  assert.deepEqual(
    fake.runs.map((r) => r.user),
    ['sso'],
    'the queued plugin was never started',
  );
});

test('a caller already stopped is refused at once: no plugin starts, and no rejection goes unheard', async () => {
  const fake = fakeRunner();
  const broker = new ExecBroker(fake.run, () => false);
  const unheard: unknown[] = [];
  const listen = (reason: unknown): void => void unheard.push(reason);
  process.on('unhandledRejection', listen);
  try {
    const stopped = new AbortController();
    stopped.abort(new Error('the context timed out'));
    await assert.rejects(broker.credential(plugin('alice'), 1000, stopped.signal), /the context timed out/);
    await tick();
    await tick();
    assert.equal(fake.runs.length, 0, 'no plugin started');
    assert.deepEqual(unheard, []);
  } finally {
    process.off('unhandledRejection', listen);
  }
});
