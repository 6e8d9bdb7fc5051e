import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EXIT_CODES, ExitCode } from '../../../src/base/errors.js';
import { renderTable } from '../../../src/base/table.js';
import { interruptHandler, pluginFromExecutable, runPlugin } from '../../../src/cli/main.js';
import { parseArgs, type PluginName } from '../../../src/cli/program.js';
import type { Operation } from '../../../src/cli/operations.js';
import { PLAN_OPTIONS } from '../../support/fake-drain.js';
import { captureIo } from '../../support/io.js';

function parse(plugin: PluginName, argv: string[]): Operation {
  const parsed = parseArgs(plugin, argv, captureIo());
  assert.equal(parsed.kind, 'run', `${plugin} ${argv.join(' ')} parses to an operation`);
  return (parsed as { operation: Operation }).operation;
}

function parseError(plugin: PluginName, argv: string[]): string {
  try {
    parseArgs(plugin, argv, captureIo());
  } catch (err) {
    return (err as Error).message;
  }
  return assert.fail(`${plugin} ${argv.join(' ')} should be refused`);
}

const base = { allNamespaces: false, asGroups: [], requestTimeoutMs: 0 };

test('argv -> operation, for every plugin and command (nothing runs)', () => {
  const cases: Array<[PluginName, string[], Partial<Operation>]> = [
    ['study-ctx', [], { command: 'ctx', options: { check: false, timeoutMs: 5000 }, output: 'table' }],
    [
      'study-ctx',
      ['-o', 'wide', '--check', '--timeout', '2s'],
      { command: 'ctx', options: { check: true, timeoutMs: 2000 }, output: 'wide' },
    ],
    [
      'study',
      ['ctx', 'check', 'a', 'b', '--timeout', '500ms', '-o', 'json'],
      { command: 'ctx check', options: { names: ['a', 'b'], timeoutMs: 500 }, output: 'json' },
    ],
    [
      'study-ctx',
      ['show', 'prod', '--kubeconfig', '/k'],
      { command: 'ctx show', options: { name: 'prod', kubeconfig: '/k' } },
    ],
    ['study-ctx', ['use', 'prod'], { command: 'ctx use', options: { name: 'prod' } }],
    [
      'study-ctx',
      ['ns', 'kube-system', '--context', 'dev'],
      { command: 'ctx namespace', options: { namespace: 'kube-system', context: 'dev' } },
    ],
    [
      'study-drain',
      ['uncordon', 'n1', 'n2'],
      { command: 'drain uncordon', options: { connection: base, nodes: ['n1', 'n2'] } },
    ],
    [
      'study-rollout',
      ['history', 'deploy/web', '--revision', '3'],
      {
        command: 'rollout history',
        options: { connection: base, target: { kind: 'Deployment', name: 'web' }, revision: 3 },
      },
    ],
    [
      'study-rollout',
      ['history', 'deploy/web', 'diff', '2', 'live'],
      {
        command: 'rollout diff',
        options: { connection: base, target: { kind: 'Deployment', name: 'web' }, from: 2, to: 'live' },
      },
    ],
    [
      'study-rollout',
      ['undo', 'sts', 'db', '--to-revision', '2', '--dry-run=server'],
      {
        command: 'rollout undo',
        options: {
          connection: base,
          target: { kind: 'StatefulSet', name: 'db' },
          toRevision: 2,
          dryRun: true,
          watch: false,
          timeoutMs: 0,
        },
      },
    ],
    [
      'whocan',
      ['get', 'pods', '-n', 'shop', '--verify'],
      {
        command: 'whocan',
        options: {
          connection: { ...base, namespace: 'shop' },
          verb: 'get',
          resource: 'pods',
          verify: true,
          nearMisses: false,
        },
      },
    ],
    [
      'whocan',
      ['get', '--url', '/healthz'],
      {
        command: 'whocan',
        options: { connection: base, verb: 'get', url: '/healthz', verify: false, nearMisses: false },
      },
    ],
    [
      'study-access',
      ['--as', 'jane', '--as-group', 'dev', '--as-group', 'ops'],
      {
        command: 'access',
        options: { connection: base, subject: { kind: 'user', user: 'jane', groups: ['dev', 'ops'] } },
      },
    ],
    [
      'study-access',
      ['why', 'get', 'pods', '--sa', 'shop/ci'],
      {
        command: 'access why',
        options: {
          connection: base,
          subject: { kind: 'serviceaccount', namespace: 'shop', name: 'ci' },
          verb: 'get',
          resource: 'pods',
        },
      },
    ],
  ];
  for (const [plugin, argv, want] of cases) {
    const op = parse(plugin, argv);
    for (const [k, v] of Object.entries(want))
      assert.deepEqual((op as unknown as Record<string, unknown>)[k], v, `${plugin} ${argv.join(' ')}: ${k}`);
  }
});

test('a flag with an optional value takes it only after "=", as kubectl reads it: --dry-run NODE, -w KIND/NAME', () => {
  const drain = parse('study-drain', ['--dry-run', 'n1']);
  assert.deepEqual(
    [drain.command, (drain.options as { nodes: string[] }).nodes, (drain.options as { dryRun: boolean }).dryRun],
    ['drain', ['n1'], true],
  );
  assert.equal((parse('study-drain', ['n1', '--dry-run=none']).options as { dryRun: boolean }).dryRun, false);
  assert.equal((parse('study-drain', ['n1', '--dry-run=server']).options as { dryRun: boolean }).dryRun, true);
  const undo = parse('study-rollout', ['undo', '--dry-run', 'deploy/web']);
  assert.deepEqual(
    [(undo.options as { target: unknown }).target, (undo.options as { dryRun: boolean }).dryRun],
    [{ kind: 'Deployment', name: 'web' }, true],
  );
  const status = parse('study-rollout', ['status', '-w', 'deploy/web']);
  assert.deepEqual(
    [(status.options as { targets: unknown }).targets, (status.options as { watch: boolean }).watch],
    [[{ kind: 'Deployment', name: 'web' }], true],
  );
  assert.equal(
    (parse('study-rollout', ['status', 'deploy/web', '--watch=false']).options as { watch: boolean }).watch,
    false,
  );
  assert.equal(
    (parse('study', ['rollout', 'status', '--watch', 'deploy/web']).options as { watch: boolean }).watch,
    true,
  );
  // After "--" nothing is a flag.
  assert.deepEqual((parse('study-drain', ['--dry-run', '--', 'n1']).options as { nodes: string[] }).nodes, ['n1']);
});

test('drain options: defaults, kubectl flags and every parsed value', () => {
  const op = parse('study-drain', [
    'n1',
    '--ignore-daemonsets',
    '--grace-period',
    '30',
    '--timeout',
    '5m',
    '--concurrency',
    '3',
    '--pod-selector',
    'app=web',
    '--as',
    'jane',
    '--as-group',
    'a',
    '--as-group',
    'b,c',
    '--request-timeout',
    '2m',
    '--context',
    'prod',
    '-y',
  ]);
  assert.equal(op.command, 'drain');
  assert.deepEqual(op.options, {
    connection: {
      allNamespaces: false,
      as: 'jane',
      asGroups: ['a', 'b,c'],
      requestTimeoutMs: 120_000,
      context: 'prod',
    },
    nodes: ['n1'],
    plan: { ...PLAN_OPTIONS, podSelector: 'app=web' },
    dryRun: false,
    gracePeriodSeconds: 30,
    timeoutMs: 300_000,
    skipWaitForDeleteTimeoutSeconds: 0,
    concurrency: 3,
    waitHealthy: false,
    yes: true,
    apiOutageMs: 120_000,
  });
  const defaults = parse('study-drain', ['-l', 'pool=blue', '--dry-run']);
  assert.deepEqual(
    { ...defaults.options, connection: undefined },
    {
      connection: undefined,
      nodes: [],
      selector: 'pool=blue',
      plan: {
        force: false,
        ignoreDaemonSets: false,
        deleteEmptyDirData: false,
        disableEviction: false,
        ignoreOptOuts: false,
        strict: false,
      },
      dryRun: true,
      gracePeriodSeconds: -1,
      timeoutMs: 0,
      skipWaitForDeleteTimeoutSeconds: 0,
      concurrency: 10,
      waitHealthy: false,
      yes: false,
      apiOutageMs: 120_000,
    },
  );
  assert.equal(
    (parse('study-drain', ['n1', '--request-timeout', '30']).options as { connection: { requestTimeoutMs: number } })
      .connection.requestTimeoutMs,
    30_000,
  );
});

test('maintain options: every duration validated, the lock longer than its renewals', () => {
  const op = parse('study', [
    'maintain',
    'n1',
    'n2',
    '--run',
    './up.sh',
    '--journal',
    'j',
    '--drain-timeout',
    '0',
    '--lock-duration',
    '1m',
    '--max-unavailable',
    '2',
  ]);
  assert.equal(op.command, 'maintain');
  const o = op.options as {
    nodes: string[];
    run: string;
    drainTimeoutMs: number;
    readyTimeoutMs: number;
    lockDurationSeconds: number;
    maxUnavailable: number;
    lockNamespace: string;
  };
  assert.deepEqual(
    [o.nodes, o.run, o.drainTimeoutMs, o.readyTimeoutMs, o.lockDurationSeconds, o.maxUnavailable, o.lockNamespace],
    [['n1', 'n2'], './up.sh', 0, 600_000, 60, 2, 'kube-system'],
  );
});

test("maintain takes study-drain's --allow-unplaceable into its plan options", () => {
  const plan = (argv: string[]): { allowUnplaceable?: boolean } =>
    (parse('study', ['maintain', 'n1', '--dry-run', ...argv]).options as { plan: { allowUnplaceable?: boolean } }).plan;
  assert.equal(plan(['--allow-unplaceable']).allowUnplaceable, true);
  assert.equal(plan([]).allowUnplaceable, false);
});

test('bad flags and arguments are usage errors with the cause named', () => {
  const cases: Array<[PluginName, string[], RegExp]> = [
    ['study-drain', ['n1', '--request-timeout', 'soon'], /invalid --request-timeout "soon"/],
    ['study-drain', ['n1', '--as-group', 'dev'], /--as-group and --as-uid need --as/],
    ['whocan', ['get', 'pods', '-n', 'a', '-A'], /-n\/--namespace and -A\/--all-namespaces cannot be used together/],
    ['study-drain', [], /name at least one node/],
    ['study-drain', [''], /an empty name is not a valid node name/],
    ['study-drain', ['n1', 'n1'], /node "n1" is named twice/],
    ['study-drain', ['n1', '-l', 'a=b'], /node names and -l\/--selector cannot be used together/],
    ['study-drain', ['n1', '--timeout', 'soon'], /invalid --timeout "soon"/],
    ['study-drain', ['n1', '--concurrency', '0'], /--concurrency takes a whole number of at least 1, not "0"/],
    ['study-drain', ['n1', '--grace-period', '1.5'], /--grace-period takes a whole number/],
    ['study-drain', ['n1', '--dry-run=maybe'], /invalid --dry-run "maybe"/],
    ['study-drain', ['-l', 'a in (b'], /invalid -l\/--selector "a in \(b"/],
    ['study-drain', ['n1', '--pod-selector', '=x'], /invalid --pod-selector/],
    ['study-drain', ['uncordon', ''], /an empty name is not a valid node name/],
    ['study-drain', ['uncordon'], /name at least one node to uncordon/],
    [
      'study',
      ['maintain', 'n1', '--run', 'x', '--journal', 'j', '--drain-timeout', 'garbage'],
      /invalid --drain-timeout "garbage"/,
    ],
    [
      'study',
      ['maintain', 'n1', '--run', 'x', '--journal', 'j', '--ready-timeout', '0'],
      /invalid --ready-timeout "0"/,
    ],
    ['study', ['maintain', 'n1', '--run', '', '--journal', 'j'], /--run was given an empty command/],
    [
      'study',
      ['maintain', 'n1', '--run', 'x', '--wait-file', 'f', '--journal', 'j'],
      /--run and --wait-file cannot be used together/,
    ],
    [
      'study',
      ['maintain', 'n1', '--run', 'x', '--journal', 'j', '--lock-duration', '5s'],
      /--lock-duration must be at least 6s/,
    ],
    [
      'study',
      ['maintain', 'n1', '--run', 'x', '--journal', 'j', '--max-unavailable', 'two'],
      /--max-unavailable takes a whole number/,
    ],
    ['study', ['maintain', 'n1', '--journal', 'j'], /say what to do on each node/],
    ['study-rollout', ['status', 'deploy/web', '-o', 'yaml'], /-o yaml needs --watch=false/],
    ['study-rollout', ['status', 'deploy/web', '--watch=maybe'], /--watch takes true or false/],
    ['study-rollout', ['status', 'pods/web'], /"pods" is not a kind rollouts apply to/],
    ['study-rollout', ['history', 'deploy/web', 'diff', '2'], /diff takes two revisions/],
    ['study-rollout', ['history', 'deploy/web', '--revision', 'x'], /--revision takes a whole number/],
    ['study-rollout', ['undo', 'deploy/a', 'deploy/b'], /name exactly one workload/],
    ['whocan', ['get'], /name a RESOURCE/],
    ['whocan', ['list', 'pods', 'web'], /"list" requests carry no object name/],
    ['whocan', ['get', 'pods', '--url', '/x'], /RESOURCE and --url cannot be used together/],
    ['whocan', ['get', '--url', 'healthz'], /--url takes a path/],
    ['study-access', ['--sa', 'x'], /--sa takes NAMESPACE\/NAME/],
    ['study-access', ['--sa', 'a/b', '--as', 'c'], /--sa and --as\/--as-group name the subject two ways/],
    ['study-access', ['--as-group', 'g'], /--as-group needs --as/],
    ['study-ctx', ['--timeout', '0'], /invalid --timeout "0"/],
    ['study-ctx', ['ns', 'Not_Valid'], /"Not_Valid" is not a valid namespace name/],
    ['study-ctx', ['use', ''], /an empty context name/],
    ['study-ctx', ['--kubeconfig', ''], /--kubeconfig was given an empty path/],
    ['study-ctx', ['-o', 'xml'], /unsupported output format "xml"/],
    ['study-ctx', ['--frobnicate'], /unknown option '--frobnicate'/],
    // Durations past what a timer can hold would fire at once.
    [
      'study-drain',
      ['n1', '--request-timeout', '1000h'],
      /--request-timeout "1000h" is longer than the longest wait kubectl-study can keep \(596h\)/,
    ],
    ['study-drain', ['n1', '--timeout', '9'.repeat(400) + 'h'], /invalid --timeout "9+h"/],
    ['study-rollout', ['status', 'deploy/web', '--timeout', '597h'], /--timeout "597h" is longer/],
    ['study-ctx', ['check', '--timeout', '1000h'], /--timeout "1000h" is longer/],
    [
      'study',
      ['maintain', 'n1', '--run', 'x', '--journal', 'j', '--recover-timeout', '30000h'],
      /--recover-timeout "30000h" is longer/,
    ],
    // Header values: no line breaks or control characters.
    ['study-drain', ['n1', '--as', 'bob\nx'], /--as holds a line break or another control character/],
    ['study-drain', ['n1', '--as', 'bob', '--as-group', 'g\r\n'], /--as-group holds a line break/],
    ['whocan', ['get', 'pods', '--as', 'bob\u0001'], /--as holds a line break/],
    ['study-access', ['--as', 'bob\tx\n'], /--as holds a line break/],
    ['study-access', ['--as', 'bob', '--as-uid', '5'], /--as-uid is not used here/],
    ['study-access', ['--sa', 'a/b', '--as-uid', '5'], /--as-uid is not used here/],
    // Syntax checked before discovery; empties and repeats refused.
    ['whocan', ['get', 'pods/log/x'], /"pods\/log\/x" is not a RESOURCE/],
    ['whocan', ['get', 'pods with space'], /"pods with space" is not a RESOURCE/],
    ['study-access', ['why', 'get', ''], /an empty RESOURCE/],
    ['study', ['maintain', 'n1', '--wait-file', '', '--journal', 'j'], /--wait-file was given an empty path/],
    ['study', ['maintain', 'n1', '--run', 'x', '--journal', ''], /--journal was given an empty path/],
    ['study-rollout', ['status', 'deploy', 'web', 'web'], /Deployment\/web is named twice/],
    ['study-ctx', ['check', 'c1', 'c1'], /context "c1" is named twice/],
    ['study-ctx', ['chek'], /^unknown command 'chek'$/],
    [
      'study-rollout',
      ['undo', 'deploy/web', '--timeout', '5s'],
      /--timeout bounds the --watch that follows the rollback; it needs --watch/,
    ],
    // As in Go (and kubectl), a duration needs its unit; only --request-timeout takes bare seconds.
    ['study-drain', ['n1', '--timeout', '30'], /invalid --timeout "30"/],
    [
      'study',
      ['maintain', 'n1', '--run', 'x', '--journal', 'j', '--drain-timeout', '90'],
      /invalid --drain-timeout "90"/,
    ],
    ['study-ctx', ['-o', 'wide', 'chek'], /^unknown command 'chek'$/],
  ];
  for (const [plugin, argv, want] of cases)
    assert.match(parseError(plugin, argv), want, `${plugin} ${JSON.stringify(argv)}`);
});

test('executables map to plugins by name, as kubectl maps plugin names to files', () => {
  assert.equal(pluginFromExecutable('/usr/local/bin/kubectl-study_ctx'), 'study-ctx');
  assert.equal(pluginFromExecutable('kubectl-whocan'), 'whocan');
  assert.equal(pluginFromExecutable('C:\\bin\\kubectl-study_drain.exe'), 'study-drain');
  assert.equal(pluginFromExecutable('/x/kubectl-study'), 'study');
  assert.equal(pluginFromExecutable('/x/node'), undefined);
});

test('a bad flag is one "error:" line plus a hint, exit code 2, no stack trace', async () => {
  const io = captureIo();
  const code = await runPlugin('study-ctx', ['--frobnicate'], { io });
  assert.equal(code, ExitCode.USAGE);
  assert.equal(io.err(), 'error: unknown option \'--frobnicate\'\nhint: see "kubectl study-ctx --help"\n');
  assert.equal(io.out(), '');
});

test('an unsupported output format is a usage error', async () => {
  const io = captureIo({ KUBECONFIG: '/nonexistent/kubeconfig' });
  const code = await runPlugin('study', ['ctx', '-o', 'xml'], { io });
  assert.equal(code, ExitCode.USAGE);
  assert.equal(io.err(), 'error: unsupported output format "xml"\nhint: -o takes one of: wide, json, yaml\n');
});

test('an unknown command is a usage error with a suggestion', async () => {
  const io = captureIo();
  const code = await runPlugin('study', ['dran', 'node-1'], { io });
  assert.equal(code, ExitCode.USAGE);
  assert.equal(io.err(), 'error: unknown command \'dran\'\nhint: did you mean drain? see "kubectl study --help"\n');
});

test('help and version exit 0 on stdout, and help lists the documented exit codes', async () => {
  const io = captureIo();
  assert.equal(await runPlugin('study', ['--help'], { io }), ExitCode.OK);
  assert.match(io.out(), /Usage: kubectl study \[options\] \[command\]/);
  assert.match(
    io.out(),
    /Exit codes: 0 ok, 1 answered no, 2 usage, 3 blocked\/not allowed, 4 timed out, 5 not found, 6 API\/connection error, 7 contexts answered differently, 8 some contexts did not answer, 70 bug, 130 interrupted/,
  );
  const io2 = captureIo();
  assert.equal(await runPlugin('study', ['version'], { io: io2 }), ExitCode.OK);
  assert.match(io2.out(), /^kubectl-study \S+\n$/);
});

test("the README's exit-code table is EXIT_CODES, row for row", async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('### Exit codes'));
  const rows = [...table.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2] }));
  assert.deepEqual(
    rows,
    EXIT_CODES.map((c) => ({ code: c.code, meaning: c.meaning })),
  );
});

test('one stop request, however many copies of the signal arrive at once; a later one exits', () => {
  const io = captureIo();
  const abort = new AbortController();
  const exits: number[] = [];
  let now = 1000;
  const onSignal = interruptHandler(
    io,
    abort,
    (c) => exits.push(c),
    () => now,
  );
  onSignal('SIGTERM');
  now += 5;
  onSignal('SIGTERM');
  onSignal('SIGINT');
  assert.equal(abort.signal.aborted, true);
  assert.deepEqual(exits, [], 'signals to the whole process group within a second are one request');
  now += 2000;
  onSignal('SIGINT');
  assert.deepEqual(exits, [ExitCode.INTERRUPTED]);
});

test('tables are kubectl style: upper-case headers, aligned, <none> for empty cells', () => {
  const out = renderTable(
    ['name', 'node', 'reason'],
    [
      ['web-1', 'n1', ''],
      ['a-much-longer-name', undefined, 'PDB'],
    ],
  );
  assert.equal(
    out,
    'NAME                 NODE     REASON\nweb-1                n1       <none>\na-much-longer-name   <none>   PDB\n',
  );
});

test('every plugin and command says its exit codes in --help, and --version is the same line everywhere', async () => {
  const helps: Array<[PluginName, string[]]> = [
    ['study', ['--help']],
    ['study-ctx', ['--help']],
    ['study-drain', ['--help']],
    ['study-rollout', ['--help']],
    ['study-access', ['--help']],
    ['whocan', ['--help']],
    ['study', ['maintain', '--help']],
  ];
  for (const [plugin, argv] of helps) {
    const io = captureIo();
    assert.deepEqual(parseArgs(plugin, argv, io), { kind: 'answered' });
    assert.match(io.out(), /\nExit codes: .*\b0\b.*\b2\b/, `${plugin} ${argv.join(' ')}`);
  }
  const versions = new Set<string>();
  for (const [plugin, argv] of [
    ['study', ['--version']],
    ['study', ['version']],
    ['study-drain', ['--version']],
    ['whocan', ['--version']],
  ] as Array<[PluginName, string[]]>) {
    const io = captureIo();
    await runPlugin(plugin, argv, { io });
    versions.add(io.out());
  }
  assert.equal(versions.size, 1, [...versions].join(' | '));
});
