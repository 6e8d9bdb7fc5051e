/**
 * What the integration tests of study maintain share: a namespace and a
 * pool of simulated nodes of the test's own, a Deployment `web` spread on
 * them under a PDB, a user of its own in system:masters, a temporary
 * directory; the flags every run there takes; the PDB watcher.
 */
import { after, type TestContext } from 'node:test';

import { mintUser, suffix, tempDir, testNamespace } from './cluster.js';
import { allReady, createPool, deployment, pdb, pdbsSettled, readyWatcher, type Pool } from './workloads.js';

export interface MaintainSetup {
  ns: string;
  pool: Pool;
  nodes: string[];
  env: NodeJS.ProcessEnv;
  dir: string;
}

export interface SetupOptions {
  /** The Deployment's pods ignore SIGTERM and end at their grace period (seconds; 3 unless given). */
  slow?: boolean;
  grace?: number;
  /** The PDB's maxUnavailable (1 unless given). */
  maxUnavailable?: number;
}

/** `prefix` names the test file's namespaces, users and directories. */
export async function maintainSetup(
  t: TestContext,
  prefix: string,
  nodes: number,
  replicas: number,
  o: SetupOptions = {},
): Promise<MaintainSetup> {
  const ns = await testNamespace(t, prefix);
  const pool = await createPool(
    t,
    Array.from({ length: nodes }, () => ({})),
  );
  await deployment(
    ns,
    pool,
    'web',
    replicas,
    o.slow ? { annotations: { 'kstudy.test/ignore-sigterm': 'true' }, grace: o.grace ?? 3 } : {},
  );
  await pdb(ns, 'web', 'web', { maxUnavailable: o.maxUnavailable ?? 1 });
  await allReady(ns, replicas);
  await pdbsSettled(ns);
  return {
    ns,
    pool,
    nodes: pool.nodes,
    env: { KUBECONFIG: mintUser(`${prefix}-${suffix()}`, ['system:masters']) },
    dir: tempDir(`kstudy-${prefix}-`),
  };
}

/** A real run of `nodes` in the test's namespace, `run` for each, confirmed; `extra` after the usual flags. */
export function maintainArgs(
  s: { ns: string },
  nodes: string[],
  run: string,
  extra: string[] = [],
  waits: { ready: string; recover: string } = { ready: '60s', recover: '120s' },
): string[] {
  return [
    'maintain',
    ...nodes,
    '--run',
    run,
    '--lock-namespace',
    s.ns,
    '--yes',
    '--ignore-daemonsets',
    '--ready-timeout',
    waits.ready,
    '--recover-timeout',
    waits.recover,
    ...extra,
  ];
}

/** Watchers a failing test left running: stopped once the file's tests are done, so the file ends. */
const watchers: Array<{ stop: () => Promise<number> }> = [];
after(async () => {
  for (const w of watchers) await w.stop();
});

/** The PDB watcher: the fewest ready pods of the app seen, sampled every 200 ms. */
export function pdbWatcher(ns: string, app = 'web'): { stop: () => Promise<number> } {
  const watcher = readyWatcher(ns, app, 200);
  watchers.push(watcher);
  return watcher;
}
