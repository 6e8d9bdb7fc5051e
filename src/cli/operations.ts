/**
 * What a command line asks for, as a value: which command, with which
 * validated options, printed how. Parsing produces one (program.ts: each
 * command's action hands it to an Emit); running it (main.ts) loads the
 * job's module only then, so start-up pays only for the command that runs.
 */
import type { Io } from '../base/io.js';
import type { FleetFlags } from './flags.js';
import type { Command, OutputFormat } from '../base/run.js';
import type { FleetOptions } from '../kube/contexts.js';
import type { CheckOptions, ListOptions, NamespaceOptions, ShowOptions, UseOptions } from '../ctx/options.js';
import type { DrainOptions, UncordonOptions } from '../drain/options.js';
import type { MaintainOptions, MaintainStatusOptions } from '../maintain/options.js';
import type { AccessOptions, WhoCanOptions, WhyOptions } from '../rbac/options.js';
import type { DiffOptions, HistoryOptions, StatusOptions, UndoOptions } from '../rollout/options.js';

export interface OperationOptions {
  ctx: ListOptions;
  'ctx check': CheckOptions;
  'ctx show': ShowOptions;
  'ctx use': UseOptions;
  'ctx namespace': NamespaceOptions;
  drain: DrainOptions;
  'drain uncordon': UncordonOptions;
  'rollout status': StatusOptions;
  'rollout history': HistoryOptions;
  'rollout diff': DiffOptions;
  'rollout undo': UndoOptions;
  whocan: WhoCanOptions;
  access: AccessOptions;
  'access why': WhyOptions;
  maintain: MaintainOptions;
  'maintain status': MaintainStatusOptions;
}

export type CommandId = keyof OperationOptions;

export type Operation = {
  [K in CommandId]: {
    command: K;
    options: OperationOptions[K];
    output: OutputFormat;
    verbose: boolean;
    /** Asked of many contexts (--contexts, --all-contexts): which, and how. */
    fleet?: FleetOptions;
  };
}[CommandId];

/** What an action calls with the operation it parsed. */
export interface Emit {
  <K extends CommandId>(
    command: K,
    options: OperationOptions[K],
    output: OutputFormat,
    flags: { verbose?: boolean | undefined } & FleetFlags,
  ): void;
  readonly io: Io;
}

type Loaders = { [K in CommandId]: () => Promise<Command<OperationOptions[K], unknown>> };

/** A command's result type matters only inside the command: the wiring passes it from run() to the printers. */
function lazy<O, R>(load: () => Promise<Command<O, R>>): () => Promise<Command<O, unknown>> {
  return load as () => Promise<Command<O, unknown>>;
}

/** Each command's implementation, imported when it runs. */
export const LOADERS: Loaders = {
  ctx: lazy(async () => (await import('../ctx/command.js')).listCommand),
  'ctx check': lazy(async () => (await import('../ctx/command.js')).checkCommand),
  'ctx show': lazy(async () => (await import('../ctx/command.js')).showCommand),
  'ctx use': lazy(async () => (await import('../ctx/command.js')).useCommand),
  'ctx namespace': lazy(async () => (await import('../ctx/command.js')).namespaceCommand),
  drain: lazy(async () => (await import('../drain/command.js')).drainCommand),
  'drain uncordon': lazy(async () => (await import('../drain/command.js')).uncordonCommand),
  'rollout status': lazy(async () => (await import('../rollout/command.js')).statusCommand),
  'rollout history': lazy(async () => (await import('../rollout/command.js')).historyCommand),
  'rollout diff': lazy(async () => (await import('../rollout/command.js')).diffCommand),
  'rollout undo': lazy(async () => (await import('../rollout/command.js')).undoCommand),
  whocan: lazy(async () => (await import('../rbac/command.js')).whoCanCommand),
  access: lazy(async () => (await import('../rbac/command.js')).accessCommand),
  'access why': lazy(async () => (await import('../rbac/command.js')).whyCommand),
  maintain: lazy(async () => (await import('../maintain/command.js')).maintainCommand),
  'maintain status': lazy(async () => (await import('../maintain/command.js')).maintainStatusCommand),
};
