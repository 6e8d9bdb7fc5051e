/** Human output of study-rollout, and the status watch's progress (live view, lines, or JSON lines). */
import type { RunContext } from '../base/run.js';
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
export function renderLive(s: RolloutStatus, colour: boolean): string {
  const head = s.done
    ? paint(colour, 'green', 'complete')
    : s.failed
      ? paint(colour, 'red', 'failed')
      : paint(colour, 'yellow', s.state);
  let out = `${s.kind.toLowerCase()}/${s.name}  ${head}  ${s.strategy}  revision ${s.revision}\n`;
  out += `  ${s.message}\n`;
  const r = s.replicas;
  out += `  replicas: ${r.desired} desired, ${r.updated} updated, ${r.ready} ready, ${r.available} available\n`;
  for (const rev of s.revisions) {
    out += `  ${rev.current ? '*' : ' '} revision ${rev.revision || '?'}  ${rev.name}  ${replicasText(rev.ready, rev.desired)} ready\n`;
    for (const p of rev.pods) {
      const state = p.ready
        ? paint(colour, 'green', 'Ready')
        : paint(colour, p.reason ? 'red' : 'yellow', p.reason || p.phase);
      out += `      ${p.name}  ${state}${p.restarts ? `  restarts ${p.restarts}` : ''}${p.node ? `  ${p.node}` : ''}\n`;
    }
  }
  for (const p of s.problems) out += `  ${paint(colour, 'red', p.code)}${p.pod ? ` ${p.pod}` : ''}: ${p.message}\n`;
  if (s.stragglers?.length) out += `  waiting on nodes: ${s.stragglers.join(', ')}\n`;
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

export function renderHistory(h: History, colour: boolean): string {
  const rows = h.revisions.map((r) => [
    `${r.revision}${r.previousRevisions.length ? ` (was ${r.previousRevisions.join(',')})` : ''}`,
    r.age,
    r.images.join(', '),
    r.changeCause,
    replicasText(r.replicas.ready, r.replicas.desired),
    r.current ? paint(colour, 'green', '*') : ' ',
  ]);
  let out = `${h.workload.kind.toLowerCase()}.apps/${h.workload.name}\n`;
  out += h.revisions.length
    ? renderTable(['REVISION', 'AGE', 'IMAGES', 'CHANGE-CAUSE', 'REPLICAS', 'CURRENT'], rows)
    : 'No rollout history found.\n';
  const renumbered = h.revisions.filter((r) => r.previousRevisions.length);
  for (const r of renumbered) {
    out += `Revision ${r.revision} is revision ${r.previousRevisions.join(', ')} restored by a rollback (the number changed; the template did not).\n`;
  }
  return out;
}

/** One JSON object per change, for -o json watches. */
function statusJsonLine(s: RolloutStatus, failFast: boolean): string {
  return JSON.stringify({
    time: new Date().toISOString(),
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    state: s.state,
    done: s.done,
    failed: s.failed || fatalFor(s, failFast),
    message: s.message,
    replicas: s.replicas,
    problems: s.problems,
    stragglers: s.stragglers ?? [],
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
        const s = item.status!;
        const line = statusLine(s);
        if (line !== last.get(item)) {
          last.set(item, line);
          if (json) io.stdout.write(`${statusJsonLine(s, failFast)}\n`);
          else if (!view?.live) io.stdout.write(`${line}\n`);
        }
        draw();
      },
      stop: () => view?.stop(),
    };
  };
}

export function renderStatusResult(r: StatusResult, colour: boolean): string {
  if (r.kind === 'RolloutStatusList') return r.items.map((s) => `${statusLine(s)}\n`).join('');
  return `\n${renderSummary(r.items, r.failFast, colour)}`;
}

/** What -o json prints at the end of a watch (one line), or for --watch=false. */
export function statusDocument(r: StatusResult): unknown {
  if (r.kind === 'RolloutStatusList') return r;
  return summaryDocument(r);
}

function summaryDocument(r: RolloutStatusSummary): unknown {
  return {
    kind: 'RolloutStatusSummary',
    apiVersion: r.apiVersion,
    ended: r.ended,
    items: r.items.map((t) => ({
      kind: t.target.kind,
      name: t.target.name,
      state: t.status?.state ?? 'unknown',
      done: t.status?.done ?? false,
      message: t.status?.message ?? '',
    })),
  };
}

export function renderHistoryResult(r: HistoryResult, colour: boolean): string {
  if ('history' in r) return renderHistory(r.history, colour);
  const { target: t, revision } = r;
  return `${t.kind.toLowerCase()}/${t.name} revision ${revision.revision}${revision.previousRevisions.length ? ` (was ${revision.previousRevisions.join(', ')})` : ''}, from ${revision.source}:\n${templateYaml(revision.template)}`;
}

/** -o json of history: the revisions without their templates; of one revision: all of it. */
export function historyDocument(r: HistoryResult): unknown {
  if (!('history' in r)) return r.revision;
  return { ...r.history, revisions: r.history.revisions.map(({ template: _t, annotations: _a, ...rest }) => rest) };
}

export function renderDiff(d: RevisionDiff): string {
  return d.diff ? `${d.diff.trimEnd()}\n` : `${d.from} and ${d.to} have the same pod template\n`;
}

export function renderUndo(r: UndoResult, colour: boolean): string {
  const label = `${r.plan.workload.kind.toLowerCase()}.apps/${r.plan.workload.name}`;
  if (r.plan.skipped)
    return `${label} skipped rollback (current template already matches revision ${r.plan.toRevision})\n`;
  if (r.dryRun)
    return `${label}: rolling back to revision ${r.plan.toRevision} would change the pod template:\n${r.plan.diff.trimEnd()}\n(dry run: nothing was changed)\n`;
  return `${label} rolled back to revision ${r.plan.toRevision}\n${r.status ? renderStatusResult(r.status, colour) : ''}`;
}

export function undoDocument(r: UndoResult): unknown {
  return { ...r.plan, applied: r.applied, ...(r.status ? { status: summaryDocument(r.status) } : {}) };
}
