/**
 * The operator's work on a drained node. With --run: the command in a
 * process group of its own, through a small wrapper that writes an exit
 * marker when the command ends (even if this run has died by then), its
 * output in a log file beside the journal (so it outlives a dead run, and
 * is shown as it grows). The journal records the process group, host and
 * start, so a later run knows whether the command may still be running.
 * Without --run: a file to wait for, or Enter on the terminal.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { sleep } from '../base/concurrency.js';
import { ask } from '../base/prompt.js';
import type { RunContext } from '../base/run.js';
import type { CommandKind, CommandRecord } from './journal.js';
import type { CommandFacts, Work } from './steps.js';

/** What a command's marker holds when it never passed its gate (the run that started it died first). */
export const NEVER_STARTED = 'never-started';

/** Writes WHAT to the exit marker atomically (a reader never sees half of it). */
const writeMarker = (what: string): string =>
  `printf "%s\\n" ${what} > "$STUDY_EXIT_MARKER.tmp" && mv "$STUDY_EXIT_MARKER.tmp" "$STUDY_EXIT_MARKER"`;

/** The wrapper: the operator's command ($STUDY_COMMAND, never spliced), then its exit code written atomically. */
const WRAPPER =
  // The gate: the command starts only once the run has recorded it with its process group ("go" on stdin). A
  // run that dies first closes the pipe: the command never starts, and its marker says so, for a process group
  // gone without a marker is a command cut off.
  `IFS= read -r go; [ "$go" = go ] || { ${writeMarker(NEVER_STARTED)}; exit 125; }; ` +
  '/bin/sh -c "$STUDY_COMMAND" </dev/null; code=$?; ' +
  `${writeMarker('"$code"')}; exit $code`;

/** How long a stopped command's process group gets to end after the signal, before SIGKILL. */
export const STOP_GRACE_MS = 10_000;

/**
 * Whether a process group has a member left (on this host) that has not
 * ended: a zombie is not one. An orphaned command is reaped by init, and
 * where init does not reap (a container's first process often does not),
 * a command that ended would otherwise be "still running" for ever.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return groupHasLiveMember(pgid) ?? true;
}

/** From /proc (Linux): whether the group has a member that is not a zombie; undefined where /proc cannot tell. */
function groupHasLiveMember(pgid: number): boolean | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  let seen = false;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after its last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) !== pgid) continue;
    seen = true;
    if (state !== 'Z' && state !== 'X') return true;
  }
  return seen ? false : undefined;
}

/** The exit code in a marker file; NEVER_STARTED for a command that never passed its gate; null when there is none. */
export function readMarker(file: string): number | typeof NEVER_STARTED | null {
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (text === NEVER_STARTED) return NEVER_STARTED;
    const n = Number(text);
    return text !== '' && Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}

/** The signal to pass on: the one the run received, else SIGTERM. */
function signalOf(reason: unknown): NodeJS.Signals {
  const m = /\b(SIGINT|SIGTERM|SIGHUP)\b/.exec(String((reason as Error | undefined)?.message ?? ''));
  return (m?.[1] as NodeJS.Signals | undefined) ?? 'SIGTERM';
}

/** Shows what the log file gains, line by line, until stopped. */
function follow(file: string, show: (line: string) => void): { stop: () => string } {
  let offset = 0;
  let partial = '';
  let tail = '';
  const read = (): void => {
    let fd: number;
    try {
      if (statSync(file).size <= offset) return;
      fd = openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        const text = partial + buf.subarray(0, n).toString();
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) show(l);
        tail = (tail + buf.subarray(0, n).toString()).slice(-500);
      }
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(read, 200);
  return {
    stop: () => {
      clearInterval(timer);
      read();
      if (partial) show(partial);
      return tail;
    },
  };
}

/**
 * Where a run without --journal keeps its commands' output and exit
 * markers on this machine: $XDG_STATE_HOME/kubectl-study/maintain, else
 * ~/.local/state/kubectl-study/maintain. The run's state names them, with
 * the host they are on.
 */
export function localStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'kubectl-study', 'maintain');
}

/**
 * The operator's command for each node (the --run command, or the --before
 * or --after hook: `kind`); `prefix`: where its files go
 * (PREFIX.NODE.ATTEMPT[.HOOK].log and .exit), beside the journal or in
 * localStateDir(). A hook gets $STUDY_HOOK (before or after) too.
 */
export function commandWork(
  command: string,
  prefix: string,
  runId: string,
  ctx: RunContext,
  quiet: () => boolean,
  kind: CommandKind = 'command',
): Work {
  return {
    label: kind === 'command' ? `running: ${command}` : `running the --${kind} hook: ${command}`,
    async perform(node, signal, record) {
      const base = `${prefix}.${node}.${runId}${kind === 'command' ? '' : `.${kind}`}`;
      const marker = `${base}.exit`;
      const log = `${base}.log`;
      mkdirSync(path.dirname(path.resolve(base)), { recursive: true });
      rmSync(marker, { force: true });
      // Recorded before it exists: a run killed between the spawn and the record with the process group must not
      // leave a command its state knows nothing of (another host would start it again).
      const startedAt = new Date().toISOString();
      await record.starting({ pid: 0, pgid: 0, host: os.hostname(), startedAt, marker, log, gated: true });
      const out = openSync(log, 'a', 0o600);
      const child = spawn('/bin/sh', ['-c', WRAPPER], {
        env: {
          ...process.env,
          NODE: node,
          STUDY_NODE: node,
          STUDY_COMMAND: command,
          STUDY_EXIT_MARKER: marker,
          ...(kind === 'command' ? {} : { STUDY_HOOK: kind }),
        },
        stdio: ['pipe', out, out],
        // Its own process group: it survives this run dying, and a stop reaches all of it.
        detached: true,
      });
      closeSync(out);
      child.stdin?.on('error', () => {});
      const shown = follow(log, (line) => {
        if (!quiet()) ctx.io.stderr.write(`[${node}] ${line}\n`);
      });
      const closed = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code, sig) => resolve({ code, sig }));
      });
      const pgid = child.pid ?? 0;
      const kill = (sig: NodeJS.Signals): void => {
        // pgid 0 (no child): process.kill(-0) would signal our own process group.
        if (pgid <= 0) return;
        try {
          process.kill(-pgid, sig);
        } catch {
          // already gone
        }
      };
      // The command waits at the gate until its process group is recorded: a record that fails (a full disk,
      // a lost API server), or a stop meanwhile, leaves it never started.
      try {
        if (pgid) await record.started({ pid: pgid, pgid, host: os.hostname(), startedAt, marker, log, gated: true });
      } catch (err) {
        kill('SIGKILL');
        await closed.catch(() => undefined);
        shown.stop();
        throw err;
      }
      if (signal.aborted) {
        kill('SIGKILL');
        await closed.catch(() => undefined);
        shown.stop();
        return { code: 130, stderrTail: '', stopped: 'never started (stopped at its gate)' };
      }
      child.stdin?.end('go\n');
      let stopping: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        kill(signalOf(signal.reason));
        stopping = setTimeout(() => kill('SIGKILL'), STOP_GRACE_MS);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const { code, sig } = await closed;
        const tail = shown.stop();
        return {
          code: code ?? (sig ? 128 : 1),
          stderrTail: tail.trim(),
          ...(signal.aborted
            ? {
                stopped: groupAlive(pgid) ? 'still running after SIGKILL' : `stopped with ${signalOf(signal.reason)}`,
              }
            : {}),
        };
      } catch (err) {
        shown.stop();
        throw err;
      } finally {
        signal.removeEventListener('abort', onAbort);
        if (stopping) clearTimeout(stopping);
      }
    },
  };
}

/** Without --run: the operator does the work and says when (a file appears, or Enter on the terminal). */
export function operatorWork(waitFile: string | undefined, ctx: RunContext): Work {
  return {
    label: 'waiting for the operator',
    async perform(node, signal) {
      if (waitFile) {
        ctx.io.stderr.write(
          `waiting for ${waitFile} to exist before bringing ${node} back (it is removed once seen)\n`,
        );
        while (!existsSync(waitFile)) await sleep(500, signal);
        rmSync(waitFile, { force: true });
      } else {
        await ask(ctx.io, `Node ${node} is drained. Do the work, then press Enter to bring it back: `, signal);
      }
      return { code: 0, stderrTail: '' };
    },
  };
}

/** What is known now of a command an earlier run started: alive on this host, its marker, whether it never started. */
export function commandFacts(rec: CommandRecord): CommandFacts {
  const sameHost = rec.host === os.hostname();
  const marker = readMarker(rec.marker);
  return {
    sameHost,
    // A process group of 0 is a command recorded before its spawn: nothing to look for (kill(0) is our own group).
    alive: sameHost && rec.pgid > 0 && groupAlive(rec.pgid),
    exitCode: marker === NEVER_STARTED ? null : marker,
    neverStarted: marker === NEVER_STARTED,
  };
}
