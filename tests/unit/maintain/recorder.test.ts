/**
 * Where a run's records go: the cluster's state first, then the journal, so
 * a run killed between the two leaves the record where every host looks.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { BlockedError, StudyError } from '../../../src/base/errors.js';
import { Journal, parseJournal } from '../../../src/maintain/journal.js';
import { RunRecorder } from '../../../src/maintain/recorder.js';
import type { StateStore } from '../../../src/maintain/store.js';

function journalIn(): { journal: Journal; steps: () => string[] } {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'kstudy-recorder-')), 'journal');
  const journal = Journal.open(file, 'a1');
  return {
    journal,
    steps: () =>
      existsSync(file) ? parseJournal(readFileSync(file, 'utf8'), file).entries.map((e) => `${e.node} ${e.step}`) : [],
  };
}

/** A store whose writes wait until let go, and fail with `failure` when it is set. */
function heldStore(failure?: Error): { store: StateStore; writes: string[]; release: () => void } {
  const writes: string[] = [];
  let release = (): void => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const store = {
    where: 'configmap kube-system/kubectl-study-maintain',
    update: async () => {
      writes.push('update');
      await gate;
      if (failure) throw failure;
    },
  } as unknown as StateStore;
  return { store, writes, release: () => release() };
}

test('a record reaches the cluster before the journal: while the cluster write is under way the journal has not got it', async () => {
  const { journal, steps } = journalIn();
  const { store, writes, release } = heldStore();
  const recorder = new RunRecorder('a1', 'r1', journal, store);
  const recorded = recorder.record({ node: 'n1', step: 'drained' });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, ['update']);
  assert.deepEqual(steps(), [], 'not journaled while the cluster write is under way');
  release();
  await recorded;
  assert.deepEqual(steps(), ['n1 drained']);
});

test('a record the cluster does not take is journaled all the same, and the error says the same command resumes from it', async () => {
  const { journal, steps } = journalIn();
  const { store, release } = heldStore(new BlockedError('cannot write the run\u2019s state', { hint: 'is it up?' }));
  release();
  const recorder = new RunRecorder('a1', 'r1', journal, store);
  await assert.rejects(recorder.record({ node: 'n1', step: 'drained' }), (err: unknown) => {
    assert.ok(err instanceof StudyError);
    assert.match(
      err.hint ?? '',
      /^is it up\?; the record is in the journal .*journal: the same command resumes from it$/,
    );
    return true;
  });
  assert.deepEqual(steps(), ['n1 drained']);
});

test('without a cluster copy (a run too large for it) the journal alone takes the record', async () => {
  const { journal, steps } = journalIn();
  await new RunRecorder('a1', 'r1', journal, undefined).record({ node: 'n1', step: 'cordoned' });
  assert.deepEqual(steps(), ['n1 cordoned']);
});

test('nodes recording at once are written one after another: the cluster never sees two of their writes at a time', async () => {
  const { journal, steps } = journalIn();
  let inFlight = 0;
  let most = 0;
  const store = {
    where: 'configmap kube-system/kubectl-study-maintain',
    update: async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
    },
  } as unknown as StateStore;
  const recorder = new RunRecorder('a1', 'r1', journal, store);
  await Promise.all(['n1', 'n2', 'n3'].map((node) => recorder.record({ node, step: 'drained' })));
  assert.equal(most, 1);
  assert.deepEqual(steps(), ['n1 drained', 'n2 drained', 'n3 drained'], 'in the order they were made');
});

test('a record neither copy takes: the cluster\u2019s error, and the journal\u2019s named in the hint', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'kstudy-recorder-')), 'journal');
  const journal = Journal.open(file, 'a1');
  Object.assign(journal, {
    append: () => {
      throw new Error('cannot write the journal: the disk is full');
    },
  });
  const { store, release } = heldStore(new BlockedError('cannot write the run\u2019s state'));
  release();
  await assert.rejects(
    new RunRecorder('a1', 'r1', journal, store).record({ node: 'n1', step: 'drained' }),
    (err: unknown) => {
      assert.ok(err instanceof StudyError);
      assert.match(err.message, /cannot write the run’s state/);
      assert.match(
        err.hint ?? '',
        /the journal could not take the record either: cannot write the journal: the disk is full/,
      );
      return true;
    },
  );
});
