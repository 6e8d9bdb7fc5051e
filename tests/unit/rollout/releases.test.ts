/**
 * The rollout views by release (src/rollout/rules.ts): the same workload
 * read under two releases says what each release reports, and never reads
 * a field the release does not set as 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';

import { releaseOf } from '../../../src/kube/release.js';
import { renderLive } from '../../../src/rollout/print.js';
import { rolloutRules } from '../../../src/rollout/rules.js';
import { rolloutStatus, type RolloutStatus } from '../../../src/rollout/status.js';

const NOW = new Date('2026-06-01T12:00:00Z');

/** A Deployment mid-rollout: 3 wanted, 2 updated, 2 of the old revision's pods terminating (when reported). */
function deployment(terminatingReplicas?: number): V1Deployment {
  return {
    metadata: {
      name: 'web',
      namespace: 'demo',
      uid: 'd1',
      generation: 2,
      annotations: { 'deployment.kubernetes.io/revision': '2' },
    },
    spec: { replicas: 3, selector: {}, template: {} },
    status: {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      ...(terminatingReplicas === undefined ? {} : { terminatingReplicas }),
    },
  };
}

function statusUnder(
  release: string,
  obj: V1Deployment | V1StatefulSet,
  kind: 'Deployment' | 'StatefulSet',
): RolloutStatus {
  return rolloutStatus({
    kind,
    obj,
    pods: [],
    replicaSets: [],
    events: [],
    now: NOW,
    rules: rolloutRules(releaseOf(release)),
  });
}

test('terminating replicas are shown from 1.35, where the release reports them; before, and when absent, never as 0', () => {
  const reported = deployment(2);
  assert.equal(statusUnder('1.34', reported, 'Deployment').replicas.terminating, undefined, '1.34 never sets it');
  assert.equal(statusUnder('1.35', reported, 'Deployment').replicas.terminating, 2);
  assert.equal(statusUnder('1.37', deployment(0), 'Deployment').replicas.terminating, 0, 'a reported 0 is a 0');
  const absent = statusUnder('1.37', deployment(), 'Deployment');
  assert.equal('terminating' in absent.replicas, false, 'not reported yet: left out, not 0');
  assert.match(renderLive(statusUnder('1.35', reported, 'Deployment'), false), /2 ready, 2 available, 2 terminating\n/);
  assert.match(renderLive(statusUnder('1.34', reported, 'Deployment'), false), /2 ready, 2 available\n/);
});

test("a StatefulSet's maxUnavailable is shown as honoured where its gate is on (1.35.0-1.35.3, 1.37), else as ignored", () => {
  const sts: V1StatefulSet = {
    metadata: { name: 'db', namespace: 'demo', uid: 's1', generation: 1 },
    spec: {
      replicas: 3,
      selector: {},
      serviceName: 'db',
      template: {},
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
    },
    status: { observedGeneration: 1, replicas: 3, readyReplicas: 3, currentRevision: 'db-1', updateRevision: 'db-1' },
  };
  const strategy = (release: string): string => statusUnder(release, sts, 'StatefulSet').strategy;
  assert.deepEqual(['1.34', '1.35.3', '1.35.4', '1.36', '1.37'].map(strategy), [
    'RollingUpdate (maxUnavailable 2, ignored by this release)',
    'RollingUpdate (maxUnavailable 2)',
    'RollingUpdate (maxUnavailable 2, ignored by this release)',
    'RollingUpdate (maxUnavailable 2, ignored by this release)',
    'RollingUpdate (maxUnavailable 2)',
  ]);
});
