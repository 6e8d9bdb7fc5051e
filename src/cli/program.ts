/**
 * The command table, and argv parsed into an Operation value without
 * running anything: which command, its validated options, the output
 * format. Each entry only declares arguments and flags; its action records
 * the operation. Table tests call parseArgs directly.
 */
import { Command, CommanderError, type Option } from '@commander-js/extra-typings';

import { exitCodeSummary, UsageError } from '../base/errors.js';
import type { Io } from '../base/io.js';
import type { OutputFormat } from '../base/run.js';
import { defineCtx } from './commands/ctx.js';
import { defineDrain } from './commands/drain.js';
import { defineMaintain } from './commands/maintain.js';
import { defineAccess, defineWhoCan } from './commands/rbac.js';
import { defineRollout } from './commands/rollout.js';
import { fleetOptions, type FleetFlags } from './flags.js';
import type { CommandId, Emit, Operation, OperationOptions } from './operations.js';

declare const __STUDY_VERSION__: string | undefined;
export const VERSION = typeof __STUDY_VERSION__ === 'string' ? __STUDY_VERSION__ : '0.0.0-dev';
/** What --version and `kubectl study version` both print. */
const VERSION_LINE = `kubectl-study ${VERSION}`;

export const PLUGINS = ['study', 'study-ctx', 'study-drain', 'study-rollout', 'study-access', 'whocan'] as const;
export type PluginName = (typeof PLUGINS)[number];

/** Parsed: an operation to run, or a command line that was fully answered (help, version). */
export type Parsed = { kind: 'run'; operation: Operation } | { kind: 'answered' };

/**
 * argv -> the operation it asks for. Pure but for help and version, which
 * commander prints. Bad arguments throw a UsageError.
 */
export function parseArgs(plugin: PluginName, argv: readonly string[], io: Io): Parsed {
  let operation: Operation | undefined;
  const emit = Object.assign(
    <K extends CommandId>(
      command: K,
      options: OperationOptions[K],
      output: OutputFormat,
      flags: { verbose?: boolean | undefined } & FleetFlags,
    ): void => {
      const fleet = fleetOptions(flags, output);
      operation = {
        command,
        options,
        output,
        verbose: flags.verbose === true,
        ...(fleet ? { fleet } : {}),
      } as Operation;
    },
    { io },
  ) as Emit;
  const program = buildProgram(plugin, io, emit);
  try {
    program.parse(bindOptionalValues(program, argv), { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      const failure =
        (err.code === 'commander.excessArguments' ? unknownSubcommand(program, argv) : undefined) ??
        commanderFailure(err, program.name());
      if (failure) throw failure;
      return { kind: 'answered' };
    }
    throw err;
  }
  return operation ? { kind: 'run', operation } : { kind: 'answered' };
}

export function buildProgram(plugin: PluginName, io: Io, emit: Emit): Command {
  let program: Command;
  if (plugin === 'study') {
    program = new Command('study')
      .name('kubectl study')
      .description('kubectl-study: safe drains, rollout views, kubeconfig inspection and RBAC checks')
      .version(VERSION_LINE, '--version', 'print the version')
      .enablePositionalOptions();
    for (const entry of COMMANDS) {
      const sub = new Command(entry.name).description(entry.summary);
      entry.define(sub, emit);
      program.addCommand(sub);
    }
    program.addCommand(
      new Command('version').description('print the kubectl-study version').action(() => {
        io.stdout.write(`${VERSION_LINE}\n`);
      }),
    );
    program.addHelpText(
      'after',
      `\nEach command is also its own plugin: ${COMMANDS.filter((c) => c.plugin)
        .map((c) => `kubectl ${c.plugin}`)
        .join(', ')}.\nExit codes: ${exitCodeSummary()}.\n`,
    );
  } else {
    const entry = COMMANDS.find((c) => c.plugin === plugin);
    if (!entry) throw new UsageError(`unknown plugin ${plugin}`);
    program = new Command(plugin)
      .name(`kubectl ${plugin}`)
      .description(entry.summary)
      .version(VERSION_LINE, '--version', 'print the version');
    entry.define(program, emit);
  }
  configureTree(program, io);
  return program;
}

interface CommandEntry {
  /** Name under the umbrella: kubectl study NAME. */
  name: string;
  /** Its own plugin, if it has one: kubectl PLUGIN. */
  plugin?: PluginName;
  summary: string;
  define: (cmd: Command, emit: Emit) => void;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'ctx',
    plugin: 'study-ctx',
    summary: 'inspect kubeconfig contexts: auth, certificate expiry, problems, health check',
    define: defineCtx,
  },
  {
    name: 'drain',
    plugin: 'study-drain',
    summary: 'plan and run a node drain that respects PodDisruptionBudgets',
    define: defineDrain,
  },
  {
    name: 'rollout',
    plugin: 'study-rollout',
    summary: 'rollout status, history and undo that say why a rollout is stuck',
    define: defineRollout,
  },
  {
    name: 'whocan',
    plugin: 'whocan',
    summary: 'who may do VERB on RESOURCE, through which binding and rule',
    define: defineWhoCan,
  },
  { name: 'access', plugin: 'study-access', summary: 'what one subject may do, and why', define: defineAccess },
  { name: 'maintain', summary: 'drain, upgrade and uncordon nodes one after another', define: defineMaintain },
];

/** Applies the stream and error settings to every command of the tree. */
function configureTree(cmd: Command, io: Io): void {
  configure(cmd, io);
  for (const sub of cmd.commands) configureTree(sub as Command, io);
}

function configure(cmd: Command, io: Io): Command {
  return cmd
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Parse errors are reported by the one error handler, as every other error is.
      outputError: () => {},
    })
    .showSuggestionAfterError(true);
}

/**
 * kubectl reads a flag with an optional value (--dry-run, -w/--watch) as
 * given without one unless the value follows "=": `--dry-run NODE` is a dry
 * run of NODE. Commander would take NODE as the value, so such a flag
 * standing alone becomes FLAG=true before commander sees it. Pure.
 */
export function bindOptionalValues(program: Command, argv: readonly string[]): string[] {
  return [...argTokens(program, argv)].map((t) =>
    t.kind === 'option' && t.option?.optional && t.option.long ? `${t.option.long}=true` : t.text,
  );
}

/**
 * For commander's "too many arguments" on a command that takes none but has
 * subcommands (study-ctx chek): the word was meant as a subcommand. Pure.
 */
function unknownSubcommand(program: Command, argv: readonly string[]): UsageError | undefined {
  const first = [...argTokens(program, argv)].find((t) => t.kind === 'positional' || t.kind === 'rest');
  if (!first || first.kind === 'rest' || first.cmd.commands.length === 0 || first.cmd.registeredArguments.length > 0)
    return undefined;
  const names = first.cmd.commands.map((c) => c.name());
  const near = names.find((n) => n.startsWith(first.text.slice(0, 2)) && Math.abs(n.length - first.text.length) <= 2);
  return new UsageError(`unknown command '${first.text}'`, {
    hint: `${near ? `did you mean ${near}? ` : ''}commands: ${names.join(', ')}`,
  });
}

/** The usage error of a commander failure, or undefined for help and version (already printed). */
function commanderFailure(err: CommanderError, name: string): UsageError | undefined {
  if (
    ['commander.helpDisplayed', 'commander.version', 'commander.help', 'commander.executeSubCommandAsync'].includes(
      err.code,
    )
  )
    return undefined;
  // Commander puts its suggestion on a second line; it belongs in the hint.
  const [first = '', ...rest] = err.message
    .replace(/^error: /, '')
    .trim()
    .split('\n');
  const suggestion = /^\(Did you mean (.+)\?\)$/.exec(rest.join(' ').trim())?.[1];
  return new UsageError(first.trim(), {
    hint: suggestion ? `did you mean ${suggestion}? see "${name} --help"` : `see "${name} --help"`,
    cause: err,
  });
}

export type ArgToken =
  | { kind: 'option'; text: string; cmd: Command; option: Option | undefined }
  | { kind: 'value' | 'positional' | 'rest'; text: string; cmd: Command }
  | { kind: 'command'; text: string; cmd: Command };

/**
 * argv as commander will read it, token by token: which command each belongs
 * to, which are options, their values (a required one takes the next token),
 * subcommand names (only before the command's first positional, as commander
 * dispatches), positionals, and what follows "--". Pure.
 */
export function* argTokens(program: Command, argv: readonly string[]): Generator<ArgToken> {
  let cmd: Command = program;
  let positionals = 0;
  for (let i = 0; i < argv.length; i++) {
    const text = argv[i]!;
    if (text === '--') {
      for (const rest of argv.slice(i)) yield { kind: 'rest', text: rest, cmd };
      return;
    }
    if (text.startsWith('-')) {
      const option = text.includes('=')
        ? undefined
        : (cmd.options as readonly Option[]).find((o) => o.long === text || o.short === text);
      yield { kind: 'option', text, cmd, option };
      if (option?.required && i + 1 < argv.length) yield { kind: 'value', text: argv[++i]!, cmd };
      continue;
    }
    const sub =
      positionals === 0 ? cmd.commands.find((c) => c.name() === text || c.aliases().includes(text)) : undefined;
    if (sub) {
      cmd = sub as Command;
      yield { kind: 'command', text, cmd };
    } else {
      positionals++;
      yield { kind: 'positional', text, cmd };
    }
  }
}
