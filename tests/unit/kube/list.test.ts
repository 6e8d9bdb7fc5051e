import assert from 'node:assert/strict';
import { test } from 'node:test';

import { listAll } from '../../../src/kube/list.js';

test('listAll follows continue tokens in both spellings until the last page', async () => {
  const pages = [
    { items: [1, 2], metadata: { resourceVersion: '7', continue: 'a' } },
    { items: [3], metadata: { _continue: 'b' } },
    { items: [4], metadata: {} },
  ];
  const asked: Array<string | undefined> = [];
  const r = await listAll<number>(async (p) => {
    asked.push(p._continue);
    return pages[asked.length - 1]!;
  }, 2);
  assert.deepEqual(r.items, [1, 2, 3, 4]);
  assert.equal(r.resourceVersion, '7');
  assert.deepEqual(asked, [undefined, 'a', 'b']);
});
