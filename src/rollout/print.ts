/** Human output of study-rollout, and the status watch's progress (live view, lines, or JSON lines). */
import type { Rows, RunContext } from '../base/run.js';
import { renderTable } from '../base/table.js';
import { colorEnabled, liveView, paint } from '../base/terminal.js';
import { templateYaml, type History } from './history.js';
import type { Target } from './model.js';
import {
  fatalFor,
  type HistoryResult,
  type RevisionDiff,
  type RolloutStatusSummary,
  type StatusHooks,
  type StatusResult,
  type UndoResult,
  type WatchedItem,
} from './run.js';
import { statusLine, type RolloutStatus } from './status.js';

/**
 * Ready against wanted, never an impossible "3/2": while a revision scales
 * down, its ready pods can outnumber what it wants for a moment.
 */
export function replicasText(ready: number, desired: number): string {
  return ready <= desired ? `${ready}/${desired}` : `${desired}/${desired} (+${ready - desired} going away)`;
}

/** The live view: workload -> revision (ReplicaSet/ControllerRevision) -> pods, with status and reason. */
export function renderLive(status: RolloutStatus, colour: boolean): string {
  const head = status.done
    ? paint(colour, 'green', 'complete')
    : status.failed
      ? paint(colour, 'red', 'failed')
      : paint(colour, 'yellow', status.state);
  let out = `${status.kind.toLowerCase()}/${status.name}  ${head}  ${status.strategy}  revision ${status.revision}\n`;
  out += `  ${status.message}\n`;
  const replicas = status.replicas;
  const terminating = replicas.terminating ? `, ${replicas.terminating} terminating` : '';
  out +=
    `  replicas: ${replicas.desired} desired, ${replicas.updated} updated, ` +
    `${replicas.ready} ready, ${replicas.available} available${terminating}\n`;
  for (const rev of status.revisions) {
    const mark = rev.current ? '*' : ' ';
    out += `  ${mark} revision ${rev.revision || '?'}  ${rev.name}  ${replicasText(rev.ready, rev.desired)} ready\n`;
    for (const p of rev.pods) {
      const state = p.ready
        ? paint(colour, 'green', 'Ready')
        : paint(colour, p.reason ? 'red' : 'yellow', p.reason || p.phase);
      out += `      ${p.name}  ${state}${p.restarts ? `  restarts ${p.restarts}` : ''}${p.node ? `  ${p.node}` : ''}\n`;
    }
  }
  for (const p of status.problems)
    out += `  ${paint(colour, 'red', p.code)}${p.pod ? ` ${p.pod}` : ''}: ${p.message}\n`;
  if (status.stragglers?.length) out += `  waiting on nodes: ${status.stragglers.join(', ')}\n`;
  return out;
}

export function renderSummary(
  items: Array<{ target: Target; status?: RolloutStatus }>,
  failFast: boolean,
  colour: boolean,
): string {
  const rows = items.map(({ target, status }) => {
    const state = !status
      ? 'unknown'
      : status.done
        ? 'complete'
        : status.failed || fatalFor(status, failFast)
          ? 'failed'
          : 'not done';
    const colourOf = state === 'complete' ? 'green' : state === 'failed' ? 'red' : 'yellow';
    return [
      `${target.kind.toLowerCase()}/${target.name}`,
      paint(colour, colourOf, state),
      status?.message ?? '',
      status?.problems.map((p) => `${p.code}: ${p.message}`).join('; ') ?? '',
    ];
  });
  return renderTable(['NAME', 'STATE', 'MESSAGE', 'WHY'], rows);
}

/** A revision's cells, REVISION (and the numbers it had before a rollback) to CURRENT. */
function historyRow(revision: History['revisions'][number], colour: boolean): string[] {
  return [
    `${revision.revision}${revision.previousRevisions.length ? ` (was ${revision.previousRevisions.join(',')})` : ''}`,
    revision.age,
    revision.images.join(', '),
    revision.changeCause,
    replicasText(revision.replicas.ready, revision.replicas.desired),
    revision.current ? paint(colour, 'green', '*') : ' ',
  ];
}

export function renderHistory(history: History, colour: boolean): string {
  const rows = history.revisions.map((revision) => historyRow(revision, colour));
  let out = `${history.workload.kind.toLowerCase()}.apps/${history.workload.name}\n`;
  out += history.revisions.length
    ? renderTable(['REVISION', 'AGE', 'IMAGES', 'CHANGE-CAUSE', 'REPLICAS', 'CURRENT'], rows)
    : 'No rollout history found.\n';
  const renumbered = history.revisions.filter((revision) => revision.previousRevisions.length);
  for (const revision of renumbered) {
    out +=
      `Revision ${revision.revision} is revision ${revision.previousRevisions.join(', ')} restored by a rollback ` +
      '(the number changed; the template did not).\n';
  }
  return out;
}

/** One JSON object per change, for -o json watches. */
function statusJsonLine(status: RolloutStatus, failFast: boolean): string {
  return JSON.stringify({
    time: new Date().toISOString(),
    kind: status.kind,
    namespace: status.namespace,
    name: status.name,
    state: status.state,
    done: status.done,
    failed: status.failed || fatalFor(status, failFast),
    message: status.message,
    replicas: status.replicas,
    problems: status.problems,
    stragglers: status.stragglers ?? [],
  });
}

/**
 * Progress of a status watch: on a terminal a live view on stderr; else one
 * line per change on stdout (a JSON object per line with -o json).
 */
export function statusHooks(ctx: RunContext, failFast: boolean): (items: WatchedItem[]) => Promise<StatusHooks> {
  const { io } = ctx;
  const json = ctx.output === 'json';
  const colour = colorEnabled(io, io.stderr);
  return async (items) => {
    const view = json ? undefined : await liveView(io, io.stderr);
    const last = new Map<WatchedItem, string>();
    const draw = (): void =>
      view?.update(
        items
          .map((t) =>
            t.status ? renderLive(t.status, colour) : `${t.target.kind.toLowerCase()}/${t.target.name}: reading...\n`,
          )
          .join(''),
      );
    draw();
    return {
      onStatus(item) {
        const status = item.status!;
        const line = statusLine(status);
        if (line !== last.get(item)) {
          last.set(item, line);
          if (json) io.stdout.write(`${statusJsonLine(status, failFast)}\n`);
          else if (!view?.live) io.stdout.write(`${line}\n`);
        }
        draw();
      },
      stop: () => view?.stop(),
    };
  };
}

export function renderStatusResult(result: StatusResult, colour: boolean): string {
  if (result.kind === 'RolloutStatusList') return result.items.map((s) => `${statusLine(s)}\n`).join('');
  return `\n${renderSummary(result.items, result.failFast, colour)}`;
}

/** What -o json prints at the end of a watch (one line), or for --watch=false. */
export function statusDocument(result: StatusResult): unknown {
  if (result.kind === 'RolloutStatusList') return result;
  return summaryDocument(result);
}

function summaryDocument(result: RolloutStatusSummary): unknown {
  return {
    kind: 'RolloutStatusSummary',
    apiVersion: result.apiVersion,
    serverRelease: result.serverRelease,
    rules: result.rules,
    ended: result.ended,
    items: result.items.map((t) => ({
      kind: t.target.kind,
      name: t.target.name,
      state: t.status?.state ?? 'unknown',
      done: t.status?.done ?? false,
      message: t.status?.message ?? '',
    })),
  };
}

export function renderHistoryResult(result: HistoryResult, colour: boolean): string {
  if ('history' in result) return renderHistory(result.history, colour);
  const { target, revision } = result;
  const was = revision.previousRevisions.length ? ` (was ${revision.previousRevisions.join(', ')})` : '';
  return (
    `${target.kind.toLowerCase()}/${target.name} revision ${revision.revision}${was}, from ${revision.source}:\n` +
    templateYaml(revision.template)
  );
}

/** -o json of history: the revisions without their templates; of one revision: all of it. */
export function historyDocument(result: HistoryResult): unknown {
  if (!('history' in result)) return result.revision;
  return {
    ...result.history,
    revisions: result.history.revisions.map(({ template: _t, annotations: _a, ...rest }) => rest),
  };
}

export function renderDiff(diff: RevisionDiff): string {
  return diff.diff ? `${diff.diff.trimEnd()}\n` : `${diff.from} and ${diff.to} have the same pod template\n`;
}

export function renderUndo(result: UndoResult, colour: boolean): string {
  const label = `${result.plan.workload.kind.toLowerCase()}.apps/${result.plan.workload.name}`;
  if (result.plan.skipped)
    return `${label} skipped rollback (current template already matches revision ${result.plan.toRevision})\n`;
  if (result.dryRun)
    return (
      `${label}: rolling back to revision ${result.plan.toRevision} would change the pod template:\n` +
      `${result.plan.diff.trimEnd()}\n(dry run: nothing was changed)\n`
    );
  const status = result.status ? renderStatusResult(result.status, colour) : '';
  return `${label} rolled back to revision ${result.plan.toRevision}\n${status}`;
}

export function undoDocument(result: UndoResult): unknown {
  return {
    ...result.plan,
    applied: result.applied,
    ...(result.status ? { status: summaryDocument(result.status) } : {}),
  };
}

/** Each workload's status, one row each, for a question asked of many contexts; one never read is unknown. */
export function statusRows(result: StatusResult): Rows {
  const rows =
    result.kind === 'RolloutStatusList'
      ? result.items.map(statusRow)
      : result.items.map((t) =>
          t.status ? statusRow(t.status) : [`${t.target.kind.toLowerCase()}/${t.target.name}`, 'unknown', 'no', '', ''],
        );
  return { headers: ['WORKLOAD', 'STATE', 'DONE', 'REPLICAS', 'MESSAGE'], rows, empty: '(no workload)' };
}

function statusRow(s: RolloutStatus): string[] {
  return [
    `${s.kind.toLowerCase()}/${s.name}`,
    s.state,
    s.done ? 'yes' : 'no',
    replicasText(s.replicas.ready, s.replicas.desired),
    s.problems[0]?.message ?? s.message,
  ];
}

/** The workloads not done (or never read), by context. Pure. */
export function notDoneByContext(answers: ReadonlyArray<{ context: string; result: StatusResult }>): string[] {
  if (answers.length < 2) return [];
  const lines = answers.flatMap(({ context, result }) => {
    const pending = statusRows(result).rows.filter((r) => r[2] !== 'yes');
    return pending.length ? [`  ${context}: ${pending.map((r) => `${r[0]} (${r[1]})`).join(', ')}`] : [];
  });
  return lines.length
    ? [`Not done in ${lines.length} of ${answers.length} contexts:`, ...lines]
    : [`Done in all ${answers.length} contexts.`];
}

/** History's revisions, one row each. */
export function historyRows(result: HistoryResult, colour: boolean): Rows {
  if (!('history' in result))
    return {
      headers: ['WORKLOAD', 'REVISION', 'IMAGES'],
      rows: [
        [
          `${result.target.kind.toLowerCase()}/${result.target.name}`,
          String(result.revision.revision),
          result.revision.images.join(', '),
        ],
      ],
      empty: '',
    };
  const { history } = result;
  return {
    headers: ['WORKLOAD', 'REVISION', 'AGE', 'IMAGES', 'CHANGE-CAUSE', 'REPLICAS', 'CURRENT'],
    rows: history.revisions.map((revision) => [
      `${history.workload.kind.toLowerCase()}/${history.workload.name}`,
      ...historyRow(revision, colour),
    ]),
    empty: '(no rollout history)',
  };
}
