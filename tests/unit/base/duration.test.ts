import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatAge, formatDuration, parseDuration } from '../../../src/base/duration.js';

test('parseDuration reads kubectl durations', () => {
  const cases: Array<[string, number | undefined]> = [
    ['0', 0],
    ['30', 30_000],
    ['1s', 1000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['100us', 0.1],
    ['', undefined],
    ['abc', undefined],
    ['5 s', undefined],
    ['1d', undefined],
    ['s', undefined],
  ];
  for (const [text, expected] of cases) assert.equal(parseDuration(text), expected, text);
});

test('parseDuration can refuse bare numbers', () => {
  assert.equal(parseDuration('30', { bareSeconds: false }), undefined);
});

test('formatDuration and formatAge read like kubectl', () => {
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatAge(45_000), '45s');
  assert.equal(formatAge(10 * 60_000), '10m');
  assert.equal(formatAge(5 * 3_600_000), '5h');
  assert.equal(formatAge(3 * 86_400_000), '3d');
});
