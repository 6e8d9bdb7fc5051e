/**
 * study-drain's options: one typed value, bound from the flags and
 * validated here, once, before any API call. Pure.
 */
import { UsageError } from '../base/errors.js';
import { dryRunFlag, durationFlag, intFlag, objectNames } from '../base/parse.js';
import { DEFAULT_OUTAGE_MS } from '../kube/apierror.js';
import { connectionOptions, type ConnectionFlags, type ConnectionOptions } from '../kube/connection.js';
import { labelSelectorFlag, namesOrSelector } from '../kube/selector.js';
import { DRAIN_DEFAULTS } from './defaults.js';
import type { PlanOptions } from './model.js';

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

export function drainOptions(nodes: readonly string[], flags: DrainFlags): DrainOptions {
  const target = namesOrSelector('node', nodes, flags.selector, 'kubectl study-drain NODE [NODE...]');
  const plan: PlanOptions = {
    force: flags.force === true,
    ignoreDaemonSets: flags.ignoreDaemonsets === true,
    deleteEmptyDirData: flags.deleteEmptydirData === true,
    disableEviction: flags.disableEviction === true,
    ignoreOptOuts: flags.ignoreOptOuts === true,
    strict: flags.strict === true,
  };
  if (flags.podSelector !== undefined) plan.podSelector = labelSelectorFlag('--pod-selector', flags.podSelector);
  if (flags.allowUnplaceable === true) plan.allowUnplaceable = true;
  const out: DrainOptions = {
    connection: connectionOptions(flags),
    nodes: target.names,
    plan,
    dryRun: dryRunFlag(flags.dryRun),
    gracePeriodSeconds: intFlag('--grace-period', flags.gracePeriod ?? String(DRAIN_DEFAULTS.gracePeriodSeconds), {
      min: -1,
    }),
    timeoutMs: durationFlag('--timeout', flags.timeout ?? '0'),
    skipWaitForDeleteTimeoutSeconds: intFlag('--skip-wait-for-delete-timeout', flags.skipWaitForDeleteTimeout ?? '0', {
      min: 0,
    }),
    concurrency: intFlag('--concurrency', flags.concurrency ?? String(DRAIN_DEFAULTS.concurrency), { min: 1 }),
    waitHealthy: flags.waitHealthy === true,
    yes: flags.yes === true,
    apiOutageMs:
      flags.apiOutageTimeout === undefined
        ? DEFAULT_OUTAGE_MS
        : durationFlag('--api-outage-timeout', flags.apiOutageTimeout, { zero: false }),
  };
  if (target.selector !== undefined) out.selector = target.selector;
  return out;
}

export interface UncordonOptions {
  connection: ConnectionOptions;
  nodes: string[];
}

export function uncordonOptions(nodes: readonly string[], flags: ConnectionFlags): UncordonOptions {
  if (nodes.length === 0)
    throw new UsageError('name at least one node to uncordon', { hint: 'kubectl study-drain uncordon NODE [NODE...]' });
  return { connection: connectionOptions(flags), nodes: objectNames('node', nodes) };
}
