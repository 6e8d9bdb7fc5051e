/** whocan's and study-access's commands as the wiring runs them. */
import type { Command } from '../base/run.js';
import { releaseLines } from '../kube/release.js';
import { accessExitCode, runAccess, runWhy, whyExitCode, type AccessMatrix, type WhyResult } from './access.js';
import type { AccessOptions, WhoCanOptions, WhyOptions } from './options.js';
import {
  matrixRows,
  missingText,
  renderMatrix,
  renderWhoCan,
  renderWhy,
  whoCanDrift,
  whoCanRows,
  whyRows,
} from './print.js';
import { runWhoCan, whoCanExitCode, type WhoCanResult } from './whocan.js';

export const whoCanCommand: Command<WhoCanOptions, WhoCanResult> = {
  run: runWhoCan,
  exitCode: whoCanExitCode,
  render: (r, view) => renderWhoCan(r, view.wide, view.colour),
  rows: (r, view) => whoCanRows(r, view.wide, view.colour),
  compare: whoCanDrift,
  info: (r) => releaseLines(r, 'info'),
  warnings: (r) => [...releaseLines(r, 'warning'), ...r.warnings],
  failure: (r) =>
    r.incomplete && r.subjects.length === 0
      ? {
          message: `no subject found, but the answer is incomplete: ${missingText(r.missing)}`,
          hint:
            'run as someone who may read RBAC objects ' +
            '(list roles, rolebindings, clusterroles, clusterrolebindings)',
        }
      : undefined,
};

export const accessCommand: Command<AccessOptions, AccessMatrix> = {
  run: runAccess,
  exitCode: accessExitCode,
  render: (r, view) => renderMatrix(r, view.colour),
  rows: (r, view) => matrixRows(r, view.colour),
  info: (r) => releaseLines(r, 'info'),
  warnings: (r) => [...releaseLines(r, 'warning'), ...r.warnings],
};

export const whyCommand: Command<WhyOptions, WhyResult> = {
  run: runWhy,
  exitCode: whyExitCode,
  render: (r) => renderWhy(r),
  rows: whyRows,
  warnings: (r) => r.warnings,
};
