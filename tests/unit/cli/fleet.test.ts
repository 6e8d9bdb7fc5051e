import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ApiError,
  ExitCode,
  fleetExitCode,
  NotFoundError,
  TimeoutError,
  UsageError,
  type ExitCodeValue,
} from '../../../src/base/errors.js';
import type { Command, RunContext } from '../../../src/base/run.js';
import { renderFleet, runFleet, type FleetDeps, type FleetEntry } from '../../../src/cli/fleet.js';
import { fleetOptions } from '../../../src/cli/flags.js';
import { parseArgs } from '../../../src/cli/program.js';
import { contextPatterns, selectContexts, type FleetOptions } from '../../../src/kube/contexts.js';
import type { ConnectionOptions } from '../../../src/kube/connection.js';
import { mergeKubeconfigs } from '../../../src/kube/kubeconfig.js';
import { captureIo } from '../../support/io.js';

const NAMES = ['prod-eu', 'prod-us', 'prod-old', 'staging', 'dev-1', 'dev-2'];

test('--contexts globs select in the kubeconfig order; "!" excludes; nothing selected is not found, naming the contexts', () => {
  const cases: Array<[string, string[]]> = [
    ['prod-*', ['prod-eu', 'prod-us', 'prod-old']],
    ['prod-*,!prod-old', ['prod-eu', 'prod-us']],
    ['!prod-*', ['staging', 'dev-1', 'dev-2']],
    ['dev-?', ['dev-1', 'dev-2']],
    ['dev-[!1]', ['dev-2']],
    ['staging,prod-eu', ['prod-eu', 'staging']],
    ['prod-e.', []],
    ['*', NAMES],
  ];
  for (const [patterns, want] of cases) {
    if (want.length === 0) {
      assert.throws(
        () => selectContexts(NAMES, contextPatterns(patterns)),
        (e: unknown) =>
          e instanceof NotFoundError &&
          e.message.includes(`"${patterns}"`) &&
          (e.hint ?? '').includes('prod-eu, prod-us'),
      );
      continue;
    }
    assert.deepEqual(selectContexts(NAMES, contextPatterns(patterns)), want, patterns);
  }
  assert.deepEqual(selectContexts(NAMES, 'all'), NAMES);
  assert.throws(() => contextPatterns('a,,b'), UsageError);
  assert.throws(() => contextPatterns('eu-[12'), /without its "\]"/);
  assert.throws(() => selectContexts([], 'all'), NotFoundError);
});

test('the fleet exit code: the code every context gave, 7 when they differ, 8 when some gave none, 130 interrupted', () => {
  const { OK, NEGATIVE, BLOCKED, MIXED, PARTIAL, INTERRUPTED } = ExitCode;
  assert.equal(fleetExitCode([OK, OK, OK], 0, false), OK);
  assert.equal(fleetExitCode([NEGATIVE, NEGATIVE], 0, false), NEGATIVE);
  assert.equal(fleetExitCode([BLOCKED], 0, false), BLOCKED);
  assert.equal(fleetExitCode([OK, NEGATIVE], 0, false), MIXED);
  assert.equal(fleetExitCode([OK, OK], 1, false), PARTIAL);
  assert.equal(fleetExitCode([], 3, false), PARTIAL);
  assert.equal(fleetExitCode([OK], 0, true), INTERRUPTED);
});

test('fleet flags are validated once: with --context, --cluster or --user, without a fleet, --stream without -o json', () => {
  assert.equal(fleetOptions({}, 'table'), undefined);
  assert.deepEqual(fleetOptions({ contexts: 'a,b', parallel: '3' }, 'table'), {
    contexts: ['a', 'b'],
    parallel: 3,
    stream: false,
  });
  assert.deepEqual(fleetOptions({ allContexts: true, contextTimeout: '10s', stream: true }, 'json'), {
    contexts: 'all',
    parallel: 8,
    stream: true,
    contextTimeoutMs: 10_000,
  });
  const refused: Array<[Parameters<typeof fleetOptions>[0], RegExp]> = [
    [{ contexts: 'a', context: 'b' }, /--context cannot be combined with --contexts/],
    [{ allContexts: true, user: 'u' }, /--user cannot be combined with --all-contexts/],
    [{ allContexts: true, cluster: 'c' }, /--cluster cannot be combined/],
    [{ contexts: 'a', allContexts: true }, /both given/],
    [{ parallel: '2' }, /--parallel applies only/],
    [{ stream: true }, /--stream applies only/],
    [{ contextTimeout: '5s' }, /--context-timeout applies only/],
    [{ contexts: 'a', stream: true }, /--stream needs -o json/],
    [{ contexts: 'a', parallel: '0' }, /--parallel takes a whole number from 1 to 64/],
    [{ contexts: 'a', contextTimeout: '0' }, /invalid --context-timeout/],
  ];
  for (const [flags, message] of refused) assert.throws(() => fleetOptions(flags, 'table'), message);
});

test('a real drain or maintenance run is one cluster per run: across contexts only with --dry-run', () => {
  const io = captureIo();
  assert.throws(
    () => parseArgs('study-drain', ['n1', '--all-contexts'], io),
    /a real drain changes one cluster per run.*/,
  );
  assert.throws(
    () => parseArgs('study', ['maintain', 'n1', '--contexts', 'a', '--run', 'true'], io),
    /a real maintenance run changes one cluster per run/,
  );
  const parsed = parseArgs('study-drain', ['n1', '--dry-run', '--contexts', 'prod-*'], io);
  assert.equal(parsed.kind === 'run' && parsed.operation.fleet?.contexts[0], 'prod-*');
  const undo = (): unknown => parseArgs('study-rollout', ['undo', 'deploy/web', '--all-contexts'], io);
  assert.throws(undo, /unknown option '--all-contexts'/);
});

interface Opts {
  connection: ConnectionOptions;
}

const OPTIONS: Opts = { connection: { allNamespaces: false, asGroups: [], requestTimeoutMs: 0 } };

function deps(names: string[]): FleetDeps {
  return {
    contexts: () => ({
      contexts: names.map((context) => ({ context, cluster: `c-${context}`, server: `https://${context}:6443` })),
    }),
    now: Date.now,
  };
}

function runContext(signal = new AbortController().signal): RunContext {
  return { io: captureIo(), signal, verbose: false, output: 'json' };
}

/** A command answering by context name: a value, an error, or never. */
function fakeCommand(
  answer: (context: string, signal: AbortSignal) => Promise<{ code: ExitCodeValue }>,
): Command<Opts, { code: ExitCodeValue; context: string }> & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async run(ctx, o) {
      const context = o.connection.context ?? '';
      asked.push(context);
      return { ...(await answer(context, ctx.signal)), context };
    },
    exitCode: (r) => r.code,
    render: (r) => `answer of ${r.context}\n`,
    document: (r) => ({ kind: 'Fake', context: r.context }),
    rows: (r) => ({ headers: ['ANSWER'], rows: r.code === 0 ? [[`yes ${r.context}`]] : [], empty: '(none)' }),
  };
}

const fleet = (over: Partial<FleetOptions> = {}): FleetOptions => ({
  contexts: 'all',
  parallel: 8,
  stream: false,
  ...over,
});

test('each context is asked with --context set to it, the answers in kubeconfig order, each the one-context JSON', async () => {
  const delays: Record<string, number> = { a: 30, b: 0, c: 10 };
  const command = fakeCommand(async (c) => {
    await new Promise((r) => setTimeout(r, delays[c]));
    return { code: c === 'c' ? ExitCode.NEGATIVE : ExitCode.OK };
  });
  const heard: string[] = [];
  const answer = await runFleet(
    runContext(),
    'fake',
    command,
    OPTIONS,
    fleet(),
    (e) => heard.push(e.context),
    deps(['a', 'b', 'c']),
  );
  assert.deepEqual(
    answer.items.map((i) => i.context),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(heard, ['b', 'c', 'a'], 'each is heard as it finishes');
  assert.deepEqual(answer.items[0]?.result, { kind: 'Fake', context: 'a' });
  assert.deepEqual(
    answer.items.map((i) => [i.cluster, i.server, i.outcome]),
    [
      ['c-a', 'https://a:6443', 'answered'],
      ['c-b', 'https://b:6443', 'answered'],
      ['c-c', 'https://c:6443', 'answered'],
    ],
  );
  assert.equal(answer.exitCode, ExitCode.MIXED);
  assert.equal(answer.same, 'no');
  assert.equal(OPTIONS.connection.context, undefined, 'the options given are not changed');
});

test('at most --parallel contexts at once', async () => {
  let now = 0;
  let most = 0;
  const command = fakeCommand(async () => {
    now++;
    most = Math.max(most, now);
    await new Promise((r) => setTimeout(r, 5));
    now--;
    return { code: ExitCode.OK };
  });
  const names = Array.from({ length: 9 }, (_, i) => `ctx-${i}`);
  const answer = await runFleet(runContext(), 'fake', command, OPTIONS, fleet({ parallel: 3 }), undefined, deps(names));
  assert.equal(most, 3);
  assert.equal(answer.answered, 9);
  assert.equal(answer.exitCode, ExitCode.OK);
});

test('a context that never answers ends at its own deadline, and never holds the others back', async () => {
  const command = fakeCommand(async (c) => {
    if (c === 'dead') await new Promise(() => {});
    return { code: ExitCode.OK };
  });
  const heard: string[] = [];
  const answer = await runFleet(
    runContext(),
    'fake',
    command,
    OPTIONS,
    fleet({ contextTimeoutMs: 200, parallel: 2 }),
    (e) => heard.push(e.context),
    deps(['dead', 'a', 'b', 'c']),
  );
  assert.deepEqual(heard, ['a', 'b', 'c', 'dead'], 'the others all answered before the dead one timed out');
  const dead = answer.items[0]!;
  assert.equal(dead.outcome, 'failed');
  assert.equal(dead.exitCode, ExitCode.TIMEOUT);
  assert.equal(dead.error?.code, 'timeout');
  assert.match(dead.error?.message ?? '', /no answer within 200ms \(--context-timeout\)/);
  assert.equal(answer.exitCode, ExitCode.PARTIAL);
});

test("each failure is its context's row, with a code a script can switch on; the others still answer", async () => {
  const failures: Record<string, Error> = {
    unauth: new ApiError('Unauthorized', { status: 401 }),
    forbidden: new ApiError('forbidden', { status: 403, exitCode: ExitCode.BLOCKED }),
    down: new ApiError('connection refused'),
    plugin: new ApiError('exec plugin failed', { reason: 'ExecPluginFailed' }),
    config: new UsageError('cluster "x" has no server address', { hint: 'set it' }),
    missing: new NotFoundError('deployment "web" not found'),
    slow: new TimeoutError('the request timed out'),
    bug: new TypeError('x is undefined'),
  };
  const command = fakeCommand(async (c) => {
    const err = failures[c];
    if (err) throw err;
    return { code: ExitCode.OK };
  });
  const answer = await runFleet(
    runContext(),
    'fake',
    command,
    OPTIONS,
    fleet(),
    undefined,
    deps([...Object.keys(failures), 'fine']),
  );
  const codes = Object.fromEntries(answer.items.map((i) => [i.context, [i.error?.code, i.exitCode]]));
  assert.deepEqual(codes, {
    unauth: ['unauthorized', ExitCode.API],
    forbidden: ['forbidden', ExitCode.BLOCKED],
    down: ['unreachable', ExitCode.API],
    plugin: ['credential-error', ExitCode.API],
    config: ['config-error', ExitCode.USAGE],
    missing: ['not-found', ExitCode.NOT_FOUND],
    slow: ['timeout', ExitCode.TIMEOUT],
    bug: ['internal', ExitCode.INTERNAL],
    fine: [undefined, ExitCode.OK],
  });
  assert.equal(answer.items.find((i) => i.context === 'config')?.error?.hint, 'set it');
  assert.equal(answer.exitCode, ExitCode.PARTIAL);
  assert.equal(answer.answered, 1);
});

test('Ctrl-C: the contexts under way stop, those not started are not asked, what finished is kept; exit 130', async () => {
  const stop = new AbortController();
  const heard: string[] = [];
  const command = fakeCommand(async (c, signal) => {
    if (c === 'a') return { code: ExitCode.OK };
    await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    return { code: ExitCode.OK };
  });
  const pending = runFleet(
    runContext(stop.signal),
    'fake',
    command,
    OPTIONS,
    fleet({ parallel: 2 }),
    (e) => {
      heard.push(e.context);
      if (e.context === 'a') setTimeout(() => stop.abort(new Error('interrupted by SIGINT')), 10);
    },
    deps(['a', 'b', 'c', 'd']),
  );
  const answer = await pending;
  assert.deepEqual(
    answer.items.map((i) => i.outcome),
    ['answered', 'interrupted', 'interrupted', 'interrupted'],
  );
  assert.deepEqual(command.asked, ['a', 'b', 'c'], 'd was never asked');
  assert.deepEqual(heard.sort(), ['a', 'b', 'c', 'd'], 'every context is one streamed entry, d too');
  assert.equal(answer.exitCode, ExitCode.INTERRUPTED);
});

test('the table puts CONTEXT first, says what a context without rows answered, lists the contexts with no answer', async () => {
  const command = fakeCommand(async (c) => {
    if (c === 'gone') throw new ApiError('connection refused by 127.0.0.1:1', { hint: 'is it running?' });
    return { code: c === 'b' ? ExitCode.NEGATIVE : ExitCode.OK };
  });
  const answer = await runFleet(runContext(), 'fake', command, OPTIONS, fleet(), undefined, deps(['a', 'b', 'gone']));
  const text = renderFleet(command as Command<never, unknown>, answer, { wide: false, colour: false });
  assert.equal(
    text,
    [
      'CONTEXT   ANSWER',
      'a         yes a',
      'b         (none)',
      '',
      'No answer from:',
      'CONTEXT   ERROR         MESSAGE',
      'gone      unreachable   connection refused by 127.0.0.1:1 (is it running?)',
      '',
      '3 contexts: 2 answered differently: exit 0 in a, exit 1 in b; 1 gave no answer; exit 8',
      '',
    ].join('\n'),
  );
  const sections = renderFleet(
    { ...command, rows: undefined } as Command<never, unknown>,
    { ...answer, items: answer.items.slice(0, 1) as Array<FleetEntry<unknown>> },
    { wide: false, colour: false },
  );
  assert.match(sections, /^=== context a \(https:\/\/a:6443\) ===\nanswer of a\n/);
});

test('a wait with no bound is bounded to --context-timeout for each context, and the deadline allows for it', async () => {
  type Waiting = Opts & { timeoutMs: number };
  const seen: number[] = [];
  const command: Command<Waiting, { code: ExitCodeValue }> = {
    async run(_ctx, o) {
      seen.push(o.timeoutMs);
      // Waits its own bound, then answers (exit 4, as a rollout not done in time): the deadline is beyond it.
      await new Promise((r) => setTimeout(r, o.timeoutMs));
      return { code: ExitCode.TIMEOUT };
    },
    exitCode: (r) => r.code,
    render: () => '',
    waitsMs: (o) => o.timeoutMs,
    bounded: (o, ms) => (o.timeoutMs === 0 ? { ...o, timeoutMs: ms } : o),
  };
  const answer = await runFleet(
    runContext(),
    'fake',
    command,
    { ...OPTIONS, timeoutMs: 0 },
    fleet({ contextTimeoutMs: 100 }),
    undefined,
    deps(['a', 'b']),
  );
  assert.deepEqual(seen, [100, 100]);
  assert.deepEqual(
    answer.items.map((i) => [i.outcome, i.exitCode]),
    [
      ['answered', ExitCode.TIMEOUT],
      ['answered', ExitCode.TIMEOUT],
    ],
  );
});

test('the exec plugin broker is the process\u2019s: its fleet settings are put back once the question is answered', async () => {
  const { execBroker } = await import('../../../src/kube/exec.js');
  const command = fakeCommand(async () => ({ code: ExitCode.OK }));
  await runFleet(runContext(), 'fake', command, OPTIONS, fleet({ parallel: 2 }), undefined, deps(['a', 'b', 'c']));
  assert.equal(execBroker.limit, Number.POSITIVE_INFINITY);
  assert.equal(execBroker.manyContexts, false);
});

test('the kubeconfig is read once for the whole question: each context connects with the copy already read', async () => {
  const loaded = mergeKubeconfigs([]);
  const seen: unknown[] = [];
  const command: Command<Opts, { code: ExitCodeValue }> = {
    async run(_ctx, o) {
      seen.push(o.connection.loaded);
      return { code: ExitCode.OK };
    },
    exitCode: (r) => r.code,
    render: () => '',
  };
  const names = ['a', 'b', 'c'];
  await runFleet(runContext(), 'fake', command, OPTIONS, fleet(), undefined, {
    ...deps(names),
    contexts: () => ({ ...deps(names).contexts(undefined), loaded }),
  });
  assert.equal(seen.length, 3);
  assert.ok(
    seen.every((l) => l === loaded),
    'the same copy, not one read per context',
  );
});
