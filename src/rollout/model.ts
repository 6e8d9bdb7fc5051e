/** Rollout targets and their names as kubectl spells them. Pure. */
import { UsageError } from '../base/errors.js';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

const KIND_NAMES: Record<string, WorkloadKind> = {
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  'deployment.apps': 'Deployment',
  'deployments.apps': 'Deployment',
  statefulset: 'StatefulSet',
  statefulsets: 'StatefulSet',
  sts: 'StatefulSet',
  'statefulset.apps': 'StatefulSet',
  'statefulsets.apps': 'StatefulSet',
  daemonset: 'DaemonSet',
  daemonsets: 'DaemonSet',
  ds: 'DaemonSet',
  'daemonset.apps': 'DaemonSet',
  'daemonsets.apps': 'DaemonSet',
};

export function parseKind(text: string): WorkloadKind {
  const kind = KIND_NAMES[text.toLowerCase()];
  if (!kind) {
    throw new UsageError(`"${text}" is not a kind rollouts apply to`, {
      hint: 'use deployment (deploy), statefulset (sts) or daemonset (ds), e.g. deployment/web',
    });
  }
  return kind;
}

export interface Target {
  kind: WorkloadKind;
  name: string;
}

/**
 * kubectl's argument forms: KIND/NAME [KIND/NAME...], or KIND NAME [NAME...],
 * or KIND with a label selector (resolved later).
 */
export function parseTargets(
  args: string[],
  selector: string | undefined,
): { targets: Target[]; selectorKind?: WorkloadKind } {
  if (args.length === 0)
    throw new UsageError('name what to watch: KIND/NAME, or KIND -l SELECTOR', { hint: 'e.g. deployment/web' });
  if (args.every((a) => a.includes('/'))) {
    if (selector) throw new UsageError('-l/--selector goes with a kind alone (deployment -l app=web), not KIND/NAME');
    const targets = args.map((a) => {
      const [kind, name, ...rest] = a.split('/');
      if (!kind || !name || rest.length)
        throw new UsageError(`"${a}" is not KIND/NAME`, { hint: 'e.g. deployment/web' });
      return { kind: parseKind(kind), name };
    });
    return { targets: once(targets) };
  }
  const [kindText, ...names] = args;
  if (names.some((n) => n.includes('/')))
    throw new UsageError('mix of KIND/NAME and KIND NAME arguments', { hint: 'use one form' });
  const kind = parseKind(kindText!);
  if (names.length === 0) {
    if (!selector) throw new UsageError(`name the ${kind.toLowerCase()} or give -l SELECTOR`);
    return { targets: [], selectorKind: kind };
  }
  if (selector) throw new UsageError('name workloads or use -l/--selector, not both');
  return { targets: once(names.map((name) => ({ kind, name }))) };
}

/** Refuses a workload named twice (deployment/web deployment/web, or deployment web web). */
function once(targets: Target[]): Target[] {
  const seen = new Set<string>();
  for (const t of targets) {
    const key = `${t.kind}/${t.name}`;
    if (seen.has(key)) throw new UsageError(`${key} is named twice`, { hint: 'name each workload once' });
    seen.add(key);
  }
  return targets;
}

export function apiPlural(kind: WorkloadKind): string {
  return { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' }[kind];
}
