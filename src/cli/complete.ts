/**
 * Shell completion through kubectl's plugin completion: kubectl runs
 * `kubectl_complete-<plugin> ARGS... WORD` and reads one candidate per
 * line, then `:<directive>` (Cobra's ShellCompDirective). Subcommands and
 * flags come from the command table; nodes, contexts, namespaces, resource
 * kinds and workload names from the kubeconfig and the cluster, each look-up
 * bounded to two seconds and silent on failure.
 */
import type { CommandUnknownOpts as Command, Option } from '@commander-js/extra-typings';

import { ExitCode } from '../base/errors.js';
import type { Io } from '../base/io.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import { RESOURCE_VERBS } from '../rbac/verbs.js';
import type { Emit } from './operations.js';
import { buildProgram, type PluginName } from './program.js';

const NO_FILE = 4;
const DEFAULT = 0;
const LOOKUP_TIMEOUT_MS = 2000;

interface Context {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** The flags among the words typed so far that say where to look things up. */
function lookupContext(words: string[]): Context {
  const ctx: Context = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const [flag, inline] = w.includes('=') ? [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] : [w, undefined];
    const value = inline ?? words[i + 1];
    if (flag === '--kubeconfig') ctx.kubeconfig = value;
    if (flag === '--context') ctx.context = value;
    if (flag === '-n' || flag === '--namespace') ctx.namespace = value;
  }
  return ctx;
}

async function client(ctx: Context): Promise<import('../kube/client.js').KubeClient> {
  const { connect } = await import('../kube/client.js');
  const options: import('../kube/connection.js').ConnectionOptions = {
    allNamespaces: false,
    asGroups: [],
    requestTimeoutMs: LOOKUP_TIMEOUT_MS,
  };
  if (ctx.kubeconfig) options.kubeconfig = ctx.kubeconfig;
  if (ctx.context) options.context = ctx.context;
  if (ctx.namespace) options.namespace = ctx.namespace;
  return connect(options);
}

async function names(ctx: Context, path: (ns: string) => string): Promise<string[]> {
  try {
    const c = await client(ctx);
    const list = await c.request<{ items: Array<{ metadata?: { name?: string } }> }>('GET', path(c.namespace), {
      query: { limit: 500 },
    });
    return list.items.map((i) => i.metadata?.name ?? '').filter(Boolean);
  } catch {
    return [];
  }
}

async function contexts(ctx: Context): Promise<string[]> {
  try {
    const { loadKubeconfig } = await import('../kube/kubeconfig.js');
    return [...loadKubeconfig(ctx.kubeconfig).contexts.keys()];
  } catch {
    return [];
  }
}

const VERBS = [...RESOURCE_VERBS];
const WORKLOAD_KINDS: Record<
  string,
  typeof RESOURCES.deployments | typeof RESOURCES.statefulSets | typeof RESOURCES.daemonSets
> = {
  deployment: RESOURCES.deployments,
  statefulset: RESOURCES.statefulSets,
  daemonset: RESOURCES.daemonSets,
};

async function resources(ctx: Context): Promise<string[]> {
  try {
    const { discover } = await import('../kube/discovery.js');
    const all = (await discover(await client(ctx))).resources;
    return [...new Set(all.map((r) => (r.group ? `${r.resource}.${r.group}` : r.resource)))].sort();
  } catch {
    return [];
  }
}

function flagsOf(cmd: Command): string[] {
  const out: string[] = [];
  for (const o of cmd.options as readonly Option[]) {
    if (o.long) out.push(`${o.long}\t${o.description}`);
  }
  out.push('--help\tdisplay help');
  return out;
}

/** Where in the command tree the words lead, and the positional words after it. */
function descend(cmd: Command, words: string[]): { cmd: Command; positionals: string[]; path: string[] } {
  let current = cmd;
  const positionals: string[] = [];
  const path: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-')) {
      const opt = (current.options as readonly Option[]).find((o) => o.long === w.split('=')[0] || o.short === w);
      if (opt && (opt.required || opt.optional) && !w.includes('=') && opt.required) i++;
      continue;
    }
    const sub =
      positionals.length === 0 ? current.commands.find((c) => c.name() === w || c.aliases().includes(w)) : undefined;
    if (sub) {
      current = sub;
      path.push(sub.name());
    } else positionals.push(w);
  }
  return { cmd: current, positionals, path };
}

/** The candidates for the word being typed. Exported for tests. */
async function completions(
  plugin: PluginName,
  words: string[],
  toComplete: string,
): Promise<{ items: string[]; directive: number }> {
  const io: Io = {
    stdout: { write: () => true },
    stderr: { write: () => true },
    stdin: process.stdin,
    env: process.env,
  };
  const emit = Object.assign(() => {}, { io }) as Emit;
  const program = buildProgram(plugin, io, emit);
  const ctx = lookupContext([...words, toComplete]);
  const { cmd, positionals, path } = descend(program, words);
  const previous = words.at(-1) ?? '';
  // A value for the flag just typed.
  if (previous === '--context' || previous === '--cluster' || previous === '--user')
    return { items: await contexts(ctx), directive: NO_FILE };
  if (previous === '-n' || previous === '--namespace' || previous === '--lock-namespace')
    return { items: await names(ctx, () => resourcePath(RESOURCES.namespaces)), directive: NO_FILE };
  if (previous === '-o' || previous === '--output') return { items: ['json', 'yaml', 'wide'], directive: NO_FILE };
  if (['--kubeconfig', '--journal', '--wait-file'].includes(previous)) return { items: [], directive: DEFAULT };
  if (toComplete.startsWith('-')) return { items: flagsOf(cmd), directive: NO_FILE };

  const where = [plugin === 'study' ? '' : plugin.replace(/^study-/, ''), ...path].filter(Boolean);
  const leaf = where.join(' ');
  const subcommands = cmd.commands.filter((c) => c.name() !== 'help').map((c) => `${c.name()}\t${c.description()}`);
  const nodes = (): Promise<string[]> => names(ctx, () => resourcePath(RESOURCES.nodes));
  switch (leaf) {
    case '':
    case 'ctx':
      return { items: subcommands, directive: NO_FILE };
    case 'ctx use':
    case 'ctx show':
    case 'ctx check':
      return { items: await contexts(ctx), directive: NO_FILE };
    case 'ctx namespace':
      return { items: await names(ctx, () => resourcePath(RESOURCES.namespaces)), directive: NO_FILE };
    case 'drain':
    case 'maintain':
    case 'drain uncordon':
      return {
        items: [
          ...(positionals.length === 0 && leaf === 'drain' ? subcommands : []),
          ...(await nodes()).filter((n) => !positionals.includes(n)),
        ],
        directive: NO_FILE,
      };
    case 'rollout':
      return { items: subcommands, directive: NO_FILE };
    case 'rollout status':
    case 'rollout history':
    case 'rollout undo': {
      const slash = toComplete.indexOf('/');
      if (slash < 0) return { items: Object.keys(WORKLOAD_KINDS).map((k) => `${k}/`), directive: NO_FILE | 2 };
      const kind = toComplete.slice(0, slash);
      const type = WORKLOAD_KINDS[kind] ?? WORKLOAD_KINDS[kind.replace(/s$/, '')];
      if (!type) return { items: [], directive: NO_FILE };
      const found = await names(ctx, (namespace) => resourcePath(type, { namespace }));
      return { items: found.map((n) => `${kind}/${n}`), directive: NO_FILE };
    }
    case 'whocan':
      if (positionals.length === 0) return { items: VERBS, directive: NO_FILE };
      if (positionals.length === 1) return { items: await resources(ctx), directive: NO_FILE };
      return { items: [], directive: NO_FILE };
    case 'access':
      return { items: subcommands, directive: NO_FILE };
    case 'access why':
      if (positionals.length === 0) return { items: VERBS, directive: NO_FILE };
      if (positionals.length === 1) return { items: await resources(ctx), directive: NO_FILE };
      return { items: [], directive: NO_FILE };
    default:
      return { items: [], directive: NO_FILE };
  }
}

export async function runCompletion(plugin: PluginName, argv: string[], io: Io): Promise<number> {
  const words = argv.slice(0, -1);
  const toComplete = argv.at(-1) ?? '';
  const { items, directive } = await completions(plugin, words, toComplete);
  const matching = items.filter((i) => i.split('\t')[0]!.startsWith(toComplete));
  io.stdout.write(`${[...matching, `:${directive}`].join('\n')}\n`);
  return ExitCode.OK;
}
