import assert from 'node:assert/strict';
import { test } from 'node:test';

import { firstAndMore, plural } from '../../../src/base/text.js';

test('a word agrees with its count: singular for exactly one, else the plural', () => {
  const cases: Array<[number, string, string | undefined, string]> = [
    [0, 'node', undefined, 'nodes'],
    [1, 'node', undefined, 'node'],
    [2, 'node', undefined, 'nodes'],
    [1, 'depends', 'depend', 'depends'],
    [3, 'depends', 'depend', 'depend'],
    [1, 'ClusterRole', 'ClusterRoles', 'ClusterRole'],
    [2054, 'ClusterRole', 'ClusterRoles', 'ClusterRoles'],
  ];
  for (const [count, singular, pluralForm, expected] of cases)
    assert.equal(plural(count, singular, pluralForm), expected, `${count} ${singular}`);
});

test('a long list is cut after the first few, saying how many more', () => {
  const pods = ['a', 'b', 'c', 'd', 'e'];
  assert.equal(firstAndMore(pods, 3), 'a, b, c and 2 more');
  assert.equal(firstAndMore(pods.slice(0, 3), 3), 'a, b, c');
  assert.equal(firstAndMore(pods, 2, { separator: '; ', parenthesized: true }), 'a; b (and 3 more)');
  assert.equal(firstAndMore(pods.slice(0, 2), 2, { separator: '; ', parenthesized: true }), 'a; b');
  assert.equal(firstAndMore([], 3), '');
});
