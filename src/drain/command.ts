/** study-drain's commands, as the wiring runs them: run, then the exit code and the printer. */
import type { Command } from '../base/run.js';
import { ExitCode } from '../base/errors.js';
import { connect } from '../kube/client.js';
import { releaseLines } from '../kube/release.js';
import { DRAIN_DEFAULTS } from './defaults.js';
import type { DrainOptions, UncordonOptions } from './options.js';
import { comparePlans, drainHooks, renderDrainOutput, renderUncordon } from './print.js';
import { drainOutputExitCode, runDrain, runUncordon, type DrainOutput, type UncordonResult } from './run.js';

export const drainCommand: Command<DrainOptions, DrainOutput> = {
  run: async (ctx, options) => {
    // In-flight writes are never cut by Ctrl-C (the report must be exact);
    // a stuck server is cut by the request timeout.
    const client = connect(options.connection, {
      timeoutMs: options.connection.requestTimeoutMs || DRAIN_DEFAULTS.requestTimeoutMs,
      outageMs: options.apiOutageMs,
      // A plan writes nothing: it stops with the command (Ctrl-C, or a context's deadline across contexts).
      ...(options.dryRun ? { signal: ctx.signal } : {}),
    });
    return runDrain(ctx, options, drainHooks(ctx), client);
  },
  exitCode: drainOutputExitCode,
  // Said here for a plan that is the result; a drain that went on said it with the plan (run.ts).
  info: (out) => releaseLines(out.kind === 'planned' ? out.plan : undefined, 'info'),
  warnings: (out) => releaseLines(out.kind === 'planned' ? out.plan : undefined, 'warning'),
  render: (out, view) => renderDrainOutput(out, view.wide, view.colour),
  compare: comparePlans,
  document: (out) => (out.kind === 'drained' ? out.result : out.plan),
  failure: (out) =>
    out.kind === 'planned' && !out.dryRun && out.plan.verdict === 'blocked'
      ? {
          message: 'the drain is blocked; nothing was changed (the node was not cordoned)',
          hint: 'the plan above says what blocks and which flag overrides it',
        }
      : undefined,
};

export const uncordonCommand: Command<UncordonOptions, UncordonResult> = {
  run: async (ctx, options) => runUncordon(ctx, options, connect(options.connection)),
  exitCode: () => ExitCode.OK,
  render: renderUncordon,
};
