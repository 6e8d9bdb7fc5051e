import assert from 'node:assert/strict';
import { test } from 'node:test';

import Table from 'cli-table3';

import { displayWidth, renderTable } from '../../../src/base/table.js';

/** The tables as cli-table3 drew them (borderless, three spaces between columns, trailing spaces trimmed): the reference. */
function reference(headers: string[], rows: Array<Array<string | number | undefined | null>>): string {
  const none = {
    top: '',
    'top-mid': '',
    'top-left': '',
    'top-right': '',
    bottom: '',
    'bottom-mid': '',
    'bottom-left': '',
    'bottom-right': '',
    left: '',
    'left-mid': '',
    mid: '',
    'mid-mid': '',
    right: '',
    'right-mid': '',
    middle: '   ',
  };
  const table = new Table({
    head: headers.map((h) => h.toUpperCase()),
    chars: none,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    wordWrap: false,
  });
  for (const row of rows)
    table.push(row.map((c) => (c === undefined || c === null || c === '' ? '<none>' : String(c))));
  return `${table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')}\n`;
}

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

test('the column printer draws what cli-table3 drew, cell for cell', () => {
  const random = rng(7);
  const words = [
    '',
    'a',
    'web-1',
    'ClusterRoleBinding/system:controller:x',
    '<none>',
    '\x1b[32myes\x1b[39m',
    '\x1b[31mNO\x1b[39m',
    'café',
    'ünïcödé',
    '名前空間',
    'two\nlines',
    'x y',
    '42',
  ];
  for (let n = 0; n < 300; n++) {
    const cols = 1 + Math.floor(random() * 6);
    const headers = Array.from({ length: cols }, (_, i) => `col${i}${'_'.repeat(Math.floor(random() * 4))}`);
    const rows = Array.from({ length: Math.floor(random() * 8) }, () =>
      headers.map(() => words[Math.floor(random() * words.length)]!),
    );
    assert.equal(renderTable(headers, rows), reference(headers, rows), JSON.stringify({ headers, rows }));
  }
  assert.equal(renderTable(['n'], [[0], [null], [undefined]]), reference(['n'], [[0], [null], [undefined]]));
  const ragged = [['x'], ['yy', 'zz', 'ww'], ['a', 'b']];
  assert.equal(
    renderTable(['a', 'b', 'c'], ragged),
    reference(['a', 'b', 'c'], ragged),
    'short rows as cli-table3 drew them',
  );
});

test('colour codes take no width; wide characters take two', () => {
  assert.equal(displayWidth('\x1b[32myes\x1b[39m'), 3);
  assert.equal(displayWidth('名前'), 4);
  assert.equal(displayWidth('e\u0301'), 1);
});
