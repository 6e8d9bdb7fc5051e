import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ExitCode, outcomeExitCode, outcomeOfExitCode, type RunOutcome } from '../../../src/base/errors.js';

test('each outcome of a drain or a maintenance run has its exit code; a failure keeps the code of what stopped it', () => {
  const table: Array<[RunOutcome, number]> = [
    ['drained', ExitCode.OK],
    ['done', ExitCode.OK],
    ['planned', ExitCode.OK],
    ['declined', ExitCode.NEGATIVE],
    ['blocked', ExitCode.BLOCKED],
    ['failed', ExitCode.BLOCKED],
    ['timed-out', ExitCode.TIMEOUT],
    ['interrupted', ExitCode.INTERRUPTED],
  ];
  for (const [outcome, code] of table) assert.equal(outcomeExitCode(outcome), code, outcome);
  assert.equal(outcomeExitCode('failed', ExitCode.API), ExitCode.API);
  assert.equal(outcomeExitCode('failed', ExitCode.NOT_FOUND), ExitCode.NOT_FOUND);
  assert.equal(outcomeExitCode('timed-out', ExitCode.API), ExitCode.TIMEOUT, 'only a failure has a code of its own');
});

test('the other way round: the outcome of a run that stopped with an exit code', () => {
  assert.equal(outcomeOfExitCode(ExitCode.OK), 'done');
  assert.equal(outcomeOfExitCode(ExitCode.TIMEOUT), 'timed-out');
  assert.equal(outcomeOfExitCode(ExitCode.INTERRUPTED), 'interrupted');
  for (const code of [ExitCode.BLOCKED, ExitCode.NOT_FOUND, ExitCode.API, ExitCode.USAGE])
    assert.equal(outcomeOfExitCode(code), 'failed', String(code));
  for (const code of [ExitCode.OK, ExitCode.TIMEOUT, ExitCode.INTERRUPTED, ExitCode.API])
    assert.equal(outcomeExitCode(outcomeOfExitCode(code), code), code, `${code} there and back`);
});
