/**
 * The gate of a maintenance command: it starts only once its start is
 * recorded with its process group. Real processes (/bin/sh), no cluster.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import type { RunContext } from '../../../src/base/run.js';
import type { CommandRecord } from '../../../src/maintain/journal.js';
import { commandWork, groupAlive } from '../../../src/maintain/work.js';
import { captureIo } from '../../support/io.js';

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
