/**
 * npm run demo: bring up the local cluster, seed sample workloads, and run
 * the plugin's commands through a real kubectl, as a newcomer would; then
 * start a second cluster beside it and ask one question of both (--all-contexts).
 * The clusters keep running afterwards; `npm run -s cluster:down` stops the first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';

import { up } from '../tests/cluster/cluster.js';
import { DRIFTED_RBAC, kubectlRunner, seedDemo } from '../tests/cluster/demo.js';
import { REPO_ROOT, stateDir } from '../tests/cluster/paths.js';
import { adminContext, startExtraClusters, writeFleetKubeconfig } from '../tests/support/fleet.js';

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
  say('seeding namespace demo: Deployments web and api, StatefulSet db, DaemonSet log-agent, PDBs, RBAC');
  await seedDemo(kubectlRunner(info.binaries.kubectl, env), (line) => process.stderr.write(`demo: ${line}\n`));

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

  // One question asked of two clusters: a second local cluster beside the first, where the
  // deployer Role of namespace demo is bound to ops-bot instead of jane (RBAC drift).
  say('starting a second local cluster beside the first (its own directory and ports)');
  const second = await startExtraClusters(['demo'], (l) => process.stderr.write(`cluster: ${l}\n`));
  const other = second.clusters[0]!;
  const apply = spawnSync(info.binaries.kubectl, ['apply', '-f', '-'], {
    env: { ...process.env, KUBECONFIG: other.adminKubeconfig },
    input: DRIFTED_RBAC,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  if (apply.status !== 0) throw new Error('the second cluster could not be seeded');
  const fleetConfig = writeFleetKubeconfig(path.join(stateDir(), 'demo-fleet.kubeconfig'), [
    adminContext('first', info),
    adminContext('second', other),
  ]);
  const fleetEnv = { ...env, KUBECONFIG: fleetConfig };
  say(`KUBECONFIG=${fleetConfig} kubectl whocan update deployments -n demo --all-contexts`);
  sh('kubectl', ['whocan', 'update', 'deployments', '-n', 'demo', '--all-contexts'], fleetEnv);
  say(`KUBECONFIG=${fleetConfig} kubectl study-rollout status deployment/web -n demo --all-contexts --watch=false`);
  sh(
    'kubectl',
    ['study-rollout', 'status', 'deployment/web', '-n', 'demo', '--all-contexts', '--watch=false'],
    fleetEnv,
  );

  process.stdout.write(`
Both clusters keep running; the second one: STUDY_CLUSTER_DIR=${other.dir} npm run -s cluster:down
The first cluster keeps running. To use it yourself:
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
