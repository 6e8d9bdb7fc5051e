/** study maintain as the wiring runs it: connected to the cluster here, so the run itself is tested against a fake. */
import type { Command } from '../base/run.js';
import { DRAIN_DEFAULTS } from '../drain/lib.js';
import { connect } from '../kube/client.js';
import { clusterMaintainApi } from './api.js';
import type { MaintainReport } from './model.js';
import type { MaintainOptions } from './options.js';
import { maintainHooks, renderReport } from './print.js';
import { maintainExitCode, runMaintain } from './run.js';

export const maintainCommand: Command<MaintainOptions, MaintainReport> = {
  run: async (ctx, options) => {
    const client = connect(options.connection, {
      timeoutMs: options.connection.requestTimeoutMs || DRAIN_DEFAULTS.requestTimeoutMs,
      outageMs: options.apiOutageMs,
    });
    return runMaintain(ctx, options, maintainHooks(ctx), { api: clusterMaintainApi(client, options, ctx.signal) });
  },
  exitCode: maintainExitCode,
  render: (report) => renderReport(report),
};
