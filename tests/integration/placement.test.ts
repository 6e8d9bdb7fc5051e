/**
 * The drain plan's placement against the real kube-scheduler: a sample of
 * the seeded scenarios of bench/placement-agreement.ts (one per filter
 * family, and combined ones), and the verdict a replacement that fits
 * nowhere gives the plan.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { apis, cluster, runPlugin, suffix, testNamespace } from '../support/cluster.js';
import { runScenario } from '../support/placement-harness.js';
import { generateScenarios } from '../support/placement-scenarios.js';
import { allReady, createPool, template } from '../support/workloads.js';
import { mapLimit } from '../../src/base/concurrency.js';

// Scenarios of seed 13 where replacements stay Pending, together covering node affinity, matchFields, taints, pod
// slots, GPUs, hugepages, pod-level resources, sidecars, overhead, ephemeral storage, host ports, priority, pod
// affinity and anti-affinity (the pod's and existing pods'), matchLabelKeys, topology spread with minDomains, volumes.
const SAMPLE = [1, 5, 23, 25, 29, 31, 34, 35, 37, 44];

test('a sample of 10 scenarios: the plan predicts the Pending replacements the scheduler leaves', {
  timeout: 20 * 60_000,
}, async (t) => {
  const scenarios = generateScenarios(13, 46, suffix().slice(0, 3)).filter((s) => SAMPLE.includes(s.index));
  assert.equal(scenarios.length, 10);
  const results = await mapLimit(scenarios, 2, (s) => runScenario(s));
  // Counted before anything is asserted, so a failing run still reports it. A scenario that could not be run
  // counts as decided and not agreeing; pods agree where the plan's and the scheduler's Pending counts per
  // workload do (each count the plan gets wrong is a pod it places wrong).
  const decided = results.filter((r) => r.error !== undefined || !r.ambiguous);
  const pendingDiff = (r: (typeof results)[number]): number =>
    Object.keys({ ...r.predicted, ...r.actual }).reduce(
      (n, k) => n + Math.abs((r.predicted[k] ?? 0) - (r.actual[k] ?? 0)),
      0,
    );
  const decidedPods = decided.reduce((n, r) => n + r.evicted, 0);
  const podsAgreeing = decided.reduce((n, r) => n + (r.error ? 0 : r.evicted - pendingDiff(r)), 0);
  t.diagnostic(
    `${decided.length} of ${results.length} scenarios decided (the rest depend on the scheduler's tie-breaking): ` +
      `${decided.filter((r) => !r.error && r.agree).length} with the Pending replacements the scheduler left, ` +
      `${podsAgreeing} of their ${decidedPods} evicted pods placed or left Pending as the scheduler did`,
  );
  t.diagnostic(`agreement placement: ${decided.filter((r) => !r.error && r.agree).length} of ${decided.length}`);
  t.diagnostic(`agreement placement-pods: ${podsAgreeing} of ${decidedPods}`);
  for (const r of results) assert.equal(r.error, undefined, `${r.id} (${r.features.join('+')}): ${r.error}`);
  for (const r of decided) {
    assert.deepEqual(
      r.actual,
      r.predicted,
      `${r.id} #${r.index} (${r.features.join('+')}): pending replacements per workload`,
    );
  }
  const evicted = results.reduce((n, r) => n + r.evicted, 0);
  const pending = decided.reduce((n, r) => n + Object.values(r.actual).reduce((a, b) => a + b, 0), 0);
  assert.ok(
    decided.length >= 8,
    `${decided.length} of 10 scenarios have an answer that does not depend on tie-breaking`,
  );
  assert.ok(evicted >= 50, `${evicted} evicted pods`);
  assert.ok(pending >= 10, `replacements stay Pending (${pending}), so a wrong prediction would show`);
});

test('a replacement that fits nowhere blocks the plan, with the scheduler’s words, until --allow-unplaceable', async (t) => {
  const ns = await testNamespace(t);
  const pool = await createPool(t, [{}, {}]);
  const [target, other] = pool.nodes as [string, string];
  // Two replicas that may not share a node, on a pool of two nodes.
  const spec = template(pool, 'solo');
  spec.spec!.affinity = {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: { app: 'solo' } }, topologyKey: 'kubernetes.io/hostname' },
      ],
    },
  };
  await apis().apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'solo' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'solo' } }, template: spec },
    },
  });
  await allReady(ns, 2);
  const env = { KUBECONFIG: cluster().adminKubeconfig };

  const r = await runPlugin('kubectl-study_drain', [target, '--dry-run', '-o', 'json'], { env });
  assert.equal(r.code, 3, r.stderr);
  const plan = JSON.parse(r.stdout) as {
    verdict: string;
    blockers: string[];
    pods: Array<{
      node: string;
      reasons: Array<{ code: string; message: string }>;
      placement?: { outcome: string; message?: string };
    }>;
  };
  const mine = plan.pods.find((p) => p.node === target)!;
  assert.equal(mine.placement?.outcome, 'pending');
  // The other node has the other replica; the drained node is cordoned (other tests may have cordoned theirs too);
  // every other node of the cluster is not in the pool.
  assert.match(
    mine.placement?.message ?? '',
    /^0\/\d+ nodes are available: .*\b1 node\(s\) didn't match pod anti-affinity rules\b/,
  );
  assert.match(mine.placement?.message ?? '', /\b\d+ node\(s\) were unschedulable\b/);
  assert.ok(mine.reasons.some((x) => x.code === 'WontFit' && x.message === mine.placement?.message));
  assert.ok(plan.blockers.includes('WontFit: --allow-unplaceable overrides it'), plan.blockers.join('; '));
  assert.equal(plan.pods.length, 1);
  assert.ok(plan.pods.every((p) => p.node !== other));

  const table = await runPlugin('kubectl-study_drain', [target, '--dry-run', '-o', 'wide'], { env });
  assert.match(table.stdout, /REPLACEMENT ON/);
  assert.match(table.stdout, /Placement: 0 of 1 replacement fit on the nodes left; 1 would stay Pending/);
  assert.match(table.stdout, /blocks {2}.*WontFit: 0\/\d+ nodes are available: .* \(override: --allow-unplaceable\)/);

  const allowed = await runPlugin('kubectl-study_drain', [target, '--dry-run', '--allow-unplaceable', '-o', 'json'], {
    env,
  });
  assert.equal(allowed.code, 0, allowed.stderr);
  const go = JSON.parse(allowed.stdout) as typeof plan;
  assert.equal(go.verdict, 'proceed');
  assert.deepEqual(
    go.pods[0]?.reasons.map((x) => `${x.code}/${(x as { severity?: string }).severity}`),
    ['WontFit/warning'],
  );
});
