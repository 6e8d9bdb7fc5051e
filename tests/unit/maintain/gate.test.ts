/**
 * The gate of a maintenance command: it starts only once its start is
 * recorded with its process group. Real processes (/bin/sh), no cluster.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import type { RunContext } from '../../../src/base/run.js';
import type { CommandRecord } from '../../../src/maintain/journal.js';
import { priorCommand } from '../../../src/maintain/steps.js';
import { NEVER_STARTED, commandFacts, commandWork, groupAlive, readMarker } from '../../../src/maintain/work.js';
import { captureIo } from '../../support/io.js';
import { REPO_ROOT } from '../../cluster/paths.js';

/** Polls until fn returns a truthy value; fails naming what it waited for after a generous limit. */
async function eventually<T>(
  what: string,
  fn: () => T | undefined | false,
  timeoutMs: number,
  everyMs: number,
): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

function setup(): { dir: string; ran: string; ctx: RunContext; command: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-gate-'));
  const ran = path.join(dir, 'ran');
  const ctx: RunContext = { io: captureIo(), signal: new AbortController().signal, verbose: false, output: 'json' };
  return { dir, ran, ctx, command: `echo "$NODE" >> ${ran}` };
}

test('the command runs once its start is recorded, with the process group it runs in, and leaves its exit marker', async () => {
  const { dir, ran, ctx, command } = setup();
  const records: CommandRecord[] = [];
  const work = commandWork(command, path.join(dir, 'j'), 'r1', ctx, () => true);
  const r = await work.perform('n1', new AbortController().signal, {
    starting: async (rec) => void records.push(rec),
    started: async (rec) => {
      records.push(rec);
      assert.equal(existsSync(ran), false, 'not started before its start is recorded');
    },
  });
  assert.equal(r.code, 0);
  assert.equal(readFileSync(ran, 'utf8'), 'n1\n');
  assert.deepEqual(
    records.map((x) => [x.pgid > 0, x.gated]),
    [
      [false, true],
      [true, true],
    ],
  );
  assert.equal(readFileSync(records[1]!.marker, 'utf8').trim(), '0');
});

test('a start record that fails leaves the command never started, and no process behind', async () => {
  const { dir, ran, ctx, command } = setup();
  let pgid = 0;
  const work = commandWork(command, path.join(dir, 'j'), 'r1', ctx, () => true);
  await assert.rejects(
    work.perform('n1', new AbortController().signal, {
      starting: async () => {},
      started: async (rec) => {
        pgid = rec.pgid;
        await new Promise((r) => setTimeout(r, 50));
        throw new Error('the disk is full');
      },
    }),
    /the disk is full/,
  );
  assert.ok(pgid > 0);
  assert.equal(existsSync(ran), false, 'never ran');
  assert.equal(groupAlive(pgid), false, 'its process group is gone');
});

test('a stop while the start is recorded leaves the command never started', async () => {
  const { dir, ran, ctx, command } = setup();
  const stop = new AbortController();
  const work = commandWork(command, path.join(dir, 'j'), 'r1', ctx, () => true);
  const r = await work.perform('n1', stop.signal, {
    starting: async () => {},
    started: async () => {
      stop.abort(new Error('interrupted by SIGINT'));
    },
  });
  assert.equal(existsSync(ran), false);
  assert.match(r.stopped ?? '', /never started/);
});

test('a run killed at the gate (its start recorded, the command not yet let through): the command never runs, its marker says so, and the next run runs it', async () => {
  const { dir, ran, command } = setup();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'tests', 'support', 'gate-child.ts'), dir, command],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const signal = await new Promise<NodeJS.Signals | null>((r) => child.on('close', (_code, sig) => r(sig)));
  assert.equal(signal, 'SIGKILL', 'the run was killed');
  const rec = JSON.parse(out) as CommandRecord;
  assert.ok(rec.pgid > 0 && rec.gated);
  await eventually('the command to leave its marker', () => readMarker(rec.marker) ?? undefined, 30_000, 50);
  assert.equal(readMarker(rec.marker), NEVER_STARTED);
  await eventually('its process group to end', () => !groupAlive(rec.pgid) || undefined, 30_000, 50);
  assert.equal(existsSync(ran), false, 'never ran');
  const facts = commandFacts(rec);
  assert.deepEqual(facts, { sameHost: true, alive: false, exitCode: null, neverStarted: true });
  const next = priorCommand('n1', rec, facts, 'skip');
  assert.equal(next.action, 'rerun', 'run now, whatever --resume-step says');
});

test('a process group whose only member is a zombie (init has not reaped it) is not alive', {
  skip: process.platform === 'linux' ? false : '/proc is Linux',
}, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kstudy-zombie-'));
  const pidFile = path.join(dir, 'pid');
  // The inner shell leads a process group of its own (setsid), writes its pid and ends; its parent becomes
  // `sleep`, which never reaps it: a group of one zombie, as an orphan under a non-reaping init is.
  const parent = spawn('/bin/sh', ['-c', `setsid /bin/sh -c 'echo $$ > ${pidFile}' & exec sleep 60`], {
    stdio: 'ignore',
  });
  t.after(() => parent.kill('SIGKILL'));
  const pgid = await eventually(
    'the zombie',
    () => {
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
      if (!pid) return undefined;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z ') ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
    50,
  );
  assert.doesNotThrow(() => process.kill(-pgid, 0), 'the kernel still counts the group');
  assert.equal(groupAlive(pgid), false);
  const live = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  t.after(() => live.kill('SIGKILL'));
  assert.equal(groupAlive(live.pid ?? 0), true, 'a group with a live member is alive');
});
