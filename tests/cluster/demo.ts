/**
 * The demo's workloads, seeded the same way every time: `npm run demo`,
 * `npm run docs` and the README test all start from this state, so the
 * README's samples can be checked against a fresh run.
 *
 * The scheduler breaks ties between equal nodes at random, so workloads
 * scaled up at once land differently from run to run. Here each node is
 * filled in turn while the others are cordoned: the layout is always
 *
 *   kwok-node-1: web, api, db-0, log-agent
 *   kwok-node-2: web, api, db-1, log-agent
 *   kwok-node-3: web, db-2, log-agent
 *
 * and every node is uncordoned again before the seeding returns.
 */
import { spawn } from 'node:child_process';

export const DEMO_NAMESPACE = 'demo';
export const DEMO_NODES = ['kwok-node-1', 'kwok-node-2', 'kwok-node-3'];

/** The Role user jane and demo/ci are bound to; the second cluster of `npm run demo` binds it to someone else. */
const DEPLOYER_ROLE = `---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: demo}
rules:
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, update, patch]
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
`;

/** Namespace demo's RoleBinding of the deployer Role to these subjects (YAML flow mappings). */
function deployerBinding(...subjects: string[]): string {
  return `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects:
${subjects.map((s) => `- ${s}\n`).join('')}`;
}

/** The second demo cluster's RBAC: namespace demo's deployer Role, bound to ops-bot rather than jane (RBAC drift). */
export const DRIFTED_RBAC = `apiVersion: v1
kind: Namespace
metadata: {name: demo}
${DEPLOYER_ROLE}---
${deployerBinding('{kind: User, name: ops-bot, apiGroup: rbac.authorization.k8s.io}')}`;

const WORKLOADS = `
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ci, namespace: demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.local/web:1.0, resources: {requests: {cpu: 200m, memory: 128Mi}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: demo}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: demo}
spec:
  replicas: 0
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: registry.local/api:2.3, resources: {requests: {cpu: 500m, memory: 256Mi}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: api, namespace: demo}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: api}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: demo}
spec:
  replicas: 0
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: registry.local/db:15, resources: {requests: {cpu: 250m, memory: 512Mi}}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: log-agent, namespace: demo}
spec:
  selector: {matchLabels: {app: log-agent}}
  template:
    metadata: {labels: {app: log-agent}}
    spec:
      containers: [{name: agent, image: registry.local/log-agent:1.1}]
${DEPLOYER_ROLE}---
${deployerBinding(
  '{kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}',
  '{kind: ServiceAccount, name: ci, namespace: demo}',
)}`;

/** How many replicas of each workload there are once node N (0-based) has been filled. */
const LAYOUT: ReadonlyArray<Record<'deployment/web' | 'deployment/api' | 'statefulset/db', number>> = [
  { 'deployment/web': 1, 'deployment/api': 1, 'statefulset/db': 1 },
  { 'deployment/web': 2, 'deployment/api': 2, 'statefulset/db': 2 },
  { 'deployment/web': 3, 'deployment/api': 2, 'statefulset/db': 3 },
];

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export type Kubectl = (args: string[], input?: string) => Promise<CommandResult>;

/** A kubectl runner: the given binary, with the given environment (KUBECONFIG). */
export function kubectlRunner(binary: string, env: NodeJS.ProcessEnv): Kubectl {
  return (args, input) =>
    new Promise((resolve, reject) => {
      const child = spawn(binary, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input ?? '');
    });
}

async function must(kubectl: Kubectl, args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`demo seeding: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function setCordons(kubectl: Kubectl, schedulable: string): Promise<void> {
  for (const node of DEMO_NODES) {
    await must(kubectl, [node === schedulable ? 'uncordon' : 'cordon', node]);
  }
}

/** Seeds the demo namespace with the layout above; `log` says what it does. */
export async function seedDemo(kubectl: Kubectl, log: (line: string) => void = () => {}): Promise<void> {
  log('seeding the demo workloads node by node (the same layout every time)');
  await must(kubectl, ['apply', '-f', '-'], WORKLOADS);
  try {
    for (const [i, counts] of LAYOUT.entries()) {
      await setCordons(kubectl, DEMO_NODES[i]!);
      for (const [workload, replicas] of Object.entries(counts)) {
        await must(kubectl, ['scale', '-n', DEMO_NAMESPACE, workload, `--replicas=${replicas}`]);
      }
      for (const workload of Object.keys(counts)) {
        await must(kubectl, ['rollout', 'status', '-n', DEMO_NAMESPACE, workload, '--timeout=120s']);
      }
    }
  } finally {
    for (const node of DEMO_NODES) await kubectl(['uncordon', node]);
  }
  await must(kubectl, ['rollout', 'status', '-n', DEMO_NAMESPACE, 'daemonset/log-agent', '--timeout=120s']);
  // The node lifecycle controller lifts the unschedulable taint a moment after an uncordon.
  await until('the nodes to lose their unschedulable taint', async () => {
    const taints = await must(kubectl, ['get', 'nodes', '-o', 'jsonpath={.items[*].spec.taints[*].key}']);
    return !taints.includes('node.kubernetes.io/unschedulable');
  });
  // The disruption controller counts the healthy pods: the budgets' ALLOWED NOW depends on it.
  await until('the PodDisruptionBudgets to count every pod', async () => {
    const healthy = await must(kubectl, [
      'get',
      'pdb',
      '-n',
      DEMO_NAMESPACE,
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.currentHealthy}/{.status.disruptionsAllowed} {end}',
    ]);
    return healthy.trim().split(' ').sort().join(' ') === 'api=2/1 web=3/1';
  });
}
