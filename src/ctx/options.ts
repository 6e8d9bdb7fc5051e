/** study-ctx's options: bound from the flags and validated here, once. Pure. */
import { UsageError } from '../base/errors.js';
import { durationFlag, nameArg, namespaceName } from '../base/parse.js';

export interface ListOptions {
  kubeconfig?: string;
  check: boolean;
  timeoutMs: number;
}

export interface CtxFlags {
  kubeconfig?: string;
  check?: boolean;
  timeout?: string;
  context?: string;
}

function kubeconfigFlag(value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '')
    throw new UsageError('--kubeconfig was given an empty path', {
      hint: 'drop --kubeconfig to use KUBECONFIG or ~/.kube/config',
    });
  return value;
}

/** A context's name, as a kubeconfig can hold it: any text but the empty one, without control characters. */
function contextName(name: string): string {
  if (name === '')
    throw new UsageError('an empty context name was given', { hint: 'run "kubectl study-ctx" to list the contexts' });
  return nameArg('any', 'context', name);
}

function withKubeconfig<T extends object>(base: T, flags: CtxFlags): T & { kubeconfig?: string } {
  const kubeconfig = kubeconfigFlag(flags.kubeconfig);
  return kubeconfig === undefined ? base : { ...base, kubeconfig };
}

export function listOptions(flags: CtxFlags): ListOptions {
  return withKubeconfig(
    { check: flags.check === true, timeoutMs: durationFlag('--timeout', flags.timeout ?? '5s', { zero: false }) },
    flags,
  );
}

export interface CheckOptions {
  kubeconfig?: string;
  names: string[];
  timeoutMs: number;
}

export function checkOptions(names: readonly string[], flags: CtxFlags): CheckOptions {
  const seen = new Set<string>();
  for (const name of names.map(contextName)) {
    if (seen.has(name)) throw new UsageError(`context "${name}" is named twice`, { hint: 'name each context once' });
    seen.add(name);
  }
  return withKubeconfig(
    { names: [...seen], timeoutMs: durationFlag('--timeout', flags.timeout ?? '5s', { zero: false }) },
    flags,
  );
}

export interface ShowOptions {
  kubeconfig?: string;
  name?: string;
}

export function showOptions(name: string | undefined, flags: CtxFlags): ShowOptions {
  return withKubeconfig(name === undefined ? {} : { name: contextName(name) }, flags);
}

export interface UseOptions {
  kubeconfig?: string;
  name: string;
}

export function useOptions(name: string, flags: CtxFlags): UseOptions {
  return withKubeconfig({ name: contextName(name) }, flags);
}

export interface NamespaceOptions {
  kubeconfig?: string;
  namespace: string;
  context?: string;
}

export function namespaceOptions(namespace: string, flags: CtxFlags): NamespaceOptions {
  const base: NamespaceOptions = { namespace: namespaceName('NAMESPACE', namespace) };
  if (flags.context !== undefined) base.context = contextName(flags.context);
  return withKubeconfig(base, flags);
}
