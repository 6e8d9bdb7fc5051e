/**
 * Which pod may be evicted next: at most `concurrency` evictions in flight,
 * and per PodDisruptionBudget at most as many as it allows at once (at
 * least one, so that a budget that frees up is tried). Pure.
 */
import type { PdbPlan, PodPlan } from './model.js';

export class EvictionQueue {
  private readonly waiting: PodPlan[];
  private readonly inFlight = new Map<string, number>();
  private readonly allowed = new Map<string, number>();
  running = 0;

  constructor(
    pods: readonly PodPlan[],
    pdbs: readonly PdbPlan[],
    private readonly concurrency: number,
    /** --disable-eviction deletes: no budget applies. */
    private readonly ignoreBudgets = false,
  ) {
    this.waiting = [...pods];
    for (const pdb of pdbs) this.allowed.set(`${pdb.namespace}/${pdb.name}`, Math.max(1, pdb.disruptionsAllowed));
  }

  /** The one budget a pod's eviction spends, if any (a pod under two PDBs is refused by the API server anyway). */
  budgetOf(pod: PodPlan): string | undefined {
    return this.ignoreBudgets || pod.pdbs.length !== 1 ? undefined : pod.pdbs[0];
  }

  private hasRoom(pod: PodPlan): boolean {
    const budget = this.budgetOf(pod);
    if (!budget) return true;
    return (this.inFlight.get(budget) ?? 0) < (this.allowed.get(budget) ?? 1);
  }

  /** The next pod that may start now (taken off the queue), or undefined. */
  take(): PodPlan | undefined {
    if (this.running >= this.concurrency) return undefined;
    const i = this.waiting.findIndex((p) => this.hasRoom(p));
    if (i < 0) return undefined;
    const [pod] = this.waiting.splice(i, 1);
    this.running++;
    const budget = this.budgetOf(pod!);
    if (budget) this.inFlight.set(budget, (this.inFlight.get(budget) ?? 0) + 1);
    return pod;
  }

  /** The pod's eviction is over (gone, refused or stopped): its slot and budget are free again. */
  release(pod: PodPlan): void {
    this.running--;
    const budget = this.budgetOf(pod);
    if (budget) this.inFlight.set(budget, (this.inFlight.get(budget) ?? 1) - 1);
  }

  /** A fresher view of a budget (read after a refusal). */
  updateBudget(pdb: string, disruptionsAllowed: number): void {
    if (this.allowed.has(pdb)) this.allowed.set(pdb, Math.max(1, disruptionsAllowed));
  }

  get pending(): number {
    return this.waiting.length;
  }
}
