/**
 * An in-memory fake of the API a maintenance run works through
 * (src/maintain/api.ts): nodes that are cordoned and uncordoned, drains
 * that end as told, a lock another run can hold or take away, the
 * ConfigMap the run's state is kept in (answering 409, 404, 403 and
 * outages as told), and a log of every change in order, so a test says
 * which nodes were touched, and when.
 */
import { BlockedError, NoMatchError, TimeoutError, type StudyError } from '../../src/base/errors.js';
import type { DrainEvent, DrainPlan, DrainResult, RunPlan, WorkloadHealth, WorkloadRef } from '../../src/drain/lib.js';
import { silentServerError } from '../../src/kube/apierror.js';
import { toStudyError } from '../../src/kube/apierror.js';
import type { AccessCheck } from '../../src/maintain/access.js';
import type { MaintainRunApi, RunLock } from '../../src/maintain/api.js';
import type { RunClock } from '../../src/maintain/clock.js';
import type { LeaseState } from '../../src/maintain/lease.js';
import type { Work } from '../../src/maintain/steps.js';
import type { ConfigMapApi, ConfigMapObject } from '../../src/maintain/store.js';
import type { AttachedVolume } from '../../src/maintain/volumes.js';
import { drainPlan, podPlan } from './fake-drain.js';

/** A failure as the API client throws it: the typed error, its HTTP status readable (apiStatusOf). */
export function apiFailure(what: string, answer: number | 'outage', message = ''): Error {
  const raw =
    answer === 'outage'
      ? Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:6443`), { code: 'ECONNREFUSED' })
      : {
          code: answer,
          body: JSON.stringify({
            kind: 'Status',
            status: 'Failure',
            code: answer,
            message: message || `HTTP ${answer}`,
          }),
        };
  return toStudyError(raw, { what, server: 'https://fake:6443', user: 'fake-user' });
}

export type ConfigMapCall = 'get' | 'create' | 'replace';

/**
 * ConfigMaps in memory, with resourceVersions as the API server keeps
 * them: a replace with a stale one is a 409, a missing object a 404. A
 * test queues answers for the next calls (`fail`), and can write between
 * a run's read and its write (`beforeWrite`), as another writer would.
 */
export class FakeConfigMaps implements ConfigMapApi {
  readonly objects = new Map<string, ConfigMapObject>();
  /** Every call, in order: 'get ns/name', 'replace ns/name -> 409'... */
  readonly calls: string[] = [];
  private readonly failures: Array<{ call: ConfigMapCall | 'any'; answer: number | 'outage' }> = [];
  /** Runs before each create or replace lands (after the writer read): another writer's moment. */
  beforeWrite: ((call: ConfigMapCall) => void) | undefined;
  private version = 100;

  /** The next `call` (or any call) answers this instead. */
  fail(call: ConfigMapCall | 'any', answer: number | 'outage', times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ call, answer });
  }

  private answer(call: ConfigMapCall, key: string): void {
    const i = this.failures.findIndex((f) => f.call === call || f.call === 'any');
    if (i < 0) return;
    const { answer } = this.failures.splice(i, 1)[0]!;
    this.calls.push(`${call} ${key} -> ${answer}`);
    throw apiFailure(`${call} configmap ${key}`, answer);
  }

  /** Writes as another writer would (no precondition): a new resourceVersion. */
  put(namespace: string, name: string, data: Record<string, string>): void {
    const key = `${namespace}/${name}`;
    const old = this.objects.get(key);
    this.objects.set(key, {
      metadata: { ...(old?.metadata ?? { name, namespace }), resourceVersion: String(++this.version) },
      data,
    });
  }

  async get(namespace: string, name: string): Promise<ConfigMapObject> {
    const key = `${namespace}/${name}`;
    this.answer('get', key);
    this.calls.push(`get ${key}`);
    const obj = this.objects.get(key);
    if (!obj) throw apiFailure(`get configmap ${key}`, 404, `configmaps "${name}" not found`);
    return structuredClone(obj);
  }

  async create(namespace: string, body: ConfigMapObject): Promise<ConfigMapObject> {
    const key = `${namespace}/${body.metadata.name}`;
    this.answer('create', key);
    this.beforeWrite?.('create');
    this.calls.push(`create ${key}`);
    if (this.objects.has(key)) throw apiFailure(`create configmap ${key}`, 409, 'already exists');
    const obj = structuredClone({ ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } });
    this.objects.set(key, obj);
    return structuredClone(obj);
  }

  async replace(namespace: string, name: string, body: ConfigMapObject): Promise<ConfigMapObject> {
    const key = `${namespace}/${name}`;
    this.answer('replace', key);
    this.beforeWrite?.('replace');
    const current = this.objects.get(key);
    if (!current) {
      this.calls.push(`replace ${key} -> 404`);
      throw apiFailure(`update configmap ${key}`, 404, `configmaps "${name}" not found`);
    }
    if (current.metadata.resourceVersion !== body.metadata.resourceVersion) {
      this.calls.push(`replace ${key} -> 409`);
      throw apiFailure(`update configmap ${key}`, 409, 'the object has been modified');
    }
    this.calls.push(`replace ${key}`);
    const obj = structuredClone({ ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } });
    this.objects.set(key, obj);
    return structuredClone(obj);
  }
}

export class FakeMaintainCluster implements MaintainRunApi {
  /** Every change and every step, in order: 'lock', 'cordon n1', 'uncordon n1', 'recover n1', 'release'... */
  readonly log: string[] = [];
  readonly cordoned = new Set<string>();
  /** Nodes whose plan is blocked, with the blockers. */
  readonly blocked = new Map<string, string[]>();
  /** How a node's drain ends, when not drained. */
  readonly drainOutcome = new Map<string, Pick<DrainResult, 'outcome' | 'message' | 'errorExitCode'>>();
  /** Nodes that never come back Ready. */
  readonly notReady = new Set<string>();
  /** The wait for a node's evicted workloads, when it is not that they are Available at once. */
  waitAvailable: MaintainRunApi['waitAvailable'] = async (workloads) => {
    this.log.push(`recover ${workloads.map((w) => w.name).join(',')}`);
    return workloads.map(
      (w): WorkloadHealth => ({ workload: `${w.kind}/${w.name}`, namespace: w.namespace, available: true }),
    );
  };
  /** Who holds the lock (another run, before this one starts). */
  lockHolder: string | undefined;
  /** Whether this run still holds its lock (a test takes it away). */
  lockHeld = true;
  readonly identity = { server: 'https://fake:6443', uid: 'uid-kube-system' };
  /** A server that accepts requests and never answers: every read waits for ever. */
  silent = false;
  readonly configMaps = new FakeConfigMaps();
  /** Permissions the caller lacks, as "verb resource" (e.g. "update configmaps"). */
  readonly denied = new Set<string>();
  /**
   * The volumes attached to a node, answer after answer: each look takes the next, the last one stays
   * (so [[a], [a], []] is a volume that detaches on the third look).
   */
  readonly volumes = new Map<string, AttachedVolume[][]>();

  async attachedVolumes(nodes: string[]): Promise<Map<string, AttachedVolume[]>> {
    const out = new Map<string, AttachedVolume[]>();
    for (const node of nodes) {
      const answers = this.volumes.get(node) ?? [];
      const now = (answers.length > 1 ? answers.shift() : answers[0]) ?? [];
      if (now.length) this.log.push(`volumes ${node}: ${now.map((v) => v.name).join(',')}`);
      out.set(node, now);
    }
    return out;
  }

  constructor(readonly nodes: string[]) {}

  async deniedAccess(checks: AccessCheck[]): Promise<AccessCheck[]> {
    return checks.filter((c) => this.denied.has(`${c.verb} ${c.resource}`));
  }

  async whoAmI(): Promise<string> {
    return 'fake-user';
  }

  /** The run's state as the fake cluster keeps it (the ConfigMap's data), in the default --lock-namespace. */
  stateData(namespace = 'kube-system'): Record<string, string> | undefined {
    return this.configMaps.objects.get(`${namespace}/kubectl-study-maintain`)?.data;
  }

  private planOf(nodes: string[]): DrainPlan {
    const plan = drainPlan(
      nodes.map((n) => podPlan(`web-${n}`, { node: n })),
      [],
      nodes,
    );
    for (const n of plan.nodes) n.unschedulable = this.cordoned.has(n.name);
    const blockers = nodes.flatMap((n) => this.blocked.get(n) ?? []);
    if (blockers.length) Object.assign(plan, { verdict: 'blocked', blockers });
    return plan;
  }

  async planRun(order: string[][]): Promise<RunPlan> {
    if (this.silent) await new Promise(() => {});
    return {
      release: { serverRelease: 'v1.37.2', rules: '1.37' },
      steps: order.map((nodes) => ({ nodes, plan: this.planOf(nodes), movedAgain: 0, pending: [], uncertain: 0 })),
      blocked: order
        .flat()
        .flatMap((node) => (this.blocked.has(node) ? [{ node, blockers: this.blocked.get(node)! }] : [])),
    };
  }

  async plan(nodes: string[]): Promise<{ plan: DrainPlan; podListVersions: Map<string, string> }> {
    return { plan: this.planOf(nodes), podListVersions: new Map() };
  }

  async drain(
    plan: DrainPlan,
    _versions: Map<string, string>,
    _deadline: number | undefined,
    onEvent: (e: DrainEvent) => void,
  ): Promise<DrainResult> {
    const cordoned = plan.nodes.map((n) => {
      const changed = !this.cordoned.has(n.name);
      this.cordoned.add(n.name);
      this.log.push(`cordon ${n.name}`);
      onEvent({ type: 'cordon', node: n.name, changed });
      return { node: n.name, changed };
    });
    const end = this.drainOutcome.get(plan.nodes[0]?.name ?? '') ?? { outcome: 'drained' };
    if (end.outcome === 'drained') this.log.push(`drain ${plan.nodes.map((n) => n.name).join(',')}`);
    return {
      kind: 'DrainResult',
      apiVersion: 'study.kubectl.io/v1',
      ...end,
      cordoned,
      pods: plan.pods.map((p) => ({
        namespace: p.namespace,
        name: p.name,
        uid: p.uid,
        status: end.outcome === 'drained' ? 'gone' : 'not-attempted',
      })),
      workloads: [],
      replacements: [],
      elapsedMs: 0,
      requests: 0,
      throttled: 0,
      plan,
    };
  }

  evictedWorkloads(plan: DrainPlan): WorkloadRef[] {
    return plan.nodes.map((n) => ({ namespace: 'ns', kind: 'Deployment', name: `web-${n.name}` }));
  }

  async isCordoned(node: string): Promise<boolean> {
    return this.cordoned.has(node);
  }

  async uncordon(node: string): Promise<void> {
    this.cordoned.delete(node);
    this.log.push(`uncordon ${node}`);
  }

  async waitReady(node: string): Promise<void> {
    if (this.notReady.has(node)) throw new TimeoutError(`node ${node} was not Ready within 10m0s`);
  }

  async nodesMatching(selector: string): Promise<string[]> {
    if (this.nodes.length === 0) throw new NoMatchError(`no node matches the selector "${selector}"`);
    return [...this.nodes].sort();
  }

  async clusterIdentity(): Promise<{ server: string; uid: string }> {
    if (this.silent) await new Promise(() => {});
    return this.identity;
  }

  silenceError(bound: string, consequence?: string): StudyError | undefined {
    return this.silent ? silentServerError(this.identity.server, bound, consequence) : undefined;
  }

  async acquireLock(holder: string): Promise<RunLock> {
    if (this.lockHolder !== undefined && this.lockHolder !== holder)
      throw new BlockedError(
        `another maintenance run holds the lock kube-system/kubectl-study-maintain: ${this.lockHolder}`,
      );
    this.lockHolder = holder;
    this.log.push('lock');
    return {
      tookOverFrom: undefined,
      startRenewing: () => {},
      held: () => this.lockHeld,
      release: async () => {
        this.lockHolder = undefined;
        this.log.push('release');
      },
    };
  }

  async readLock(): Promise<LeaseState | undefined> {
    return this.lockHolder === undefined
      ? undefined
      : { held: true, holder: this.lockHolder, expiresInMs: 20_000, renewedAgoMs: 10_000 };
  }
}

/** The operator's work, in memory: done at once (exit code 0), or as `perform` says; each node's logged. */
export function fakeWork(
  log: string[],
  perform: (node: string, signal: AbortSignal) => Promise<number> | number = () => 0,
): Work {
  return {
    label: 'working',
    async perform(node, signal) {
      log.push(`work ${node}`);
      return { code: await perform(node, signal), stderrTail: '' };
    },
  };
}

/** A run clock that moves only when slept on (each sleep advances it at once) or set: no test waits for real. */
export function manualClock(start: number): RunClock & { slept: number[]; set(t: number): void } {
  let now = start;
  const slept: number[] = [];
  return {
    now: () => now,
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      slept.push(ms);
      now += ms;
    },
    pollMs: 30_000,
    slept,
    set(t) {
      now = t;
    },
  };
}
