/** The drain's human output of replacements that cannot start: the line while it runs, the report's section. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { DrainResult } from '../../../src/drain/events.js';
import { eventLine, renderResult } from '../../../src/drain/print.js';
import { drainPlan, podPlan } from '../../support/fake-drain.js';

const unschedulable =
  "Pending, unschedulable: 0/5 nodes are available: 1 node(s) were unschedulable, 4 node(s) didn't match pod anti-affinity rules.";

function result(extra: Partial<DrainResult>): DrainResult {
  const plan = drainPlan([podPlan('web-1')]);
  return {
    kind: 'DrainResult',
    apiVersion: 'study.kubectl.io/v1',
    outcome: 'drained',
    cordoned: [{ node: 'n1', changed: true }],
    pods: [{ namespace: 'ns', name: 'web-1', uid: 'u', status: 'gone', ms: 1200 }],
    workloads: [],
    replacements: [],
    elapsedMs: 3000,
    requests: 12,
    throttled: 0,
    plan,
    ...extra,
  };
}

test('a stuck replacement is one line while the drain runs', () => {
  assert.equal(
    eventLine({
      type: 'replacement-stuck',
      pod: { namespace: 'ns', name: 'web-2' },
      workload: 'Deployment/web',
      reason: unschedulable,
    }),
    `replacement ns/web-2 of Deployment/web is ${unschedulable}`,
  );
  assert.equal(
    eventLine({ type: 'replacements-unchecked', detail: 'HTTP 403: forbidden' }),
    'could not look at the replacements (the drain goes on): HTTP 403: forbidden',
  );
});

test('the report lists the replacements that cannot start, and names them where a workload was not Available in time', () => {
  const stuck = [
    { namespace: 'ns', name: 'web-2', workload: 'Deployment/web', reason: unschedulable },
    {
      namespace: 'ns',
      name: 'api-7',
      workload: 'ReplicaSet/api',
      reason: 'ImagePullBackOff: Back-off pulling image "x"',
    },
  ];
  const drained = renderResult(result({ replacements: stuck }), false);
  const cannotStart = new RegExp(
    [
      "^Replacements that cannot start \\(the drain's result does not count them\\):\\n",
      ' {2}ns/web-2 of Deployment/web: Pending, unschedulable: 0/5 nodes .*\\n',
      ' {2}ns/api-7 of ReplicaSet/api: ImagePullBackOff: Back-off pulling image "x"\\n',
      'Result: drained ',
    ].join(''),
    'm',
  );
  assert.match(drained, cannotStart);
  assert.doesNotMatch(renderResult(result({}), false), /Replacements/, 'no section when every replacement can start');

  const waited = renderResult(
    result({
      outcome: 'timed-out',
      replacements: stuck,
      workloads: [
        { namespace: 'ns', workload: 'Deployment/web', available: false },
        { namespace: 'ns', workload: 'Deployment/db', available: true },
      ],
    }),
    false,
  );
  assert.match(waited, /^ns\/Deployment\/web: not Available in time: web-2 is Pending, unschedulable$/m);
  assert.match(waited, /^ns\/Deployment\/db: Available$/m);
});
