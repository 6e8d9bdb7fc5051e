/** Human output of study-drain: the plan, progress on a terminal or a log, the result. */
import { formatDuration } from '../base/duration.js';
import { confirm } from '../base/prompt.js';
import type { RunContext } from '../base/run.js';
import { renderTable } from '../base/table.js';
import { colorEnabled, liveView, paint } from '../base/terminal.js';
import type { DrainEvent, DrainResult } from './events.js';
import { REASONS, type DrainPlan, type ReasonCode } from './model.js';
import type { DrainHooks, DrainOutput, UncordonResult } from './run.js';

const ACTION_COLOUR = { evict: 'green', skip: 'dim', wait: 'yellow', blocked: 'red' } as const;

export function renderPlan(plan: DrainPlan, wide: boolean, colour: boolean): string {
  let out = '';
  for (const n of plan.nodes) {
    const state = [n.ready ? 'Ready' : 'NotReady', n.unschedulable ? 'already cordoned' : 'schedulable'].join(', ');
    const count = plan.pods.filter((p) => p.node === n.name).length;
    out += `Node ${n.name}: ${state}; ${count} pod${count === 1 ? '' : 's'}\n`;
    for (const r of n.reasons) out += `  ${r.severity}: ${r.code}: ${r.message}\n`;
  }
  out += '\n';
  if (plan.pods.length) {
    const headers = ['NAMESPACE', 'NAME', 'OWNER', 'ACTION', 'REASON'];
    if (wide) headers.push('NODE', 'REPLACEMENT ON', 'PDB', 'OWNER CHAIN');
    const rows = plan.pods.map((p) => {
      const row = [
        p.namespace,
        p.name,
        p.workload,
        paint(colour, ACTION_COLOUR[p.action], p.action),
        p.reasons.map((r) => r.code).join(','),
      ];
      if (wide) {
        const target = p.placement
          ? p.placement.outcome === 'placed'
            ? (p.placement.node ?? '')
            : paint(colour, 'red', 'Pending')
          : '';
        row.push(p.node, target, p.pdbs.join(','), p.owners.map((o) => `${o.kind}/${o.name}`).join(' > '));
      }
      return row;
    });
    out += renderTable(headers, rows);
  } else {
    out += 'No pods on the node.\n';
  }

  if (plan.pdbs.length) {
    out += `\n${renderTable(
      ['PDB', 'PODS HERE', 'HEALTHY', 'REQUIRED', 'ALLOWED NOW', 'VERDICT'],
      plan.pdbs.map((b) => [
        `${b.namespace}/${b.name}`,
        b.podsInDrain,
        `${b.currentHealthy}/${b.expectedPods}`,
        b.desiredHealthy,
        b.disruptionsAllowed,
        { ok: 'at once', serial: 'one by one', waits: 'waits for healthy pods', never: 'never allows' }[b.verdict],
      ]),
    )}`;
  }

  const findings = plan.pods.flatMap((p) =>
    p.reasons.filter((r) => r.severity !== 'info').map((r) => ({ pod: `${p.namespace}/${p.name}`, r })),
  );
  if (findings.length) {
    out += '\nFindings:\n';
    for (const { pod, r } of findings) {
      const sev = r.severity === 'block' ? paint(colour, 'red', 'blocks') : paint(colour, 'yellow', 'risk');
      out += `  ${sev}  ${pod}: ${r.code}: ${r.message}${r.severity === 'block' && r.override ? ` (override: ${r.override})` : ''}\n`;
    }
    const codes = [...new Set(findings.map((f) => f.r.code))] as ReasonCode[];
    out += '\nWhy it matters:\n';
    for (const c of codes) out += `  ${c}: ${REASONS[c]}\n`;
  }
  const notes = plan.pods.flatMap((p) =>
    p.reasons
      .filter((r) => r.code === 'PlacedAfterMove' || r.code === 'PlacementUnknown')
      .map((r) => `${p.namespace}/${p.name}: ${r.code}: ${r.message}`),
  );
  if (notes.length) out += `\nPlacement notes:\n${notes.map((n) => `  ${n}\n`).join('')}`;
  const missing = plan.permissions.filter((p) => !p.allowed);
  if (missing.length) {
    out += '\nPermissions missing:\n';
    for (const p of missing)
      out += `  ${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}${p.namespace ? ` in ${p.namespace}` : ''}${p.required ? ' (required)' : ''}\n`;
  }
  const placed = plan.pods.filter((p) => p.placement);
  if (placed.length) {
    const pending = placed.filter((p) => p.placement?.outcome === 'pending').length;
    out += `\nPlacement: ${placed.length - pending} of ${placed.length} replacement${placed.length === 1 ? '' : 's'} fit on the nodes left${pending ? `; ${pending} would stay Pending` : ''}\n`;
  }
  const s = plan.summary;
  out += `\nSummary: ${s.pods} pod${s.pods === 1 ? '' : 's'}: ${s.evict} to evict, ${s.skip} skipped, ${s.wait} already terminating, ${s.blocked} blocked; ${s.warnings} risk${s.warnings === 1 ? '' : 's'}\n`;
  if (plan.verdict === 'proceed') {
    out += `Verdict: ${paint(colour, 'green', 'the drain can proceed')}${s.warnings ? ' (read the risks above)' : ''}\n`;
  } else {
    out += `Verdict: ${paint(colour, 'red', 'BLOCKED')}\n`;
    for (const b of plan.blockers) out += `  - ${b}\n`;
  }
  return out;
}

/** One line per event, for logs and non-terminal stderr. */
export function eventLine(e: DrainEvent): string {
  switch (e.type) {
    case 'cordon':
      return `node/${e.node} ${e.changed ? 'cordoned' : 'was already cordoned'}`;
    case 'evicting':
      return `evicting pod ${e.pod.namespace}/${e.pod.name}`;
    case 'evicted':
      return `evicted pod ${e.pod.namespace}/${e.pod.name}`;
    case 'gone':
      return `pod ${e.pod.namespace}/${e.pod.name} is gone (${formatDuration(e.ms)})`;
    case 'pdb-wait':
      return `waiting to evict ${e.pod.namespace}/${e.pod.name}: ${e.detail}; retry in ${formatDuration(e.retryMs)}`;
    case 'throttled':
      return `the API server is throttling requests (429); retrying ${e.pod.namespace}/${e.pod.name} in ${formatDuration(e.retryMs)}`;
    case 'retry':
      return `retrying ${e.pod.namespace}/${e.pod.name} in ${formatDuration(e.retryMs)}: ${e.detail}`;
    case 'failed':
      return `could not evict ${e.pod.namespace}/${e.pod.name}: ${e.detail}`;
    case 'waiting-healthy':
      return `waiting for ${e.workloads.length} workload${e.workloads.length === 1 ? '' : 's'} to be Available again: ${e.workloads.join(', ')}`;
    case 'healthy':
      return `${e.workload} is Available`;
    case 'replacement-stuck':
      return `replacement ${e.pod.namespace}/${e.pod.name} of ${e.workload} is ${e.reason}`;
    case 'replacements-unchecked':
      return `could not look at the replacements (the drain goes on): ${e.detail}`;
  }
}

/** The report's lines on replacements that cannot start, and on workloads not Available in time (naming their stuck replacements). */
function renderReplacements(r: DrainResult, colour: boolean): string {
  let out = '';
  for (const w of r.workloads) {
    if (w.available) {
      out += `${w.namespace}/${w.workload}: Available\n`;
      continue;
    }
    // In short here (Pending, unschedulable; ImagePullBackOff): the scheduler's or kubelet's words follow below.
    const stuck = r.replacements
      .filter((x) => x.namespace === w.namespace && x.workload === w.workload)
      .map((x) => `${x.name} is ${x.reason.split(':')[0]}`);
    out += `${w.namespace}/${w.workload}: not Available in time${stuck.length ? `: ${stuck.join('; ')}` : ''}\n`;
  }
  if (r.replacements.length) {
    out += `${paint(colour, 'yellow', 'Replacements that cannot start')} (the drain's result does not count them):\n`;
    for (const x of r.replacements) out += `  ${x.namespace}/${x.name} of ${x.workload}: ${x.reason}\n`;
  }
  return out;
}

export function renderResult(r: DrainResult, colour: boolean): string {
  const rows = r.pods
    .filter((p) => p.status !== 'skipped')
    .map((p) => [p.namespace, p.name, p.status, p.ms === undefined ? '' : formatDuration(p.ms), p.message ?? '']);
  let out = rows.length ? renderTable(['NAMESPACE', 'NAME', 'RESULT', 'TOOK', 'DETAIL'], rows) : '';
  const count = (s: string): number => r.pods.filter((p) => p.status === s).length;
  const cordoned = r.cordoned
    .map((c) => `${c.node} (${c.changed ? 'cordoned by this drain' : 'was already cordoned'})`)
    .join(', ');
  out += `\nNodes cordoned: ${cordoned || 'none'}\n`;
  out += `Pods: ${count('gone')} evicted and gone,${count('not-waited') ? ` ${count('not-waited')} evicted and not waited for (--skip-wait-for-delete-timeout),` : ''} ${count('evicted')} evicted but still terminating, ${count('already-gone')} already gone, ${count('blocked')} blocked, ${count('failed')} failed, ${count('unconfirmed') ? `${count('unconfirmed')} sent but unconfirmed, ` : ''}${count('not-attempted')} not attempted, ${count('skipped')} skipped\n`;
  out += renderReplacements(r, colour);
  const head = {
    drained: paint(colour, 'green', 'drained'),
    'timed-out': paint(colour, 'red', 'timed out'),
    interrupted: paint(colour, 'yellow', 'interrupted'),
    failed: paint(colour, 'red', 'not drained'),
  }[r.outcome];
  out += `Result: ${head} in ${formatDuration(r.elapsedMs)} with ${r.requests} API requests${r.throttled ? ` (throttled ${r.throttled} time${r.throttled === 1 ? '' : 's'} by the API server)` : ''}${r.message ? `: ${r.message}` : ''}\n`;
  if (r.outcome !== 'drained') {
    out += `The node${r.cordoned.length > 1 ? 's stay' : ' stays'} cordoned. Run the same command again to finish, or "kubectl study-drain uncordon ${r.cordoned.map((c) => c.node).join(' ')}" to undo.\n`;
  }
  return out;
}

/** The drain's hooks: the plan and progress on the terminal (or one line per event in a log). */
export function drainHooks(ctx: RunContext): DrainHooks {
  const { io } = ctx;
  const table = ctx.output === 'table' || ctx.output === 'wide';
  return {
    showPlan: (plan) => {
      if (table) io.stdout.write(renderPlan(plan, ctx.output === 'wide', colorEnabled(io)));
    },
    note: (line) => void io.stderr.write(`${line}\n`),
    confirm: (question) => confirm(io, question, ctx.signal),
    progress: async (total) => {
      const view = await liveView(io, io.stderr);
      const counts = { evicted: 0, gone: 0 };
      let waitingOn = '';
      view.update('', 'cordoning');
      return {
        onEvent: (e) => {
          if (!view.live) return view.note(eventLine(e));
          if (e.type === 'evicted') counts.evicted++;
          if (e.type === 'gone') counts.gone++;
          if (e.type === 'pdb-wait') waitingOn = e.detail;
          if (e.type === 'throttled') waitingOn = 'API server throttling';
          if (e.type === 'evicted' || e.type === 'gone') waitingOn = '';
          if (['cordon', 'failed', 'waiting-healthy', 'replacement-stuck', 'replacements-unchecked'].includes(e.type))
            view.note(eventLine(e));
          view.update(
            '',
            `evicted ${counts.evicted}/${total}, gone ${counts.gone}${waitingOn ? `, waiting on ${waitingOn}` : ''}`,
          );
        },
        stop: () => view.stop(),
      };
    },
  };
}

export function renderDrainOutput(out: DrainOutput, wide: boolean, colour: boolean): string {
  switch (out.kind) {
    case 'planned':
      return renderPlan(out.plan, wide, colour);
    case 'declined':
      return '';
    case 'drained':
      return `\n${renderResult(out.result, colour)}`;
  }
}

export function renderUncordon(r: UncordonResult): string {
  return r.nodes
    .map((n) => (n.changed ? `node/${n.node} uncordoned\n` : `node/${n.node} was not cordoned; nothing changed\n`))
    .join('');
}
