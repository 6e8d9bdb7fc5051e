/**
 * kubectl's flag set, defined once. Every command that talks to a cluster
 * adds these with addKubeFlags and reads them back with readKubeFlags.
 */
import { Option, type Command } from 'commander';

import { UsageError } from './errors.js';
import { parseOutputFormat, type OutputFormat } from './output.js';
import { parseDuration } from '../util/duration.js';

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  namespace?: string;
  allNamespaces: boolean;
  as?: string;
  /** Each --as-group value, kept separate (client-node would merge them into one). */
  asGroups: string[];
  asUid?: string;
  /** Per request; 0 means no limit. */
  requestTimeoutMs: number;
}

export interface CommonFlags {
  output: OutputFormat;
  verbose: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export interface KubeFlagOptions {
  /** Offer -A/--all-namespaces (only where the command can span namespaces). */
  allNamespaces?: boolean;
  /** Offer -n/--namespace (default true). */
  namespace?: boolean;
}

export function addKubeFlags(cmd: Command, options: KubeFlagOptions = {}): Command {
  cmd
    .option('--kubeconfig <path>', 'path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('--cluster <name>', 'the kubeconfig cluster to use')
    .option('--user <name>', 'the kubeconfig user to use');
  if (options.namespace !== false) cmd.option('-n, --namespace <namespace>', 'the namespace scope for this request');
  if (options.allNamespaces) cmd.option('-A, --all-namespaces', 'across all namespaces');
  cmd
    .option('--as <user>', 'username to impersonate for the operation')
    .addOption(
      new Option('--as-group <group>', 'group to impersonate for the operation; repeat for several groups')
        .argParser(collect)
        .default([] as string[], ''),
    )
    .option('--as-uid <uid>', 'UID to impersonate for the operation')
    .option(
      '--request-timeout <duration>',
      'how long to wait for one server request (e.g. 1s, 2m); 0 waits forever',
      '0',
    );
  return cmd;
}

export function addCommonFlags(cmd: Command, formats: readonly OutputFormat[]): Command {
  const names = formats.filter((f) => f !== 'table');
  if (names.length > 0) cmd.option('-o, --output <format>', `output format: ${names.join('|')}`);
  cmd.option('--verbose', 'show stack traces and request details on errors');
  return cmd;
}

type Opts = Record<string, unknown>;

function str(opts: Opts, key: string): string | undefined {
  const v = opts[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Validates and normalizes the kubectl flags. Pure. */
export function readKubeFlags(opts: Opts): KubeFlags {
  const timeoutText = str(opts, 'requestTimeout') ?? '0';
  const requestTimeoutMs = parseDuration(timeoutText);
  if (requestTimeoutMs === undefined || requestTimeoutMs < 0) {
    throw new UsageError(`invalid --request-timeout "${timeoutText}"`, {
      hint: 'use a duration with a unit, like 30s or 1m, or 0 for no limit',
    });
  }
  const asGroups = Array.isArray(opts.asGroup) ? (opts.asGroup as string[]) : [];
  const as = str(opts, 'as');
  const asUid = str(opts, 'asUid');
  if ((asGroups.length > 0 || asUid) && !as) {
    throw new UsageError('--as-group and --as-uid need --as', {
      hint: 'the API server impersonates groups and UIDs only together with a user',
    });
  }
  const namespace = str(opts, 'namespace');
  const allNamespaces = opts.allNamespaces === true;
  if (namespace && allNamespaces) {
    throw new UsageError('-n/--namespace and -A/--all-namespaces cannot be used together', {
      hint: 'pick one namespace with -n, or all of them with -A',
    });
  }
  return {
    kubeconfig: str(opts, 'kubeconfig'),
    context: str(opts, 'context'),
    cluster: str(opts, 'cluster'),
    user: str(opts, 'user'),
    namespace,
    allNamespaces,
    as,
    asGroups,
    asUid,
    requestTimeoutMs,
  };
}

export function readCommonFlags(opts: Opts, formats: readonly OutputFormat[]): CommonFlags {
  return {
    output: parseOutputFormat(str(opts, 'output'), formats),
    verbose: opts.verbose === true,
  };
}
