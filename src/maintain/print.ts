/** Human output of study maintain: the whole run's plan, progress (a live table on a terminal), the report. */
import { formatDuration } from '../base/duration.js';
import { confirm } from '../base/prompt.js';
import type { RunContext } from '../base/run.js';
import { renderTable } from '../base/table.js';
import { lineView, liveView } from '../base/terminal.js';
import { plural } from '../base/text.js';
import { eventLine } from '../drain/lib.js';
import type { NodeProgress } from './journal.js';
import type { MaintainReport, NodeReport } from './model.js';
import type { MaintainHooks } from './run.js';

export function renderPlanSummary(r: MaintainReport, nodes: string[], progress: Map<string, NodeProgress>): string {
  let out = `Maintenance plan: ${nodes.length} ${plural(nodes.length, 'node')}, ${r.plan.order.length} ${plural(r.plan.order.length, 'step')}\n`;
  r.plan.order.forEach((b, i) => {
    const step = r.plan.steps[i];
    out += `  ${i + 1}. ${b.join(', ')}${step ? `: ${stepLine(step)}` : ''}\n`;
    for (const p of step?.pending.slice(0, 5) ?? [])
      out += `       Pending: ${p.pod}${p.movedAgain ? ' (moved here by an earlier step)' : ''}: ${p.message}\n`;
    if (step && step.pending.length > 5) out += `       ... and ${step.pending.length - 5} more Pending\n`;
  });
  if (r.plan.firstUnplaceableStep !== undefined) {
    out += `  Step ${r.plan.firstUnplaceableStep} is the first where a replacement finds no node`;
    out +=
      r.plan.maxUnavailableThatFits !== undefined
        ? `; with --max-unavailable ${r.plan.maxUnavailableThatFits} every replacement finds one.\n`
        : '; no --max-unavailable tried makes every replacement fit.\n';
  }
  const done = nodes.filter((n) => progress.get(n)?.done);
  if (done.length) out += `  already done in an earlier run (skipped): ${done.join(', ')}\n`;
  const resumed = nodes.filter((n) => !progress.get(n)?.done && progress.get(n)?.steps.size);
  if (resumed.length)
    out += `  resumed from the journal: ${resumed.map((n) => `${n} (${[...(progress.get(n)?.steps ?? [])].join(', ')})`).join('; ')}\n`;
  for (const b of r.plan.blocked) out += `  BLOCKED ${b.node}: ${b.blockers.join('; ')}\n`;
  if (r.plan.pdbs.length) {
    out += renderTable(
      ['PDB', 'PODS IN STEP', 'HEALTHY', 'REQUIRED', 'ALLOWED NOW', 'VERDICT'],
      r.plan.pdbs.map((p) => [
        `${p.namespace}/${p.name}`,
        p.podsInDrain,
        `${p.currentHealthy}/${p.expectedPods}`,
        p.desiredHealthy,
        p.disruptionsAllowed,
        p.verdict,
      ]),
    );
  }
  return `${out}\n`;
}

function stepLine(s: MaintainReport['plan']['steps'][number]): string {
  const parts = [`evicts ${s.evict}`];
  if (s.wait) parts.push(`waits for ${s.wait} terminating`);
  if (s.skip) parts.push(`skips ${s.skip}`);
  if (s.blocked) parts.push(`${s.blocked} blocked`);
  if (s.movedAgain) parts.push(`moves ${s.movedAgain} ${plural(s.movedAgain, 'replacement')} of earlier steps again`);
  if (s.pending.length) parts.push(`${s.pending.length} ${plural(s.pending.length, 'replacement')} would stay Pending`);
  else parts.push('every replacement finds a node');
  if (s.uncertain)
    parts.push(
      `${s.uncertain} ${plural(s.uncertain, 'depends', 'depend')} on the scheduler's choice among equal nodes`,
    );
  return parts.join(', ');
}

export function renderReport(r: MaintainReport): string {
  let out = renderTable(
    ['NODE', 'RESULT', 'PHASE', 'ELAPSED', 'CORDONED NOW', 'DETAIL'],
    r.nodes.map((n) => [
      n.node,
      n.status,
      n.phase,
      n.elapsedMs ? formatDuration(n.elapsedMs) : '',
      n.cordonedNow ? (n.cordonedByRun ? 'yes (by this run)' : 'yes (before the run)') : 'no',
      n.detail ?? '',
    ]),
  );
  for (const n of r.nodes) {
    if (!n.replacements?.length) continue;
    out += `Replacements that could not start after draining ${n.node}:\n`;
    for (const line of n.replacements) out += `  ${line}\n`;
  }
  out += `Result: ${r.outcome}\n`;
  if (r.lockHeldBy)
    out += `Note: another run holds the maintenance lock now (${r.lockHeldBy}): a real run would wait for it to finish or expire.\n`;
  if (r.degraded.length) out += `Degraded workloads: ${r.degraded.join(', ')}\n`;
  if (r.next) out += `Next: ${r.next}\n`;
  return out;
}

function liveTable(nodes: string[], reports: Map<string, NodeReport>, startedAt: Map<string, number>): string {
  const rows = nodes.map((n) => {
    const r = reports.get(n)!;
    const t0 = startedAt.get(n);
    return [n, r.phase, t0 ? formatDuration(r.elapsedMs || Date.now() - t0) : ''];
  });
  return renderTable(['NODE', 'PHASE', 'ELAPSED'], rows);
}

export function maintainHooks(ctx: RunContext): MaintainHooks {
  const { io } = ctx;
  const table = ctx.output === 'table' || ctx.output === 'wide';
  return {
    showPlan: (report, nodes, progress) => {
      if (table) io.stdout.write(renderPlanSummary(report, nodes, progress));
    },
    note: (line) => void io.stderr.write(`${line}\n`),
    confirm: (question) => confirm(io, question, ctx.signal),
    async progress(nodes, reports, allowLive) {
      // A live table on a terminal; otherwise one line per step. Not while the operator is asked
      // on the same terminal (no --run): the redraw would erase the question.
      const view = table && allowLive ? await liveView(io, io.stderr) : lineView(io.stderr);
      const startedAt = new Map<string, number>();
      const redraw = (): void => view.update(liveTable(nodes, reports, startedAt));
      const ticker = view.live ? setInterval(redraw, 1000) : undefined;
      ticker?.unref();
      return {
        live: view.live,
        phase(node) {
          if (!startedAt.has(node)) startedAt.set(node, Date.now());
          if (view.live) redraw();
          else view.note(`${node}: ${reports.get(node)!.phase}`);
        },
        drainEvent(node, e) {
          if (!view.live) view.note(`[${node}] ${eventLine(e)}`);
        },
        stop() {
          if (ticker) clearInterval(ticker);
          if (view.live) redraw();
          view.stop();
        },
      };
    },
  };
}
