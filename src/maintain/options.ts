/** study maintain's options: bound from the flags and validated here, once. Pure. */
import { UsageError } from '../base/errors.js';
import { durationFlag, exclusive, intFlag, namespaceName } from '../base/parse.js';
import { DEFAULT_OUTAGE_MS } from '../kube/apierror.js';
import { connectionOptions, type ConnectionFlags, type ConnectionOptions } from '../kube/connection.js';
import type { PlanOptions } from '../drain/lib.js';
import { namesOrSelector } from '../kube/selector.js';

export interface MaintainOptions {
  connection: ConnectionOptions;
  nodes: string[];
  selector?: string;
  /** The operator's command for each node (by /bin/sh, the node in $NODE). */
  run?: string;
  /** Instead of --run: wait for this file before bringing each node back. */
  waitFile?: string;
  maxUnavailable: number;
  journal?: string;
  dryRun: boolean;
  yes: boolean;
  /** The whole run, in ms; 0: no limit. */
  timeoutMs: number;
  /** One node's drain, in ms; 0: no limit. */
  drainTimeoutMs: number;
  readyTimeoutMs: number;
  recoverTimeoutMs: number;
  plan: PlanOptions;
  lockNamespace: string;
  lockDurationSeconds: number;
  /** How long an API server that answered before may stay unreachable. */
  apiOutageMs: number;
  /** For a command an earlier run started on another host: run it again, or take it as done. */
  resumeStep?: 'rerun' | 'skip';
}

export interface MaintainFlags extends ConnectionFlags {
  selector?: string;
  run?: string;
  waitFile?: string;
  maxUnavailable?: string;
  journal?: string;
  dryRun?: boolean;
  yes?: boolean;
  timeout?: string;
  drainTimeout?: string;
  readyTimeout?: string;
  recoverTimeout?: string;
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  force?: boolean;
  ignoreOptOuts?: boolean;
  lockNamespace?: string;
  lockDuration?: string;
  apiOutageTimeout?: string;
  resumeStep?: string;
}

/** The lock is renewed this often; a lock shorter than two renewals could lapse between them. */
export const LOCK_RENEW_SECONDS = 2;
export const MIN_LOCK_SECONDS = 3 * LOCK_RENEW_SECONDS;

export function maintainOptions(nodes: readonly string[], f: MaintainFlags, canAsk: boolean): MaintainOptions {
  const target = namesOrSelector(
    'node',
    nodes,
    f.selector,
    'kubectl study maintain NODE [NODE...] --run COMMAND --journal FILE',
  );
  if (f.run !== undefined && f.run.trim() === '')
    throw new UsageError('--run was given an empty command', {
      hint: 'give the command to run on each node, e.g. --run ./upgrade.sh',
    });
  if (f.waitFile !== undefined && f.waitFile.trim() === '')
    throw new UsageError('--wait-file was given an empty path', {
      hint: 'give the file that says a node is done, e.g. --wait-file /tmp/done-$NODE',
    });
  if (f.journal !== undefined && f.journal.trim() === '')
    throw new UsageError('--journal was given an empty path', { hint: 'e.g. --journal ./maintenance.journal' });
  exclusive({ '--run': f.run, '--wait-file': f.waitFile });
  const dryRun = f.dryRun === true;
  if (!dryRun && f.run === undefined && f.waitFile === undefined && !canAsk) {
    throw new UsageError(
      'say what to do on each node: --run COMMAND, or --wait-file FILE (or run on a terminal to be asked)',
    );
  }
  if (!dryRun && !f.journal)
    throw new UsageError('--journal FILE is required, so that a stopped run can be resumed', {
      hint: 'e.g. --journal ./maintenance.journal',
    });
  const lockMs = durationFlag('--lock-duration', f.lockDuration ?? '30s', { zero: false });
  if (lockMs < MIN_LOCK_SECONDS * 1000) {
    throw new UsageError(`--lock-duration must be at least ${MIN_LOCK_SECONDS}s`, {
      hint: `the lock is renewed every ${LOCK_RENEW_SECONDS}s; a shorter lock could lapse between renewals`,
    });
  }
  const out: MaintainOptions = {
    connection: connectionOptions(f),
    nodes: target.names,
    maxUnavailable: intFlag('--max-unavailable', f.maxUnavailable ?? '1', { min: 1 }),
    dryRun,
    yes: f.yes === true,
    timeoutMs: durationFlag('--timeout', f.timeout ?? '0'),
    drainTimeoutMs: durationFlag('--drain-timeout', f.drainTimeout ?? '10m'),
    readyTimeoutMs: durationFlag('--ready-timeout', f.readyTimeout ?? '10m', { zero: false }),
    recoverTimeoutMs: durationFlag('--recover-timeout', f.recoverTimeout ?? '10m', { zero: false }),
    plan: {
      force: f.force === true,
      ignoreDaemonSets: f.ignoreDaemonsets === true,
      deleteEmptyDirData: f.deleteEmptydirData === true,
      disableEviction: false,
      ignoreOptOuts: f.ignoreOptOuts === true,
      strict: false,
    },
    lockNamespace: namespaceName('--lock-namespace', f.lockNamespace ?? 'kube-system'),
    lockDurationSeconds: Math.ceil(lockMs / 1000),
    apiOutageMs:
      f.apiOutageTimeout === undefined
        ? DEFAULT_OUTAGE_MS
        : durationFlag('--api-outage-timeout', f.apiOutageTimeout, { zero: false }),
  };
  if (target.selector !== undefined) out.selector = target.selector;
  if (f.resumeStep !== undefined) {
    if (f.resumeStep !== 'rerun' && f.resumeStep !== 'skip')
      throw new UsageError(`--resume-step takes rerun or skip, not "${f.resumeStep}"`, {
        hint: 'rerun: run the interrupted command again; skip: it finished',
      });
    out.resumeStep = f.resumeStep;
  }
  if (f.run !== undefined) out.run = f.run;
  if (f.waitFile !== undefined) out.waitFile = f.waitFile;
  if (f.journal) out.journal = f.journal;
  return out;
}
