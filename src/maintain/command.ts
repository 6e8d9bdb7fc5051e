/** study maintain as the wiring runs it: connected to the cluster here, so the run itself is tested against a fake. */
import type { Command } from '../base/run.js';
import { clusterDrainApi, DRAIN_DEFAULTS } from '../drain/lib.js';
import { connect } from '../kube/client.js';
import { ExitCode } from '../base/errors.js';
import { clusterConfigMaps, clusterMaintainApi } from './api.js';
import { LOCK_NAME, readLock } from './lease.js';
import type { MaintainReport, MaintainStatus } from './model.js';
import type { MaintainOptions, MaintainStatusOptions } from './options.js';
import { maintainHooks, renderReport, renderStatus } from './print.js';
import { maintainExitCode, runMaintain } from './run.js';
import { maintainStatus } from './status.js';
import { StateStore } from './store.js';

export const maintainCommand: Command<MaintainOptions, MaintainReport> = {
  run: async (ctx, options) => {
    const client = connect(options.connection, {
      timeoutMs: options.connection.requestTimeoutMs || DRAIN_DEFAULTS.requestTimeoutMs,
      outageMs: options.apiOutageMs,
      // A plan writes nothing: it stops with the command (Ctrl-C, or a context's deadline across contexts).
      ...(options.dryRun ? { signal: ctx.signal } : {}),
    });
    return runMaintain(ctx, options, maintainHooks(ctx), { api: clusterMaintainApi(client, options, ctx.signal) });
  },
  exitCode: maintainExitCode,
  render: (report) => renderReport(report),
  failure: maintainFailure,
};

/**
 * The one `error:` line of a run that did not finish, as study-drain says its own: what stopped it, and
 * (as the hint) what to run next. The report above it says what changed and what did not.
 */
export function maintainFailure(report: MaintainReport): { message: string; hint?: string } | undefined {
  const hint = report.next ? { hint: report.next } : {};
  switch (report.outcome) {
    case 'blocked':
      return { message: 'the maintenance run is blocked; nothing was changed (no node was cordoned)', ...hint };
    case 'failed':
    case 'timed-out':
    case 'interrupted': {
      const stopped = report.nodes.find((n) => n.status === 'failed' && n.detail);
      const how = { failed: 'failed', 'timed-out': 'timed out', interrupted: 'was interrupted' }[report.outcome];
      const message = stopped
        ? `the maintenance run stopped at ${stopped.node}: ${stopped.detail}`
        : `the maintenance run ${how}`;
      return { message, ...hint };
    }
    default:
      return undefined;
  }
}

/** `study maintain status`: reads the state and the lock; answers whatever they say (exit 0). */
export const maintainStatusCommand: Command<MaintainStatusOptions, MaintainStatus> = {
  run: async (ctx, options) => {
    const client = connect(options.connection, { signal: ctx.signal });
    const store = new StateStore(clusterConfigMaps(client), options.lockNamespace, LOCK_NAME);
    return maintainStatus(store, {
      readLock: () => readLock(client, { namespace: options.lockNamespace, name: LOCK_NAME, durationSeconds: 0 }),
      isCordoned: async (node) => (await clusterDrainApi(client).readNode(node)).spec?.unschedulable === true,
    });
  },
  exitCode: () => ExitCode.OK,
  render: (status) => renderStatus(status),
};
