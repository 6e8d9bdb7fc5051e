/**
 * What a positional argument or a flag's value can be, declared where the
 * argument or flag is defined (commands/*.ts, flags.ts). Shell completion
 * (complete.ts) reads it from the command tree, so the command table is
 * written once.
 */
import { Argument, Option } from '@commander-js/extra-typings';

export type Candidates =
  | 'nodes'
  | 'namespaces'
  | 'contexts'
  | 'clusters'
  | 'users'
  /** KIND/NAME of a Deployment, StatefulSet or DaemonSet. */
  | 'workloads'
  /** RBAC verbs. */
  | 'verbs'
  /** API resources as RESOURCE[.GROUP]. */
  | 'resources'
  /** A path: the shell completes it. */
  | 'files'
  /** A fixed set of values. */
  | readonly string[];

const declared = new WeakMap<Argument | Option, Candidates>();

/** A positional argument, as commander's `.argument(usage, description)`, with what it completes to. */
export function argument<const Usage extends string>(
  usage: Usage,
  description: string,
  completes: Candidates,
): Argument<Usage> {
  const arg = new Argument(usage, description);
  declared.set(arg as Argument, completes);
  return arg;
}

/** A flag, as commander's `.option(flags, description)`, with what its value completes to. */
export function option<const Usage extends string>(
  flags: Usage,
  description: string,
  completes: Candidates,
): Option<Usage> {
  const opt = new Option(flags, description);
  declared.set(opt as Option, completes);
  return opt;
}

/** What an argument or a flag's value was declared to complete to, if anything. */
export function candidatesOf(target: Argument | Option): Candidates | undefined {
  return declared.get(target);
}
