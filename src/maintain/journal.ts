/**
 * The journal of a maintenance run: one JSON line per step, appended and
 * synced before the next step starts, so a run killed at any moment can be
 * resumed by running the same command again. Reading it back is pure.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';

import { UsageError } from '../cli/errors.js';

export type Step =
  | 'cordoned'
  | 'drained'
  | 'command-started'
  | 'command-done'
  | 'ready'
  | 'uncordoned'
  | 'recovered'
  | 'done'
  | 'failed';

export interface JournalEntry {
  time: string;
  run: string;
  node: string;
  step: Step;
  /** For 'cordoned': whether this run cordoned it (false: it already was). */
  cordonedByRun?: boolean;
  /** Workloads to wait for after the node is back (from the drain). */
  workloads?: Array<{ namespace: string; kind: string; name: string }>;
  detail?: string;
}

/** What the journal says of one node. Pure. */
export interface NodeProgress {
  done: boolean;
  steps: Set<Step>;
  cordonedByRun: boolean;
  workloads: Array<{ namespace: string; kind: string; name: string }>;
  lastFailure?: string;
}

export function progressFrom(entries: JournalEntry[]): Map<string, NodeProgress> {
  const out = new Map<string, NodeProgress>();
  for (const e of entries) {
    const p = out.get(e.node) ?? { done: false, steps: new Set<Step>(), cordonedByRun: false, workloads: [] };
    if (e.step === 'failed') p.lastFailure = e.detail ?? 'failed';
    else p.steps.add(e.step);
    if (e.step === 'cordoned') p.cordonedByRun = e.cordonedByRun === true;
    if (e.step === 'drained' && e.workloads) p.workloads = e.workloads;
    if (e.step === 'done') p.done = true;
    out.set(e.node, p);
  }
  return out;
}

export function parseJournal(text: string, file: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      // A line cut short by a kill is the last one: ignore it, anything else is damage.
      if (i < text.split('\n').length - 2) throw new UsageError(`journal ${file} line ${i + 1} is not valid JSON`, { hint: 'fix or move the file; it records what earlier runs did' });
    }
  });
  return out;
}

export class Journal {
  readonly entries: JournalEntry[];

  constructor(
    readonly file: string,
    readonly run: string,
  ) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`cannot read journal ${file}: ${(err as Error).message}`);
    }
    this.entries = parseJournal(text, file);
  }

  progress(): Map<string, NodeProgress> {
    return progressFrom(this.entries);
  }

  /** Appends one step and syncs it to disk before returning. */
  record(entry: Omit<JournalEntry, 'time' | 'run'>): void {
    const full: JournalEntry = { time: new Date().toISOString(), run: this.run, ...entry };
    const fd = openSync(this.file, 'a', 0o644);
    try {
      writeSync(fd, `${JSON.stringify(full)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.entries.push(full);
  }
}
