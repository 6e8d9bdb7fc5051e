import assert from 'node:assert/strict';
import { test } from 'node:test';

test('why a pod is not serving, in a few words', async () => {
  const { podWaitReason } = await import('../../../src/kube/objects.js');
  type P = Parameters<typeof podWaitReason>[0];
  const pod = (status: object, meta: object = {}): P => ({ metadata: { name: 'p', ...meta }, status }) as P;
  assert.equal(podWaitReason(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })), undefined);
  assert.equal(
    podWaitReason(
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient cpu.',
          },
        ],
      }),
    ),
    'Pending, unschedulable: 0/3 nodes are available: 3 Insufficient cpu.',
  );
  assert.equal(
    podWaitReason(
      pod({
        phase: 'Running',
        containerStatuses: [{ name: 'c', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s' } } }],
      }),
    ),
    'CrashLoopBackOff: back-off 10s',
  );
  assert.equal(
    podWaitReason(
      pod({
        phase: 'Pending',
        containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }],
      }),
    ),
    'starting',
  );
  assert.equal(podWaitReason(pod({ phase: 'Running' })), 'running, not Ready yet');
  assert.equal(podWaitReason(pod({ phase: 'Running' }, { deletionTimestamp: new Date() })), undefined, 'going away');
});

test('why a pod cannot start, and only then: unschedulable in the scheduler\u2019s words, or a wait that does not pass by itself', async () => {
  const { podStuckReason } = await import('../../../src/kube/objects.js');
  type P = Parameters<typeof podStuckReason>[0];
  const pod = (status: object, meta: object = {}): P => ({ metadata: { name: 'p', ...meta }, status }) as P;
  const unschedulable = {
    type: 'PodScheduled',
    status: 'False',
    reason: 'Unschedulable',
    message: '0/3 nodes are available: 3 Insufficient cpu.',
  };
  const waiting = (reason: string, message?: string) => ({
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'True' }],
    containerStatuses: [{ name: 'c', state: { waiting: { reason, message } } }],
  });
  const cases: Array<[string, P, string | undefined, string?]> = [
    [
      'unschedulable',
      pod({ phase: 'Pending', conditions: [unschedulable] }),
      'Pending, unschedulable: 0/3 nodes are available: 3 Insufficient cpu.',
    ],
    [
      'the condition has no words: the event\u2019s',
      pod({ phase: 'Pending', conditions: [{ ...unschedulable, message: '' }] }),
      'Pending, unschedulable: 0/3 nodes are available: 1 Too many pods.',
      '0/3 nodes are available: 1 Too many pods.',
    ],
    [
      'no words anywhere: the reason',
      pod({ phase: 'Pending', conditions: [{ ...unschedulable, message: undefined }] }),
      'Pending, unschedulable: Unschedulable',
    ],
    ['not answered by the scheduler yet', pod({ phase: 'Pending' }), undefined],
    ['scheduled, containers being created', pod(waiting('ContainerCreating')), undefined],
    ['init containers running', pod(waiting('PodInitializing')), undefined],
    [
      'image pull back-off',
      pod(waiting('ImagePullBackOff', 'Back-off pulling image "x"')),
      'ImagePullBackOff: Back-off pulling image "x"',
    ],
    ['image pull error', pod(waiting('ErrImagePull')), 'ErrImagePull'],
    [
      'a missing ConfigMap',
      pod(waiting('CreateContainerConfigError', 'configmap "cfg" not found')),
      'CreateContainerConfigError: configmap "cfg" not found',
    ],
    [
      'an init container crash-looping',
      pod({
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'i', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } } },
        ],
      }),
      'CrashLoopBackOff: back-off 20s',
    ],
    [
      'running, not Ready yet',
      pod({ phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }] }),
      undefined,
    ],
    ['Ready', pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }), undefined],
    [
      'going away',
      pod({ phase: 'Pending', conditions: [unschedulable] }, { deletionTimestamp: new Date() }),
      undefined,
    ],
    ['finished', pod({ phase: 'Failed', conditions: [unschedulable] }), undefined],
    [
      'preempting lower-priority pods to make room',
      pod({ phase: 'Pending', conditions: [unschedulable], nominatedNodeName: 'n2' }),
      undefined,
    ],
  ];
  for (const [what, p, want, schedulerMessage] of cases) assert.equal(podStuckReason(p, schedulerMessage), want, what);
  const { podWaitReason } = await import('../../../src/kube/objects.js');
  assert.equal(
    podWaitReason(pod({ phase: 'Pending', conditions: [unschedulable], nominatedNodeName: 'n2' })),
    'Pending, preempting lower-priority pods on n2',
  );
});

test('the latest event message per object, by series, last or event time', async () => {
  const { latestMessages } = await import('../../../src/kube/objects.js');
  const messages = latestMessages([
    { involvedObject: { uid: 'a' }, message: 'old', lastTimestamp: '2025-01-01T00:00:00Z' },
    { involvedObject: { uid: 'a' }, message: 'new', eventTime: '2025-01-01T00:00:05Z' },
    { involvedObject: { uid: 'a' }, message: 'older series', eventTime: '2025-01-01T00:00:01Z' },
    {
      involvedObject: { uid: 'b' },
      message: 'repeated',
      eventTime: '2025-01-01T00:00:00Z',
      series: { lastObservedTime: '2025-01-01T00:10:00Z' },
    },
    { involvedObject: { uid: 'b' }, message: 'once', eventTime: '2025-01-01T00:05:00Z' },
    { involvedObject: {}, message: 'no object' },
  ]);
  assert.deepEqual(Object.fromEntries(messages), { a: 'new', b: 'repeated' });
});
