/**
 * npm run docs: rewrites the outputs of the README's samples from a fresh
 * run: a cluster of its own, seeded with the demo's workloads, each
 * `$ COMMAND` of each sample run in order (tests/support/readme.ts says
 * how samples are written). tests/integration/readme.test.ts checks them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { REPO_ROOT } from '../tests/cluster/paths.js';
import {
  freshSampleCluster,
  normalize,
  parseSamples,
  runSampleCommand,
  writeOutputs,
} from '../tests/support/readme.js';

const README = path.join(REPO_ROOT, 'README.md');
const log = (line: string): void => {
  process.stderr.write(`docs: ${line}\n`);
};

async function main(): Promise<void> {
  const markdown = readFileSync(README, 'utf8');
  const samples = parseSamples(markdown);
  const { where, stop } = await freshSampleCluster(log);
  try {
    const outputs: string[][] = [];
    for (const sample of samples) {
      const texts: string[] = [];
      for (const step of sample.steps) {
        const fresh = await runSampleCommand(step.command, where);
        // An output that matches once normalized stays as it was: a new run's pod names are no change.
        texts.push(normalize(fresh) === normalize(step.output) ? step.output : fresh);
      }
      outputs.push(texts);
    }
    writeFileSync(README, writeOutputs(markdown, outputs));
    log(`rewrote ${outputs.flat().length} outputs of ${samples.length} samples in README.md`);
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  log(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
