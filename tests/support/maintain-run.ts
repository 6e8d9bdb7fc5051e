/** What the unit tests of a maintenance run (runMaintain against the fake cluster) share. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { RunContext } from '../../src/base/run.js';
import type { JournalEntry } from '../../src/maintain/journal.js';
import type { MaintainReport } from '../../src/maintain/model.js';
import { maintainOptions, type MaintainFlags, type MaintainOptions } from '../../src/maintain/options.js';
import type { MaintainHooks } from '../../src/maintain/run.js';
import { captureIo } from './io.js';

export function context(signal = new AbortController().signal): RunContext {
  return { io: captureIo(), signal, verbose: false, output: 'json' };
}

/** Hooks that show nothing, confirm, and keep the notes (and each phase a node goes through, when asked). */
export function hooks(notes: string[] = [], phases: string[] = []): MaintainHooks {
  return {
    showPlan: () => {},
    note: (line) => void notes.push(line),
    confirm: async () => true,
    progress: async (_nodes, reports) => ({
      live: false,
      phase: (node) => void phases.push(`${node}: ${reports.get(node)!.phase}`),
      drainEvent: () => {},
      stop: () => {},
    }),
  };
}

export function journalFile(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'kstudy-maintain-run-')), 'journal');
}

export function readJournal(file: string): JournalEntry[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as JournalEntry);
}

/** A real run's options (the work done at once, confirmed), with a journal of its own unless the flags say otherwise. */
export function options(nodes: string[], flags: MaintainFlags = {}): MaintainOptions {
  return maintainOptions(nodes, { run: 'true', yes: true, journal: journalFile(), ...flags }, false);
}

export const statuses = (r: MaintainReport): string[] => r.nodes.map((n) => `${n.node} ${n.status}`);
