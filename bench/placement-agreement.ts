/**
 * The placement simulation against the real kube-scheduler: seeded
 * scenarios (tests/support/placement-scenarios.ts), each built on the local
 * cluster, predicted by `kubectl study-drain --dry-run -o json`, drained for
 * real, and compared (tests/support/placement-harness.ts). Prints one line
 * per scenario and the totals; exits 1 when a scenario whose answer does
 * not depend on the scheduler's random tie-breaking disagrees.
 *
 *   npm run bench:placement-agreement      PLACEMENT_SCENARIOS=46 PLACEMENT_SEED=13 PLACEMENT_CONCURRENCY=1
 *
 * Several scenarios at once (PLACEMENT_CONCURRENCY) finish sooner, but then each one's FailedScheduling
 * messages count the others' nodes, so only one at a time compares them word for word.
 *
 * It starts the cluster if none runs (STUDY_CLUSTER_DIR, STUDY_CLUSTER_PORT_BASE as usual).
 */
import { randomBytes } from 'node:crypto';

import { up } from '../tests/cluster/cluster.js';
import { runScenario, type ScenarioOutcome } from '../tests/support/placement-harness.js';
import { generateScenarios } from '../tests/support/placement-scenarios.js';
import { mapLimit } from '../src/base/concurrency.js';

const COUNT = Number(process.env.PLACEMENT_SCENARIOS || 46);
const SEED = Number(process.env.PLACEMENT_SEED || 13);
const CONCURRENCY = Number(process.env.PLACEMENT_CONCURRENCY || 1);
const ONLY = process.env.PLACEMENT_ONLY?.split(',').map(Number);

const log = (line: string): void => {
  process.stderr.write(`agreement: ${line}\n`);
};

function pendingText(r: Record<string, number>): string {
  const n = Object.values(r).reduce((a, b) => a + b, 0);
  return String(n);
}

async function main(): Promise<number> {
  await up({ log });
  const tag = randomBytes(2).toString('hex').slice(0, 3);
  const scenarios = generateScenarios(SEED, COUNT, tag).filter((s) => !ONLY || ONLY.includes(s.index));
  log(`${scenarios.length} scenarios, seed ${SEED}, run ${tag}, ${CONCURRENCY} at a time`);
  const started = Date.now();
  const results: ScenarioOutcome[] = await mapLimit(scenarios, CONCURRENCY, async (s) => {
    const r = await runScenario(s, log);
    const outcome = r.error
      ? `ERROR ${r.error}`
      : `${r.evicted} evicted, pending predicted ${pendingText(r.predicted)} actual ${pendingText(r.actual)} ` +
        `${r.agree ? 'agree' : 'DISAGREE'}${r.ambiguous ? ' (choice-dependent)' : ''}, ` +
        `messages ${r.messages.equal}/${r.messages.compared}`;
    log(`${r.id} #${r.index} ${r.features.join('+')}: ${outcome} in ${(r.ms / 1000).toFixed(0)}s`);
    return r;
  });
  const ok = results.filter((r) => !r.error);
  const decided = ok.filter((r) => !r.ambiguous);
  const evicted = ok.reduce((n, r) => n + r.evicted, 0);
  const podDiff = ok.reduce(
    (n, r) =>
      n +
      Object.keys({ ...r.predicted, ...r.actual }).reduce(
        (m, k) => m + Math.abs((r.predicted[k] ?? 0) - (r.actual[k] ?? 0)),
        0,
      ),
    0,
  );
  const pendingActual = ok.reduce((n, r) => n + Object.values(r.actual).reduce((a, b) => a + b, 0), 0);
  const msgs = ok.reduce(
    (a, r) => ({ compared: a.compared + r.messages.compared, equal: a.equal + r.messages.equal }),
    { compared: 0, equal: 0 },
  );
  const features = new Set(ok.flatMap((r) => r.features));
  const pct = (a: number, b: number): string => (b ? `${((100 * a) / b).toFixed(1)}%` : 'n/a');
  for (const r of results.filter((x) => !x.agree || x.messages.mismatches.length || x.error)) {
    process.stdout.write(`\n${r.id} #${r.index} (${r.features.join('+')})${r.error ? `: error: ${r.error}` : ''}\n`);
    if (!r.error && !r.agree)
      process.stdout.write(
        `  predicted pending ${JSON.stringify(r.predicted)}\n  actual pending    ${JSON.stringify(r.actual)}\n`,
      );
    for (const m of r.messages.mismatches)
      process.stdout.write(`  ${m.pod}\n    predicted: ${m.predicted}\n    actual:    ${m.actual}\n`);
  }
  const agreed = decided.filter((r) => r.agree).length;
  process.stdout.write(
    [
      '',
      `scenarios: ${results.length} run, ${ok.length} completed (${results.length - ok.length} errors), ` +
        `covering ${features.size} features; ` +
        `${decided.length} whose answer does not depend on the scheduler's tie-breaking`,
      `evicted pods: ${evicted}; ${pendingActual} stayed Pending`,
      `agreement (pending set per workload): ${agreed}/${decided.length} scenarios ${pct(agreed, decided.length)}; ` +
        `all scenarios ${ok.filter((r) => r.agree).length}/${ok.length}; ` +
        `pods ${evicted - podDiff}/${evicted} ${pct(evicted - podDiff, evicted)}`,
      `FailedScheduling messages identical: ${msgs.equal}/${msgs.compared} ${pct(msgs.equal, msgs.compared)}`,
      `wall time ${((Date.now() - started) / 1000).toFixed(0)} s`,
      '',
    ].join('\n'),
  );
  return decided.every((r) => r.agree) && ok.length === results.length ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`error: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
