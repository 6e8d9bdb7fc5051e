/**
 * One read-only question asked of many contexts (--contexts, --all-contexts),
 * the same way for every command that offers it: each context is asked
 * exactly as the one-context command asks it (the command's own run(), with
 * --context set to it), at most --parallel at once, each under its own
 * deadline, so a dead, slow or misconfigured context is one row with its
 * error and never stops or delays the others. The answers are collected
 * into a FleetAnswer; present.ts prints it, fleetExitCode gives its code.
 */
import { abortable, mapLimit } from '../base/concurrency.js';
import { formatDuration } from '../base/duration.js';
import {
  ApiError,
  EXEC_PLUGIN_FAILED,
  ExitCode,
  fleetExitCode,
  ForbiddenError,
  InterruptedError,
  redactMessage,
  StudyError,
  TimeoutError,
  type ExitCodeValue,
} from '../base/errors.js';
import type { Io, Stream } from '../base/io.js';
import type { Command, CommandPrinter, RunContext, View } from '../base/run.js';
import { renderTable } from '../base/table.js';
import { firstAndMore } from '../base/text.js';
import { liveView, paint, type LiveView } from '../base/terminal.js';
import { FLEET_DEFAULTS, selectContexts, type FleetOptions } from '../kube/contexts.js';
import { assertFilesUsable, loadKubeconfig, type MergedKubeconfig } from '../kube/kubeconfig.js';
import type { ConnectionOptions } from '../kube/connection.js';

/** Why a context gave no answer, in one word a script can switch on. */
export type FleetErrorCode =
  | 'config-error'
  | 'forbidden'
  | 'blocked'
  | 'timeout'
  | 'not-found'
  | 'unauthorized'
  | 'credential-error'
  | 'unreachable'
  | 'api-error'
  | 'interrupted'
  | 'internal';

export interface FleetEntry<R = unknown> {
  context: string;
  cluster: string;
  server: string;
  /** answered: `result` is the one-context command's JSON; failed or interrupted: `error` says why. */
  outcome: 'answered' | 'failed' | 'interrupted';
  /** The exit code the one-context command would have given. */
  exitCode: ExitCodeValue;
  elapsedMs: number;
  result?: unknown;
  error?: { code: FleetErrorCode; message: string; hint?: string };
  /** The command's warnings and info lines for this context. */
  warnings: string[];
  /** The result itself, for the table (never printed as JSON). */
  value?: R;
}

export interface FleetAnswer<R = unknown> {
  kind: 'FleetAnswer';
  apiVersion: 'study.kubectl.io/v1';
  /** The command asked, as `kubectl study COMMAND` names it. */
  command: string;
  /** Whether every context answered, and whether the same way. */
  answered: number;
  failed: number;
  /** Every context answered with the same exit code (yes), not (no), or none answered at all (none). */
  same: 'yes' | 'no' | 'none';
  exitCode: ExitCodeValue;
  elapsedMs: number;
  items: Array<FleetEntry<R>>;
}

/** Everything a fleet run needs besides the command: injected so unit tests run it on plain objects. */
export interface FleetDeps {
  /**
   * Context name -> its cluster name and server, in the kubeconfig's order; `loaded`: the kubeconfig as read,
   * for each context's command to connect with (read once, not once per context).
   */
  contexts(kubeconfig: string | undefined): {
    contexts: Array<{ context: string; cluster: string; server: string }>;
    loaded?: MergedKubeconfig;
  };
  now(): number;
}

const realDeps: FleetDeps = {
  contexts(kubeconfig) {
    const merged = loadKubeconfig(kubeconfig);
    // A file kubectl cannot read fails each context's own question (as it fails the one-context
    // command), each a row saying so; only a kubeconfig with no context at all stops here.
    if (merged.contexts.size === 0) assertFilesUsable(merged);
    const contexts = [...merged.contexts].map(([context, entry]) => {
      const cluster = entry.value.cluster ?? '';
      return { context, cluster, server: merged.clusters.get(cluster)?.value.server ?? '' };
    });
    return { contexts, loaded: merged };
  },
  now: Date.now,
};

/** A stream that keeps nothing: a context's own progress is never shown (the fleet shows its own). */
const SINK: Stream = { write: () => true, isTTY: false };

/**
 * Asks every selected context, collecting the answers in the kubeconfig's
 * order; `onAnswer` hears each as it finishes (the --stream output).
 */
export async function runFleet<O extends { connection: ConnectionOptions }, R>(
  ctx: RunContext,
  name: string,
  command: Command<O, R>,
  options: O,
  fleet: FleetOptions,
  onAnswer: (entry: FleetEntry<R>) => void = () => {},
  deps: FleetDeps = realDeps,
): Promise<FleetAnswer<R>> {
  const started = deps.now();
  const { contexts: known, loaded } = deps.contexts(options.connection.kubeconfig);
  const chosen = selectContexts(
    known.map((k) => k.context),
    fleet.contexts,
  );
  const targets = chosen.map((c) => known.find((k) => k.context === c)!);
  // Exec plugins: never more at once than contexts, and only those that must talk to the person get the terminal.
  const { execBroker } = await import('../kube/exec.js');
  const brokerWas = { limit: execBroker.limit, manyContexts: execBroker.manyContexts };
  execBroker.limit = fleet.parallel;
  execBroker.manyContexts = true;
  const contextTimeoutMs = fleet.contextTimeoutMs ?? FLEET_DEFAULTS.contextTimeoutMs;
  // A wait of the command with no bound (a watch without --timeout) ends after --context-timeout, answering how
  // far it got; beyond what the command waits on purpose, the deadline ends a context that says nothing.
  const asked = command.bounded?.(options, contextTimeoutMs) ?? options;
  const deadlineMs = contextTimeoutMs + (command.waitsMs?.(asked) ?? 0);
  const progress = await fleetProgress(ctx, targets.length, execBroker);
  const childIo: Io = { ...ctx.io, stdout: SINK, stderr: SINK };
  const running = new Set<string>();
  let done = 0;
  let failed = 0;

  const asking = mapLimit(targets, fleet.parallel, async (target): Promise<FleetEntry<R>> => {
    const base = { ...target, warnings: [] as string[] };
    if (ctx.signal.aborted) {
      // Never asked: still one entry (and one streamed line), so every context selected is accounted for.
      const never: FleetEntry<R> = {
        ...base,
        outcome: 'interrupted',
        exitCode: ExitCode.INTERRUPTED,
        elapsedMs: 0,
        error: stopped(),
      };
      onAnswer(never);
      return never;
    }
    running.add(target.context);
    progress.update(done, failed, running);
    const t0 = deps.now();
    // Kept referenced: the deadline is what ends a context nothing else will end.
    const deadline = new AbortController();
    const timer = setTimeout(
      () =>
        deadline.abort(
          new TimeoutError(`no answer within ${formatDuration(deadlineMs)} (--context-timeout)`, {
            hint: 'raise --context-timeout if the cluster is slow; --request-timeout bounds each request',
          }),
        ),
      deadlineMs,
    );
    const signal = AbortSignal.any([ctx.signal, deadline.signal]);
    const child: RunContext = { ...ctx, io: childIo, signal, output: 'json' };
    const perContext = {
      ...asked,
      connection: { ...asked.connection, context: target.context, ...(loaded ? { loaded } : {}) },
    };
    let entry: FleetEntry<R>;
    try {
      // A command deaf to its signal still ends for the fleet when the signal aborts.
      const value = await abortable(command.run(child, perContext), signal);
      entry = {
        ...base,
        outcome: 'answered',
        exitCode: command.exitCode(value),
        elapsedMs: deps.now() - t0,
        result: command.document ? command.document(value) : value,
        warnings: [
          ...(command.info?.(value) ?? []).map((l) => `info: ${l}`),
          ...(command.warnings?.(value) ?? []).map((l) => `warning: ${l}`),
        ],
        value,
      };
    } catch (err) {
      const interrupted = ctx.signal.aborted;
      const error = interrupted ? stopped() : errorOf(err);
      entry = {
        ...base,
        outcome: interrupted ? 'interrupted' : 'failed',
        exitCode: interrupted ? ExitCode.INTERRUPTED : err instanceof StudyError ? err.exitCode : ExitCode.INTERNAL,
        elapsedMs: deps.now() - t0,
        error,
      };
    } finally {
      clearTimeout(timer);
    }
    running.delete(target.context);
    done++;
    if (entry.outcome !== 'answered') failed++;
    progress.update(done, failed, running);
    onAnswer(entry);
    return entry;
  });
  let items: Array<FleetEntry<R>>;
  try {
    items = await asking;
  } finally {
    progress.stop();
    // The broker is the process's: a later command in this process is one context again.
    Object.assign(execBroker, brokerWas);
  }

  const answered = items.filter((i) => i.outcome === 'answered');
  const codes = answered.map((i) => i.exitCode);
  const notAnswered = items.length - answered.length;
  return {
    kind: 'FleetAnswer',
    apiVersion: 'study.kubectl.io/v1',
    command: name,
    answered: answered.length,
    failed: notAnswered,
    same: codes.length === 0 ? 'none' : codes.every((c) => c === codes[0]) ? 'yes' : 'no',
    exitCode: fleetExitCode(codes, notAnswered, ctx.signal.aborted),
    elapsedMs: deps.now() - started,
    items,
  };
}

function stopped(): FleetEntry['error'] {
  return { code: 'interrupted', message: 'interrupted before it answered' };
}

/** A context's error as its row says it: a code, our one line, the hint. Secrets are cut as everywhere. */
export function errorOf(err: unknown): NonNullable<FleetEntry['error']> {
  const message = redactMessage(err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err));
  const hint = err instanceof StudyError && err.hint ? { hint: redactMessage(err.hint) } : {};
  return { code: errorCode(err), message, ...hint };
}

function errorCode(err: unknown): FleetErrorCode {
  if (err instanceof InterruptedError) return 'interrupted';
  if (err instanceof ForbiddenError) return 'forbidden';
  if (err instanceof ApiError) {
    if (err.reason === EXEC_PLUGIN_FAILED) return 'credential-error';
    if (err.status === 401) return 'unauthorized';
    if (err.status === 403) return 'forbidden';
    if (err.exitCode === ExitCode.TIMEOUT) return 'timeout';
    return err.status === undefined ? 'unreachable' : 'api-error';
  }
  if (!(err instanceof StudyError)) return 'internal';
  switch (err.exitCode) {
    case ExitCode.USAGE:
      return 'config-error';
    case ExitCode.TIMEOUT:
      return 'timeout';
    case ExitCode.NOT_FOUND:
      return 'not-found';
    case ExitCode.BLOCKED:
      return 'blocked';
    case ExitCode.INTERRUPTED:
      return 'interrupted';
    case ExitCode.API:
      return 'unreachable';
    default:
      return 'internal';
  }
}

interface FleetProgress {
  update(done: number, failed: number, running: ReadonlySet<string>): void;
  stop(): void;
}

/**
 * "7 of 12 contexts answered, 1 failed, waiting for prod-eu-3" on a
 * terminal (quiet while an interactive exec plugin talks to the person);
 * nothing off a terminal, nor with -o json|yaml.
 */
async function fleetProgress(
  ctx: RunContext,
  total: number,
  broker: { onInteractive(listener: (on: boolean) => void): () => void },
): Promise<FleetProgress> {
  const quiet: FleetProgress = { update: () => {}, stop: () => {} };
  if (ctx.output === 'json' || ctx.output === 'yaml') return quiet;
  const view: LiveView = await liveView(ctx.io, ctx.io.stderr);
  if (!view.live) return quiet;
  let paused = false;
  let last = '';
  const off = broker.onInteractive((on) => {
    paused = on;
    view.update('', on ? '' : last);
  });
  return {
    update(done, failed, running) {
      const waiting = [...running];
      last =
        `${done} of ${total} context${total === 1 ? '' : 's'} answered` +
        `${failed ? `, ${failed} failed` : ''}` +
        (waiting.length ? `, waiting for ${firstAndMore(waiting, 3)}` : '');
      if (!paused) view.update('', last);
    },
    stop() {
      off();
      view.stop();
    },
  };
}

export function renderFleet<R>(command: CommandPrinter<R>, answer: FleetAnswer<R>, view: View): string {
  const answered = answer.items.filter((i) => i.outcome === 'answered' && i.value !== undefined);
  let out = '';
  const notes: string[] = [];
  if (command.rows) {
    let headers: string[] | undefined;
    const rows: string[][] = [];
    for (const item of answered) {
      const table = command.rows(item.value as R, view);
      // Columns a context has only with data (whocan's VERIFIED) come last: the widest set heads them all.
      if (!headers || table.headers.length > headers.length) headers = table.headers;
      if (table.rows.length === 0) rows.push([item.context, table.empty]);
      for (const row of table.rows) rows.push([item.context, ...row]);
      for (const note of table.notes ?? []) notes.push(`${item.context}: ${note}`);
    }
    if (headers) out += renderTable(['CONTEXT', ...headers], rows);
  } else {
    for (const item of answered)
      out += `${out ? '\n' : ''}=== context ${item.context} (${item.server}) ===\n${command.render(item.value as R, view)}`;
  }
  for (const item of answered) {
    const failure = command.failure?.(item.value as R);
    if (failure) notes.push(`${item.context}: ${failure.message}`);
  }
  if (notes.length) out += `\n${notes.join('\n')}\n`;
  const failed = answer.items.filter((i) => i.outcome !== 'answered');
  if (failed.length) {
    out += `\n${paint(view.colour, 'red', 'No answer from')}:\n`;
    out += renderTable(
      ['CONTEXT', 'ERROR', 'MESSAGE'],
      failed.map((i) => [
        i.context,
        i.error?.code ?? '',
        `${i.error?.message ?? ''}${i.error?.hint ? ` (${i.error.hint})` : ''}`,
      ]),
    );
  }
  const compared = command.compare?.(answered.map((i) => ({ context: i.context, result: i.value as R }))) ?? [];
  if (compared.length) out += `\n${compared.join('\n')}\n`;
  out += `\n${fleetSummaryLine(answer)}\n`;
  return out;
}

/** "3 contexts: 2 answered the same way (exit 0), 1 gave no answer: exit 8". Pure. */
export function fleetSummaryLine(answer: FleetAnswer): string {
  const total = answer.items.length;
  const byCode = new Map<number, string[]>();
  for (const i of answer.items.filter((i) => i.outcome === 'answered'))
    byCode.set(i.exitCode, [...(byCode.get(i.exitCode) ?? []), i.context]);
  const parts: string[] = [];
  if (answer.answered === total && byCode.size === 1)
    parts.push(`every one answered the same way (exit ${[...byCode.keys()][0]})`);
  else if (byCode.size === 1)
    parts.push(
      `${answer.answered} answered${answer.answered > 1 ? ' the same way' : ''} (exit ${[...byCode.keys()][0]})`,
    );
  else if (byCode.size > 1)
    parts.push(
      `${answer.answered} answered differently: ${[...byCode]
        .map(
          ([code, names]) =>
            `exit ${code} in ${names.length === 1 ? names[0] : `${names.length} (${names.join(', ')})`}`,
        )
        .join(', ')}`,
    );
  if (answer.failed) parts.push(`${answer.failed} gave no answer`);
  return `${total} context${total === 1 ? '' : 's'}: ${parts.join('; ')}; exit ${answer.exitCode}`;
}
