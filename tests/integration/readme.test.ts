/**
 * The README's samples, run again on a fresh cluster of their own and
 * compared with what the README shows (volatile parts normalized: see
 * normalize in tests/support/readme.ts). A sample that no longer matches
 * fails with a diff; `npm run docs` rewrites the outputs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { REPO_ROOT } from '../cluster/paths.js';
import { DEFAULT_RELEASE, selectedRelease } from '../cluster/releases.js';
import {
  documentedJson,
  freshSampleCluster,
  parseCommandBlock,
  parseSamples,
  runSampleCommand,
  runShell,
  sampleDiff,
  undocumentedFields,
  type SampleEnvironment,
} from '../support/readme.js';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const samples = parseSamples(README);
// The samples are runs on the newest release: a suite run on an older one has nothing to add here.
const newest = selectedRelease() === DEFAULT_RELEASE;

/** The commands whose -o json shows each documented kind (run after the samples, in this order). */
const JSON_COMMANDS: Record<string, string[]> = {
  ContextList: ['kubectl study-ctx -o json', 'kubectl study-ctx --check -o json'],
  ContextCheckList: ['kubectl study-ctx check -o json'],
  ContextDetail: ['kubectl study-ctx show -o json'],
  DrainPlan: ['kubectl study-drain kwok-node-1 --dry-run -o json'],
  MaintainReport: ['kubectl study maintain kwok-node-2 --dry-run --ignore-daemonsets -o json'],
  MaintainStatus: ['kubectl study maintain status -o json'],
  RolloutStatusSummary: ['kubectl study-rollout status deployment/web -n demo -o json | tail -n 1'],
  RolloutStatusList: ['kubectl study-rollout status deployment/web -n demo --watch=false -o json'],
  RolloutHistory: ['kubectl study-rollout history deployment/web -n demo -o json'],
  RevisionDiff: ['kubectl study-rollout history deployment/web -n demo diff 2 live -o json'],
  RollbackPlan: ['kubectl study-rollout undo deployment/web -n demo --to-revision 2 --dry-run -o json'],
  WhoCan: ['kubectl whocan get pods -n demo -o json', 'kubectl whocan list nodes --near-misses --verify -o json'],
  AccessMatrix: ['kubectl study-access --sa demo/ci -n demo -o json'],
  AccessWhy: ['kubectl study-access why update deployments --as jane -n demo -o json'],
  FleetAnswer: ['kubectl whocan get pods -n demo --all-contexts -o json'],
  // Last: it changes the cluster.
  DrainResult: [
    'kubectl study-drain kwok-node-3 --ignore-daemonsets --yes -o json; kubectl study-drain uncordon kwok-node-3 >/dev/null',
  ],
};
let where: SampleEnvironment | undefined;
let stop: (() => Promise<void>) | undefined;

before(async () => {
  if (newest) ({ where, stop } = await freshSampleCluster(() => {}));
});

after(async () => {
  await stop?.();
});

test('the README has samples to check', { skip: !newest && 'the samples are runs on the newest release' }, () => {
  assert.ok(samples.length >= 5, `only ${samples.length} samples found`);
});

test('the first commands of "Get started" run', {
  skip: !newest && 'the samples are runs on the newest release',
}, async () => {
  assert.ok(where, 'the samples cluster did not start');
  const commands = parseCommandBlock(README);
  assert.ok(commands.length >= 5, 'README has no commands block');
  const failed: string[] = [];
  for (const command of commands) {
    const r = await runShell(command, where);
    if (r.code !== 0) failed.push(`${command}: exit ${r.code}\n${r.output}`);
  }
  assert.deepEqual(failed, []);
});

for (const sample of samples) {
  const first = sample.steps[0]?.command ?? '';
  test(`README line ${sample.line}: ${first}`, {
    timeout: 600_000,
    skip: !newest && 'the samples are runs on the newest release',
  }, async () => {
    assert.ok(where, 'the samples cluster did not start');
    const diffs: string[] = [];
    for (const step of sample.steps) {
      const diff = sampleDiff(`line ${sample.line}`, step, await runSampleCommand(step.command, where));
      if (diff) diffs.push(diff);
    }
    assert.equal(diffs.join('\n'), '', 'the README no longer matches what the plugins print: run "npm run docs"');
  });
}

test('the JSON the README documents is the JSON the commands print', {
  timeout: 600_000,
  skip: !newest && 'the samples are runs on the newest release',
}, async () => {
  assert.ok(where, 'the samples cluster did not start');
  const documented = documentedJson(README);
  assert.deepEqual([...documented.keys()].sort(), Object.keys(JSON_COMMANDS).sort(), 'kinds documented vs kinds run');
  const problems: string[] = [];
  for (const [kind, commands] of Object.entries(JSON_COMMANDS)) {
    const fields = documented.get(kind)!;
    const seen = new Set<string>();
    for (const command of commands) {
      const r = await runShell(command, where);
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(r.stdout) as Record<string, unknown>;
      } catch {
        problems.push(`${command}: not JSON (exit ${r.code}): ${r.output.slice(0, 300)}`);
        continue;
      }
      if (doc.kind !== kind) problems.push(`${command}: kind ${String(doc.kind)}, not ${kind}`);
      for (const key of Object.keys(doc)) seen.add(key);
      for (const extra of undocumentedFields(doc, fields)) problems.push(`${kind}: ${extra} is not documented`);
    }
    for (const [key, field] of fields)
      if (!field.optional && !seen.has(key)) problems.push(`${kind}: ${key} is documented, never printed`);
  }
  assert.deepEqual(problems, []);
});
