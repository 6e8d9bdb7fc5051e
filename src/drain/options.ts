/**
 * study-drain's options: one typed value, bound from the flags and
 * validated here, once, before any API call. Pure.
 */
import { UsageError } from '../base/errors.js';
import { dryRunFlag, durationFlag, intFlag, objectNames } from '../base/parse.js';
import { DEFAULT_OUTAGE_MS } from '../kube/apierror.js';
import { connectionOptions, type ConnectionFlags, type ConnectionOptions } from '../kube/connection.js';
import { labelSelectorFlag, namesOrSelector } from '../kube/selector.js';
import type { PlanOptions } from './model.js';

/** study-drain's defaults, which study maintain's drains share (through lib.ts). */
export const DRAIN_DEFAULTS = {
  /** --grace-period: -1, each pod's own terminationGracePeriodSeconds. */
  gracePeriodSeconds: -1,
  /** --concurrency: evictions in flight at most. */
  concurrency: 10,
  /** Each request's bound when --request-timeout is 0: a drain never waits on one request for ever. */
  requestTimeoutMs: 30_000,
} as const;

export interface DrainOptions {
  connection: ConnectionOptions;
  nodes: string[];
  selector?: string;
  plan: PlanOptions;
  dryRun: boolean;
  /** Seconds each pod gets to terminate; -1: the pod's own. */
  gracePeriodSeconds: number;
  /** The whole drain, in ms; 0: no limit. */
  timeoutMs: number;
  skipWaitForDeleteTimeoutSeconds: number;
  concurrency: number;
  waitHealthy: boolean;
  yes: boolean;
  /** How long an API server that answered before may stay unreachable. */
  apiOutageMs: number;
}

/** The flags as the command line gives them (strings where kubectl takes text). */
export interface DrainFlags extends ConnectionFlags {
  dryRun?: string | boolean;
  selector?: string;
  podSelector?: string;
  force?: boolean;
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  disableEviction?: boolean;
  ignoreOptOuts?: boolean;
  strict?: boolean;
  allowUnplaceable?: boolean;
  gracePeriod?: string;
  timeout?: string;
  skipWaitForDeleteTimeout?: string;
  concurrency?: string;
  waitHealthy?: boolean;
  yes?: boolean;
  apiOutageTimeout?: string;
}

export function drainOptions(nodes: readonly string[], f: DrainFlags): DrainOptions {
  const target = namesOrSelector('node', nodes, f.selector, 'kubectl study-drain NODE [NODE...]');
  const plan: PlanOptions = {
    force: f.force === true,
    ignoreDaemonSets: f.ignoreDaemonsets === true,
    deleteEmptyDirData: f.deleteEmptydirData === true,
    disableEviction: f.disableEviction === true,
    ignoreOptOuts: f.ignoreOptOuts === true,
    strict: f.strict === true,
  };
  if (f.podSelector !== undefined) plan.podSelector = labelSelectorFlag('--pod-selector', f.podSelector);
  if (f.allowUnplaceable === true) plan.allowUnplaceable = true;
  const out: DrainOptions = {
    connection: connectionOptions(f),
    nodes: target.names,
    plan,
    dryRun: dryRunFlag(f.dryRun),
    gracePeriodSeconds: intFlag('--grace-period', f.gracePeriod ?? String(DRAIN_DEFAULTS.gracePeriodSeconds), {
      min: -1,
    }),
    timeoutMs: durationFlag('--timeout', f.timeout ?? '0'),
    skipWaitForDeleteTimeoutSeconds: intFlag('--skip-wait-for-delete-timeout', f.skipWaitForDeleteTimeout ?? '0', {
      min: 0,
    }),
    concurrency: intFlag('--concurrency', f.concurrency ?? String(DRAIN_DEFAULTS.concurrency), { min: 1 }),
    waitHealthy: f.waitHealthy === true,
    yes: f.yes === true,
    apiOutageMs:
      f.apiOutageTimeout === undefined
        ? DEFAULT_OUTAGE_MS
        : durationFlag('--api-outage-timeout', f.apiOutageTimeout, { zero: false }),
  };
  if (target.selector !== undefined) out.selector = target.selector;
  return out;
}

export interface UncordonOptions {
  connection: ConnectionOptions;
  nodes: string[];
}

export function uncordonOptions(nodes: readonly string[], f: ConnectionFlags): UncordonOptions {
  if (nodes.length === 0)
    throw new UsageError('name at least one node to uncordon', { hint: 'kubectl study-drain uncordon NODE [NODE...]' });
  return { connection: connectionOptions(f), nodes: objectNames('node', nodes) };
}
