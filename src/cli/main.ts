/**
 * The one entry point behind every executable. It wires the streams, the
 * interrupt signal and the command table, and turns whatever happens into
 * an exit code. Nothing here imports client-node: commands load their
 * implementation (and the API client) only when they run.
 */
import { Command, CommanderError } from 'commander';

import { ExitCode, InterruptedError, reportError, type ExitCodeValue } from './errors.js';
import { processIo, type Io } from './output.js';
import { buildProgram, PLUGINS, type PluginName, type RunState } from './program.js';

export { PLUGINS, type PluginName };

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

export interface RunOptions {
  io?: Io;
  /** Install SIGINT/SIGTERM handlers (off in tests that call runPlugin in-process). */
  handleSignals?: boolean;
}

export async function runPlugin(plugin: PluginName, argv: string[], options: RunOptions = {}): Promise<ExitCodeValue> {
  const io = options.io ?? processIo();
  const abort = new AbortController();
  const state: RunState = { io, signal: abort.signal, exitCode: ExitCode.OK, verbose: argv.includes('--verbose') };
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) {
      io.stderr.write(`\n${sig} again: exiting now\n`);
      process.exit(ExitCode.INTERRUPTED);
    }
    io.stderr.write(`\n${sig} received: finishing nothing new (press Ctrl-C again to exit at once)\n`);
    abort.abort(new InterruptedError(`interrupted by ${sig}`));
  };
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const program: Command = buildProgram(plugin, state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return commanderExit(err, io, program.name());
    return reportError(err, io.stderr, state.verbose);
  } finally {
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

function commanderExit(err: CommanderError, io: Io, name: string): ExitCodeValue {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
    return ExitCode.OK;
  }
  if (err.code === 'commander.executeSubCommandAsync') return ExitCode.OK;
  io.stderr.write(`hint: see "${name} --help"\n`);
  return ExitCode.USAGE;
}

/** Whether the executable is a kubectl_complete-<plugin> completion helper. */
export function isCompletionExecutable(executable: string): boolean {
  return /^kubectl_complete-/.test(executable.split(/[\\/]/).pop() ?? '');
}

/** What bin/ calls: run, flush, exit. */
export async function main(plugin?: PluginName, completion = false): Promise<void> {
  const invokedAs = process.argv[1] ?? process.argv0;
  const name = plugin ?? pluginFromExecutable(invokedAs) ?? pluginFromExecutable(process.execPath);
  if (!name) {
    process.stderr.write(`error: cannot tell which plugin to run from "${process.argv[1] ?? ''}"\nhint: install it as one of: ${PLUGINS.map((p) => `kubectl-${p.replace(/-/g, '_')}`).join(', ')}\n`);
    process.exit(ExitCode.USAGE);
  }
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
