/** study-ctx's commands as the wiring runs them. */
import { ExitCode } from '../base/errors.js';
import type { Command } from '../base/run.js';
import type { CheckList } from './check.js';
import type { ContextDetail } from './detail.js';
import { hasErrors, type ContextList } from './inventory.js';
import type { CheckOptions, ListOptions, NamespaceOptions, ShowOptions, UseOptions } from './options.js';
import { renderCheckList, renderContextList, renderDetail, renderSwitch } from './print.js';
import { listExitCode, runCheck, runList, runNamespace, runShow, runUse } from './run.js';
import type { SwitchResult } from './switch.js';

type ListResult = ContextList & { checkList?: CheckList };

export const listCommand: Command<ListOptions, ListResult> = {
  run: runList,
  exitCode: listExitCode,
  render: (r, view) =>
    renderContextList(r, view.wide, view.colour) +
    (r.checkList ? `\n${renderCheckList(r.checkList, view.colour)}` : ''),
  document: ({ checkList, ...list }) => (checkList ? { ...list, checks: checkList.checks } : list),
};

export const checkCommand: Command<CheckOptions, CheckList> = {
  run: runCheck,
  exitCode: (r) => (r.checks.every((c) => c.ok) ? ExitCode.OK : ExitCode.BLOCKED),
  render: (r, view) => renderCheckList(r, view.colour),
};

export const showCommand: Command<ShowOptions, ContextDetail> = {
  run: runShow,
  exitCode: (r) => (hasErrors(r.problems) ? ExitCode.BLOCKED : ExitCode.OK),
  render: (r, view) => renderDetail(r, view.colour),
};

export const useCommand: Command<UseOptions, SwitchResult> = {
  run: runUse,
  exitCode: () => ExitCode.OK,
  render: renderSwitch,
};

export const namespaceCommand: Command<NamespaceOptions, SwitchResult> = {
  run: runNamespace,
  exitCode: () => ExitCode.OK,
  render: renderSwitch,
};
