/** study-ctx's options: bound from the flags and validated here, once. Pure. */
import { UsageError } from '../base/errors.js';
import { durationFlag, namespaceName } from '../base/parse.js';

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

function contextName(name: string): string {
  if (name.trim() === '')
    throw new UsageError('an empty context name was given', { hint: 'run "kubectl study-ctx" to list the contexts' });
  return name;
}

function withKubeconfig<T extends object>(base: T, f: CtxFlags): T & { kubeconfig?: string } {
  const kubeconfig = kubeconfigFlag(f.kubeconfig);
  return kubeconfig === undefined ? base : { ...base, kubeconfig };
}

export function listOptions(f: CtxFlags): ListOptions {
  return withKubeconfig(
    { check: f.check === true, timeoutMs: durationFlag('--timeout', f.timeout ?? '5s', { zero: false }) },
    f,
  );
}

export interface CheckOptions {
  kubeconfig?: string;
  names: string[];
  timeoutMs: number;
}

export function checkOptions(names: readonly string[], f: CtxFlags): CheckOptions {
  const seen = new Set<string>();
  for (const n of names.map(contextName)) {
    if (seen.has(n)) throw new UsageError(`context "${n}" is named twice`, { hint: 'name each context once' });
    seen.add(n);
  }
  return withKubeconfig(
    { names: [...seen], timeoutMs: durationFlag('--timeout', f.timeout ?? '5s', { zero: false }) },
    f,
  );
}

export interface ShowOptions {
  kubeconfig?: string;
  name?: string;
}

export function showOptions(name: string | undefined, f: CtxFlags): ShowOptions {
  return withKubeconfig(name === undefined ? {} : { name: contextName(name) }, f);
}

export interface UseOptions {
  kubeconfig?: string;
  name: string;
}

export function useOptions(name: string, f: CtxFlags): UseOptions {
  return withKubeconfig({ name: contextName(name) }, f);
}

export interface NamespaceOptions {
  kubeconfig?: string;
  namespace: string;
  context?: string;
}

export function namespaceOptions(namespace: string, f: CtxFlags): NamespaceOptions {
  const base: NamespaceOptions = { namespace: namespaceName('NAMESPACE', namespace) };
  if (f.context !== undefined) base.context = contextName(f.context);
  return withKubeconfig(base, f);
}
