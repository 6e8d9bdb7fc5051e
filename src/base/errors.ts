/**
 * The exit codes of every kubectl-study command, and the typed errors that
 * carry them. One handler (reportError) turns any error into one line on
 * stderr and one of these codes; nothing else decides an exit code for an
 * error. Imports nothing of ours: every layer uses it.
 *
 * The numbers are part of the public interface: the README's "Exit codes"
 * table is checked against EXIT_CODES by a test.
 */
export const ExitCode = {
  /** Done: drained, complete, answered yes, no problem found. */
  OK: 0,
  /** Answered "no": nobody/nothing matches, or not done yet (--watch=false). */
  NEGATIVE: 1,
  /** Bad flags or arguments. */
  USAGE: 2,
  /** Checks failed, not allowed, blocked (a blocked drain plan, a failed rollout, an error-level problem). */
  BLOCKED: 3,
  /** A --timeout or --request-timeout ran out. */
  TIMEOUT: 4,
  /** The named object (node, context, workload) does not exist. */
  NOT_FOUND: 5,
  /** The API server could not be reached, refused the credentials, or failed. */
  API: 6,
  /** A fleet question (--contexts): every context answered, not all the same way. */
  MIXED: 7,
  /** A fleet question: some contexts gave no answer (their rows say why). */
  PARTIAL: 8,
  /** A bug: an error nobody planned for. */
  INTERNAL: 70,
  /** Ctrl-C or SIGTERM. */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** What each code means, as the README and `--help` say it. */
export const EXIT_CODES: ReadonlyArray<{ code: ExitCodeValue; meaning: string }> = [
  { code: ExitCode.OK, meaning: 'done: the answer is yes, nothing blocks, no error-level problem' },
  { code: ExitCode.NEGATIVE, meaning: 'answered no: nobody or nothing matches, or not done yet' },
  { code: ExitCode.USAGE, meaning: 'usage error: bad flags, arguments or kubeconfig' },
  {
    code: ExitCode.BLOCKED,
    meaning: 'blocked: checks failed, not allowed (403), a blocked plan, an error-level problem',
  },
  { code: ExitCode.TIMEOUT, meaning: 'timed out (`--timeout`, `--request-timeout`)' },
  { code: ExitCode.NOT_FOUND, meaning: 'not found: the named node, context or workload does not exist' },
  { code: ExitCode.API, meaning: 'API or connection error: unreachable, TLS, rejected credentials, server failure' },
  {
    code: ExitCode.MIXED,
    meaning: 'across contexts (`--contexts`, `--all-contexts`): every context answered, not all with the same code',
  },
  {
    code: ExitCode.PARTIAL,
    meaning: 'across contexts: some contexts gave no answer (an error row each)',
  },
  { code: ExitCode.INTERNAL, meaning: 'a bug in kubectl-study (run with `--verbose` and report it)' },
  { code: ExitCode.INTERRUPTED, meaning: 'interrupted (Ctrl-C or SIGTERM)' },
];

/** The one-line summary of the codes that --help prints. */
export function exitCodeSummary(): string {
  const short: Record<number, string> = {
    0: 'ok',
    1: 'answered no',
    2: 'usage',
    3: 'blocked/not allowed',
    4: 'timed out',
    5: 'not found',
    6: 'API/connection error',
    7: 'contexts answered differently',
    8: 'some contexts did not answer',
    70: 'bug',
    130: 'interrupted',
  };
  return EXIT_CODES.map((c) => `${c.code} ${short[c.code]}`).join(', ');
}

/**
 * How a run that changes the cluster ended (a drain, a maintenance run), in
 * its report's words, and the exit code each means: the one table both
 * jobs read, one way (outcomeExitCode) and the other (outcomeOfExitCode).
 */
const OUTCOME_EXIT_CODES = {
  drained: ExitCode.OK,
  done: ExitCode.OK,
  planned: ExitCode.OK,
  declined: ExitCode.NEGATIVE,
  blocked: ExitCode.BLOCKED,
  failed: ExitCode.BLOCKED,
  'timed-out': ExitCode.TIMEOUT,
  interrupted: ExitCode.INTERRUPTED,
} as const satisfies Record<string, ExitCodeValue>;

export type RunOutcome = keyof typeof OUTCOME_EXIT_CODES;

/** The exit code of an outcome; for a failure, the code of the error that stopped the run, when one did. */
export function outcomeExitCode(outcome: RunOutcome, failureExitCode?: ExitCodeValue): ExitCodeValue {
  return outcome === 'failed' && failureExitCode !== undefined ? failureExitCode : OUTCOME_EXIT_CODES[outcome];
}

/** The other way: how a run that stopped with this exit code ended (0: done). */
export function outcomeOfExitCode(code: ExitCodeValue): 'done' | 'timed-out' | 'interrupted' | 'failed' {
  return (['done', 'timed-out', 'interrupted'] as const).find((o) => OUTCOME_EXIT_CODES[o] === code) ?? 'failed';
}

/**
 * The exit code of a question asked of many contexts, the same rule for
 * every fleet command: interrupted is 130; when every context answered, the
 * code they all gave (0 everywhere yes, 1 everywhere no...) or MIXED when
 * they differ; when any context gave no answer, PARTIAL. `codes` holds each
 * answering context's exit code, `failed` how many gave none. Pure.
 */
export function fleetExitCode(codes: readonly ExitCodeValue[], failed: number, interrupted: boolean): ExitCodeValue {
  if (interrupted) return ExitCode.INTERRUPTED;
  if (failed > 0) return ExitCode.PARTIAL;
  const first = codes[0];
  if (first === undefined) return ExitCode.PARTIAL;
  return codes.every((c) => c === first) ? first : ExitCode.MIXED;
}

export interface StudyErrorOptions {
  hint?: string;
  cause?: unknown;
}

/** Base of every error that a command expects and reports as one line. */
export class StudyError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;

  constructor(message: string, exitCode: ExitCodeValue, options: StudyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

export class UsageError extends StudyError {
  constructor(message: string, options: StudyErrorOptions = {}) {
    super(message, ExitCode.USAGE, options);
  }
}

/** A selector matched nothing: the answer is "none" (exit 1), said as an error line. */
export class NoMatchError extends StudyError {
  constructor(message: string, options: StudyErrorOptions = {}) {
    super(message, ExitCode.NEGATIVE, options);
  }
}

export class NotFoundError extends StudyError {
  constructor(message: string, options: StudyErrorOptions = {}) {
    super(message, ExitCode.NOT_FOUND, options);
  }
}

/** Checks failed, or a plan is blocked. */
export class BlockedError extends StudyError {
  constructor(message: string, options: StudyErrorOptions = {}) {
    super(message, ExitCode.BLOCKED, options);
  }
}

/** The API server (or RBAC analysis) says the caller may not do something. */
export class ForbiddenError extends StudyError {
  constructor(message: string, options: StudyErrorOptions = {}) {
    super(message, ExitCode.BLOCKED, options);
  }
}

export class TimeoutError extends StudyError {
  constructor(message: string, options: StudyErrorOptions = {}) {
    super(message, ExitCode.TIMEOUT, options);
  }
}

export class InterruptedError extends StudyError {
  constructor(message = 'interrupted', options: StudyErrorOptions = {}) {
    super(message, ExitCode.INTERRUPTED, options);
  }
}

/** The `reason` of the ApiError of an exec credential plugin that failed (a fleet row says "credential-error"). */
export const EXEC_PLUGIN_FAILED = 'ExecPluginFailed';

/** The API server could not be reached, or answered with an error we cannot act on. */
export class ApiError extends StudyError {
  readonly status: number | undefined;
  readonly reason: string | undefined;

  constructor(
    message: string,
    options: StudyErrorOptions & { status?: number; reason?: string; exitCode?: ExitCodeValue } = {},
  ) {
    super(message, options.exitCode ?? ExitCode.API, options);
    this.status = options.status;
    this.reason = options.reason;
  }
}

/**
 * What may be printed of an error message: URL credentials (https://user:pass@)
 * and quoted fragments of unparsable input (which can be a credential an
 * exec plugin printed) are cut out.
 */
export function redactMessage(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1')
    .replace(/"[^"]{0,200}" is not valid JSON/g, '(input not shown) is not valid JSON')
    .replace(/(Unexpected token .{0,8}?, )"[^"]*"/g, '$1(input not shown)');
}

export interface ErrorSink {
  write(text: string): unknown;
}

/**
 * Prints an error as `error: <message>` and an optional hint line, with the
 * stack only when verbose, and returns the exit code to use.
 */
export function reportError(err: unknown, stderr: ErrorSink, verbose: boolean): ExitCodeValue {
  if (err instanceof StudyError) {
    stderr.write(`error: ${redactMessage(err.message)}\n`);
    if (err.hint) stderr.write(`hint: ${redactMessage(err.hint)}\n`);
    if (verbose) writeStack(err, stderr);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  stderr.write(`error: ${redactMessage(message.split('\n')[0] ?? '')}\n`);
  if (verbose) writeStack(err, stderr);
  else stderr.write('hint: this looks like a bug in kubectl-study; run again with --verbose for the stack trace\n');
  return ExitCode.INTERNAL;
}

function writeStack(err: unknown, stderr: ErrorSink): void {
  let current: unknown = err;
  let depth = 0;
  while (current instanceof Error && depth < 5) {
    stderr.write(`${depth === 0 ? '' : 'caused by: '}${redactMessage(current.stack ?? current.message)}\n`);
    current = current.cause;
    depth++;
  }
}
