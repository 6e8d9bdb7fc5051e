/** study-rollout's options: bound from the flags and validated here, once. Pure. */
import { UsageError } from '../base/errors.js';
import { boolFlag, dryRunFlag, durationFlag, intFlag, nameArg } from '../base/parse.js';
import type { OutputFormat } from '../base/run.js';
import { connectionOptions, type ConnectionFlags, type ConnectionOptions } from '../kube/connection.js';
import { labelSelectorFlag } from '../kube/selector.js';
import { parseTargets, type Target, type WorkloadKind } from './model.js';

export interface StatusOptions {
  connection: ConnectionOptions;
  targets: Target[];
  /** With -l: every workload of this kind that matches. */
  selectorKind?: WorkloadKind;
  selector?: string;
  watch: boolean;
  timeoutMs: number;
  failFast: boolean;
}

export interface StatusFlags extends ConnectionFlags {
  selector?: string;
  watch?: string | boolean;
  timeout?: string;
  failFast?: boolean;
}

export function statusOptions(args: readonly string[], flags: StatusFlags, output: OutputFormat): StatusOptions {
  const selector = flags.selector === undefined ? undefined : labelSelectorFlag('-l/--selector', flags.selector);
  const { targets, selectorKind } = parseTargets([...args], selector);
  for (const t of targets) workloadName(t);
  const watch = boolFlag('--watch', flags.watch, true);
  if (output === 'yaml' && watch)
    throw new UsageError('-o yaml needs --watch=false', {
      hint: 'a watch prints one JSON object per line: use -o json',
    });
  const out: StatusOptions = {
    connection: connectionOptions(flags),
    targets,
    watch,
    timeoutMs: durationFlag('--timeout', flags.timeout ?? '0'),
    failFast: flags.failFast === true,
  };
  if (selectorKind) out.selectorKind = selectorKind;
  if (selector !== undefined) out.selector = selector;
  return out;
}

/** Exactly one workload, as KIND/NAME or KIND NAME. */
export function singleTarget(args: readonly string[]): Target {
  const { targets } = parseTargets([...args], undefined);
  if (targets.length !== 1)
    throw new UsageError('name exactly one workload, as KIND/NAME or KIND NAME', { hint: 'e.g. deployment/web' });
  const target = targets[0]!;
  workloadName(target);
  return target;
}

/** A workload's name as the API takes it: a StatefulSet's is a DNS-1123 label (its pods' host names), the others' a subdomain. */
function workloadName(target: Target): string {
  return nameArg(target.kind === 'StatefulSet' ? 'dns-label' : 'dns-subdomain', target.kind.toLowerCase(), target.name);
}

export interface HistoryOptions {
  connection: ConnectionOptions;
  target: Target;
  revision?: number;
}

/** One side of a diff: a revision number, or the live object. */
export type RevisionRef = number | 'live';

export interface DiffOptions {
  connection: ConnectionOptions;
  target: Target;
  from: RevisionRef;
  to: RevisionRef;
}

export interface HistoryFlags extends ConnectionFlags {
  revision?: string;
}

function revisionRef(text: string): RevisionRef {
  if (text === 'live') return 'live';
  return intFlag('a revision in diff', text, { min: 1 });
}

/** `history KIND/NAME [--revision N]`, or `history KIND/NAME diff A B`. */
export function historyOptions(
  args: readonly string[],
  flags: HistoryFlags,
): { command: 'history'; options: HistoryOptions } | { command: 'diff'; options: DiffOptions } {
  const connection = connectionOptions(flags);
  const diffAt = args.indexOf('diff');
  if (diffAt >= 0) {
    const rest = args.slice(diffAt + 1);
    if (rest.length !== 2)
      throw new UsageError('diff takes two revisions: diff A B (a number or "live")', {
        hint: 'kubectl study-rollout history deployment/web diff 2 live',
      });
    if (flags.revision !== undefined) throw new UsageError('--revision and diff cannot be used together');
    return {
      command: 'diff',
      options: {
        connection,
        target: singleTarget(args.slice(0, diffAt)),
        from: revisionRef(rest[0]!),
        to: revisionRef(rest[1]!),
      },
    };
  }
  const options: HistoryOptions = { connection, target: singleTarget(args) };
  if (flags.revision !== undefined) options.revision = intFlag('--revision', flags.revision, { min: 1 });
  return { command: 'history', options };
}

export interface UndoOptions {
  connection: ConnectionOptions;
  target: Target;
  /** 0: the previous revision. */
  toRevision: number;
  dryRun: boolean;
  watch: boolean;
  timeoutMs: number;
}

export interface UndoFlags extends ConnectionFlags {
  toRevision?: string;
  dryRun?: string | boolean;
  watch?: boolean;
  timeout?: string;
}

export function undoOptions(args: readonly string[], flags: UndoFlags): UndoOptions {
  if (flags.timeout !== undefined && flags.watch !== true)
    throw new UsageError('--timeout bounds the --watch that follows the rollback; it needs --watch', {
      hint: 'add --watch, or drop --timeout',
    });
  return {
    connection: connectionOptions(flags),
    target: singleTarget(args),
    toRevision: intFlag('--to-revision', flags.toRevision ?? '0', { min: 0 }),
    dryRun: dryRunFlag(flags.dryRun),
    watch: flags.watch === true,
    timeoutMs: durationFlag('--timeout', flags.timeout ?? '0'),
  };
}
