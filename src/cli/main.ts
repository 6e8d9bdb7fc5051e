/**
 * The one entry point behind every executable: wires the streams and the
 * interrupt signal, parses argv into an operation, loads and runs its
 * command, prints the result, and turns whatever happens into an exit code
 * (the one error handler: reportError). Nothing here imports client-node:
 * commands load their implementation (and the API client) only when they run.
 */
import { ExitCode, InterruptedError, reportError, type ExitCodeValue } from '../base/errors.js';
import { processIo, type Io } from '../base/io.js';
import type { Command, RunContext } from '../base/run.js';
import type { ConnectionOptions } from '../kube/connection.js';
import { LOADERS, type Operation } from './operations.js';
import type { FleetEntry } from './fleet.js';
import { fleetEntryDocument, present, presentFleet } from './present.js';
import { parseArgs, PLUGINS, type PluginName } from './program.js';

/** What bin/ calls: run, flush, exit. */
export async function main(plugin?: PluginName, completion = false): Promise<void> {
  const invokedAs = process.argv[1] ?? process.argv0;
  const name = plugin ?? pluginFromExecutable(invokedAs) ?? pluginFromExecutable(process.execPath);
  if (!name) {
    const executables = PLUGINS.map((p) => `kubectl-${p.replace(/-/g, '_')}`).join(', ');
    process.stderr.write(
      `error: cannot tell which plugin to run from "${process.argv[1] ?? ''}"\n` +
        `hint: install it as one of: ${executables}\n`,
    );
    process.exit(ExitCode.USAGE);
  }
  quietRuntimeWarnings(process.argv.includes('--verbose'));
  // A reader that goes away (| head) is not an error: stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  if (completion || (!plugin && isCompletionExecutable(invokedAs))) {
    const { runCompletion } = await import('./complete.js');
    const code = await runCompletion(name, process.argv.slice(2), processIo());
    process.stdout.write('', () => process.exit(code));
    return;
  }
  const code = await runPlugin(name, process.argv.slice(2), { handleSignals: true });
  // Flush stdout before exiting: a piped stdout is asynchronous.
  process.stdout.write('', () => process.exit(code));
}

/**
 * Node's own warnings are about what a library does (a proxy agent that sets a TLS server name to an IP
 * address, DEP0123), in Node's words and with Node's flags: nothing an operator can act on. They are shown
 * with --verbose only, as stack traces are.
 */
function quietRuntimeWarnings(verbose: boolean): void {
  if (verbose) return;
  process.removeAllListeners('warning');
  process.on('warning', () => {});
}

export interface RunOptions {
  io?: Io;
  /** Install SIGINT/SIGTERM handlers (off in tests that call runPlugin in-process). */
  handleSignals?: boolean;
}

/** argv -> exit code: parse it into an operation and run it; any error is reported here, once. */
export async function runPlugin(plugin: PluginName, argv: string[], options: RunOptions = {}): Promise<ExitCodeValue> {
  const io = options.io ?? processIo();
  const abort = new AbortController();
  const onSignal = interruptHandler(io, abort, (code) => process.exit(code));
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  let verbose = argv.includes('--verbose');
  try {
    const parsed = parseArgs(plugin, argv, io);
    if (parsed.kind === 'answered') return ExitCode.OK;
    verbose = parsed.operation.verbose;
    return await runOperation({ io, signal: abort.signal, verbose, output: parsed.operation.output }, parsed.operation);
  } catch (err) {
    return reportError(err, io.stderr, verbose);
  } finally {
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** Loads the command the operation names, runs it, prints its result (and why it failed), returns its exit code. */
async function runOperation(ctx: RunContext, operation: Operation): Promise<ExitCodeValue> {
  const command = await LOADERS[operation.command]();
  if (operation.fleet) {
    const { runFleet } = await import('./fleet.js');
    const { fleet } = operation;
    const stream = fleet.stream
      ? (entry: FleetEntry) => ctx.io.stdout.write(`${JSON.stringify(fleetEntryDocument(entry))}\n`)
      : undefined;
    const name = operation.command;
    // Only the commands that take the fleet flags get here, and each of them has a connection.
    const asked = command as unknown as Command<{ connection: ConnectionOptions }, unknown>;
    const options = operation.options as unknown as { connection: ConnectionOptions };
    const answer = await runFleet(ctx, name, asked, options, fleet, stream);
    await presentFleet(ctx, command, answer, fleet.stream);
    return answer.exitCode;
  }
  const result = await command.run(ctx, operation.options as never);
  await present(ctx, command, result);
  const failure = command.failure?.(result);
  if (failure) {
    ctx.io.stderr.write(`error: ${failure.message}\n`);
    if (failure.hint) ctx.io.stderr.write(`hint: ${failure.hint}\n`);
  }
  return command.exitCode(result);
}

/**
 * One request to stop, however it arrives: `timeout`, systemd and CI runners
 * signal the whole process group, so the same stop can arrive twice within
 * milliseconds. A second signal a person sends (a second later) exits at once.
 */
export function interruptHandler(
  io: Io,
  abort: AbortController,
  exit: (code: number) => void,
  now: () => number = Date.now,
): (sig: NodeJS.Signals) => void {
  let first: number | undefined;
  return (sig) => {
    if (first === undefined) {
      first = now();
      io.stderr.write(`\n${sig} received: finishing nothing new (press Ctrl-C again to exit at once)\n`);
      abort.abort(new InterruptedError(`interrupted by ${sig}`));
      return;
    }
    if (now() - first < 1000) return;
    io.stderr.write(`\n${sig} again: exiting now\n`);
    exit(ExitCode.INTERRUPTED);
  };
}

/** The plugin name from the executable's name (kubectl-study_ctx -> study-ctx). */
export function pluginFromExecutable(executable: string): PluginName | undefined {
  const base = executable.split(/[\\/]/).pop() ?? '';
  const name = base
    .replace(/\.(exe|cmd|js|mjs|cjs)$/i, '')
    .replace(/^kubectl_complete-/, 'kubectl-')
    .replace(/^kubectl-/, '')
    .replace(/_/g, '-');
  return (PLUGINS as readonly string[]).includes(name) ? (name as PluginName) : undefined;
}

/** Whether the executable is a kubectl_complete-<plugin> completion helper. */
function isCompletionExecutable(executable: string): boolean {
  return /^kubectl_complete-/.test(executable.split(/[\\/]/).pop() ?? '');
}
