/**
 * The flag sets shared by many commands, declared once: kubectl's
 * connection flags and the output flags. Typed through commander's
 * extra-typings, so the values arrive as a typed object (the jobs' options
 * modules validate them).
 */
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';

import { UsageError } from '../base/errors.js';
import { durationFlag, intFlag } from '../base/parse.js';
import type { OutputFormat } from '../base/run.js';
import { contextPatterns, FLEET_DEFAULTS, type FleetOptions } from '../kube/contexts.js';
import { option } from './candidates.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * How a command reads --as and --as-group: kubectl's impersonation, or (study-access) the subject
 * to analyse, asked about without impersonating anybody.
 */
export type AsMeaning = 'impersonate' | 'subject';

const AS_HELP: Record<AsMeaning, { as: string; group: string; uid: string }> = {
  impersonate: {
    as: 'username to impersonate for the operation',
    group: 'group to impersonate for the operation; repeat for several groups',
    uid: 'UID to impersonate for the operation',
  },
  subject: {
    as: 'the user whose access to analyse (its rules reviews are asked as them where you may impersonate)',
    group: 'a group of that user; repeat for several groups',
    uid: 'not used here: the subject is a user with its groups, or a service account',
  },
};

/**
 * kubectl's connection flags: --kubeconfig, --context, --cluster, --user, --as, --as-group (repeatable),
 * --as-uid, --request-timeout, --cache-dir. -n is namespaceFlag, for the commands that take it.
 */
export function connectionFlags<A extends any[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
  as: AsMeaning = 'impersonate',
) {
  return cmd
    .addOption(
      option(
        '--kubeconfig <path>',
        'path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)',
        'files',
      ),
    )
    .addOption(option('--context <name>', 'the kubeconfig context to use', 'contexts'))
    .addOption(option('--cluster <name>', 'the kubeconfig cluster to use', 'clusters'))
    .addOption(option('--user <name>', 'the kubeconfig user to use', 'users'))
    .option('--as <user>', AS_HELP[as].as)
    .addOption(new Option('--as-group <group>', AS_HELP[as].group).argParser(collect).default([] as string[], ''))
    .option('--as-uid <uid>', AS_HELP[as].uid)
    .option(
      '--request-timeout <duration>',
      'how long to wait for one server request (e.g. 1s, 2m); 0 (the default) waits forever',
    )
    .addOption(
      option(
        '--cache-dir <path>',
        "kubectl's cache directory; API discovery is cached (and shared with kubectl) beneath it " +
          '(default $KUBECACHEDIR, else ~/.kube/cache)',
        'files',
      ),
    );
}

export function namespaceFlag<A extends any[], O extends OptionValues, G extends OptionValues>(cmd: Command<A, O, G>) {
  return cmd.addOption(option('-n, --namespace <namespace>', 'the namespace scope for this request', 'namespaces'));
}

export function allNamespacesFlag<A extends any[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) {
  return cmd.option('-A, --all-namespaces', 'across all namespaces');
}

/** -o, offering the command's formats besides the default table, and --verbose. */
export function outputFlags<A extends any[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
  formats: readonly OutputFormat[],
) {
  const names = formats.filter((f) => f !== 'table');
  return cmd
    .addOption(option('-o, --output <format>', `output format: ${names.join('|')}`, names))
    .option('--verbose', 'show stack traces and request details on errors');
}

/** The -o value, checked against what the command offers. */
export function outputFormat(value: string | undefined, allowed: readonly OutputFormat[]): OutputFormat {
  if (value === undefined) return 'table';
  const format = value as OutputFormat;
  if (format !== 'table' && allowed.includes(format)) return format;
  throw new UsageError(`unsupported output format "${value}"`, {
    hint: `-o takes one of: ${allowed.filter((f) => f !== 'table').join(', ')}`,
  });
}

/** The flags that ask one read-only question of many contexts at once. */
export function fleetFlags<A extends any[], O extends OptionValues, G extends OptionValues>(cmd: Command<A, O, G>) {
  return cmd
    .addOption(
      option(
        '--contexts <patterns>',
        'ask every context matching these comma-separated globs ("prod-*,!prod-old": "!" excludes), in parallel',
        'contexts',
      ),
    )
    .option('--all-contexts', 'ask every context of the kubeconfig, in parallel')
    .option('--parallel <n>', `contexts asked at once (default ${FLEET_DEFAULTS.parallel})`)
    .option(
      '--context-timeout <duration>',
      `one context's whole answer at most (default ${FLEET_DEFAULTS.contextTimeoutMs / 1000}s, ` +
        'plus what the command itself waits)',
    )
    .option('--stream', 'with -o json and many contexts: one JSON line per context as it finishes');
}

/** What the fleet flags say, as the command line gives them. */
export interface FleetFlags {
  contexts?: string;
  allContexts?: boolean;
  parallel?: string;
  contextTimeout?: string;
  stream?: boolean;
  context?: string;
  cluster?: string;
  user?: string;
}

/**
 * The fleet flags, validated once: undefined for a one-context question.
 * `--contexts` with `--context` (or --cluster, --user: each context uses its
 * own) is a usage error, as are the fleet-only flags without a fleet.
 */
export function fleetOptions(flags: FleetFlags, output: OutputFormat): FleetOptions | undefined {
  const given = flags.contexts !== undefined || flags.allContexts === true;
  if (!given) {
    const stray = (
      [
        ['--parallel', flags.parallel],
        ['--context-timeout', flags.contextTimeout],
        ['--stream', flags.stream],
      ] as const
    ).find(([, v]) => v !== undefined && v !== false)?.[0];
    if (stray)
      throw new UsageError(`${stray} applies only to a question asked of many contexts`, {
        hint: 'add --contexts PATTERN or --all-contexts, or drop it',
      });
    return undefined;
  }
  if (flags.contexts !== undefined && flags.allContexts)
    throw new UsageError('--contexts and --all-contexts were both given', { hint: 'give one of them' });
  for (const [flag, value] of [
    ['--context', flags.context],
    ['--cluster', flags.cluster],
    ['--user', flags.user],
  ] as const) {
    if (value !== undefined)
      throw new UsageError(`${flag} cannot be combined with ${flags.allContexts ? '--all-contexts' : '--contexts'}`, {
        hint: `each context is asked with its own cluster and user; drop ${flag}, or drop the fleet flag`,
      });
  }
  if (flags.stream && output !== 'json')
    throw new UsageError('--stream needs -o json', { hint: 'add -o json: each context is one JSON line' });
  const out: FleetOptions = {
    contexts: flags.allContexts ? 'all' : contextPatterns(flags.contexts ?? ''),
    parallel:
      flags.parallel === undefined
        ? FLEET_DEFAULTS.parallel
        : intFlag('--parallel', flags.parallel, { min: 1, max: 64 }),
    stream: flags.stream === true,
  };
  if (flags.contextTimeout !== undefined)
    out.contextTimeoutMs = durationFlag('--context-timeout', flags.contextTimeout, { zero: false });
  return out;
}

/** A command that changes the cluster asks one cluster per run: across contexts only as a plan. */
export function fleetOnlyDryRun(flags: FleetFlags, dryRun: boolean, what: string): void {
  if (dryRun || (flags.contexts === undefined && !flags.allContexts)) return;
  throw new UsageError(`a real ${what} changes one cluster per run; across contexts it can only plan`, {
    hint: `add --dry-run to plan on every context, or name one with --context`,
  });
}
