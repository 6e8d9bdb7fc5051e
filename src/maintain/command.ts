/** study maintain as the wiring runs it. */
import type { Command } from '../base/run.js';
import type { MaintainReport } from './model.js';
import type { MaintainOptions } from './options.js';
import { maintainHooks, renderReport } from './print.js';
import { maintainExitCode, runMaintain } from './run.js';

export const maintainCommand: Command<MaintainOptions, MaintainReport> = {
  run: (ctx, o) => runMaintain(ctx, o, maintainHooks(ctx)),
  exitCode: maintainExitCode,
  render: (r) => renderReport(r),
};
