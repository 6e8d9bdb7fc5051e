import assert from 'node:assert/strict';
import { test } from 'node:test';

test('why a pod is not serving, in a few words', async () => {
  const { podWaitReason } = await import('../../../src/kube/objects.js');
  type P = Parameters<typeof podWaitReason>[0];
  const pod = (status: object, meta: object = {}): P => ({ metadata: { name: 'p', ...meta }, status } as P);
  assert.equal(podWaitReason(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })), undefined);
  assert.equal(podWaitReason(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }] })), 'Pending, unschedulable: 0/3 nodes are available: 3 Insufficient cpu.');
  assert.equal(podWaitReason(pod({ phase: 'Running', containerStatuses: [{ name: 'c', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } } }] })), 'CrashLoopBackOff: back-off 10s');
  assert.equal(podWaitReason(pod({ phase: 'Pending', containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }] })), 'starting');
  assert.equal(podWaitReason(pod({ phase: 'Running' })), 'running, not Ready yet');
  assert.equal(podWaitReason(pod({ phase: 'Running' }, { deletionTimestamp: new Date() })), undefined, 'going away');
});
