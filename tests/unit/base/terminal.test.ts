import assert from 'node:assert/strict';
import { test } from 'node:test';

import { liveView } from '../../../src/base/terminal.js';
import { screen } from '../../support/terminal.js';

/** A fake terminal stream: what tty.WriteStream offers, writing the escape codes a terminal gets. */
function tty(columns: number) {
  let out = '';
  const write = (s: string): boolean => ((out += s), true);
  const stream = {
    write,
    isTTY: true,
    columns,
    cursorTo: (x: number) => write(`\u001b[${x + 1}G`),
    moveCursor: (_dx: number, dy: number) => write(dy < 0 ? `\u001b[${-dy}A` : dy > 0 ? `\u001b[${dy}B` : ''),
    clearLine: (dir: number) => write(`\u001b[${dir < 0 ? 1 : dir > 0 ? 0 : 2}K`),
    clearScreenDown: () => write('\u001b[0J'),
  };
  return { stream, out: () => out };
}

const env = { TERM: 'xterm' } as NodeJS.ProcessEnv;

test('the emulator wraps, moves and erases as a terminal does', () => {
  assert.deepEqual(screen('abcdef\nxy', 4), ['abcd', 'ef', 'xy']);
  assert.deepEqual(screen('one\ntwo\n\u001b[1A\u001b[1G\u001b[0Jnew', 10), ['one', 'new']);
  assert.deepEqual(screen('abcd\u001b[1G\u001b[2K', 4), ['']);
});

test('a live block redrawn on a narrow terminal leaves no stale lines, wrapped or not', async () => {
  for (const columns of [40, 60]) {
    const t = tty(columns);
    const view = await liveView({ stdout: t.stream, stderr: t.stream, stdin: process.stdin, env }, t.stream);
    const long = (n: number): string => `deployment/web revision ${n} `.padEnd(columns + 25, 'x');
    view.update(`${long(1)}\nline a\nline b\n`, 'waiting');
    await new Promise((r) => setTimeout(r, 100));
    view.update(`${long(2)}\nline c\n`, 'still waiting');
    view.note('a note that stays');
    await new Promise((r) => setTimeout(r, 100));
    view.update(`${long(3)}\n`, 'almost');
    view.stop();
    const shown = screen(t.out(), columns).filter(Boolean);
    const wrapped = long(3)
      .match(new RegExp(`.{1,${columns}}`, 'g'))!
      .map((s) => s.trimEnd());
    assert.deepEqual(shown, ['a note that stays', ...wrapped], `at ${columns} columns:\n${shown.join('\n')}`);
  }
});

test('off a terminal the live view prints notes only, one line each', async () => {
  let out = '';
  const stream = { write: (s: string) => ((out += s), true), isTTY: false };
  const view = await liveView({ stdout: stream, stderr: stream, stdin: process.stdin, env }, stream);
  view.update('block\n', 'status');
  view.note('event one');
  view.stop();
  assert.equal(view.live, false);
  assert.equal(out, 'event one\n');
});
