/**
 * Shell completion through kubectl's plugin completion: kubectl runs
 * `kubectl_complete-<plugin> ARGS... WORD` and reads one candidate per
 * line, then `:<directive>` (Cobra's ShellCompDirective). Everything comes
 * from the command tree: subcommands and flags, and what each positional
 * argument and flag value completes to (declared with them, candidates.ts).
 * Nodes, contexts, namespaces, resources and workload names are looked up
 * in the kubeconfig and the cluster, each look-up bounded to two seconds
 * and silent on failure; tests inject their own look-ups.
 */
import type { Argument, CommandUnknownOpts as Command, Option } from '@commander-js/extra-typings';

import { ExitCode } from '../base/errors.js';
import type { Io } from '../base/io.js';
import type { ConnectionOptions } from '../kube/connection.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import { RESOURCE_VERBS } from '../rbac/verbs.js';
import { type Candidates, candidatesOf } from './candidates.js';
import type { Emit } from './operations.js';
import { type ArgToken, argTokens, buildProgram, type PluginName } from './program.js';

/** Cobra's ShellCompDirective values. */
const DIRECTIVE = { DEFAULT: 0, NO_SPACE: 2, NO_FILE: 4 } as const;
const LOOKUP_TIMEOUT_MS = 2000;

/** Where to look things up: the connection flags typed so far. */
export interface LookupScope {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

const WORKLOAD_KINDS = ['deployment', 'statefulset', 'daemonset'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** The look-ups behind the candidates that come from the kubeconfig or the cluster. */
export interface Lookups {
  nodes(scope: LookupScope): Promise<string[]>;
  namespaces(scope: LookupScope): Promise<string[]>;
  /** Names of that kind in the scope's namespace. */
  workloads(scope: LookupScope, kind: WorkloadKind): Promise<string[]>;
  /** RESOURCE or RESOURCE.GROUP, sorted. */
  resources(scope: LookupScope): Promise<string[]>;
  contexts(scope: LookupScope): Promise<string[]>;
  clusters(scope: LookupScope): Promise<string[]>;
  users(scope: LookupScope): Promise<string[]>;
}

export interface Completion {
  items: string[];
  directive: number;
}

/** The connection flags among the words typed so far, as the command tree defines them. */
function lookupScope(tokens: readonly ArgToken[]): LookupScope {
  const scope: LookupScope = {};
  tokens.forEach((token, i) => {
    if (token.kind !== 'option') return;
    const inline = token.text.indexOf('=');
    const flag = inline < 0 ? token.option : optionNamed(token.cmd, token.text.slice(0, inline));
    const next = tokens[i + 1];
    const value = inline >= 0 ? token.text.slice(inline + 1) : next?.kind === 'value' ? next.text : undefined;
    const key = flag?.attributeName();
    if (value !== undefined && (key === 'kubeconfig' || key === 'context' || key === 'namespace')) scope[key] = value;
  });
  return scope;
}

function optionNamed(cmd: Command, name: string): Option | undefined {
  return (cmd.options as readonly Option[]).find((o) => o.long === name || o.short === name);
}

/** A flag's value, or the positional argument at that place. */
async function complete(
  candidates: Candidates | undefined,
  toComplete: string,
  scope: LookupScope,
  lookups: Lookups,
): Promise<Completion> {
  const found = (items: string[]): Completion => ({ items, directive: DIRECTIVE.NO_FILE });
  if (candidates === undefined) return found([]);
  if (typeof candidates !== 'string') return found([...candidates]);
  switch (candidates) {
    case 'files':
      return { items: [], directive: DIRECTIVE.DEFAULT };
    case 'verbs':
      return found([...RESOURCE_VERBS]);
    case 'workloads': {
      const slash = toComplete.indexOf('/');
      if (slash < 0)
        return { items: WORKLOAD_KINDS.map((k) => `${k}/`), directive: DIRECTIVE.NO_FILE | DIRECTIVE.NO_SPACE };
      const typed = toComplete.slice(0, slash);
      const kind = [typed, typed.replace(/s$/, '')].find((k): k is WorkloadKind =>
        (WORKLOAD_KINDS as readonly string[]).includes(k),
      );
      if (!kind) return found([]);
      return found((await lookups.workloads(scope, kind)).map((name) => `${typed}/${name}`));
    }
    case 'nodes':
    case 'namespaces':
    case 'resources':
    case 'contexts':
    case 'clusters':
    case 'users':
      return found(await lookups[candidates](scope));
  }
}

/** A command's flags, as `--long<TAB>description`. */
function flagsOf(cmd: Command): string[] {
  const flags = (cmd.options as readonly Option[]).filter((o) => o.long).map((o) => `${o.long}\t${o.description}`);
  return [...flags, '--help\tdisplay help'];
}

/** The argument a positional at this index fills: the last one takes the rest if it is variadic. */
function argumentAt(cmd: Command, index: number): Argument | undefined {
  const args = cmd.registeredArguments as readonly Argument[];
  const last = args.at(-1);
  return args[index] ?? (last?.variadic ? last : undefined);
}

/** The candidates for the word being typed, before they are matched against it. */
async function completions(
  plugin: PluginName,
  words: readonly string[],
  toComplete: string,
  lookups: Lookups,
): Promise<Completion> {
  const io: Io = {
    stdout: { write: () => true },
    stderr: { write: () => true },
    stdin: process.stdin,
    env: process.env,
  };
  const emit = Object.assign(() => {}, { io }) as Emit;
  const program = buildProgram(plugin, io, emit);
  const tokens = [...argTokens(program, words)];
  const scope = lookupScope(tokens);
  const last = tokens.at(-1);
  const cmd = last?.cmd ?? program;
  // The value of the flag just typed.
  if (last?.kind === 'option' && last.option?.required)
    return complete(candidatesOf(last.option), toComplete, scope, lookups);
  if (toComplete.startsWith('-')) return { items: flagsOf(cmd), directive: DIRECTIVE.NO_FILE };

  const positionals = tokens
    .filter((t) => t.cmd === cmd && (t.kind === 'positional' || (t.kind === 'rest' && t.text !== '--')))
    .map((t) => t.text);
  const subcommands =
    positionals.length === 0
      ? cmd.commands.filter((c) => c.name() !== 'help').map((c) => `${c.name()}\t${c.description()}`)
      : [];
  const arg = argumentAt(cmd, positionals.length);
  const { items, directive } = await complete(arg && candidatesOf(arg), toComplete, scope, lookups);
  // A variadic argument does not offer what is already given.
  const fresh = arg?.variadic ? items.filter((item) => !positionals.includes(item)) : items;
  return { items: [...subcommands, ...fresh], directive };
}

const WORKLOAD_RESOURCES = {
  deployment: RESOURCES.deployments,
  statefulset: RESOURCES.statefulSets,
  daemonset: RESOURCES.daemonSets,
} satisfies Record<WorkloadKind, unknown>;

/** The look-ups against the kubeconfig and the cluster it names. */
export const clusterLookups: Lookups = {
  nodes: (scope) => names(scope, () => resourcePath(RESOURCES.nodes)),
  namespaces: (scope) => names(scope, () => resourcePath(RESOURCES.namespaces)),
  workloads: (scope, kind) => names(scope, (namespace) => resourcePath(WORKLOAD_RESOURCES[kind], { namespace })),
  async resources(scope) {
    try {
      const { discover } = await import('../kube/discovery.js');
      const all = (await discover(await lookupClient(scope))).resources;
      return [...new Set(all.map((r) => (r.group ? `${r.resource}.${r.group}` : r.resource)))].sort();
    } catch {
      return [];
    }
  },
  contexts: (scope) => kubeconfigNames(scope, 'contexts'),
  clusters: (scope) => kubeconfigNames(scope, 'clusters'),
  users: (scope) => kubeconfigNames(scope, 'users'),
};

async function lookupClient(scope: LookupScope): Promise<import('../kube/client.js').KubeClient> {
  const { connect } = await import('../kube/client.js');
  const options: ConnectionOptions = { allNamespaces: false, asGroups: [], requestTimeoutMs: LOOKUP_TIMEOUT_MS };
  if (scope.kubeconfig) options.kubeconfig = scope.kubeconfig;
  if (scope.context) options.context = scope.context;
  if (scope.namespace) options.namespace = scope.namespace;
  return connect(options);
}

async function names(scope: LookupScope, path: (namespace: string) => string): Promise<string[]> {
  try {
    const client = await lookupClient(scope);
    const list = await client.request<{ items: Array<{ metadata?: { name?: string } }> }>(
      'GET',
      path(client.namespace),
      { query: { limit: 500 } },
    );
    return list.items.map((i) => i.metadata?.name ?? '').filter(Boolean);
  } catch {
    return [];
  }
}

async function kubeconfigNames(scope: LookupScope, section: 'contexts' | 'clusters' | 'users'): Promise<string[]> {
  try {
    const { loadKubeconfig } = await import('../kube/kubeconfig.js');
    return [...loadKubeconfig(scope.kubeconfig)[section].keys()];
  } catch {
    return [];
  }
}

/** argv is the words typed, then the word being typed; prints the candidates that match it. */
export async function runCompletion(
  plugin: PluginName,
  argv: readonly string[],
  io: Io,
  lookups: Lookups = clusterLookups,
): Promise<number> {
  const words = argv.slice(0, -1);
  const toComplete = argv.at(-1) ?? '';
  const { items, directive } = await completions(plugin, words, toComplete, lookups);
  const matching = items.filter((i) => i.split('\t')[0]!.startsWith(toComplete));
  io.stdout.write(`${[...matching, `:${directive}`].join('\n')}\n`);
  return ExitCode.OK;
}
