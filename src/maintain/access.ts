/**
 * What a real run must be allowed to do before it changes anything, beyond
 * what its drains check themselves: keep its state (the ConfigMap) and its
 * lock (the Lease) in --lock-namespace, and watch volumes detach. Asked of
 * the API server (SelfSubjectAccessReviews) before the first change; what
 * is missing is one usage error naming each verb and resource. Pure.
 */
import { UsageError } from '../base/errors.js';

export interface AccessCheck {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

/** The checks of a run whose state and lock are NAMESPACE/NAME; `volumes`: it waits for volumes to detach. */
export function runAccessChecks(namespace: string, name: string, volumes: boolean): AccessCheck[] {
  const on = (group: string, resource: string): AccessCheck[] => [
    { verb: 'get', group, resource, namespace, name },
    { verb: 'create', group, resource, namespace },
    { verb: 'update', group, resource, namespace, name },
  ];
  return [
    ...on('', 'configmaps'),
    ...on('coordination.k8s.io', 'leases'),
    { verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace, name },
    ...(volumes ? [{ verb: 'list', group: 'storage.k8s.io', resource: 'volumeattachments' }] : []),
  ];
}

/** One check as a person reads it: update configmaps "NAME" in namespace NS. */
export function describeAccess(c: AccessCheck): string {
  const resource = c.group ? `${c.resource}.${c.group}` : c.resource;
  return `${c.verb} ${resource}${c.name ? ` "${c.name}"` : ''}${c.namespace ? ` in namespace ${c.namespace}` : ''}`;
}

/** The usage error for what is missing, every missing permission named at once. */
export function missingAccess(missing: readonly AccessCheck[], lockNamespace: string): UsageError {
  return new UsageError(
    `not allowed to keep the maintenance run's state and lock: missing ${missing.map(describeAccess).join(', ')}`,
    {
      hint:
        `a run keeps its state (a ConfigMap) and its lock (a Lease) in ${lockNamespace}` +
        `${missing.some((c) => c.resource === 'volumeattachments') ? ' and lists VolumeAttachments to wait for volumes to detach' : ''}: ` +
        'ask for these permissions, or choose another --lock-namespace; nothing was changed',
    },
  );
}
