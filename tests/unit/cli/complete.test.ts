import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { type LookupScope, type Lookups, runCompletion } from '../../../src/cli/complete.js';
import type { PluginName } from '../../../src/cli/program.js';
import { RESOURCE_VERBS } from '../../../src/rbac/verbs.js';
import { captureIo } from '../../support/io.js';

/** Look-ups answered from memory; each records the scope it was asked in. */
function fakeLookups(): Lookups & { asked: Array<[string, LookupScope]> } {
  const asked: Array<[string, LookupScope]> = [];
  const answer =
    (what: string, items: string[]) =>
    async (scope: LookupScope): Promise<string[]> => {
      asked.push([what, scope]);
      return items;
    };
  return {
    asked,
    nodes: answer('nodes', ['worker-1', 'worker-2']),
    namespaces: answer('namespaces', ['default', 'shop']),
    resources: answer('resources', ['deployments.apps', 'pods']),
    contexts: answer('contexts', ['dev', 'prod']),
    clusters: answer('clusters', ['dev-cluster']),
    users: answer('users', ['admin']),
    async workloads(scope, kind) {
      asked.push([`workloads ${kind}`, scope]);
      return kind === 'deployment' ? ['web', 'api'] : [];
    },
  };
}

async function complete(plugin: PluginName, argv: string[], lookups = fakeLookups()): Promise<string[]> {
  const io = captureIo();
  await runCompletion(plugin, argv, io, lookups);
  return io.out().trimEnd().split('\n');
}

/** The candidates without their descriptions, then the directive. */
function names(lines: string[]): string[] {
  return lines.map((l) => l.split('\t')[0]!);
}

const VERBS = [...RESOURCE_VERBS];

test('argv -> candidates, for every plugin and command (look-ups injected, no cluster)', async () => {
  const cases: Array<[PluginName, string[], string[]]> = [
    // Subcommands, from the command table.
    ['study', [''], ['ctx', 'drain', 'rollout', 'whocan', 'access', 'maintain', 'version', ':4']],
    ['study', ['dr'], ['drain', ':4']],
    ['study', ['version', ''], [':4']],
    ['study-ctx', [''], ['check', 'show', 'use', 'namespace', ':4']],
    ['study-rollout', [''], ['status', 'history', 'undo', ':4']],
    ['study-access', [''], ['why', ':4']],
    // Positional arguments, as each command declares them.
    ['study', ['ctx', 'use', ''], ['dev', 'prod', ':4']],
    ['study-ctx', ['show', 'p'], ['prod', ':4']],
    ['study-ctx', ['check', 'dev', ''], ['prod', ':4']],
    ['study-ctx', ['ns', ''], ['default', 'shop', ':4']],
    ['study-drain', [''], ['uncordon', 'worker-1', 'worker-2', ':4']],
    ['study-drain', ['worker-1', ''], ['worker-2', ':4']],
    ['study-drain', ['uncordon', ''], ['worker-1', 'worker-2', ':4']],
    ['study', ['drain', '--ignore-daemonsets', 'w'], ['worker-1', 'worker-2', ':4']],
    ['study', ['maintain', 'worker-2', ''], ['worker-1', ':4']],
    ['study', ['maintain', ''], ['status', 'worker-1', 'worker-2', ':4']],
    ['study-rollout', ['status', ''], ['deployment/', 'statefulset/', 'daemonset/', ':6']],
    ['study-rollout', ['undo', 'd'], ['deployment/', 'daemonset/', ':6']],
    ['study-rollout', ['history', 'deployment/'], ['deployment/web', 'deployment/api', ':4']],
    ['study-rollout', ['status', 'deployments/w'], ['deployments/web', ':4']],
    ['study-rollout', ['status', 'cronjob/'], [':4']],
    ['whocan', [''], [...VERBS, ':4']],
    ['whocan', ['get', ''], ['deployments.apps', 'pods', ':4']],
    ['whocan', ['get', 'pods', ''], [':4']],
    ['study', ['access', 'why', 'l'], ['list', ':4']],
    ['study-access', ['why', 'get', ''], ['deployments.apps', 'pods', ':4']],
    // Flag values, as the flag definitions declare them.
    ['study-drain', ['--context', ''], ['dev', 'prod', ':4']],
    ['study-drain', ['--cluster', ''], ['dev-cluster', ':4']],
    ['study-drain', ['--user', ''], ['admin', ':4']],
    ['study-drain', ['--kubeconfig', ''], [':0']],
    ['study-drain', ['--timeout', ''], [':4']],
    ['study-rollout', ['status', '-n', ''], ['default', 'shop', ':4']],
    ['study-ctx', ['namespace', '--context', ''], ['dev', 'prod', ':4']],
    ['study', ['maintain', '--lock-namespace', 's'], ['shop', ':4']],
    ['study', ['maintain', '--journal', ''], [':0']],
    ['study', ['maintain', '--resume-step', ''], ['rerun', 'skip', ':4']],
    ['study', ['maintain', '--outside-window', ''], ['wait', 'stop', ':4']],
    ['study', ['maintain', 'status', '--lock-namespace', 's'], ['shop', ':4']],
    // -o offers each command's own formats.
    ['study-drain', ['-o', ''], ['wide', 'json', 'yaml', ':4']],
    ['study-drain', ['uncordon', '--output', ''], ['json', 'yaml', ':4']],
    ['study-ctx', ['-o', ''], ['wide', 'json', 'yaml', ':4']],
    ['study-ctx', ['show', '-o', ''], ['json', 'yaml', ':4']],
    ['study-rollout', ['history', '-o', ''], ['json', 'yaml', ':4']],
    ['whocan', ['-o', ''], ['wide', 'json', 'yaml', ':4']],
    ['study-access', ['why', '-o', ''], ['json', 'yaml', ':4']],
    // A flag with an optional value takes none unless after "=": the next word is positional.
    ['study-drain', ['--dry-run', ''], ['uncordon', 'worker-1', 'worker-2', ':4']],
    ['study-drain', ['--kubeconfig=/k', ''], ['uncordon', 'worker-1', 'worker-2', ':4']],
    // Flags, from the command the words lead to.
    ['study-drain', ['--ig'], ['--ignore-daemonsets', '--ignore-opt-outs', ':4']],
    ['study-ctx', ['use', '--'], ['--kubeconfig', '--output', '--verbose', '--help', ':4']],
  ];
  for (const [plugin, argv, expected] of cases)
    assert.deepEqual(names(await complete(plugin, argv)), expected, `${plugin} ${argv.join(' ')}`);
});

test('flags are listed with their descriptions', async () => {
  const lines = await complete('study-access', ['why', '--s']);
  assert.deepEqual(lines, [
    '--sa\tanalyse this service account',
    '--stream\twith -o json and many contexts: one JSON line per context as it finishes',
    ':4',
  ]);
});

test('look-ups use the kubeconfig, context and namespace typed so far', async () => {
  const lookups = fakeLookups();
  await complete(
    'study-rollout',
    ['status', '--kubeconfig', '/k', '--context=prod', '-n', 'shop', 'deployment/'],
    lookups,
  );
  await complete('study-drain', ['--context', 'dev', ''], lookups);
  await complete('study-ctx', ['namespace', '--context', 'prod', ''], lookups);
  await complete('study-drain', ['--kubeconfig', '/other', '--context', ''], lookups);
  assert.deepEqual(lookups.asked, [
    ['workloads deployment', { kubeconfig: '/k', context: 'prod', namespace: 'shop' }],
    ['nodes', { context: 'dev' }],
    ['namespaces', { context: 'prod' }],
    ['contexts', { kubeconfig: '/other' }],
  ]);
});

test('the real look-ups read the kubeconfig, and answer nothing when the cluster cannot be reached', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-complete-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'config');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: someone, user: {token: t}}]',
      'contexts: [{name: a, context: {cluster: nowhere, user: someone}}, {name: b, context: {cluster: nowhere, user: someone}}]',
      'current-context: a',
      '',
    ].join('\n'),
  );
  const real = async (plugin: PluginName, argv: string[]): Promise<string[]> => {
    const io = captureIo();
    await runCompletion(plugin, argv, io);
    return io.out().trimEnd().split('\n');
  };
  assert.deepEqual(await real('study-ctx', ['use', '--kubeconfig', kubeconfig, '']), ['a', 'b', ':4']);
  assert.deepEqual(await real('study-drain', ['--kubeconfig', kubeconfig, '--cluster', '']), ['nowhere', ':4']);
  assert.deepEqual(await real('study-drain', ['--kubeconfig', kubeconfig, '--user', '']), ['someone', ':4']);
  assert.deepEqual(await real('study-drain', ['uncordon', '--kubeconfig', kubeconfig, '']), [':4']);
  assert.deepEqual(await real('whocan', ['--kubeconfig', path.join(dir, 'missing'), 'get', '']), [':4']);
});
