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

  /** The records under way, one after another: the nodes of a batch record through one recorder. */
  private last: Promise<void> = Promise.resolve();

  /**
   * Records one step; `finish`: the run is over, and the cluster moves it to its history. Records wait for the
   * ones before them, so nodes recording at once never meet each other's writes as conflicts.
   */
  record(entry: Record, finish?: RunEnd): Promise<void> {
    const done = this.last.then(() => this.write(entry, finish));
    this.last = done.catch(() => undefined);
    return done;
  }

  private async write(entry: Record, finish?: RunEnd): Promise<void> {
    const full = this.stamp(entry);
    const store = this.store;
    if (store) {
      try {
        await store.update((state) => withRecords(state, store.where, this.runId, [full], finish), { create: false });
      } catch (err) {
        if (!this.journal) throw err;
        const journal = this.journal;
        let where = `the record is in the journal ${journal.file}: the same command resumes from it`;
        try {
          journal.append(full);
        } catch (appendErr) {
          where = `the journal could not take the record either: ${(appendErr as Error).message}`;
        }
        if (!(err instanceof StudyError)) throw err;
        throw new StudyError(err.message, err.exitCode, {
          hint: `${err.hint ? `${err.hint}; ` : ''}${where}`,
          cause: err,
        });
      }
    }
    this.journal?.append(full);
  }
}
