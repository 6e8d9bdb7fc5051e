/**
 * The plan against the real `kubectl drain`, on twin nodes.
 *
 * One twin (side A) carries the catalogue of tests/support/twin-catalog.ts;
 * each flag combination gets a twin of its own (side B: same catalogue, a
 * spare node for the replacements). For each combination the plan of A
 * (`kubectl study-drain A --dry-run -o json FLAGS`) is compared, pod kind by
 * pod kind, with what `kubectl drain B FLAGS` really did:
 *
 * - refused: kubectl's "cannot delete ...: ns/pod" errors, against the pods
 *   the plan blocks for kubectl's own reasons (DaemonSetPod,
 *   OrphanedDaemonSetPod, LocalStorage, Unmanaged);
 * - evicted: the eviction (or, with --disable-eviction, delete) requests
 *   kubectl sent for the pod, read from the API server's audit log, against
 *   the plan's evict and wait;
 * - skipped: listed by kubectl and left alone (ignored DaemonSet pods, mirror
 *   pods, pods terminating for longer than --skip-wait-for-delete-timeout),
 *   against the plan's skip; absent: outside --pod-selector for both.
 *
 * kubectl refuses a whole node when any pod is refused; then it is run again
 * on the same twin with the refused kinds left out by --pod-selector (its
 * filters judge each pod alone), so every kind gets kubectl's real answer.
 *
 * A pod the plan blocks only by a check kubectl does not make (the documented
 * extras: SafeToEvictFalse, DoNotDisrupt, PdbNeverAllows, MultiplePdbs,
 * WontFit, ControllerMissing, ...) while kubectl evicted it counts as an
 * extra, not a mismatch; an extra that claims what the API server answers
 * (MultiplePdbs: 500, PdbNeverAllows: 429) is checked against its answers to
 * kubectl. Anything else fails the test with a table of the differences.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { mapLimit } from '../../src/base/concurrency.js';
import {
  auditEventsSince,
  auditMark,
  cluster,
  kubectl,
  mintUser,
  runPlugin,
  suffix,
  type RunResult,
} from '../support/cluster.js';
import { table } from '../support/text.js';
import {
  CASE_LABEL,
  CASES,
  COMBINATIONS,
  buildSide,
  compare,
  parseRefusals,
  podSelectorOf,
  podsOnTwin,
  signature,
  withPodSelector,
  writesPerPod,
  type Combination,
  type Comparison,
  type KubectlPod,
  type PlanPod,
  type TwinSide,
} from '../support/twin-catalog.js';

/** kubectl drain's --timeout: evictions are all sent at once; what hangs (held terminating pods, a PDB's 429s) is cut off here. */
const KUBECTL_TIMEOUT = '20s';
const PARALLEL = 4;
/** TWIN_ONLY=id,id runs only those combinations (for a quick look). */
const ONLY = process.env.TWIN_ONLY?.split(',');
const COMBOS = ONLY ? COMBINATIONS.filter((c) => ONLY.includes(c.id)) : COMBINATIONS;

interface CombinationResult {
  combination: Combination;
  comparisons: Comparison[];
  /** The kubectl runs, for the failure message. */
  runs: Array<{ args: string[]; result: RunResult }>;
  anomalies: string[];
}

function caseOf(pod: { metadata?: { labels?: Record<string, string> } }): string {
  return pod.metadata?.labels?.[CASE_LABEL] ?? '?';
}

async function runCombination(
  combination: Combination,
  a: TwinSide,
  b: TwinSide,
  kubectlUser: string,
  kubectlEnv: NodeJS.ProcessEnv,
): Promise<CombinationResult> {
  const anomalies: string[] = [];
  // The plan of twin A.
  const planRun = await runPlugin('kubectl-study_drain', [a.twin, '--dry-run', '-o', 'json', ...combination.flags], {
    env: { KUBECONFIG: cluster().adminKubeconfig },
    timeoutMs: 120_000,
  });
  assert.ok(
    planRun.code === 0 || planRun.code === 3,
    `${combination.id}: study-drain exited ${planRun.code}\n${planRun.stderr}`,
  );
  const plan = JSON.parse(planRun.stdout) as { pods: PlanPod[] };
  const aCase = new Map((await podsOnTwin(a)).map((p) => [p.metadata!.name!, caseOf(p)]));
  const planByCase = new Map<string, PlanPod>();
  for (const p of plan.pods) planByCase.set(aCase.get(p.name) ?? `unknown pod ${p.name}`, p);

  // What kubectl drain really does on twin B.
  const bPods = await podsOnTwin(b);
  const selector = podSelectorOf(combination.flags);
  const listed = new Set((await podsOnTwin(b, selector)).map((p) => p.metadata!.name!));
  const mark = auditMark();
  const runs: CombinationResult['runs'] = [];
  const drain = async (flags: string[]): Promise<RunResult> => {
    const args = ['drain', b.twin, ...flags, `--timeout=${KUBECTL_TIMEOUT}`];
    const result = await kubectl(args, { env: kubectlEnv, timeoutMs: 180_000 });
    runs.push({ args, result });
    return result;
  };
  const first = await drain(combination.flags);
  const refusals = parseRefusals(`${first.stderr}\n${first.stdout}`);
  if (refusals.size) {
    const early = writesPerPod(
      auditEventsSince(mark).filter((e) => e.user.username === kubectlUser),
      b.ns,
    );
    if (early.size) anomalies.push(`kubectl refused the node and still evicted ${[...early.keys()].join(', ')}`);
    const refusedCases = [
      ...new Set(bPods.filter((p) => refusals.has(`${b.ns}/${p.metadata!.name}`)).map(caseOf)),
    ].sort();
    const narrowed = [selector, `${CASE_LABEL} notin (${refusedCases.join(',')})`].filter(Boolean).join(',');
    const second = await drain(withPodSelector(combination.flags, narrowed));
    const again = parseRefusals(`${second.stderr}\n${second.stdout}`);
    if (again.size)
      anomalies.push(`kubectl refused again once the refused kinds were left out: ${[...again.keys()].join(', ')}`);
    for (const [k, v] of again) refusals.set(k, v);
  }
  const writes = writesPerPod(
    auditEventsSince(mark).filter((e) => e.user.username === kubectlUser),
    b.ns,
  );

  const comparisons: Comparison[] = [];
  const seen = new Set<string>();
  for (const pod of bPods) {
    const name = pod.metadata!.name!;
    const key = `${b.ns}/${name}`;
    const c = caseOf(pod);
    seen.add(c);
    const answers = (writes.get(key) ?? []).map((w) => w.code);
    const refusal = refusals.get(key);
    const k: KubectlPod =
      refusal !== undefined
        ? { outcome: 'refused', refusal, answers }
        : writes.has(key)
          ? { outcome: 'evicted', answers }
          : listed.has(name)
            ? { outcome: 'skipped', answers }
            : { outcome: 'absent', answers };
    if (refusal !== undefined && answers.length) anomalies.push(`${c}: refused and evicted`);
    comparisons.push(compare(combination.id, c, planByCase.get(c), k));
  }
  for (const c of CASES) if (!seen.has(c.name)) anomalies.push(`${c.name}: no pod on twin B`);
  return { combination, comparisons, runs, anomalies };
}

test('the plan against the real kubectl drain on twin nodes: every pod kind under every flag combination', {
  timeout: 20 * 60_000,
}, async (t) => {
  const kubectlUser = `twin-kubectl-${suffix()}`;
  const kubectlEnv = { KUBECONFIG: mintUser(kubectlUser, ['system:masters']) };
  const labels = ['a', ...COMBOS.map((_, i) => `b${i + 1}`)];
  const sides = await mapLimit(labels, PARALLEL, (label) => buildSide(t, label));
  const [a, ...bs] = sides as [TwinSide, ...TwinSide[]];

  // The twins carry the same catalogue, pod for pod.
  const expected = await signature(a);
  assert.equal(expected.length, CASES.length);
  for (const b of bs) assert.deepEqual(await signature(b), expected, `twin ${b.label} differs from twin A`);

  const results = await mapLimit(COMBOS, PARALLEL, (combination, i) =>
    runCombination(combination, a, bs[i]!, kubectlUser, kubectlEnv),
  );
  const all = results.flatMap((r) => r.comparisons);
  const count = (v: Comparison['verdict']): number => all.filter((c) => c.verdict === v).length;

  const outside = all.filter((c) => c.verdict === 'agree' && c.kubectl.startsWith('absent')).length;
  t.diagnostic(
    `${all.length} comparisons (${CASES.length} pod kinds x ${COMBOS.length} flag combinations): ` +
      `${count('agree')} agree (${outside} of them outside --pod-selector for both), ` +
      `${count('extra')} explained by the plan's extra checks, ${count('mismatch')} mismatches`,
  );
  t.diagnostic(`agreement twins: ${count('agree') + count('extra')} of ${all.length}`);
  for (const r of results) {
    const n = (v: Comparison['verdict']): number => r.comparisons.filter((c) => c.verdict === v).length;
    t.diagnostic(
      `  ${r.combination.id.padEnd(26)} ${(r.combination.flags.join(' ') || '(no flags)').padEnd(80)} agree ${n('agree')}, extra ${n('extra')}, mismatch ${n('mismatch')}`,
    );
  }
  const extras = new Map<string, string[]>();
  for (const c of all.filter((x) => x.verdict === 'extra')) {
    const k = `${c.case}: ${c.note}`;
    extras.set(k, [...(extras.get(k) ?? []), c.combination]);
  }
  t.diagnostic('extra checks (kubectl evicted, the plan blocks):');
  for (const [k, combos] of [...extras].sort(([a], [b]) => a.localeCompare(b)))
    t.diagnostic(`  ${k} [${combos.join(', ')}]`);

  const anomalies = results.flatMap((r) => r.anomalies.map((x) => `${r.combination.id}: ${x}`));
  assert.deepEqual(anomalies, [], 'the twins behaved as built');
  const mismatches = all.filter((c) => c.verdict === 'mismatch');
  if (mismatches.length) {
    const rows = [
      ['COMBINATION', 'POD KIND', 'PLAN (twin A)', 'KUBECTL (twin B)', 'WHY'],
      ...mismatches.map((m) => [m.combination, m.case, m.plan, m.kubectl, m.note ?? '']),
    ];
    const involved = new Set(mismatches.map((m) => m.combination));
    const output = results
      .filter((r) => involved.has(r.combination.id))
      .flatMap((r) =>
        r.runs.map(
          (run) =>
            `$ kubectl ${run.args.join(' ')}  (exit ${run.result.code})\n${run.result.stdout}${run.result.stderr}`,
        ),
      )
      .join('\n');
    assert.fail(
      `${mismatches.length} of ${all.length} comparisons disagree with kubectl drain:\n${table(rows)}\n\nkubectl's output:\n${output}`,
    );
  }
});
