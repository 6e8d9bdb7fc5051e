/** Human output of study-rollout. */
import { paint } from '../cli/output.js';
import { renderTable } from '../cli/table.js';
import type { History } from './history.js';
import type { Target } from './model.js';
import type { RolloutStatus } from './status.js';

/** The live view: workload -> revision (ReplicaSet/ControllerRevision) -> pods, with status and reason. */
export function renderLive(s: RolloutStatus, colour: boolean): string {
  const head = s.done ? paint(colour, 'green', 'complete') : s.failed ? paint(colour, 'red', 'failed') : paint(colour, 'yellow', s.state);
  let out = `${s.kind.toLowerCase()}/${s.name}  ${head}  ${s.strategy}  revision ${s.revision}\n`;
  out += `  ${s.message}\n`;
  const r = s.replicas;
  out += `  replicas: ${r.desired} desired, ${r.updated} updated, ${r.ready} ready, ${r.available} available\n`;
  for (const rev of s.revisions) {
    out += `  ${rev.current ? '*' : ' '} revision ${rev.revision || '?'}  ${rev.name}  ${rev.ready}/${rev.desired} ready\n`;
    for (const p of rev.pods) {
      const state = p.ready ? paint(colour, 'green', 'Ready') : paint(colour, p.reason ? 'red' : 'yellow', p.reason || p.phase);
      out += `      ${p.name}  ${state}${p.restarts ? `  restarts ${p.restarts}` : ''}${p.node ? `  ${p.node}` : ''}\n`;
    }
  }
  for (const p of s.problems) out += `  ${paint(colour, 'red', p.code)}${p.pod ? ` ${p.pod}` : ''}: ${p.message}\n`;
  if (s.stragglers?.length) out += `  waiting on nodes: ${s.stragglers.join(', ')}\n`;
  return out;
}

export function renderSummary(items: Array<{ target: Target; status?: RolloutStatus; finished: boolean }>, failFast: boolean, colour: boolean): string {
  const rows = items.map(({ target, status }) => {
    const fatal = failFast && status && !status.done && status.problems.length > 0;
    const state = !status ? 'unknown' : status.done ? 'complete' : status.failed || fatal ? 'failed' : 'not done';
    const colourOf = state === 'complete' ? 'green' : state === 'failed' ? 'red' : 'yellow';
    return [`${target.kind.toLowerCase()}/${target.name}`, paint(colour, colourOf, state), status?.message ?? '', status?.problems.map((p) => `${p.code}: ${p.message}`).join('; ') ?? ''];
  });
  return renderTable(['NAME', 'STATE', 'MESSAGE', 'WHY'], rows);
}

export function renderHistory(h: History, colour: boolean): string {
  const rows = h.revisions.map((r) => [
    `${r.revision}${r.previousRevisions.length ? ` (was ${r.previousRevisions.join(',')})` : ''}`,
    r.age,
    r.images.join(', '),
    r.changeCause,
    `${r.replicas.ready}/${r.replicas.desired}`,
    r.current ? paint(colour, 'green', '*') : ' ',
  ]);
  let out = `${h.workload.kind.toLowerCase()}.apps/${h.workload.name}\n`;
  out += h.revisions.length ? renderTable(['REVISION', 'AGE', 'IMAGES', 'CHANGE-CAUSE', 'REPLICAS', 'CURRENT'], rows) : 'No revisions.\n';
  const renumbered = h.revisions.filter((r) => r.previousRevisions.length);
  for (const r of renumbered) {
    out += `Revision ${r.revision} is revision ${r.previousRevisions.join(', ')} restored by a rollback (the number changed; the template did not).\n`;
  }
  return out;
}
