/**
 * Runs one placement scenario against the real control plane and compares
 * the drain plan's prediction with what kube-scheduler did:
 *
 *   1. build it: namespaces, priority and runtime classes, nodes, bound
 *      volumes, Deployments whose pods wait behind a scheduling gate;
 *   2. place the first pods, group by group in the scenario's order (with
 *      every node but the ones to drain cordoned for the groups meant to
 *      start there), then scale away any that found no node;
 *   3. predict: `kubectl study-drain NODES --dry-run -o json`;
 *   4. drain for real with `kubectl study-drain NODES --yes`;
 *   5. release the replacements (still gated) one by one in the plan's
 *      queue order, each once the scheduler has answered for the previous
 *      one, then wait until nothing has changed for longer than the
 *      scheduler's longest backoff;
 *   6. compare, per workload, how many replacements the plan said would
 *      stay Pending with how many did, and the FailedScheduling messages.
 *
 * The gate makes the scheduler see the replacements in the order the
 * simulation places them, as it would see them in a drain that evicts them
 * in that order; without it their order would be the controllers' race.
 * Everything the scenario made is removed, whatever happens.
 */
import { adminRequest, removeNodes, addNodes, type ClusterInfo } from '../cluster/cluster.js';
import { cluster, runPlugin } from './cluster.js';
import type { Scenario } from './placement-scenarios.js';

export interface ScenarioOutcome {
  id: string;
  index: number;
  features: string[];
  drained: string[];
  /** Evicted pods whose replacements the plan placed. */
  evicted: number;
  /** Pending replacements per workload (namespace/ReplicaSet), predicted and seen. */
  predicted: Record<string, number>;
  actual: Record<string, number>;
  agree: boolean;
  /** The plan says its answer depends on the node the scheduler chooses among those that fit (it breaks ties at random). */
  ambiguous: boolean;
  messages: { compared: number; equal: number; mismatches: Array<{ pod: string; predicted: string; actual: string }> };
  ms: number;
  error?: string;
}

interface PodJson {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    deletionTimestamp?: string;
    ownerReferences?: Array<{ kind: string; name: string }>;
  };
  spec: { nodeName?: string; schedulingGates?: Array<{ name: string }> };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string }> };
}

interface PlanJson {
  verdict: string;
  blockers: string[];
  pods: Array<{
    namespace: string;
    name: string;
    owners: Array<{ kind: string; name: string }>;
    placement?: { order: number; outcome: 'placed' | 'pending'; node?: string; message?: string; uncertain?: boolean };
  }>;
}

const QUIET_MS = Number(process.env.PLACEMENT_QUIET_MS || 12_000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function api<T = unknown>(
  info: ClusterInfo,
  method: string,
  path: string,
  body?: unknown,
  ok: number[] = [200, 201],
): Promise<T> {
  const r = await adminRequest<T>(info, method, path, body, 30_000);
  if (!ok.includes(r.status))
    throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
  return r.body;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 90_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(everyMs);
  }
}

const isBound = (p: PodJson): boolean => Boolean(p.spec.nodeName);
const isGated = (p: PodJson): boolean => (p.spec.schedulingGates ?? []).length > 0;
const isUnschedulable = (p: PodJson): boolean =>
  p.status?.conditions?.some(
    (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
  ) ?? false;
const owner = (p: PodJson): string => `${p.metadata.namespace}/${p.metadata.ownerReferences?.[0]?.name ?? ''}`;
/** namespace/Deployment of a pod: its ReplicaSet's name without the template hash. */
const deploymentOf = (p: PodJson): string => {
  const rs = p.metadata.ownerReferences?.[0]?.name ?? '';
  return `${p.metadata.namespace}/${rs.slice(0, rs.lastIndexOf('-'))}`;
};

async function podsOf(info: ClusterInfo, s: Scenario): Promise<PodJson[]> {
  const lists = await Promise.all(
    s.namespaces.map((ns) => api<{ items: PodJson[] }>(info, 'GET', `/api/v1/namespaces/${ns.name}/pods`)),
  );
  return lists.flatMap((l) => l.items).filter((p) => !p.metadata.deletionTimestamp);
}

async function setUnschedulable(info: ClusterInfo, nodes: string[], on: boolean): Promise<void> {
  for (const n of nodes) await api(info, 'PATCH', `/api/v1/nodes/${n}`, { spec: { unschedulable: on ? true : null } });
}

/** Uncordoned nodes lose the unschedulable taint a moment later (node lifecycle controller); wait for it. */
async function untainted(info: ClusterInfo, nodes: string[]): Promise<void> {
  await until('the unschedulable taint to go', async () => {
    const list = await api<{
      items: Array<{ metadata: { name: string }; spec?: { taints?: Array<{ key: string }> } }>;
    }>(info, 'GET', '/api/v1/nodes');
    return list.items
      .filter((n) => nodes.includes(n.metadata.name))
      .every((n) => !(n.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unschedulable'));
  });
}

async function ungate(info: ClusterInfo, p: PodJson): Promise<void> {
  await api(info, 'PATCH', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`, {
    spec: { schedulingGates: null },
  });
}

/** Waits until the scheduler has answered for every one of these pods: bound, or marked Unschedulable. */
async function answered(info: ClusterInfo, s: Scenario, names: Set<string>): Promise<void> {
  await until(`the scheduler to answer for ${names.size} pods`, async () => {
    const pods = (await podsOf(info, s)).filter((p) => names.has(`${p.metadata.namespace}/${p.metadata.name}`));
    return pods.every((p) => isBound(p) || isUnschedulable(p));
  });
}

/** Waits until no pod of the scenario has changed node for QUIET_MS: the scheduler has had its chance. */
async function quiet(info: ClusterInfo, s: Scenario): Promise<PodJson[]> {
  let last = '';
  let since = Date.now();
  return until(
    'the scheduler to settle',
    async () => {
      const pods = await podsOf(info, s);
      const state = pods
        .map((p) => `${p.metadata.name}=${p.spec.nodeName ?? ''}${isGated(p) ? '(gated)' : ''}`)
        .sort()
        .join(',');
      if (state !== last) {
        last = state;
        since = Date.now();
        return undefined;
      }
      return Date.now() - since >= QUIET_MS ? pods : undefined;
    },
    QUIET_MS + 120_000,
    500,
  );
}

async function build(info: ClusterInfo, s: Scenario, cleanups: Array<() => Promise<unknown>>): Promise<void> {
  for (const ns of s.namespaces) {
    await api(info, 'POST', '/api/v1/namespaces', {
      metadata: { name: ns.name, labels: { ...ns.labels, 'kstudy.test/owned': 'true' } },
    });
    cleanups.push(() => api(info, 'DELETE', `/api/v1/namespaces/${ns.name}`, undefined, [200, 202, 404]));
    await until(
      `the default service account in ${ns.name}`,
      async () =>
        (await adminRequest(info, 'GET', `/api/v1/namespaces/${ns.name}/serviceaccounts/default`)).status === 200,
    );
  }
  for (const pc of s.priorityClasses) {
    await api(info, 'POST', '/apis/scheduling.k8s.io/v1/priorityclasses', {
      metadata: { name: pc.name },
      value: pc.value,
      preemptionPolicy: 'Never',
    });
    cleanups.push(() =>
      api(info, 'DELETE', `/apis/scheduling.k8s.io/v1/priorityclasses/${pc.name}`, undefined, [200, 404]),
    );
  }
  if (s.runtimeClass) {
    const rc = s.runtimeClass;
    await api(info, 'POST', '/apis/node.k8s.io/v1/runtimeclasses', {
      metadata: { name: rc.name },
      handler: 'kstudy',
      overhead: { podFixed: rc.overhead },
    });
    cleanups.push(() => api(info, 'DELETE', `/apis/node.k8s.io/v1/runtimeclasses/${rc.name}`, undefined, [200, 404]));
  }
  cleanups.push(() =>
    removeNodes(
      info,
      s.nodes.map((n) => n.name),
    ),
  );
  await addNodes(info, s.nodes);
  for (const v of s.volumes) {
    await api(info, 'POST', '/api/v1/persistentvolumes', v.pv);
    cleanups.push(() => api(info, 'DELETE', `/api/v1/persistentvolumes/${v.pv.metadata!.name}`, undefined, [200, 404]));
    await api(info, 'POST', `/api/v1/namespaces/${v.pvc.metadata!.namespace}/persistentvolumeclaims`, v.pvc);
  }
  for (const v of s.volumes) {
    await until(`claim ${v.pvc.metadata!.name} to be bound`, async () => {
      const c = await api<{ status?: { phase?: string } }>(
        info,
        'GET',
        `/api/v1/namespaces/${v.pvc.metadata!.namespace}/persistentvolumeclaims/${v.pvc.metadata!.name}`,
      );
      return c.status?.phase === 'Bound';
    });
  }
  for (const w of s.workloads) {
    await api(info, 'POST', `/apis/apps/v1/namespaces/${w.namespace}/deployments`, {
      metadata: { name: w.name },
      spec: {
        replicas: w.replicas,
        selector: { matchLabels: w.labels },
        template: { metadata: { labels: w.labels }, spec: w.spec },
      },
    });
  }
}

/** The first pods, group by group; then away with those that found no node. */
async function placeInitial(info: ClusterInfo, s: Scenario, targets: string[]): Promise<void> {
  const others = s.nodes.map((n) => n.name).filter((n) => !targets.includes(n));
  const expected = s.workloads.reduce((n, w) => n + w.replicas, 0);
  await until('the first pods to be created', async () => (await podsOf(info, s)).length >= expected);
  let i = 0;
  while (i < s.workloads.length) {
    const onTarget = s.workloads[i]!.onTarget;
    const group: typeof s.workloads = [];
    while (i < s.workloads.length && s.workloads[i]!.onTarget === onTarget) group.push(s.workloads[i++]!);
    if (onTarget) await setUnschedulable(info, others, true);
    else {
      await setUnschedulable(info, others, false);
      await untainted(info, others);
    }
    const names = new Set(group.map((w) => `${w.namespace}/${w.name}`));
    const mine = (await podsOf(info, s)).filter((p) => isGated(p) && names.has(deploymentOf(p)));
    for (const p of mine) await ungate(info, p);
    await answered(info, s, new Set(mine.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)));
  }
  await setUnschedulable(info, others, false);
  await untainted(info, others);
  const settled = await quiet(info, s);
  // Scale each Deployment down by its pods that found no node: the ReplicaSet removes unscheduled pods first.
  for (const w of s.workloads) {
    const pending = settled.filter((p) => !isBound(p) && deploymentOf(p) === `${w.namespace}/${w.name}`).length;
    if (pending)
      await api(info, 'PATCH', `/apis/apps/v1/namespaces/${w.namespace}/deployments/${w.name}/scale`, {
        spec: { replicas: w.replicas - pending },
      });
  }
  await until('only bound pods', async () => (await podsOf(info, s)).every(isBound), 60_000);
}

function countPending(entries: Array<[string, boolean]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [workload, pending] of entries) out[workload] = (out[workload] ?? 0) + (pending ? 1 : 0);
  return out;
}

function samePending(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

async function failedSchedulingMessage(info: ClusterInfo, p: PodJson): Promise<string> {
  const list = await api<{
    items: Array<{
      message?: string;
      lastTimestamp?: string;
      eventTime?: string;
      metadata: { creationTimestamp: string };
    }>;
  }>(
    info,
    'GET',
    `/api/v1/namespaces/${p.metadata.namespace}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${p.metadata.name},reason=FailedScheduling`)}`,
  );
  const at = (e: (typeof list.items)[number]): number =>
    new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp).getTime();
  const latest = list.items.sort((a, b) => at(a) - at(b)).at(-1);
  return (latest?.message ?? '').replace(/ preemption: .*$/, '');
}

export async function runScenario(s: Scenario, log: (line: string) => void = () => {}): Promise<ScenarioOutcome> {
  const info = cluster();
  const started = Date.now();
  const targets = s.nodes.slice(0, s.drain).map((n) => n.name);
  const outcome: ScenarioOutcome = {
    id: s.id,
    index: s.index,
    features: s.features,
    drained: targets,
    evicted: 0,
    predicted: {},
    actual: {},
    agree: false,
    ambiguous: false,
    messages: { compared: 0, equal: 0, mismatches: [] },
    ms: 0,
  };
  const cleanups: Array<() => Promise<unknown>> = [];
  const env = { KUBECONFIG: info.adminKubeconfig };
  const flags = ['--ignore-daemonsets', '--force', '--delete-emptydir-data', '--allow-unplaceable'];
  try {
    await build(info, s, cleanups);
    await placeInitial(info, s, targets);
    log(`${s.id}: built (${s.features.join('+')}), predicting`);

    const dry = await runPlugin('kubectl-study_drain', [...targets, '--dry-run', '-o', 'json', ...flags], {
      env,
      timeoutMs: 120_000,
    });
    if (dry.code !== 0) throw new Error(`the plan exited ${dry.code}: ${dry.stderr.trim()}`);
    const plan = JSON.parse(dry.stdout) as PlanJson;
    const placements = plan.pods
      .filter((p) => p.placement)
      .map((p) => ({
        ...p.placement!,
        pod: `${p.namespace}/${p.name}`,
        workload: `${p.namespace}/${p.owners[0]?.name ?? ''}`,
      }));
    placements.sort((a, b) => a.order - b.order);
    outcome.evicted = placements.length;
    outcome.predicted = countPending(placements.map((p) => [p.workload, p.outcome === 'pending']));
    outcome.ambiguous = placements.some((p) => p.uncertain);

    const run = await runPlugin(
      'kubectl-study_drain',
      [...targets, '--yes', '--timeout', '3m', '-o', 'json', ...flags],
      { env, timeoutMs: 240_000 },
    );
    if (run.code !== 0) throw new Error(`the drain exited ${run.code}: ${run.stderr.trim().slice(-500)}`);
    await until('the cordoned nodes to be tainted', async () => {
      const list = await api<{
        items: Array<{ metadata: { name: string }; spec?: { taints?: Array<{ key: string }> } }>;
      }>(info, 'GET', '/api/v1/nodes');
      return targets.every((t) =>
        list.items
          .find((n) => n.metadata.name === t)
          ?.spec?.taints?.some((x) => x.key === 'node.kubernetes.io/unschedulable'),
      );
    });
    const replacements = await until('every replacement', async () => {
      const pods = (await podsOf(info, s)).filter(isGated);
      return pods.length >= placements.length ? pods : undefined;
    });

    // Release them in the plan's queue order, each once the scheduler has answered for the one before.
    const released = new Set<string>();
    for (const p of placements) {
      const next = replacements.find((r) => owner(r) === p.workload && !released.has(r.metadata.uid));
      if (!next) throw new Error(`no replacement left for ${p.pod} (${p.workload})`);
      released.add(next.metadata.uid);
      await ungate(info, next);
      await answered(info, s, new Set([`${next.metadata.namespace}/${next.metadata.name}`]));
    }
    const settled = await quiet(info, s);
    const after = settled.filter((p) => released.has(p.metadata.uid));
    if (process.env.PLACEMENT_DEBUG) {
      for (const p of placements)
        log(`${s.id}: predicted #${p.order} ${p.pod} (${p.workload}) -> ${p.node ?? 'pending'}`);
      for (const p of after)
        log(
          `${s.id}: actual ${p.metadata.namespace}/${p.metadata.name} (${owner(p)}) -> ${(p as { spec?: { nodeName?: string } }).spec?.nodeName ?? 'pending'}`,
        );
    }
    outcome.actual = countPending(after.map((p) => [owner(p), !isBound(p)]));
    outcome.agree = samePending(outcome.predicted, outcome.actual);

    for (const p of after.filter((x) => !isBound(x))) {
      const predicted =
        placements.filter((x) => x.workload === owner(p) && x.outcome === 'pending').at(-1)?.message ??
        '(predicted to fit)';
      const actual = await failedSchedulingMessage(info, p);
      outcome.messages.compared++;
      if (actual === predicted) outcome.messages.equal++;
      else outcome.messages.mismatches.push({ pod: `${p.metadata.namespace}/${p.metadata.name}`, predicted, actual });
    }
  } catch (err) {
    outcome.error = err instanceof Error ? err.message : String(err);
  } finally {
    for (const c of cleanups.reverse())
      await c().catch((e: unknown) => log(`${s.id}: cleanup: ${e instanceof Error ? e.message : String(e)}`));
    outcome.ms = Date.now() - started;
  }
  return outcome;
}
