/**
 * npm run demo: bring up the local cluster, seed sample workloads, and run
 * the plugin's commands through a real kubectl, as a newcomer would.
 * The cluster keeps running afterwards; `npm run -s cluster:down` stops it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { up } from '../tests/cluster/cluster.js';
import { REPO_ROOT, stateDir } from '../tests/cluster/paths.js';

const SEED = `
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 3
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
  replicas: 2
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
  replicas: 3
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
---
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
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: demo}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects:
- {kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}
- {kind: ServiceAccount, name: ci, namespace: demo}
`;

function say(text: string): void {
  process.stdout.write(`\n\u001b[1m$ ${text}\u001b[0m\n`);
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): number {
  const r = spawnSync(cmd, args, {
    stdio: [input === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'],
    env,
    input,
  });
  return r.status ?? 1;
}

async function main(): Promise<void> {
  const info = await up({ log: (l) => process.stderr.write(`cluster: ${l}\n`) });
  // kubectl finds plugins on PATH: put the project's bin/ and the cluster's kubectl first.
  const pathDir = path.join(stateDir(), 'demo-path');
  rmSync(pathDir, { recursive: true, force: true });
  mkdirSync(pathDir, { recursive: true });
  symlinkSync(info.binaries.kubectl, path.join(pathDir, 'kubectl'));
  const env = {
    ...process.env,
    KUBECONFIG: info.adminKubeconfig,
    // Only directories that exist, so `kubectl plugin list` has nothing to warn about.
    PATH: [pathDir, path.join(REPO_ROOT, 'bin'), ...(process.env.PATH ?? '').split(path.delimiter)]
      .filter((d) => d && existsSync(d))
      .join(path.delimiter),
  };
  const seedFile = path.join(stateDir(), 'demo-seed.yaml');
  writeFileSync(seedFile, SEED);
  say('kubectl apply -f demo-seed.yaml   # sample workloads, PDBs and RBAC');
  sh('kubectl', ['apply', '-f', seedFile], env);
  sh(
    'kubectl',
    ['apply', '-f', '-'],
    env,
    'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ci, namespace: demo}\n',
  );
  sh('kubectl', ['rollout', 'status', '-n', 'demo', 'deployment/web', '--timeout=60s'], env);

  say('kubectl plugin list');
  sh('kubectl', ['plugin', 'list'], env);
  say('kubectl study-ctx');
  sh('kubectl', ['study-ctx'], env);
  say('kubectl study-ctx check');
  sh('kubectl', ['study-ctx', 'check'], env);
  say('kubectl study-ctx show');
  sh('kubectl', ['study-ctx', 'show'], env);
  say('kubectl get pods -n demo -o wide');
  sh('kubectl', ['get', 'pods', '-n', 'demo', '-o', 'wide'], env);
  say('kubectl study-drain kwok-node-1 --dry-run   # read-only plan; DaemonSet pods block without --ignore-daemonsets');
  sh('kubectl', ['study-drain', 'kwok-node-1', '--dry-run'], env);
  say('kubectl study-drain kwok-node-1 --ignore-daemonsets --yes --wait-healthy');
  sh('kubectl', ['study-drain', 'kwok-node-1', '--ignore-daemonsets', '--yes', '--wait-healthy'], env);
  say('kubectl study-drain uncordon kwok-node-1');
  sh('kubectl', ['study-drain', 'uncordon', 'kwok-node-1'], env);
  say(
    'kubectl set image -n demo deployment/api api=registry.local/api:2.4-fail-pull   # an image that cannot be pulled',
  );
  sh('kubectl', ['set', 'image', '-n', 'demo', 'deployment/api', 'api=registry.local/api:2.4-fail-pull'], env);
  say('kubectl study-rollout status -n demo deployment/api --fail-fast');
  sh('kubectl', ['study-rollout', 'status', '-n', 'demo', 'deployment/api', '--fail-fast'], env);
  say('kubectl study-rollout history -n demo deployment/api');
  sh('kubectl', ['study-rollout', 'history', '-n', 'demo', 'deployment/api'], env);
  say('kubectl study-rollout undo -n demo deployment/api --dry-run');
  sh('kubectl', ['study-rollout', 'undo', '-n', 'demo', 'deployment/api', '--dry-run'], env);
  say('kubectl study-rollout undo -n demo deployment/api --watch --timeout 60s');
  sh('kubectl', ['study-rollout', 'undo', '-n', 'demo', 'deployment/api', '--watch', '--timeout', '60s'], env);
  const journal = path.join(stateDir(), 'demo-maintain.journal');
  rmSync(journal, { force: true });
  say(
    `kubectl study maintain kwok-node-2 kwok-node-3 --run 'echo upgrading $NODE' --journal ${journal} --ignore-daemonsets --yes`,
  );
  sh(
    'kubectl',
    [
      'study',
      'maintain',
      'kwok-node-2',
      'kwok-node-3',
      '--run',
      'echo upgrading $NODE',
      '--journal',
      journal,
      '--ignore-daemonsets',
      '--yes',
    ],
    env,
  );
  say('kubectl whocan get pods -n demo --verify');
  sh('kubectl', ['whocan', 'get', 'pods', '-n', 'demo', '--verify'], env);
  say('kubectl whocan update deploy -n demo --near-misses -o wide');
  sh('kubectl', ['whocan', 'update', 'deploy', '-n', 'demo', '--near-misses', '-o', 'wide'], env);
  say('kubectl study-access --sa demo/ci -n demo');
  sh('kubectl', ['study-access', '--sa', 'demo/ci', '-n', 'demo'], env);
  say('kubectl study-access why update deployments --as jane -n demo');
  sh('kubectl', ['study-access', 'why', 'update', 'deployments', '--as', 'jane', '-n', 'demo'], env);

  process.stdout.write(`
The cluster keeps running. To use it yourself:
  export KUBECONFIG=${info.adminKubeconfig}
  export PATH=${pathDir}:${path.join(REPO_ROOT, 'bin')}:$PATH
  kubectl study --help
Stop it with: npm run -s cluster:down
`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
