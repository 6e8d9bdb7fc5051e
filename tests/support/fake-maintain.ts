/**
 * An in-memory fake of the API a maintenance run works through
 * (src/maintain/api.ts): nodes that are cordoned and uncordoned, drains
 * that end as told, a lock another run can hold or take away, and a log of
 * every change in order, so a test says which nodes were touched, and when.
 */
import { BlockedError, NoMatchError, TimeoutError, type StudyError } from '../../src/base/errors.js';
import type { DrainEvent, DrainPlan, DrainResult, RunPlan, WorkloadHealth, WorkloadRef } from '../../src/drain/lib.js';
import { silentServerError } from '../../src/kube/apierror.js';
import type { MaintainRunApi, RunLock } from '../../src/maintain/api.js';
import type { LeaseState } from '../../src/maintain/lease.js';
import type { Work } from '../../src/maintain/steps.js';
import { drainPlan, podPlan } from './fake-drain.js';

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

  constructor(readonly nodes: string[]) {}

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
