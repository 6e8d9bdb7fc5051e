/**
 * Where a run's records go, each before the next step starts: the cluster's
 * state first (a write with the resourceVersion read, store.ts), then the
 * local journal (one synced line). A run killed between the two leaves the
 * record where every host looks, not in one machine's file alone (where a
 * resume on another host would do the step again). A record the cluster
 * does not take is journaled all the same. Either failing stops the run at
 * that step boundary, saying which copy holds the record.
 */
import { StudyError } from '../base/errors.js';
import type { Journal, JournalEntry } from './journal.js';
import { withRecords, type RunEnd } from './state.js';
import type { StateStore } from './store.js';

export type Record = Omit<JournalEntry, 'time' | 'run'>;

export class RunRecorder {
  constructor(
    /** This attempt's id: every record it makes carries it. */
    readonly attempt: string,
    /** The run's id (its first attempt's): the cluster's current run must be this one. */
    readonly runId: string,
    private readonly journal: Journal | undefined,
    private readonly store: StateStore | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  stamp(entry: Record): JournalEntry {
    return { time: this.now().toISOString(), run: this.attempt, ...entry };
  }

  /** Records one step; `finish`: the run is over, and the cluster moves it to its history. */
  async record(entry: Record, finish?: RunEnd): Promise<void> {
    const full = this.stamp(entry);
    const store = this.store;
    if (store) {
      try {
        await store.update((state) => withRecords(state, store.where, this.runId, [full], finish), { create: false });
      } catch (err) {
        if (!this.journal || !this.journaled(full)) throw err;
        if (!(err instanceof StudyError)) throw err;
        throw new StudyError(err.message, err.exitCode, {
          hint: `${err.hint ? `${err.hint}; ` : ''}the record is in the journal ${this.journal.file}: the same command resumes from it`,
          cause: err,
        });
      }
    }
    this.journal?.append(full);
  }

  /** Journals a record the cluster did not take; false when the journal cannot take it either. */
  private journaled(full: JournalEntry): boolean {
    try {
      this.journal?.append(full);
      return true;
    } catch {
      return false;
    }
  }
}
