/**
 * The one line about a release other than the server's own goes through
 * the commands' one printer: `info:` for a newer server, `warning:` for an
 * older one (or an unknown one), before the output and the commands' other
 * warnings, once per command.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { RunContext } from '../../../src/base/run.js';
import { present } from '../../../src/cli/present.js';
import { drainCommand } from '../../../src/drain/command.js';
import type { DrainResult } from '../../../src/drain/events.js';
import { whoCanCommand } from '../../../src/rbac/command.js';
import type { WhoCanResult } from '../../../src/rbac/whocan.js';
import { drainPlan } from '../../support/fake-drain.js';
import { captureIo } from '../../support/io.js';

function context(): RunContext & { io: ReturnType<typeof captureIo> } {
  return { io: captureIo(), signal: new AbortController().signal, verbose: false, output: 'json' };
}

test('a plan made by the newest rules for a newer server says so in one info line; an older one in one warning', async () => {
  const newer = context();
  const plan = { ...drainPlan([]), serverRelease: 'v1.38.1', rules: '1.37' };
  await present(newer, drainCommand as never, { kind: 'planned', plan, dryRun: true });
  assert.match(newer.io.err(), /^info: the server runs Kubernetes v1\.38\.1, newer than 1\.37[^\n]*\n$/);
  assert.equal((JSON.parse(newer.io.out()) as { rules: string }).rules, '1.37');

  const older = context();
  const old = { ...drainPlan([]), serverRelease: 'v1.31.4', rules: '1.32' };
  await present(older, drainCommand as never, { kind: 'planned', plan: old, dryRun: true });
  assert.match(older.io.err(), /^warning: the server runs Kubernetes v1\.31\.4, older than 1\.32[^\n]*\n$/);

  // A drain that went on said it when it showed the plan: the result does not say it again.
  const drained = context();
  const result = { kind: 'DrainResult', outcome: 'drained', plan: old } as unknown as DrainResult;
  await present(drained, drainCommand as never, { kind: 'drained', result });
  assert.equal(drained.io.err(), '');
});

test("the release's warning comes before the command's own warnings", async () => {
  const ctx = context();
  const result = {
    kind: 'WhoCan',
    serverRelease: 'unknown',
    rules: '1.37',
    warnings: ['namespace nope does not exist'],
  } as unknown as WhoCanResult;
  await present(ctx, whoCanCommand as never, result);
  const lines = ctx.io.err().trimEnd().split('\n');
  assert.equal(lines.length, 2, ctx.io.err());
  assert.match(lines[0]!, /^warning: the server's version could not be read \(GET \/version\)/);
  assert.equal(lines[1], 'warning: namespace nope does not exist');
});
