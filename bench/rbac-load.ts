/**
 * The RBAC load bench/whocan.ts and bench/access.ts share: 2,000 Roles
 * (half ClusterRoles, half Roles over 20 namespaces) and 10,000 bindings
 * (a fifth ClusterRoleBindings), one subject each (users, 50 groups, service
 * accounts); plus one RoleBinding of 4,000 subjects, so that one question
 * (`delete jobs -A`) has a table of more than 5,000 rows. Made once per
 * cluster and kept (the label marks it).
 */
import * as k8s from '@kubernetes/client-node';

import { mapLimit } from '../src/base/concurrency.js';
import { log } from './support.js';

export const ROLES = Number(process.env.BENCH_ROLES || 2000);
export const BINDINGS = Number(process.env.BENCH_BINDINGS || 10000);
export const WIDE_SUBJECTS = 4000;
export const NAMESPACES = 20;
const RBAC = 'rbac.authorization.k8s.io';
const LABEL = 'kstudy.bench/rbac';

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'delete'];
const RESOURCES: Array<[string, string]> = [
  ['', 'pods'],
  ['', 'secrets'],
  ['', 'configmaps'],
  ['apps', 'deployments'],
  ['', 'pods/log'],
  ['batch', 'jobs'],
];

export const namespace = (i: number): string => `bench-rbac-${i % NAMESPACES}`;

function subject(i: number): k8s.RbacV1Subject {
  if (i % 3 === 0) return { kind: 'User', name: `bench-user-${i}`, apiGroup: RBAC };
  if (i % 3 === 1) return { kind: 'Group', name: `bench-group-${i % 50}`, apiGroup: RBAC };
  return { kind: 'ServiceAccount', name: `sa-${i}`, namespace: namespace(i) };
}

export async function loadRbac(kc: k8s.KubeConfig): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const existing = await rbac.listClusterRole({ labelSelector: LABEL });
  if (existing.items.length >= ROLES / 2) {
    log('the RBAC load is already there');
  } else {
    for (let i = 0; i < NAMESPACES; i++)
      await core
        .createNamespace({ body: { metadata: { name: namespace(i), labels: { [LABEL]: 'true' } } } })
        .catch(() => {});
    const rule = (i: number): k8s.V1PolicyRule => {
      const [group, resource] = RESOURCES[i % RESOURCES.length]!;
      return {
        apiGroups: [group],
        resources: [resource],
        verbs: [VERBS[i % VERBS.length]!, VERBS[(i * 7) % VERBS.length]!],
      };
    };
    log(`creating ${ROLES} roles`);
    await mapLimit(
      Array.from({ length: ROLES }, (_, i) => i),
      32,
      async (i) => {
        if (i % 2 === 0)
          await rbac.createClusterRole({
            body: { metadata: { name: `bench-cr-${i}`, labels: { [LABEL]: 'true' } }, rules: [rule(i)] },
          });
        else
          await rbac.createNamespacedRole({
            namespace: namespace(i),
            body: { metadata: { name: `bench-role-${i}`, labels: { [LABEL]: 'true' } }, rules: [rule(i)] },
          });
      },
    );
    log(`creating ${BINDINGS} bindings`);
    await mapLimit(
      Array.from({ length: BINDINGS }, (_, i) => i),
      32,
      async (i) => {
        const r = i % ROLES;
        if (i % 5 === 0) {
          await rbac.createClusterRoleBinding({
            body: {
              metadata: { name: `bench-crb-${i}`, labels: { [LABEL]: 'true' } },
              roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: `bench-cr-${r - (r % 2)}` },
              subjects: [subject(i)],
            },
          });
        } else {
          const roleRef =
            r % 2 === 1 && r % NAMESPACES === i % NAMESPACES
              ? { apiGroup: RBAC, kind: 'Role', name: `bench-role-${r}` }
              : { apiGroup: RBAC, kind: 'ClusterRole', name: `bench-cr-${r - (r % 2)}` };
          await rbac.createNamespacedRoleBinding({
            namespace: namespace(i),
            body: { metadata: { name: `bench-rb-${i}`, labels: { [LABEL]: 'true' } }, roleRef, subjects: [subject(i)] },
          });
        }
      },
    );
  }
  // Role bench-role-5 (in bench-rbac-5) allows delete jobs: its wide binding makes the 5,000-row table.
  const wide = {
    metadata: { name: 'bench-wide', labels: { [LABEL]: 'true' } },
    roleRef: { apiGroup: RBAC, kind: 'Role', name: 'bench-role-5' },
    subjects: Array.from({ length: WIDE_SUBJECTS }, (_, i) => subject(BINDINGS + i)),
  };
  await rbac.createNamespacedRoleBinding({ namespace: namespace(5), body: wide }).then(
    () => log(`created a RoleBinding of ${WIDE_SUBJECTS} subjects`),
    (err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    },
  );
}
