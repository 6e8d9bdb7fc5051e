/**
 * The command table: which plugin offers which commands. Each entry only
 * declares arguments and flags; its action imports the implementation when
 * it runs, so start-up pays only for the command that is used.
 */
import { Command } from 'commander';

import { ExitCode, UsageError, type ExitCodeValue } from './errors.js';
import type { Io } from './output.js';
import { defineCtxCommand } from './commands/ctx.js';
import { defineDrainCommand } from './commands/drain.js';
import { defineRolloutCommand } from './commands/rollout.js';
import { defineAccessCommand, defineWhoCanCommand } from './commands/rbac.js';
import { defineMaintainCommand } from './commands/maintain.js';

declare const __STUDY_VERSION__: string | undefined;
export const VERSION = typeof __STUDY_VERSION__ === 'string' ? __STUDY_VERSION__ : '0.0.0-dev';

export const PLUGINS = ['study', 'study-ctx', 'study-drain', 'study-rollout', 'study-access', 'whocan'] as const;
export type PluginName = (typeof PLUGINS)[number];

/** Shared by every action of one run. */
export interface RunState {
  io: Io;
  /** Aborted on Ctrl-C or SIGTERM. */
  signal: AbortSignal;
  exitCode: ExitCodeValue;
  verbose: boolean;
}

interface CommandEntry {
  /** Name under the umbrella: kubectl study NAME. */
  name: string;
  /** Its own plugin, if it has one: kubectl PLUGIN. */
  plugin?: PluginName;
  summary: string;
  define: (cmd: Command, state: RunState) => void;
}

const COMMANDS: CommandEntry[] = [
  {
    name: 'ctx',
    plugin: 'study-ctx',
    summary: 'inspect kubeconfig contexts: auth, certificate expiry, problems, health check',
    define: defineCtxCommand,
  },
  {
    name: 'drain',
    plugin: 'study-drain',
    summary: 'plan and run a node drain that respects PodDisruptionBudgets',
    define: defineDrainCommand,
  },
  {
    name: 'rollout',
    plugin: 'study-rollout',
    summary: 'rollout status, history and undo that say why a rollout is stuck',
    define: defineRolloutCommand,
  },
  {
    name: 'whocan',
    plugin: 'whocan',
    summary: 'who may do VERB on RESOURCE, through which binding and rule',
    define: defineWhoCanCommand,
  },
  {
    name: 'access',
    plugin: 'study-access',
    summary: 'what one subject may do, and why',
    define: defineAccessCommand,
  },
  {
    name: 'maintain',
    summary: 'drain, upgrade and uncordon nodes one after another',
    define: defineMaintainCommand,
  },
];

function configure(cmd: Command, state: RunState): Command {
  return cmd
    .exitOverride()
    .configureOutput({
      writeOut: (s) => state.io.stdout.write(s),
      writeErr: (s) => state.io.stderr.write(s),
    })
    .showSuggestionAfterError(true);
}

function versionCommand(state: RunState): Command {
  return configure(new Command('version'), state)
    .description('print the kubectl-study version')
    .action(() => {
      state.io.stdout.write(`kubectl-study ${VERSION}\n`);
    });
}

export function buildProgram(plugin: PluginName, state: RunState): Command {
  if (plugin === 'study') {
    const program = configure(new Command('study'), state)
      .name('kubectl study')
      .description('kubectl-study: safe drains, rollout views, kubeconfig inspection and RBAC checks')
      .version(VERSION, '--version', 'print the version')
      .enablePositionalOptions();
    for (const entry of COMMANDS) {
      const sub = configure(new Command(entry.name), state).description(entry.summary);
      entry.define(sub, state);
      program.addCommand(sub);
    }
    program.addCommand(versionCommand(state));
    program.addHelpText(
      'after',
      `\nEach command is also its own plugin: ${COMMANDS.filter((c) => c.plugin)
        .map((c) => `kubectl ${c.plugin}`)
        .join(', ')}.\nExit codes: 0 ok, 1 answered no, 2 usage, 3 blocked/not allowed, 4 timed out, 5 not found, 6 API/connection error, 130 interrupted.\n`,
    );
    return program;
  }
  const entry = COMMANDS.find((c) => c.plugin === plugin);
  if (!entry) throw new UsageError(`unknown plugin ${plugin}`);
  const program = configure(new Command(plugin), state)
    .name(`kubectl ${plugin}`)
    .description(entry.summary)
    .version(VERSION, '--version', 'print the version');
  entry.define(program, state);
  return program;
}

export { ExitCode };
