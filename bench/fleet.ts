/**
 * Fleet benchmark: one whocan question over 10 contexts across three local
 * clusters (the default one and two more beside it, tests/support/fleet.ts),
 * asked three ways in the same run, interleaved: `kubectl whocan
 * --all-contexts` (one process, the contexts in parallel), a shell loop of
 * the one-context `kubectl whocan --context X`, and a shell loop of
 * kubectl-who-can. Reports medians of wall time, peak RSS (of the largest
 * process) and the ratios. Not a test: nothing fails on a number.
 *
 *   KUBECTL_WHO_CAN=/path/to/kubectl-who-can npm run bench:fleet
 *   STUDY_BIN=/path/to/kubectl-study (the release binary) also times it; BENCH_RUNS=N (default 5)
 */
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { REPO_ROOT } from '../tests/cluster/paths.js';
import { adminContext, startExtraClusters, writeFleetKubeconfig } from '../tests/support/fleet.js';
import { adminCluster, cell, log, machine, measure, ratio, type Case } from './support.js';

const QUESTION = ['get', 'pods', '-n', 'kube-system'];

async function main(): Promise<void> {
  const { info: a } = await adminCluster();
  const extra = await startExtraClusters(['b', 'c'], log);
  const [b, c] = extra.clusters as [typeof a, typeof a];
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-bench-fleet-'));
  // 10 contexts: 4 on the default cluster, 3 on each of the others, each with a user entry of its own.
  const contexts = [
    ...[1, 2, 3, 4].map((i) => adminContext(`a-${i}`, a)),
    ...[1, 2, 3].map((i) => adminContext(`b-${i}`, b)),
    ...[1, 2, 3].map((i) => adminContext(`c-${i}`, c)),
  ];
  const env = { KUBECONFIG: writeFleetKubeconfig(path.join(dir, 'fleet.kubeconfig'), contexts), KUBECACHEDIR: dir };
  const names = contexts.map((x) => x.name).join(' ');
  const whocan = [process.execPath, path.join(REPO_ROOT, 'bin', 'kubectl-whocan')];
  const loop = (cmd: string): string => `for c in ${names}; do ${cmd} --context "$c" >/dev/null || exit 1; done`;
  const q = QUESTION.join(' ');

  const cases: Case[] = [
    {
      name: 'whocan --all-contexts (npm route)',
      cmd: whocan[0]!,
      args: [whocan[1]!, ...QUESTION, '--all-contexts', '-o', 'json'],
      env,
    },
    {
      name: 'loop of whocan --context (npm route)',
      cmd: '/bin/sh',
      args: ['-c', loop(`${whocan.join(' ')} ${q} -o json`)],
      env,
    },
  ];
  const bin = process.env.STUDY_BIN;
  if (bin) {
    const link = path.join(dir, 'kubectl-whocan');
    symlinkSync(path.resolve(bin), link);
    cases.push(
      {
        name: 'whocan --all-contexts (release binary)',
        cmd: link,
        args: [...QUESTION, '--all-contexts', '-o', 'json'],
        env,
      },
      {
        name: 'loop of whocan --context (release binary)',
        cmd: '/bin/sh',
        args: ['-c', loop(`${link} ${q} -o json`)],
        env,
      },
    );
  }
  const peer = process.env.KUBECTL_WHO_CAN;
  if (peer)
    cases.push({ name: 'loop of kubectl-who-can --context', cmd: '/bin/sh', args: ['-c', loop(`${peer} ${q}`)], env });

  const measured = await measure(cases);
  const [fleet, shellLoop] = measured as [(typeof measured)[0], (typeof measured)[0]];
  const byName = (n: string): (typeof measured)[0] | undefined => measured.find((m) => m.case.name === n);
  const peerLoop = byName('loop of kubectl-who-can --context');
  const out = [
    `whocan ${q} over ${contexts.length} contexts on 3 clusters, ${new Date().toISOString()}; ${machine()}`,
    '',
    '| how | time, peak RSS | vs a loop of whocan | vs a loop of kubectl-who-can |',
    '|---|---|---|---|',
    ...measured.map((m) => {
      const release = m.case.name.includes('release');
      const loopOf = release ? (byName('loop of whocan --context (release binary)') ?? shellLoop) : shellLoop;
      const vsLoop = m.case.name.startsWith('loop of whocan') ? '' : ratio(m, loopOf);
      return `| ${m.case.name} | ${cell(m)} | ${vsLoop} | ${peerLoop && m !== peerLoop ? ratio(m, peerLoop) : ''} |`;
    }),
  ];
  const answered = (JSON.parse(fleet.runs[0]!.stdout) as { answered: number }).answered;
  out.push('', `The fleet answer: ${answered} of ${contexts.length} contexts answered.`);
  process.stdout.write(`${out.join('\n')}\n`);
  await extra.stop();
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
