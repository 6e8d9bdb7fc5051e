/** study-rollout's commands as the wiring runs them. */
import type { Command } from '../base/run.js';
import { ExitCode } from '../base/errors.js';
import { releaseLines } from '../kube/release.js';
import type { DiffOptions, HistoryOptions, StatusOptions, UndoOptions } from './options.js';
import {
  historyDocument,
  historyRows,
  notDoneByContext,
  renderDiff,
  renderHistoryResult,
  renderStatusResult,
  renderUndo,
  statusDocument,
  statusHooks,
  statusRows,
  undoDocument,
} from './print.js';
import {
  runDiff,
  runHistory,
  runStatus,
  runUndo,
  statusExitCode,
  statusFailure,
  undoExitCode,
  type HistoryResult,
  type RevisionDiff,
  type StatusResult,
  type UndoResult,
} from './run.js';

export const statusCommand: Command<StatusOptions, StatusResult> = {
  run: (ctx, o) => runStatus(ctx, o, statusHooks(ctx, o.failFast)),
  exitCode: statusExitCode,
  info: (r) => releaseLines(r, 'info'),
  warnings: (r) => releaseLines(r, 'warning'),
  render: (r, view) => renderStatusResult(r, view.colour),
  rows: statusRows,
  compare: notDoneByContext,
  waitsMs: (o) => (o.watch ? o.timeoutMs : 0),
  bounded: (o, ms) => (o.watch && o.timeoutMs === 0 ? { ...o, timeoutMs: ms } : o),
  document: statusDocument,
  jsonLines: (r) => r.kind === 'RolloutStatusSummary',
  failure: statusFailure,
};

export const historyCommand: Command<HistoryOptions, HistoryResult> = {
  run: runHistory,
  exitCode: () => ExitCode.OK,
  info: (r) => releaseLines('history' in r ? r.history : r.release, 'info'),
  warnings: (r) => releaseLines('history' in r ? r.history : r.release, 'warning'),
  render: (r, view) => renderHistoryResult(r, view.colour),
  rows: (r, view) => historyRows(r, view.colour),
  document: historyDocument,
};

export const diffCommand: Command<DiffOptions, RevisionDiff> = {
  run: runDiff,
  exitCode: () => ExitCode.OK,
  render: renderDiff,
};

export const undoCommand: Command<UndoOptions, UndoResult> = {
  run: (ctx, o) => runUndo(ctx, o, statusHooks(ctx, false)),
  exitCode: undoExitCode,
  // Only the status it followed (--watch) depends on the release.
  info: (r) => releaseLines(r.status, 'info'),
  warnings: (r) => releaseLines(r.status, 'warning'),
  render: (r, view) => renderUndo(r, view.colour),
  document: undoDocument,
  jsonLines: (r) => r.status !== undefined,
  failure: (r) => (r.status ? statusFailure(r.status) : undefined),
};
