/** study maintain's options: bound from the flags and validated here, once. Pure. */
import { UsageError } from '../base/errors.js';
import { durationFlag, exclusive, intFlag, namespaceName } from '../base/parse.js';
import { DEFAULT_OUTAGE_MS } from '../kube/apierror.js';
import { connectionOptions, type ConnectionFlags, type ConnectionOptions } from '../kube/connection.js';
import type { PlanOptions } from '../drain/lib.js';
import type { ScheduleFlags } from './schedule.js';
import { parseWindow } from './window.js';
import { namesOrSelector } from '../kube/selector.js';

export interface MaintainOptions {
  connection: ConnectionOptions;
  nodes: string[];
  selector?: string;
  /** The operator's command for each node (by /bin/sh, the node in $NODE). */
  run?: string;
  /** Hooks per node, by /bin/sh with $NODE as --run: after the plan and before the drain; after the recovery check. */
  before?: string;
  after?: string;
  /** Instead of --run: wait for this file before bringing each node back. */
  waitFile?: string;
  maxUnavailable: number;
  /** A local copy of the run's state (the cluster keeps it too, beside the Lease); required only where it cannot. */
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
  /** After each drain, wait until no volume is attached to the node (unless --skip-volume-detach-wait), this long at most. */
  volumeDetach: { wait: boolean; timeoutMs: number };
  /** --window, --pause-between, --outside-window as given; a part left out is kept from the run's state. */
  schedule: ScheduleFlags;
}

export interface MaintainFlags extends ConnectionFlags {
  selector?: string;
  run?: string;
  before?: string;
  after?: string;
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
  allowUnplaceable?: boolean;
  lockNamespace?: string;
  lockDuration?: string;
  apiOutageTimeout?: string;
  resumeStep?: string;
  volumeDetachTimeout?: string;
  skipVolumeDetachWait?: boolean;
  window?: string[];
  pauseBetween?: string;
  outsideWindow?: string;
}

/** study maintain's own defaults, as the flags write them: the options and the help both read them here. */
export const MAINTAIN_DEFAULTS = {
  maxUnavailable: '1',
  drainTimeout: '10m',
  readyTimeout: '10m',
  recoverTimeout: '10m',
  lockNamespace: 'kube-system',
  lockDuration: '30s',
  volumeDetachTimeout: '5m',
} as const;

/** The lock is renewed this often; a lock shorter than two renewals could lapse between them. */
export const LOCK_RENEW_SECONDS = 2;
export const MIN_LOCK_SECONDS = 3 * LOCK_RENEW_SECONDS;

export function maintainOptions(nodes: readonly string[], flags: MaintainFlags, canAsk: boolean): MaintainOptions {
  const target = namesOrSelector(
    'node',
    nodes,
    flags.selector,
    'kubectl study maintain NODE [NODE...] --run COMMAND --journal FILE',
  );
  if (flags.run !== undefined && flags.run.trim() === '')
    throw new UsageError('--run was given an empty command', {
      hint: 'give the command to run on each node, e.g. --run ./upgrade.sh',
    });
  for (const [flag, value, example] of [
    ['--before', flags.before, './silence-alerts.sh'],
    ['--after', flags.after, './unsilence-alerts.sh'],
  ] as const) {
    if (value !== undefined && value.trim() === '')
      throw new UsageError(`${flag} was given an empty command`, {
        hint: `give the command to run for each node, e.g. ${flag} ${example} (the node is in $NODE)`,
      });
  }
  if (flags.waitFile !== undefined && flags.waitFile.trim() === '')
    throw new UsageError('--wait-file was given an empty path', {
      hint: 'give the file that says a node is done, e.g. --wait-file /tmp/done-$NODE',
    });
  if (flags.journal !== undefined && flags.journal.trim() === '')
    throw new UsageError('--journal was given an empty path', { hint: 'e.g. --journal ./maintenance.journal' });
  exclusive({ '--run': flags.run, '--wait-file': flags.waitFile });
  const dryRun = flags.dryRun === true;
  if (!dryRun && flags.run === undefined && flags.waitFile === undefined && !canAsk) {
    throw new UsageError(
      'say what to do on each node: --run COMMAND, or --wait-file FILE (or run on a terminal to be asked)',
    );
  }
  const lockMs = durationFlag('--lock-duration', flags.lockDuration ?? MAINTAIN_DEFAULTS.lockDuration, { zero: false });
  if (lockMs < MIN_LOCK_SECONDS * 1000) {
    throw new UsageError(`--lock-duration must be at least ${MIN_LOCK_SECONDS}s`, {
      hint: `the lock is renewed every ${LOCK_RENEW_SECONDS}s; a shorter lock could lapse between renewals`,
    });
  }
  const out: MaintainOptions = {
    connection: connectionOptions(flags),
    nodes: target.names,
    maxUnavailable: intFlag('--max-unavailable', flags.maxUnavailable ?? MAINTAIN_DEFAULTS.maxUnavailable, { min: 1 }),
    dryRun,
    yes: flags.yes === true,
    timeoutMs: durationFlag('--timeout', flags.timeout ?? '0'),
    drainTimeoutMs: durationFlag('--drain-timeout', flags.drainTimeout ?? MAINTAIN_DEFAULTS.drainTimeout),
    readyTimeoutMs: durationFlag('--ready-timeout', flags.readyTimeout ?? MAINTAIN_DEFAULTS.readyTimeout, {
      zero: false,
    }),
    recoverTimeoutMs: durationFlag('--recover-timeout', flags.recoverTimeout ?? MAINTAIN_DEFAULTS.recoverTimeout, {
      zero: false,
    }),
    plan: {
      force: flags.force === true,
      ignoreDaemonSets: flags.ignoreDaemonsets === true,
      deleteEmptyDirData: flags.deleteEmptydirData === true,
      disableEviction: false,
      ignoreOptOuts: flags.ignoreOptOuts === true,
      strict: false,
      allowUnplaceable: flags.allowUnplaceable === true,
    },
    lockNamespace: namespaceName('--lock-namespace', flags.lockNamespace ?? MAINTAIN_DEFAULTS.lockNamespace),
    lockDurationSeconds: Math.ceil(lockMs / 1000),
    apiOutageMs:
      flags.apiOutageTimeout === undefined
        ? DEFAULT_OUTAGE_MS
        : durationFlag('--api-outage-timeout', flags.apiOutageTimeout, { zero: false }),
    volumeDetach: volumeDetachOptions(flags),
    schedule: scheduleFlags(flags),
  };
  if (target.selector !== undefined) out.selector = target.selector;
  if (flags.resumeStep !== undefined) {
    if (flags.resumeStep !== 'rerun' && flags.resumeStep !== 'skip')
      throw new UsageError(`--resume-step takes rerun or skip, not "${flags.resumeStep}"`, {
        hint: 'rerun: run the interrupted command again; skip: it finished',
      });
    out.resumeStep = flags.resumeStep;
  }
  if (flags.run !== undefined) out.run = flags.run;
  if (flags.before !== undefined) out.before = flags.before;
  if (flags.after !== undefined) out.after = flags.after;
  if (flags.waitFile !== undefined) out.waitFile = flags.waitFile;
  if (flags.journal) out.journal = flags.journal;
  return out;
}

function volumeDetachOptions(flags: MaintainFlags): MaintainOptions['volumeDetach'] {
  const wait = flags.skipVolumeDetachWait !== true;
  if (!wait && flags.volumeDetachTimeout !== undefined)
    throw new UsageError('--volume-detach-timeout and --skip-volume-detach-wait cannot be used together', {
      hint: 'keep --volume-detach-timeout to wait that long, or --skip-volume-detach-wait not to wait at all',
    });
  return {
    wait,
    timeoutMs: durationFlag(
      '--volume-detach-timeout',
      flags.volumeDetachTimeout ?? MAINTAIN_DEFAULTS.volumeDetachTimeout,
      {
        zero: false,
      },
    ),
  };
}

function scheduleFlags(flags: MaintainFlags): ScheduleFlags {
  const out: ScheduleFlags = {};
  if (flags.window?.length) out.windows = flags.window.map(parseWindow);
  if (flags.pauseBetween !== undefined) out.pauseBetweenMs = durationFlag('--pause-between', flags.pauseBetween);
  if (flags.outsideWindow !== undefined) {
    if (flags.outsideWindow !== 'wait' && flags.outsideWindow !== 'stop')
      throw new UsageError(`--outside-window takes wait or stop, not "${flags.outsideWindow}"`, {
        hint: 'wait: the run waits for the next window; stop: it stops cleanly and says when that opens',
      });
    out.outsideWindow = flags.outsideWindow;
  }
  return out;
}

export interface MaintainStatusOptions {
  connection: ConnectionOptions;
  lockNamespace: string;
}

export interface MaintainStatusFlags extends ConnectionFlags {
  lockNamespace?: string;
}

export function maintainStatusOptions(flags: MaintainStatusFlags): MaintainStatusOptions {
  return {
    connection: connectionOptions(flags),
    lockNamespace: namespaceName('--lock-namespace', flags.lockNamespace ?? MAINTAIN_DEFAULTS.lockNamespace),
  };
}
