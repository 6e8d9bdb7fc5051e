/**
 * The eviction of one pod, with its retries (evictPod): what each answer of
 * the API server means (classifyEviction, pure) and what the drain does
 * about it (onAnswer). A PDB refusal waits and retries, naming the PDB and its
 * numbers; throttling (API Priority and Fairness) waits Retry-After and is
 * reported as throttling; a namespace being deleted is waited out, as
 * kubectl waits it out; a connection that fails is retried until the API
 * outage budget of this pod is spent.
 */
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';

import { exponentialBackoff, type Backoff } from '../base/backoff.js';
import { sleep } from '../base/concurrency.js';
import { firstAndMore } from '../base/text.js';
import { apiStatusOf, retryAfterOf, systemCodeOf } from '../kube/apierror.js';
import type { DrainApi, GoneWatch } from './api.js';
import type { DrainEvent, PodOutcome } from './events.js';
import type { PdbPlan, PodPlan } from './model.js';
import { describeBudget } from './pdb.js';

export interface EvictContext {
  api: DrainApi;
  gone: GoneWatch;
  /** Why the drain stops starting new work (interrupted, timed out, failed), if it does. */
  stopped: () => string | undefined;
  /** Aborts every wait (deadline, interrupt, a fatal error). */
  stopWaits: AbortSignal;
  /** The PDBs as last seen, refreshed from refusals. */
  pdbs: Map<string, PdbPlan>;
  gracePeriodSeconds: number;
  deleteInstead: boolean;
  /** How long one pod's requests may go unanswered before the drain gives up. */
  apiOutageMs: number;
  /** Backoff between attempts (a server's Retry-After is a floor, never beyond maxMs). */
  retry: { initialMs: number; maxMs: number };
  onEvent: (e: DrainEvent) => void;
  onBudget: (pdb: string, disruptionsAllowed: number) => void;
  onThrottled: () => void;
  /** The API server stayed unreachable past the budget: the drain stops. */
  onOutage: (err: unknown, what: string) => void;
}

/**
 * Evicts one pod and waits until it is gone. Fills in `outcome` as it goes,
 * so that whatever stops the drain, the outcome says exactly where this pod
 * got to.
 */
export async function evictPod(ctx: EvictContext, pod: PodPlan, outcome: PodOutcome): Promise<void> {
  const backoff = exponentialBackoff(ctx.retry.initialMs, ctx.retry.maxMs);
  const t0 = Date.now();
  let outageSince: number | undefined;
  for (;;) {
    if (ctx.stopped()) {
      if (outcome.status === 'not-attempted' && outcome.message?.startsWith('blocked by')) outcome.status = 'blocked';
      return;
    }
    ctx.onEvent({ type: 'evicting', pod });
    const { answer, err } = await attempt(ctx, pod);
    let next: Next;
    if (answer.kind === 'no-answer') {
      // No answer at all: the API server may be restarting. This pod retries until its own outage budget is spent.
      outageSince ??= Date.now();
      if (Date.now() - outageSince >= ctx.apiOutageMs) {
        ctx.onOutage(err, `evict ${pod.namespace}/${pod.name}`);
        return;
      }
      next = { then: 'retry', delayMs: backoff.next() };
      ctx.onEvent({
        type: 'retry',
        pod,
        detail: `no answer from the API server (${answer.code})`,
        retryMs: next.delayMs,
      });
    } else {
      outageSince = undefined;
      next = await onAnswer(ctx, pod, outcome, answer, backoff);
    }
    if (next.then === 'done') return;
    if (next.then === 'wait-gone') break;
    await sleep(next.delayMs, ctx.stopWaits).catch(() => {});
  }
  // Evicted: wait for it to be gone (by UID; a replacement with the same name does not count).
  try {
    const how = await ctx.gone.waitGone(pod.uid, ctx.stopWaits);
    outcome.status = how;
    outcome.ms = Date.now() - t0;
    if (how === 'not-waited')
      outcome.message = 'deleting for longer than --skip-wait-for-delete-timeout: not waited for, as kubectl does';
    ctx.onEvent({ type: 'gone', pod, ms: outcome.ms });
  } catch {
    // stopped while waiting: it stays 'evicted'
  }
}

/** What the drain does next for a pod after one answer. */
type Next = { then: 'retry'; delayMs: number } | { then: 'wait-gone' } | { then: 'done' };

/** Sends the eviction (or DELETE); its failure classified. */
async function attempt(ctx: EvictContext, pod: PodPlan): Promise<{ answer: EvictionAnswer; err?: unknown }> {
  try {
    await ctx.api.evict(pod, { gracePeriodSeconds: ctx.gracePeriodSeconds, deleteInstead: ctx.deleteInstead });
    return { answer: { kind: 'accepted' } };
  } catch (err) {
    return { answer: classifyEviction(err), err };
  }
}

export type EvictionAnswer =
  | { kind: 'accepted' }
  /** 404: the pod is gone already. */
  | { kind: 'gone' }
  /** 409: the UID precondition failed: a new pod has the name. */
  | { kind: 'replaced' }
  /** 429 from the disruption controller's budget. */
  | { kind: 'pdb'; pdb?: string; needs?: { healthy: number; has: number }; message: string; retryAfterSeconds: number }
  /** 429 without a budget behind it: API Priority and Fairness, or a rate limit. */
  | { kind: 'throttled'; retryAfterSeconds: number }
  /** 403 NamespaceTerminating: the namespace is being deleted. */
  | { kind: 'namespace-terminating' }
  /** 500: two budgets cover the pod, which the eviction API refuses. */
  | { kind: 'multiple-pdbs'; message: string }
  | { kind: 'refused'; code: number; message: string }
  /** No HTTP answer at all. */
  | { kind: 'no-answer'; code: string };

/** What an eviction's failure means. Pure. */
export function classifyEviction(err: unknown): EvictionAnswer {
  const api = apiStatusOf(err);
  if (!api) return { kind: 'no-answer', code: systemCodeOf(err) ?? ((err as Error)?.message || 'unknown error') };
  const status = api.status;
  // A StatusCause's type is serialized as "reason".
  const causes = (status.details?.causes ?? []) as Array<{ reason?: string; type?: string; message?: string }>;
  const causeIs = (c: { reason?: string; type?: string }, type: string): boolean =>
    c.reason === type || c.type === type;
  const message = status.message ?? '';
  const retryAfterSeconds = retryAfterOf(api);
  switch (api.code) {
    case 404:
      return { kind: 'gone' };
    case 409:
      return { kind: 'replaced' };
    case 429: {
      const budgetText = [
        ...causes.filter((c) => causeIs(c, 'DisruptionBudget')).map((c) => c.message ?? ''),
        message,
      ].join(' ');
      const isBudget = causes.some((c) => causeIs(c, 'DisruptionBudget')) || /disruption budget/i.test(message);
      if (!isBudget) return { kind: 'throttled', retryAfterSeconds };
      const name = /disruption budget ([a-z0-9.-]+)/i.exec(budgetText)?.[1];
      const numbers = /needs (\d+) healthy pods? and has (\d+) currently/.exec(budgetText);
      const answer: EvictionAnswer = { kind: 'pdb', message: budgetText.trim(), retryAfterSeconds };
      if (name) answer.pdb = name;
      if (numbers) answer.needs = { healthy: Number(numbers[1]), has: Number(numbers[2]) };
      return answer;
    }
    case 403:
      if (causes.some((c) => causeIs(c, 'NamespaceTerminating')) || status.reason === 'NamespaceTerminating')
        return { kind: 'namespace-terminating' };
      return { kind: 'refused', code: 403, message: message || 'forbidden' };
    case 500:
      if (/more than one|multiple/i.test(message)) return { kind: 'multiple-pdbs', message };
      return { kind: 'refused', code: 500, message };
    default:
      return { kind: 'refused', code: api.code, message: message || status.reason || `HTTP ${api.code}` };
  }
}

/** One answer of the API server to an eviction, acted on: the outcome updated, the event sent. */
async function onAnswer(
  ctx: EvictContext,
  pod: PodPlan,
  outcome: PodOutcome,
  answer: Exclude<EvictionAnswer, { kind: 'no-answer' }>,
  backoff: Backoff,
): Promise<Next> {
  switch (answer.kind) {
    case 'accepted':
      outcome.status = 'evicted';
      delete outcome.message;
      ctx.onEvent({ type: 'evicted', pod });
      return { then: 'wait-gone' };
    case 'gone':
    case 'replaced':
      outcome.status = 'already-gone';
      outcome.message = answer.kind === 'gone' ? 'already deleted' : 'replaced by a new pod with the same name';
      return { then: 'done' };
    case 'pdb': {
      const name = answer.pdb ?? pod.pdbs[0]?.split('/')[1] ?? '';
      const key = `${pod.namespace}/${name}`;
      const known = ctx.pdbs.get(key);
      const fresh = answer.needs ? undefined : await ctx.api.readPdb(pod.namespace, name).catch(() => undefined);
      const detail = `${pdbDetail(answer, key, known, fresh)}${await whyNotHealthy(ctx, pod.namespace, name)}`;
      if (known) ctx.onBudget(key, known.disruptionsAllowed);
      outcome.message = `blocked by ${detail}`;
      const retryMs = backoff.next(answer.retryAfterSeconds);
      ctx.onEvent({ type: 'pdb-wait', pod, pdb: key, detail, retryMs });
      return { then: 'retry', delayMs: retryMs };
    }
    case 'throttled': {
      ctx.onThrottled();
      const retryMs = backoff.next(answer.retryAfterSeconds || 1);
      ctx.onEvent({ type: 'throttled', pod, retryMs });
      return { then: 'retry', delayMs: retryMs };
    }
    case 'namespace-terminating': {
      // The namespace controller deletes the pod; kubectl waits for that rather than fail.
      const current = await ctx.api.readPod(pod.namespace, pod.name).catch(() => undefined);
      if (!current || current.metadata?.uid !== pod.uid || current.metadata?.deletionTimestamp) {
        outcome.status = 'evicted';
        outcome.message = 'its namespace is being deleted';
        ctx.onEvent({ type: 'evicted', pod });
        return { then: 'wait-gone' };
      }
      const retryMs = backoff.next();
      ctx.onEvent({
        type: 'retry',
        pod,
        detail: 'its namespace is being deleted; waiting for the pod to be marked for deletion',
        retryMs,
      });
      return { then: 'retry', delayMs: retryMs };
    }
    case 'multiple-pdbs':
    case 'refused':
      outcome.status = 'failed';
      outcome.message =
        answer.kind === 'multiple-pdbs'
          ? `the API server refuses: ${answer.message}`
          : `HTTP ${answer.code}: ${answer.message}`;
      ctx.onEvent({ type: 'failed', pod, detail: outcome.message });
      return { then: 'done' };
  }
}

function pdbDetail(
  answer: Extract<EvictionAnswer, { kind: 'pdb' }>,
  key: string,
  known: PdbPlan | undefined,
  fresh: V1PodDisruptionBudget | undefined,
): string {
  if (answer.needs) return `PDB ${key}: it needs ${answer.needs.healthy} healthy pods and has ${answer.needs.has}`;
  if (known && fresh?.status) {
    known.currentHealthy = fresh.status.currentHealthy;
    known.desiredHealthy = fresh.status.desiredHealthy;
    known.expectedPods = fresh.status.expectedPods ?? known.expectedPods;
    known.disruptionsAllowed = fresh.status.disruptionsAllowed;
  }
  return known ? describeBudget(known) : `PDB ${key}: ${answer.message || 'disruption budget'}`;
}

/**
 * Which of the PDB's pods keep it from allowing more, and why (a Pending
 * replacement, a crash loop); '' if none is known.
 */
async function whyNotHealthy(ctx: EvictContext, namespace: string, pdb: string): Promise<string> {
  const pods = await ctx.api.unservingPods(namespace, pdb).catch(() => []);
  if (pods.length === 0) return '';
  const reasons = pods.map((p) => `${p.name} is ${p.reason}`);
  return `; not healthy yet: ${firstAndMore(reasons, 2, { separator: '; ', parenthesized: true })}`;
}
