/**
 * A maintenance run that dies at its command's gate: it starts the command,
 * prints the start record (with the process group), and is killed with
 * SIGKILL before it lets the command through. Used by the gate's unit tests.
 *
 *   node --import tsx tests/support/gate-child.ts DIR COMMAND
 */
import path from 'node:path';

import type { RunContext } from '../../src/base/run.js';
import { commandWork } from '../../src/maintain/work.js';
import { captureIo } from './io.js';

const [dir, command] = process.argv.slice(2) as [string, string];
const ctx: RunContext = { io: captureIo(), signal: new AbortController().signal, verbose: false, output: 'json' };
await commandWork(command, path.join(dir, 'j'), 'r1', ctx, () => true).perform('n1', new AbortController().signal, {
  starting: async () => {},
  started: async (rec) => {
    process.stdout.write(`${JSON.stringify(rec)}\n`, () => process.kill(process.pid, 'SIGKILL'));
    await new Promise(() => {});
  },
});
