/**
 * The journal of a maintenance run: one JSON line per step, each appended
 * whole (one write of the complete line, checked, fsynced) before the next
 * step starts, so a run killed at any moment can be resumed by running the
 * same command again. Reading it back is pure (parseJournal, progressFrom).
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

import { UsageError } from '../base/errors.js';
import type { AttachedVolume } from './volumes.js';

export type Step =
  | 'run'
  /** The end of an attempt (node ''): its outcome, and the failure that stopped it. */
  | 'ended'
  | 'cordoned'
  | 'drained'
  /** No volume attached to the node any more (after the drain, before the command). */
  | 'volumes-detached'
  | 'command-started'
  | 'command-stopped'
  | 'command-done'
  /** The --before hook (after the plan, before the drain) and the --after hook (after the recovery check). */
  | 'before-started'
  | 'before-stopped'
  | 'before-done'
  | 'after-started'
  | 'after-stopped'
  | 'after-done'
  | 'ready'
  | 'uncordoned'
  | 'recovered'
  | 'done'
  | 'failed';

/** What an operator's command is: the --run command, or the --before or --after hook. */
export type CommandKind = 'command' | 'before' | 'after';

/** Where an operator's command runs: enough for a later run to tell whether it may still be running. */
export interface CommandRecord {
  /** Which command it is (none: the --run command, as journals before the hooks say it). */
  kind?: 'before' | 'after';
  pid: number;
  /** Its process group (the command runs in one of its own). */
  pgid: number;
  host: string;
  startedAt: string;
  /** The file the wrapper writes the exit code to when the command ends. */
  marker: string;
  /** The command's output. */
  log: string;
  /**
   * It waits at a gate until its start is recorded with its process group: a record of it with
   * pgid 0 then means it never started. Records without it come from runs before the gate.
   */
  gated?: boolean;
}

export interface JournalEntry {
  time: string;
  /** The attempt that wrote it: each command that runs (or resumes) the run is an attempt with an id of its own. */
  run: string;
  /** '' for a 'run' or 'ended' entry. */
  node: string;
  step: Step;
  /** For 'cordoned': whether this run cordoned it (false: it already was). */
  cordonedByRun?: boolean;
  /** Workloads to wait for after the node is back (from the drain). */
  workloads?: Array<{ namespace: string; kind: string; name: string }>;
  /** For 'drained': the volumes attached before the drain, with the pods that used them (the wait names them). */
  volumes?: AttachedVolume[];
  detail?: string;
  /** For 'command-started' (and 'before-started', 'after-started'): where it runs. */
  command?: CommandRecord;
  /** For 'run': whose journal this is. */
  cluster?: { server: string; uid: string };
  nodes?: string[];
  /** For 'run': who runs this attempt, from where (the host as the lock names it, and the process). */
  host?: string;
  pid?: number;
  user?: string;
  /** For 'run': the windows and the pause this attempt keeps to (a resumed run keeps them too). */
  schedule?: ScheduleRecord;
  /** For 'ended': how the attempt ended (a MaintainReport outcome). */
  outcome?: string;
}

/** A run's windows and pause as its records keep them (the window specs as given): schedule.ts. */
export interface ScheduleRecord {
  windows: string[];
  pauseBetweenMs: number;
  outsideWindow: 'wait' | 'stop';
}

/** What makes an entry itself: two copies of the journal (the local file, the cluster's) hold the same entry once. */
export function entryKey(e: JournalEntry): string {
  return `${e.run}|${e.time}|${e.node}|${e.step}`;
}

/** What the journal says of one node. Pure. */
export interface NodeProgress {
  done: boolean;
  steps: Set<Step>;
  cordonedByRun: boolean;
  workloads: Array<{ namespace: string; kind: string; name: string }>;
  /** The volumes attached before its drain. */
  volumes?: AttachedVolume[];
  lastFailure?: string;
  /** The last --run command an earlier run started for the node and did not see end. */
  command?: CommandRecord;
  /** The same for the hooks. */
  hooks: { before?: CommandRecord; after?: CommandRecord };
}

export function progressFrom(entries: JournalEntry[]): Map<string, NodeProgress> {
  const out = new Map<string, NodeProgress>();
  for (const entry of entries) {
    if (entry.step === 'run') continue;
    const progress = out.get(entry.node) ?? {
      done: false,
      steps: new Set<Step>(),
      cordonedByRun: false,
      workloads: [],
      hooks: {},
    };
    if (entry.step === 'failed') progress.lastFailure = entry.detail ?? 'failed';
    else progress.steps.add(entry.step);
    if (entry.step === 'cordoned') progress.cordonedByRun = entry.cordonedByRun === true;
    if (entry.step === 'drained' && entry.workloads) progress.workloads = entry.workloads;
    if (entry.step === 'drained' && entry.volumes) progress.volumes = entry.volumes;
    if (entry.step === 'command-started' && entry.command) progress.command = entry.command;
    if (entry.step === 'command-done' || entry.step === 'command-stopped') delete progress.command;
    for (const hook of ['before', 'after'] as const) {
      if (entry.step === `${hook}-started` && entry.command) progress.hooks[hook] = entry.command;
      if (entry.step === `${hook}-done` || entry.step === `${hook}-stopped`) delete progress.hooks[hook];
    }
    if (entry.step === 'done') progress.done = true;
    out.set(entry.node, progress);
  }
  return out;
}

export interface ParsedJournal {
  entries: JournalEntry[];
  /** Bytes of complete lines (where the next record goes). */
  completeBytes: number;
  /** A last line cut short by a crash (no newline), set aside rather than appended onto. */
  torn?: string;
}

/** Parses a journal; a torn last line is reported, any other bad line is damage. Pure. */
export function parseJournal(text: string, file: string): ParsedJournal {
  const end = text.lastIndexOf('\n') + 1;
  const complete = text.slice(0, end);
  const tail = text.slice(end);
  const entries: JournalEntry[] = [];
  complete.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new UsageError(`journal ${file} line ${i + 1} is not valid JSON`, {
        hint: 'fix or move the file; it records what earlier runs did',
      });
    }
    if (!entry || typeof entry !== 'object' || typeof (entry as JournalEntry).step !== 'string') {
      throw new UsageError(`journal ${file} line ${i + 1} is not a journal entry`, {
        hint: 'is this the journal of a study maintain run?',
      });
    }
    entries.push(entry as JournalEntry);
  });
  const out: ParsedJournal = { entries, completeBytes: Buffer.byteLength(complete) };
  if (tail.trim()) out.torn = tail;
  return out;
}

/** Whose journal it is: the first 'run' entry's cluster and node list. */
function journalOwner(
  entries: JournalEntry[],
): { cluster?: { server: string; uid: string }; nodes?: string[] } | undefined {
  const first = entries.find((e) => e.step === 'run');
  return first
    ? { ...(first.cluster ? { cluster: first.cluster } : {}), ...(first.nodes ? { nodes: first.nodes } : {}) }
    : undefined;
}

/** Refuses a journal written for another cluster or another list of nodes. Pure. */
export function checkOwner(
  entries: JournalEntry[],
  file: string,
  cluster: { server: string; uid: string },
  nodes: string[],
): void {
  const owner = journalOwner(entries);
  if (!owner) return;
  if (owner.cluster && owner.cluster.uid !== cluster.uid) {
    throw new UsageError(
      `journal ${file} belongs to another cluster (${owner.cluster.server}, kube-system uid ${owner.cluster.uid}); ` +
        `this one is ${cluster.server} (uid ${cluster.uid})`,
      {
        hint: 'use another --journal file for this cluster',
      },
    );
  }
  if (owner.nodes && [...owner.nodes].sort().join(',') !== [...nodes].sort().join(',')) {
    throw new UsageError(
      `journal ${file} was written for the nodes ${owner.nodes.join(', ')}, not ${nodes.join(', ')}`,
      {
        hint: 'resume with the same node list, or use another --journal file',
      },
    );
  }
}

function journalError(file: string, err: unknown, doing: string): UsageError {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'its directory does not exist',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is exceeded',
    EISDIR: 'it is a directory',
  };
  return new UsageError(`cannot ${doing} the journal ${file}: ${why[code ?? ''] ?? (err as Error).message}`, {
    hint: 'the journal is what makes a stopped run resumable: give a --journal path that can be written',
    cause: err,
  });
}

export class Journal {
  readonly entries: JournalEntry[];
  /** A torn last line found on open. */
  readonly torn: string | undefined;
  /** Set once the torn last line was moved aside: where it went. */
  setAside: string | undefined;
  /** Bytes of complete lines when read. */
  private readonly completeBytes: number;

  private constructor(
    readonly file: string,
    readonly run: string,
    parsed: ParsedJournal,
  ) {
    this.entries = parsed.entries;
    this.torn = parsed.torn;
    this.completeBytes = parsed.completeBytes;
  }

  /**
   * Reads the journal (a missing one is empty). Nothing is written here: a
   * torn last line is only found (torn), and set aside by setAsideTorn()
   * once the run holds the lock, so a run refused before then leaves no trace.
   */
  static open(file: string, run: string): Journal {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw journalError(file, err, 'read');
    }
    return new Journal(file, run, parseJournal(text, file));
  }

  /** Moves a torn last line aside and cuts it off the journal; returns where it went (undefined: nothing torn). */
  setAsideTorn(): string | undefined {
    if (this.torn === undefined || this.setAside !== undefined) return this.setAside;
    const aside = `${this.file}.torn-${Date.now()}`;
    try {
      writeFileSync(aside, this.torn);
      const fd = openSync(this.file, 'r+');
      try {
        ftruncateSync(fd, this.completeBytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      throw journalError(this.file, err, 'repair');
    }
    this.setAside = aside;
    return aside;
  }

  progress(): Map<string, NodeProgress> {
    return progressFrom(this.entries);
  }

  /**
   * Whether records can be written, checked without writing anything (a
   * missing journal is not created): the file, or the directory it goes
   * in, can be written, and its file system has room. A run checks this
   * before it changes anything.
   */
  checkWritable(minFreeBytes = 64 * 1024): void {
    const dir = path.dirname(path.resolve(this.file));
    try {
      // The directory too: a torn line set aside, a rewrite, and the commands' logs and markers are made there.
      accessSync(dir, constants.W_OK);
      if (existsSync(this.file)) accessSync(this.file, constants.W_OK);
      const fs = statfsSync(dir);
      if (fs.bavail * fs.bsize < minFreeBytes) throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
    } catch (err) {
      throw journalError(this.file, err, 'write');
    }
  }

  /** The entry a record of this attempt makes, stamped now. */
  stamp(entry: Omit<JournalEntry, 'time' | 'run'>, time = new Date()): JournalEntry {
    return { time: time.toISOString(), run: this.run, ...entry };
  }

  /**
   * Appends one step and syncs it to disk before returning: one write of
   * the whole line. A failure (full disk, read-only) throws a usage error
   * naming the file; the run stops at that step boundary.
   */
  record(entry: Omit<JournalEntry, 'time' | 'run'>): void {
    this.append(this.stamp(entry));
  }

  /** Appends a whole entry (see record), as it was stamped. */
  append(full: JournalEntry): void {
    const line = Buffer.from(`${JSON.stringify(full)}\n`);
    let fd: number;
    try {
      fd = openSync(this.file, 'a', 0o644);
    } catch (err) {
      throw journalError(this.file, err, 'open');
    }
    try {
      // A file system with no room left stops the run here, at a step boundary, while the journal is whole.
      const fsStat = statfsSync(path.dirname(path.resolve(this.file)));
      if (fsStat.bavail * fsStat.bsize < line.length)
        throw Object.assign(new Error('no space left'), { code: 'ENOSPC' });
      const written = writeSync(fd, line);
      if (written !== line.length) {
        // Never leave half a line for the next record to be appended onto.
        ftruncateSync(fd, Math.max(0, fstatSync(fd).size - written));
        throw Object.assign(new Error(`short write (${written} of ${line.length} bytes)`), { code: 'ENOSPC' });
      }
      fsyncSync(fd);
    } catch (err) {
      throw journalError(this.file, err, 'write');
    } finally {
      closeSync(fd);
    }
    this.entries.push(full);
  }

  /**
   * Replaces the journal with these entries (the run's state as the
   * cluster and this file together know it), whole or not at all: written
   * beside it, synced, renamed over it. `setAside`: the file is moved
   * there first (it held another, older run), once the new one is written.
   */
  rewrite(entries: JournalEntry[], setAside?: string): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o644 });
      const fd = openSync(tmp, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      if (setAside !== undefined && existsSync(this.file)) renameSync(this.file, setAside);
      renameSync(tmp, this.file);
    } catch (err) {
      throw journalError(this.file, err, 'write');
    }
    this.entries.splice(0, this.entries.length, ...entries);
  }
}
