import assert from 'node:assert/strict';
import { test } from 'node:test';

import { coalesce, type Clock } from '../../../src/base/concurrency.js';

/** A clock that moves only when told, running what falls due. */
function fakeClock(): Clock & { advance(ms: number): void; turn(): void } {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let immediates: Array<() => void> = [];
  let ids = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.push({ at: now + ms, fn, id: ++ids });
      return ids;
    },
    clearTimeout: (id) => {
      timers = timers.filter((t) => t.id !== id);
    },
    setImmediate: (fn) => immediates.push(fn),
    turn() {
      const due = immediates;
      immediates = [];
      for (const fn of due) fn();
    },
    advance(ms) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
    },
  };
}

test('a quiet change is looked at on the next turn; a flood once per window; an urgent one at once', () => {
  const clock = fakeClock();
  let runs = 0;
  const c = coalesce(() => runs++, 15, clock);
  c.poke();
  c.poke();
  c.poke();
  assert.equal(runs, 0, 'not inside the poke');
  clock.turn();
  assert.equal(runs, 1, 'a burst in one turn is one run, with no timer to wait for');
  clock.advance(5);
  for (let i = 0; i < 50; i++) c.poke();
  clock.turn();
  assert.equal(runs, 1, 'within the window: wait for its end');
  clock.advance(9);
  assert.equal(runs, 1);
  clock.advance(1);
  assert.equal(runs, 2, 'one run when the window ends');
  clock.advance(3);
  c.poke();
  c.poke(true);
  clock.turn();
  assert.equal(runs, 3, 'urgent: the next turn, window or not');
  clock.advance(100);
  assert.equal(runs, 3, 'the pending timer ran nothing twice');
  c.cancel();
  c.poke(true);
  clock.turn();
  assert.equal(runs, 3, 'nothing after cancel');
});
