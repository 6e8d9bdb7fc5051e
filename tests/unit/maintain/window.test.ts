/**
 * Maintenance windows, in milliseconds: days and hours in a time zone,
 * windows over midnight, day ranges round the week, several windows, the
 * DST changes of Europe/Berlin and America/New_York (2026: Berlin on
 * 29 March and 25 October, New York on 8 March and 1 November), and bad
 * specs as usage errors with a hint.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { UsageError } from '../../../src/base/errors.js';
import { formatInZone, parseWindow, windowState, zonedInstant } from '../../../src/maintain/window.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());

/** The state at an instant, as text: "open until ..." or "closed until ...". */
function state(specs: string[], when: string): string {
  const s = windowState(specs.map(parseWindow), at(when));
  if (!s) return 'no windows';
  return s.open ? `open until ${iso(s.closes)}` : `closed until ${iso(s.opens)}`;
}

test('a window over midnight belongs to the day it opens on: Mon-Fri nights in Berlin (CET, UTC+1)', () => {
  const w = ['Mon-Fri 22:00-06:00 Europe/Berlin'];
  // Wednesday 23:00 Berlin: open until Thursday 06:00.
  assert.equal(state(w, '2026-01-07T22:00:00Z'), 'open until 2026-01-08T05:00:00.000Z');
  // Saturday 01:00 Berlin: Friday's window, until Saturday 06:00.
  assert.equal(state(w, '2026-01-10T00:00:00Z'), 'open until 2026-01-10T05:00:00.000Z');
  // Saturday 06:00 Berlin: it closed just now (the close is not in the window).
  assert.equal(state(w, '2026-01-10T05:00:00Z'), 'closed until 2026-01-12T21:00:00.000Z');
  // Monday 05:00 Berlin: Sunday night is not a window; Monday's opens at 22:00.
  assert.equal(state(w, '2026-01-12T04:00:00Z'), 'closed until 2026-01-12T21:00:00.000Z');
  // Monday 22:00 Berlin: the opening minute is in.
  assert.equal(state(w, '2026-01-12T21:00:00Z'), 'open until 2026-01-13T05:00:00.000Z');
});

test('Berlin, clocks forward (29 March 2026, 02:00 CET -> 03:00 CEST): the night is an hour shorter, a missing hour opens after the jump', () => {
  // Saturday 22:00 CET (21:00Z) to Sunday 06:00 CEST (04:00Z): seven hours.
  assert.equal(state(['Sat 22:00-06:00 Europe/Berlin'], '2026-03-29T03:30:00Z'), 'open until 2026-03-29T04:00:00.000Z');
  assert.equal(
    state(['Sat 22:00-06:00 Europe/Berlin'], '2026-03-28T20:59:00Z'),
    'closed until 2026-03-28T21:00:00.000Z',
  );
  // 02:30 does not exist that night: the window opens at 03:30 CEST (01:30Z), an hour past the jump.
  assert.equal(zonedInstant(2026, 3, 29, 150, 'Europe/Berlin'), at('2026-03-29T01:30:00Z'));
  assert.equal(
    state(['Sun 02:30-04:00 Europe/Berlin'], '2026-03-29T01:00:00Z'),
    'closed until 2026-03-29T01:30:00.000Z',
  );
  assert.equal(state(['Sun 02:30-04:00 Europe/Berlin'], '2026-03-29T01:45:00Z'), 'open until 2026-03-29T02:00:00.000Z');
});

test('Berlin, clocks back (25 October 2026, 03:00 CEST -> 02:00 CET): an hour that comes twice counts from its first time, the night an hour longer', () => {
  // 02:30 comes at 00:30Z (CEST) and again at 01:30Z (CET): the window opens at the first.
  assert.equal(zonedInstant(2026, 10, 25, 150, 'Europe/Berlin'), at('2026-10-25T00:30:00Z'));
  assert.equal(state(['Sun 02:30-03:00 Europe/Berlin'], '2026-10-25T00:45:00Z'), 'open until 2026-10-25T02:00:00.000Z');
  assert.equal(state(['Sun 02:30-03:00 Europe/Berlin'], '2026-10-25T01:45:00Z'), 'open until 2026-10-25T02:00:00.000Z');
  // Saturday 22:00 CEST (20:00Z) to Sunday 06:00 CET (05:00Z): nine hours.
  assert.equal(state(['Sat 22:00-06:00 Europe/Berlin'], '2026-10-24T20:00:00Z'), 'open until 2026-10-25T05:00:00.000Z');
});

test('New York (8 March and 1 November 2026): the hours are wall-clock hours either way', () => {
  // 01:00 EST (06:00Z) to 04:00 EDT (08:00Z): two hours that night.
  assert.equal(
    state(['Sun 01:00-04:00 America/New_York'], '2026-03-08T07:59:00Z'),
    'open until 2026-03-08T08:00:00.000Z',
  );
  assert.equal(
    state(['Sun 01:00-04:00 America/New_York'], '2026-03-08T05:59:00Z'),
    'closed until 2026-03-08T06:00:00.000Z',
  );
  // Saturday 22:00 EDT (02:00Z) to Sunday 06:00 EST (11:00Z): nine hours.
  assert.equal(
    state(['Sat 22:00-06:00 America/New_York'], '2026-11-01T10:30:00Z'),
    'open until 2026-11-01T11:00:00.000Z',
  );
  assert.equal(
    state(['Sat 22:00-06:00 America/New_York'], '2026-11-01T11:00:00Z'),
    'closed until 2026-11-08T03:00:00.000Z',
    'the next Saturday, 22:00 EST',
  );
  assert.equal(formatInZone(at('2026-11-08T03:00:00Z'), 'America/New_York'), 'Sat 2026-11-07 22:00 America/New_York');
});

test('day ranges round the week, lists, whole days, several windows (the open one, else the next to open)', () => {
  assert.deepEqual(
    [...parseWindow('Fri-Mon 01:00-02:00').days].sort((a, b) => a - b),
    [0, 1, 5, 6],
  );
  assert.deepEqual(
    [...parseWindow('Mon,Wed-Fri 01:00-02:00').days].sort((a, b) => a - b),
    [1, 3, 4, 5],
  );
  assert.deepEqual(
    [...parseWindow('saturday,SUN 01:00-02:00').days].sort((a, b) => a - b),
    [0, 6],
  );
  const every = parseWindow('09:00-17:00');
  assert.equal(every.days.size, 7);
  assert.equal(every.zone, 'UTC', 'no zone: UTC, the same on every machine that resumes the run');
  // Sat,Sun all day: from Saturday 00:00 to Monday 00:00.
  assert.equal(state(['Sat,Sun 00:00-24:00'], '2026-01-10T12:00:00Z'), 'open until 2026-01-11T00:00:00.000Z');
  assert.equal(state(['Sat,Sun 00:00-24:00'], '2026-01-11T23:59:00Z'), 'open until 2026-01-12T00:00:00.000Z');
  assert.equal(state(['Sat,Sun 00:00-24:00'], '2026-01-12T00:00:00Z'), 'closed until 2026-01-17T00:00:00.000Z');
  const two = ['Tue 01:00-02:00', 'Thu 03:00-04:00 Asia/Tokyo'];
  // Wednesday noon UTC: Thursday 03:00 Tokyo (Wednesday 18:00Z) comes before Tuesday's.
  assert.equal(state(two, '2026-01-07T12:00:00Z'), 'closed until 2026-01-07T18:00:00.000Z');
  assert.equal(state(two, '2026-01-06T01:30:00Z'), 'open until 2026-01-06T02:00:00.000Z');
  // Two that overlap: open until the later close.
  assert.equal(state(['01:00-03:00', '02:00-05:00'], '2026-01-06T02:30:00Z'), 'open until 2026-01-06T05:00:00.000Z');
  assert.equal(windowState([], 0), undefined, 'no windows: no limit');
});

test('a bad window is a usage error naming what is wrong, with the form in the hint', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /it has no hours/],
    ['Mon-Fri 22:00 Europe/Berlin', /"22:00" is not a range of hours/],
    ['Mon-Fru 22:00-06:00', /"Fru" is not a day/],
    ['Mon-Fri-Sat 22:00-06:00', /"Mon-Fri-Sat" is not a day or a range of days/],
    ['Mon Fri 22:00-06:00', /"Mon Fri" is not one list of days/],
    ['Mon-Fri 25:00-06:00', /"25:00" is not a time of day/],
    ['Mon-Fri 22:00-24:30', /"24:30" is not a time of day/],
    ['Mon-Fri 24:00-06:00', /"24:00" is not a time of day/],
    ['Mon-Fri 22:00-06:00 Mars/Olympus', /"Mars\/Olympus" is not a time zone this system knows/],
    ['Mon-Fri 22:00-06:00 Europe/Berlin extra', /"extra" follows the time zone/],
    ['06:00-06:00', /opens and closes at the same time/],
  ];
  for (const [spec, want] of cases) {
    assert.throws(
      () => parseWindow(spec),
      (err: unknown) =>
        err instanceof UsageError &&
        err.message.startsWith(`--window "${spec}": `) &&
        want.test(err.message) &&
        /Mon-Fri 22:00-06:00 Europe\/Berlin/.test(err.hint ?? ''),
      spec,
    );
  }
});
