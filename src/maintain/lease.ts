/**
 * One maintenance run at a time per cluster: a coordination.k8s.io Lease
 * held and renewed by the run, taken over only once it has expired. The
 * arithmetic (leaseState, stillHeld) is pure; MaintenanceLock talks to the
 * API server.
 */
import os from 'node:os';

import type { V1Lease } from '@kubernetes/client-node';

import { BlockedError } from '../base/errors.js';
import { apiStatusOf } from '../kube/apierror.js';
import type { KubeClient } from '../kube/client.js';
import { RESOURCES, resourcePath } from '../kube/url.js';
import { LOCK_RENEW_SECONDS } from './options.js';

export interface LockOptions {
  namespace: string;
  name: string;
  durationSeconds: number;
}

export const LOCK_NAME = 'kubectl-study-maintain';

/** Who holds the lock: host, process and attempt, so an operator can find it. */
export function holderIdentity(attemptId: string): string {
  return `${os.hostname()}/pid-${process.pid}/${attemptId}`;
}

/** The attempt id at the end of a holder identity (host/pid-N/ATTEMPT). */
export function holderAttempt(holder: string): string {
  return holder.split('/').at(-1) ?? '';
}

/** The refusal when another run holds the lock, naming it. */
export function heldByAnother(where: { namespace: string; name: string }, state: LeaseState): BlockedError {
  return new BlockedError(
    `another maintenance run holds the lock ${where.namespace}/${where.name}: ${state.holder} ` +
      `(renewed ${Math.round(state.renewedAgoMs / 1000)}s ago, ` +
      `expires in ${Math.ceil(state.expiresInMs / 1000)}s unless renewed)`,
    {
      hint: 'wait for it to finish ("kubectl study maintain status" shows it); if it died, the lock can be taken over once it expires',
    },
  );
}

export interface LeaseState {
  held: boolean;
  holder: string;
  expiresInMs: number;
  renewedAgoMs: number;
}

/** Whether a lease is held by someone and still valid at `now`. Pure. */
export function leaseState(lease: V1Lease | undefined, now: Date): LeaseState {
  const holder = lease?.spec?.holderIdentity ?? '';
  const renew = lease?.spec?.renewTime ?? lease?.spec?.acquireTime;
  const duration = (lease?.spec?.leaseDurationSeconds ?? 0) * 1000;
  const renewedAt = renew ? new Date(renew).getTime() : 0;
  const expiresInMs = renewedAt + duration - now.getTime();
  return { held: Boolean(holder) && expiresInMs > 0, holder, expiresInMs, renewedAgoMs: now.getTime() - renewedAt };
}

/**
 * Whether a holder may still act: renewed recently enough that nobody
 * could have taken the lock over (a margin of a tenth of the duration for
 * clocks and delays). Pure.
 */
export function stillHeld(lastRenewedMs: number, nowMs: number, durationSeconds: number): boolean {
  return nowMs - lastRenewedMs < durationSeconds * 1000 * 0.9;
}

function leasePath(options: LockOptions, name?: string): string {
  return resourcePath(
    RESOURCES.leases,
    name === undefined ? { namespace: options.namespace } : { namespace: options.namespace, name },
  );
}

function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** What the lock looks like from outside, for --dry-run: who holds it, if anyone. */
export async function readLock(client: KubeClient, options: LockOptions): Promise<LeaseState | undefined> {
  try {
    return leaseState(await client.request<V1Lease>('GET', leasePath(options, options.name)), new Date());
  } catch (err) {
    if (apiStatusOf(err)?.code === 404) return undefined;
    throw client.error('read the maintenance lock', err);
  }
}

export class MaintenanceLock {
  private timer: NodeJS.Timeout | undefined;
  /** Set when another holder was seen: the lock is lost. */
  private lost = false;
  private lastRenewed = Date.now();

  private constructor(
    private readonly client: KubeClient,
    private readonly options: LockOptions,
    readonly holder: string,
    readonly tookOverFrom: string | undefined,
  ) {}

  static async acquire(client: KubeClient, options: LockOptions, holder: string): Promise<MaintenanceLock> {
    const now = new Date();
    const spec = {
      holderIdentity: holder,
      leaseDurationSeconds: options.durationSeconds,
      acquireTime: microTime(now),
      renewTime: microTime(now),
    };
    let existing: V1Lease | undefined;
    try {
      existing = await client.request<V1Lease>('GET', leasePath(options, options.name));
    } catch (err) {
      if (apiStatusOf(err)?.code !== 404) throw client.error('read the maintenance lock', err);
    }
    if (!existing) {
      try {
        await client.request<V1Lease>('POST', leasePath(options), {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: options.name, namespace: options.namespace },
            spec,
          },
        });
        return new MaintenanceLock(client, options, holder, undefined);
      } catch (err) {
        if (apiStatusOf(err)?.code === 409) return MaintenanceLock.acquire(client, options, holder);
        throw client.error('create the maintenance lock', err);
      }
    }
    const state = leaseState(existing, now);
    if (state.held && state.holder !== holder) throw heldByAnother(options, state);
    try {
      // The resourceVersion in the body makes this a compare-and-swap: a run that took it meanwhile wins.
      await client.request<V1Lease>('PUT', leasePath(options, options.name), {
        body: { ...existing, spec: { ...existing.spec, ...spec } },
      });
      return new MaintenanceLock(
        client,
        options,
        holder,
        state.holder && state.holder !== holder ? state.holder : undefined,
      );
    } catch (err) {
      if (apiStatusOf(err)?.code === 409) {
        // Another run took it between our read and our write: name it, as any refusal does.
        const winner = await readLock(client, options).catch(() => undefined);
        if (winner?.held && winner.holder !== holder) throw heldByAnother(options, winner);
        throw new BlockedError(
          `another maintenance run took the lock ${options.namespace}/${options.name} at the same moment`,
          { hint: 'wait for it to finish ("kubectl study maintain status" shows it)' },
        );
      }
      throw client.error('take the maintenance lock', err);
    }
  }

  /** Renews every few seconds until released, whatever the run is doing (a long --run command included). */
  startRenewing(): void {
    this.timer = setInterval(() => void this.renew(), LOCK_RENEW_SECONDS * 1000);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      const current = await this.client.request<V1Lease>('GET', leasePath(this.options, this.options.name));
      if (current.spec?.holderIdentity !== this.holder) {
        this.lost = true;
        return;
      }
      const at = new Date();
      await this.client.request<V1Lease>('PUT', leasePath(this.options, this.options.name), {
        body: { ...current, spec: { ...current.spec, renewTime: microTime(at) } },
      });
      this.lastRenewed = at.getTime();
    } catch {
      // A missed renewal is retried at the next tick; the lease outlives several of them.
    }
  }

  /** Whether this run may still act: no other holder seen, and renewed recently enough. */
  held(now = Date.now()): boolean {
    return !this.lost && stillHeld(this.lastRenewed, now, this.options.durationSeconds);
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    try {
      const current = await this.client.request<V1Lease>('GET', leasePath(this.options, this.options.name));
      if (current.spec?.holderIdentity === this.holder) {
        await this.client.request('DELETE', leasePath(this.options, this.options.name), {
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            preconditions: { resourceVersion: current.metadata?.resourceVersion },
          },
        });
      }
    } catch {
      // If it cannot be released it expires on its own.
    }
  }
}
