import assert from 'node:assert/strict';
import { test } from 'node:test';

import { nanoToMilli, nanoToValue, parseQuantityNano } from '../../../src/kube/quantity.js';

test('quantities are read exactly, in nano-units, as the API server reads them', () => {
  const cases: Array<[string | number, bigint | undefined]> = [
    ['100m', 100_000_000n],
    ['64Mi', 64n * 2n ** 20n * 1_000_000_000n],
    ['1G', 10n ** 18n],
    ['2e3', 2000n * 1_000_000_000n],
    ['1.5', 1_500_000_000n],
    ['.5', 500_000_000n],
    ['-1.5', -1_500_000_000n],
    [2, 2_000_000_000n],
    ['0.1n', 1n],
    ['abc', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of cases) assert.equal(parseQuantityNano(text), expected, String(text));
  assert.equal(parseQuantityNano(undefined), undefined);
});

test('nano-units round up to milli-units and to units, as resource.Quantity does', () => {
  assert.equal(nanoToMilli(parseQuantityNano('100m')!), 100);
  assert.equal(nanoToMilli(parseQuantityNano('1.5')!), 1500);
  assert.equal(nanoToMilli(parseQuantityNano('0.1n')!), 1);
  assert.equal(nanoToValue(parseQuantityNano('64Mi')!), 64 * 2 ** 20);
  assert.equal(nanoToValue(parseQuantityNano('1.5')!), 2);
  assert.equal(nanoToValue(parseQuantityNano('100m')!), 1);
});
