/**
 * The pure half of the twin-node comparison (tests/support/twin-catalog.ts):
 * kubectl drain's refusals read from its real output, audit events per pod,
 * and the verdicts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { REASONS, type ReasonCode } from '../../../src/drain/model.js';
import {
  EXTRA_REASONS,
  KUBECTL_REASONS,
  compare,
  parseRefusals,
  withPodSelector,
  writesPerPod,
  type PlanPod,
} from '../../support/twin-catalog.js';

test("kubectl's refusals, from one message or an aggregate of several, pods listed once each", () => {
  const out = [
    'node/kwok-p1-0 cordoned',
    'error: unable to drain node "kwok-p1-0" due to error: [' +
      'cannot delete Pods with local storage (use --delete-emptydir-data to override): ' +
      'ns-1/bare-emptydir, ns-1/deploy-emptydir-85bb4f95b4-m8nst, ' +
      'cannot delete daemonsets.apps "term-ds-gone" not found: ns-1/term-ds-gone-gnlxh, ' +
      'cannot delete Pods that declare no controller (use --force to override): ns-1/bare], continuing command...',
    'There are pending nodes to be drained:',
    ' kwok-p1-0',
    'cannot delete Pods with local storage (use --delete-emptydir-data to override): ns-1/bare-emptydir, ns-1/deploy-emptydir-85bb4f95b4-m8nst',
    'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ns-1/ds-5rzt4',
  ].join('\n');
  assert.deepEqual(Object.fromEntries(parseRefusals(out)), {
    'ns-1/bare-emptydir': 'Pods with local storage (use --delete-emptydir-data to override)',
    'ns-1/deploy-emptydir-85bb4f95b4-m8nst': 'Pods with local storage (use --delete-emptydir-data to override)',
    'ns-1/term-ds-gone-gnlxh': 'daemonsets.apps "term-ds-gone" not found',
    'ns-1/bare': 'Pods that declare no controller (use --force to override)',
    'ns-1/ds-5rzt4': 'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)',
  });
  assert.equal(parseRefusals('evicting pod ns-1/web-1\npod/web-1 evicted\n').size, 0);
});

test('evictions and deletes per pod, with the answers, from audit events of one namespace', () => {
  const ev = (verb: string, name: string, code: number, subresource?: string, namespace = 'ns-1') => ({
    verb,
    user: { username: 'u' },
    objectRef: { resource: 'pods', namespace, name, subresource },
    requestURI: '/',
    responseStatus: { code },
    stage: 'ResponseComplete',
  });
  const w = writesPerPod(
    [
      ev('create', 'a', 429, 'eviction'),
      ev('create', 'a', 201, 'eviction'),
      ev('delete', 'b', 200),
      ev('patch', 'c', 200),
      ev('create', 'd', 201, 'eviction', 'other'),
    ],
    'ns-1',
  );
  assert.deepEqual(Object.fromEntries(w), {
    'ns-1/a': [
      { verb: 'evict', code: 429 },
      { verb: 'evict', code: 201 },
    ],
    'ns-1/b': [{ verb: 'delete', code: 200 }],
  });
});

test("every pod reason of the plan is kubectl's own or a documented extra", () => {
  for (const code of [
    'SafeToEvictFalse',
    'DoNotDisrupt',
    'ControllerMissing',
    'PdbNeverAllows',
    'WontFit',
    'MultiplePdbs',
    'WorkloadOutage',
  ] as ReasonCode[])
    assert.ok(EXTRA_REASONS.has(code), code);
  for (const code of KUBECTL_REASONS) assert.ok(code in REASONS && !EXTRA_REASONS.has(code), code);
  assert.ok(!EXTRA_REASONS.has('NodeAlreadyCordoned'));
});

test('verdicts: agreement, an extra check, an extra contradicted by the server, a mismatch', () => {
  const pod = (action: PlanPod['action'], ...reasons: Array<[ReasonCode, 'block' | 'warning' | 'info']>): PlanPod => ({
    namespace: 'ns',
    name: 'p',
    action,
    reasons: reasons.map(([code, severity]) => ({ code, severity, message: '' })),
  });
  assert.equal(
    compare('c', 'k', pod('blocked', ['Unmanaged', 'block']), { outcome: 'refused', answers: [] }).verdict,
    'agree',
  );
  assert.equal(
    compare('c', 'k', pod('wait', ['Terminating', 'info']), { outcome: 'evicted', answers: [201] }).verdict,
    'agree',
  );
  assert.equal(
    compare('c', 'k', pod('skip', ['MirrorPod', 'info']), { outcome: 'skipped', answers: [] }).verdict,
    'agree',
  );
  assert.equal(compare('c', 'k', undefined, { outcome: 'absent', answers: [] }).verdict, 'agree');
  const extra = compare('c', 'k', pod('blocked', ['SafeToEvictFalse', 'block']), {
    outcome: 'evicted',
    answers: [201],
  });
  assert.deepEqual([extra.verdict, extra.note], ['extra', 'SafeToEvictFalse']);
  assert.equal(
    compare('c', 'k', pod('blocked', ['MultiplePdbs', 'block']), { outcome: 'evicted', answers: [500] }).verdict,
    'extra',
  );
  const contradicted = compare('c', 'k', pod('blocked', ['MultiplePdbs', 'block']), {
    outcome: 'evicted',
    answers: [201],
  });
  assert.equal(contradicted.verdict, 'mismatch');
  assert.match(
    contradicted.note ?? '',
    /MultiplePdbs says the API server refuses the eviction \(500\); it answered 201/,
  );
  const wrong = compare('c', 'k', pod('blocked', ['OrphanedDaemonSetPod', 'block']), {
    outcome: 'evicted',
    answers: [201],
  });
  assert.deepEqual(
    [wrong.verdict, wrong.note],
    ['mismatch', 'the plan means kubectl would refuse it; kubectl evicted it'],
  );
});

test('--pod-selector is replaced where it stands, or added', () => {
  assert.deepEqual(withPodSelector(['--force', '--pod-selector', 'a=b', '--x'], 'a=b,c notin (d)'), [
    '--force',
    '--pod-selector',
    'a=b,c notin (d)',
    '--x',
  ]);
  assert.deepEqual(withPodSelector(['--force'], 'c notin (d)'), ['--force', '--pod-selector', 'c notin (d)']);
});
