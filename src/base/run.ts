/**
 * What every command runs with, and the contract between a job and the
 * wiring: run() returns a result object; exitCode() and render() read it.
 * The wiring (src/cli) picks json, yaml or the table that render() draws.
 */
import type { ExitCodeValue } from './errors.js';
import type { Io } from './io.js';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

export interface RunContext {
  io: Io;
  /** Aborted on Ctrl-C or SIGTERM: start nothing new, finish the report. */
  signal: AbortSignal;
  verbose: boolean;
  /** How the result will be printed; progress hooks print nothing on stdout unless 'table' or 'wide'. */
  output: OutputFormat;
}

/** How render() draws a result for people. */
export interface View {
  wide: boolean;
  colour: boolean;
}

/** A result as table rows, for a question asked of many contexts (the fleet table puts CONTEXT first). */
export interface Rows {
  headers: string[];
  rows: string[][];
  /** What the context's row says when the result has no rows ("nobody", "nothing allowed"). */
  empty: string;
  /** What the one-context table says beside its rows (INCOMPLETE, disagreements), one line each. */
  notes?: string[];
}

/** One command of a job, as the wiring sees it. */
export interface Command<O, R> {
  run(ctx: RunContext, options: O): Promise<R>;
  exitCode(result: R): ExitCodeValue;
  /** The table (or text) form; '' prints nothing (the command already showed it). */
  render(result: R, view: View): string;
  /** What -o json|yaml prints, when it is not the result itself. */
  document?(result: R): unknown;
  /** -o json prints one compact object per line (a stream of them came before). */
  jsonLines?(result: R): boolean;
  /** Said on stderr as `info: ...` before the output (and its warnings): worth knowing, nothing wrong. */
  info?(result: R): string[];
  /** Said on stderr as `warning: ...` before the output: what the answer cannot vouch for. */
  warnings?(result: R): string[];
  /** Said on stderr as `error: ...` (and `hint: ...`) after the output, when the result is a failure worth a line. */
  failure?(result: R): { message: string; hint?: string } | undefined;
  /**
   * Asked of many contexts: the result as rows of one table with a CONTEXT
   * column first. Without it, each context's render() is shown under its name.
   */
  rows?(result: R, view: View): Rows;
  /** Asked of many contexts: lines under the table that compare the answers (RBAC drift, what is not done where). */
  compare?(answers: ReadonlyArray<{ context: string; result: R }>): string[];
  /** How long one run may wait on purpose (rollout status's --timeout): a context's own deadline allows for it. */
  waitsMs?(options: O): number;
  /** Asked of many contexts: the options with a wait that has no bound (a watch without --timeout) bounded to ms. */
  bounded?(options: O, ms: number): O;
}

/** What the printer reads of a command: everything but how it runs (so any command's options fit). */
export type CommandPrinter<R> = Omit<Command<never, R>, 'run' | 'waitsMs' | 'bounded'>;
