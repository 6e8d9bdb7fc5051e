/**
 * npm run docs: regenerates the README's example outputs from the local
 * cluster. Every code block right after a line `<!-- generated -->` (or
 * `<!-- generated: SETUP -->`, where SETUP is a shell command run first and
 * not shown) is rebuilt: each `$ COMMAND` line is run through a real kubectl
 * with the plugins on PATH, and its output replaces what followed it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { readClusterInfo } from '../tests/cluster/cluster.js';
import { REPO_ROOT, stateDir } from '../tests/cluster/paths.js';

const README = path.join(REPO_ROOT, 'README.md');

function run(command: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync('/bin/sh', ['-c', command], { env, encoding: 'utf8', timeout: 180_000 });
  return `${r.stdout ?? ''}${r.stderr ? r.stderr.replace(/^\[.*?\] .*\n/gm, '') : ''}`.replace(/\s+$/, '');
}

function main(): void {
  // The demo brings the cluster up and seeds the workloads the examples use.
  execFileSync('npm', ['run', '-s', 'demo'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const info = readClusterInfo();
  if (!info) throw new Error('the demo did not leave a cluster running');
  const env = {
    ...process.env,
    NO_COLOR: '1',
    KUBECONFIG: info.adminKubeconfig,
    PATH: [
      path.join(stateDir(), 'demo-path'),
      path.join(REPO_ROOT, 'bin'),
      ...(process.env.PATH ?? '').split(path.delimiter),
    ]
      .filter((d) => d && existsSync(d))
      .join(path.delimiter),
  };
  const lines = readFileSync(README, 'utf8').split('\n');
  const out: string[] = [];
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    out.push(line);
    const marker = /^<!-- generated(?:: (.*))? -->$/.exec(line);
    if (!marker || lines[i + 1] !== '```') continue;
    if (marker[1]) run(marker[1], env);
    out.push('```');
    let j = i + 2;
    for (; j < lines.length && lines[j] !== '```'; j++) {
      if (!lines[j]!.startsWith('$ ')) continue;
      const command = lines[j]!.slice(2);
      out.push(`$ ${command}`, run(command, env));
      count++;
    }
    out.push('```');
    i = j;
  }
  writeFileSync(README, `${out.join('\n').replace(/\n+$/, '')}\n`);
  process.stderr.write(`docs: regenerated ${count} example outputs in README.md\n`);
}

main();
