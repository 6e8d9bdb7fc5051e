import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { KubeClient } from '../../../src/kube/client.js';
import { REVIEW_CONCURRENCY, reviewAll, type ReviewQuestion } from '../../../src/kube/reviews.js';

/** An in-memory API server for access reviews: "allowed" when the verb is get; the verb "fail" fails. */
function fakeClient(signal?: AbortSignal): { client: KubeClient; sent: () => number; peak: () => number } {
  let sent = 0;
  let inFlight = 0;
  let peak = 0;
  const client = {
    signal,
    async request(
      _method: string,
      _path: string,
      opts: { body?: { spec?: { resourceAttributes?: { verb?: string } } } },
    ) {
      sent++;
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      const verb = opts.body?.spec?.resourceAttributes?.verb;
      if (verb === 'fail') throw Object.assign(new Error('HTTP 500'), { code: 500, body: '{}' });
      if (signal?.aborted) throw new Error('interrupted');
      return { status: { allowed: verb === 'get' } };
    },
  } as unknown as KubeClient;
  return { client, sent: () => sent, peak: () => peak };
}

test('reviews run under the bound, each distinct question once, a failure as a value', async () => {
  const fake = fakeClient();
  const questions: ReviewQuestion[] = [];
  for (let i = 0; i < 300; i++)
    questions.push({
      who: { user: `u${i % 100}`, groups: ['system:authenticated'] },
      attributes: { verb: i % 3 === 0 ? 'get' : 'list', resource: 'pods', namespace: 'ns' },
    });
  questions.push({ attributes: { verb: 'fail', resource: 'pods' } });
  const answers = await reviewAll(fake.client, questions);
  assert.equal(answers.length, questions.length, 'one answer per question, in order');
  assert.equal(fake.sent(), 201, 'the same identity asking the same thing is asked once');
  assert.ok(
    fake.peak() <= REVIEW_CONCURRENCY && fake.peak() > 1,
    `at most ${REVIEW_CONCURRENCY} in flight (${fake.peak()})`,
  );
  assert.deepEqual(answers[0], { allowed: true });
  assert.deepEqual(answers[1], { allowed: false });
  assert.ok('error' in answers.at(-1)!, 'the failed review is a value');
});

test('an interrupt ends every review, instead of turning each into an error cell', async () => {
  const abort = new AbortController();
  const fake = fakeClient(abort.signal);
  setTimeout(() => abort.abort(), 5);
  const questions = Array.from(
    { length: 500 },
    (_, i): ReviewQuestion => ({ who: { user: `u${i}`, groups: [] }, attributes: { verb: 'get', resource: 'pods' } }),
  );
  await assert.rejects(reviewAll(fake.client, questions), /interrupted/);
  assert.ok(fake.sent() < 500, `stopped early (${fake.sent()} sent)`);
});
