/**
 * npm run -s cluster:up [-- --nodes N]   start (or reuse) the local cluster; last stdout line: admin kubeconfig
 * npm run -s cluster:down                stop it and remove its state
 * npm run -s cluster:build               build the binaries only
 * npm run -s cluster:status              say whether it runs
 *
 * Each acts on the release STUDY_K8S_VERSION names (1.32, 1.32.13...; unset: the newest),
 * in that release's own state directory and ports unless STUDY_CLUSTER_DIR or
 * STUDY_CLUSTER_PORT_BASE say otherwise.
 */
import { readFileSync } from 'node:fs';

import { ensureBinaries } from './build.js';
import { down, isHealthy, readClusterInfo, up } from './cluster.js';
import { stateDir } from './paths.js';
import { selectedRelease } from './releases.js';

const log = (line: string): void => {
  process.stderr.write(`cluster: ${line}\n`);
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const release = selectedRelease();
  switch (command) {
    case 'up': {
      const i = rest.indexOf('--nodes');
      const nodes = i >= 0 ? Number(rest[i + 1]) : Number(process.env.STUDY_CLUSTER_NODES || 3);
      if (!Number.isInteger(nodes) || nodes < 1) {
        log('--nodes takes a positive whole number');
        return 2;
      }
      const info = await up({ nodes, log, release });
      process.stdout.write(`${info.adminKubeconfig}\n`);
      return 0;
    }
    case 'down':
      await down({ log, release });
      return 0;
    case 'build': {
      const b = await ensureBinaries(release, log);
      process.stdout.write(`${b.dir}\n`);
      return 0;
    }
    case 'status': {
      const info = readClusterInfo(stateDir(process.env, release));
      const ok = info ? await isHealthy(info, release) : false;
      process.stdout.write(
        ok && info
          ? `running: ${release.version} at ${info.server} (${info.adminKubeconfig})\n`
          : `${release.version}: not running\n`,
      );
      if (ok && info) {
        // Resident and peak resident memory per component, from /proc.
        let rss = 0;
        let peak = 0;
        for (const [name, pid] of Object.entries(info.pids)) {
          const text = readFileSync(`/proc/${pid}/status`, 'utf8');
          const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
          rss += kb('VmRSS');
          peak += kb('VmHWM');
          process.stdout.write(
            `  ${name.padEnd(24)} rss ${(kb('VmRSS') / 1024).toFixed(0)} MiB, peak ${(kb('VmHWM') / 1024).toFixed(0)} MiB\n`,
          );
        }
        process.stdout.write(
          `  ${'total'.padEnd(24)} rss ${(rss / 1024).toFixed(0)} MiB, peak ${(peak / 1024).toFixed(0)} MiB\n`,
        );
      }
      return ok ? 0 : 1;
    }
    default:
      log('usage: cli.ts up [--nodes N] | down | build | status');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
