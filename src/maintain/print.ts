/** Human output of study maintain: the whole run's plan, progress (a live table on a terminal), the report, the status. */
import { formatAge, formatDuration } from '../base/duration.js';
import { confirm } from '../base/prompt.js';
import type { RunContext } from '../base/run.js';
import { NONE, renderTable } from '../base/table.js';
import { lineView, liveView } from '../base/terminal.js';
import { firstAndMore, plural } from '../base/text.js';
import { eventLine, pdbCells, pdbColumns } from '../drain/lib.js';
import type { NodeProgress } from './journal.js';
import type { MaintainReport, MaintainStatus, NodeReport } from './model.js';
import { describeSchedule } from './schedule.js';
import { describeVolumes } from './volumes.js';
import type { MaintainHooks } from './run.js';

export function renderPlanSummary(
  report: MaintainReport,
  nodes: string[],
  progress: Map<string, NodeProgress>,
): string {
  const steps = report.plan.order.length;
  let out = `Maintenance plan: ${nodes.length} ${plural(nodes.length, 'node')}, ${steps} ${plural(steps, 'step')}\n`;
  report.plan.order.forEach((b, i) => {
    const step = report.plan.steps[i];
    out += `  ${i + 1}. ${b.join(', ')}${step ? `: ${stepLine(step)}` : ''}\n`;
    for (const p of step?.pending.slice(0, 5) ?? [])
      out += `       Pending: ${p.pod}${p.movedAgain ? ' (moved here by an earlier step)' : ''}: ${p.message}\n`;
    if (step && step.pending.length > 5) out += `       ... and ${step.pending.length - 5} more Pending\n`;
  });
  if (report.plan.firstUnplaceableStep !== undefined) {
    out += `  Step ${report.plan.firstUnplaceableStep} is the first where a replacement finds no node`;
    out +=
      report.plan.maxUnavailableThatFits !== undefined
        ? `; with --max-unavailable ${report.plan.maxUnavailableThatFits} every replacement finds one.\n`
        : '; no --max-unavailable tried makes every replacement fit.\n';
  }
  const done = nodes.filter((n) => progress.get(n)?.done);
  if (done.length) out += `  already done in an earlier run (skipped): ${done.join(', ')}\n`;
  const resumed = nodes.filter((n) => !progress.get(n)?.done && progress.get(n)?.steps.size);
  if (resumed.length) {
    const steps = (n: string): string => `${n} (${[...(progress.get(n)?.steps ?? [])].join(', ')})`;
    out += `  resumed from the run's state: ${resumed.map(steps).join('; ')}\n`;
  }
  const schedule = report.schedule;
  if (schedule) {
    const state =
      schedule.open === undefined
        ? ''
        : schedule.open
          ? ` (open now, until ${schedule.until})`
          : ` (none open now; the next opens ${schedule.until}${schedule.outsideWindow === 'stop' ? ', and --outside-window stop stops the run before it' : ''})`;
    out += `  Schedule: ${describeSchedule(schedule)}${state}\n`;
  }
  for (const n of report.nodes)
    if (n.volumes?.length) out += `  attached to ${n.node}: ${describeVolumes(n.volumes)}\n`;
  for (const b of report.plan.blocked) out += `  BLOCKED ${b.node}: ${b.blockers.join('; ')}\n`;
  out += renderPdbTable(report.plan);
  return `${out}\n`;
}

/** Each step's PDBs; a STEP column first when the run has several steps (a PDB can be met by more than one). */
function renderPdbTable(plan: MaintainReport['plan']): string {
  if (plan.pdbs.length === 0) return '';
  const steps = plan.order.length > 1;
  return renderTable(
    [...(steps ? ['STEP'] : []), ...pdbColumns('PODS IN STEP')],
    plan.pdbs.map((pdb) => [...(steps ? [pdb.step] : []), ...pdbCells(pdb)]),
  );
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

export function renderReport(report: MaintainReport): string {
  let out = renderTable(
    ['NODE', 'RESULT', 'PHASE', 'ELAPSED', 'CORDONED NOW', 'DETAIL'],
    report.nodes.map((n) => [
      n.node,
      n.status,
      n.phase,
      n.elapsedMs ? formatDuration(n.elapsedMs) : '',
      n.cordonedNow ? (n.cordonedByRun ? 'yes (by this run)' : 'yes (before the run)') : 'no',
      n.detail ?? '',
    ]),
  );
  for (const n of report.nodes) {
    if (!n.replacements?.length) continue;
    out += `Replacements that could not start after draining ${n.node}:\n`;
    for (const line of n.replacements) out += `  ${line}\n`;
  }
  out += `Result: ${report.outcome}\n`;
  if (report.lockHeldBy)
    out +=
      `Note: another run holds the maintenance lock now (${report.lockHeldBy}): ` +
      'a real run would wait for it to finish or expire.\n';
  if (report.degraded.length) out += `Degraded workloads: ${report.degraded.join(', ')}\n`;
  if (report.next) out += `Next: ${report.next}\n`;
  return out;
}

function liveTable(nodes: string[], reports: Map<string, NodeReport>, startedAt: Map<string, number>): string {
  const rows = nodes.map((n) => {
    const nodeReport = reports.get(n)!;
    const t0 = startedAt.get(n);
    return [n, nodeReport.phase, t0 ? formatDuration(nodeReport.elapsedMs || Date.now() - t0) : ''];
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

function ago(iso: string, now: number): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? NONE : `${formatAge(now - t)} ago`;
}

/** `study maintain status` for people: the lock, the current run node by node, the last runs. */
export function renderStatus(status: MaintainStatus, now = Date.now()): string {
  let out = `State: configmap ${status.state}`;
  out += status.lock
    ? ` (lock held by ${status.lock.holder}, renewed ${formatDuration(status.lock.renewedAgoMs)} ago)\n`
    : ' (lock free)\n';
  const run = status.current;
  if (!run) out += 'No current run.\n';
  else {
    const a = run.attempt;
    out +=
      `Current run ${run.id}: ${run.nodes.length} ${plural(run.nodes.length, 'node')}, started ${ago(run.startedAt, now)}; ` +
      `${run.state === 'running' ? 'running' : `stopped${a.outcome ? ` (${a.outcome})` : ''}`}: ` +
      `${a.user || 'someone'} on ${a.host || 'an unknown host'} (pid ${a.pid}), since ${ago(a.since, now)}\n`;
    const cordoned = new Map(run.cordoned.map((c) => [c.node, c.cordonedNow]));
    if (run.working.length)
      out += renderTable(
        ['NODE', 'PHASE', 'SINCE', 'CORDONED BY RUN'],
        run.working.map((w) => [
          w.node,
          w.phase,
          ago(w.since, now),
          cordoned.has(w.node) ? (cordoned.get(w.node) ? 'yes' : 'yes (uncordoned since)') : 'no',
        ]),
      );
    const waiting = run.nodes.filter((n) => !run.done.includes(n) && !run.working.some((w) => w.node === n));
    out += `Done: ${run.done.length ? firstAndMore(run.done, 10) : NONE}; not started: ${waiting.length ? firstAndMore(waiting, 10) : NONE}\n`;
    const left = run.cordoned.filter((c) => c.cordonedNow && !run.working.some((w) => w.node === c.node));
    if (left.length) out += `Cordoned by the run: ${left.map((c) => c.node).join(', ')}\n`;
    for (const c of run.commands)
      out +=
        `${c.kind === 'command' ? 'The command' : `The --${c.kind} hook`} for ${c.node}: started on ${c.host} ` +
        `(process group ${c.pgid}) ${ago(c.startedAt, now)}, output in ${c.log}\n`;
    if (run.lastError) out += `Last error: ${run.lastError}\n`;
  }
  if (status.last.length) {
    out += 'Last runs:\n';
    out += renderTable(
      ['RUN', 'NODES', 'STARTED', 'ENDED', 'OUTCOME', 'HOSTS', 'DETAIL'],
      status.last.map((r) => [
        r.id,
        `${firstAndMore(r.nodes, 3)}${r.nodeCount > r.nodes.length ? ` (${r.nodeCount})` : ''}`,
        ago(r.startedAt, now),
        ago(r.endedAt, now),
        r.outcome,
        r.hosts.join(', '),
        [r.leftCordoned?.length ? `left cordoned: ${r.leftCordoned.join(', ')}` : '', r.lastError ?? '']
          .filter(Boolean)
          .join('; '),
      ]),
    );
  }
  if (status.older)
    out +=
      `Older runs: ${status.older.runs} (${status.older.nodes} nodes), ` +
      `from ${status.older.firstStartedAt} to ${status.older.lastEndedAt}\n`;
  if (status.next) out += `Next: ${status.next}\n`;
  return out;
}
