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

/** The plan for people, section by section: each section's function says what it shows. */
export function renderPlan(plan: DrainPlan, wide: boolean, colour: boolean): string {
  return [
    planNodes(plan),
    planPods(plan, wide, colour),
    planPdbs(plan),
    planFindings(plan, colour),
    planPlacementNotes(plan),
    planMissingPermissions(plan),
    planPlacement(plan),
    planVerdict(plan, colour),
  ].join('');
}

/** A line per node (its state, its pods, what the plan found about it), then a blank line. */
function planNodes(plan: DrainPlan): string {
  let out = '';
  for (const node of plan.nodes) {
    const readiness = node.ready ? 'Ready' : 'NotReady';
    const cordoned = node.unschedulable ? 'already cordoned' : 'schedulable';
    const count = plan.pods.filter((p) => p.node === node.name).length;
    out += `Node ${node.name}: ${readiness}, ${cordoned}; ${count} pod${count === 1 ? '' : 's'}\n`;
    for (const r of node.reasons) out += `  ${r.severity}: ${r.code}: ${r.message}\n`;
  }
  return `${out}\n`;
}

/** A row per pod: what the drain does with it and why (-o wide: where it and its replacement run, its PDBs, owners). */
function planPods(plan: DrainPlan, wide: boolean, colour: boolean): string {
  if (plan.pods.length === 0) return 'No pods on the node.\n';
  const headers = ['NAMESPACE', 'NAME', 'OWNER', 'ACTION', 'REASON'];
  if (wide) headers.push('NODE', 'REPLACEMENT ON', 'PDB', 'OWNER CHAIN');
  const rows = plan.pods.map((pod) => {
    const row = [
      pod.namespace,
      pod.name,
      pod.workload,
      paint(colour, ACTION_COLOUR[pod.action], pod.action),
      pod.reasons.map((r) => r.code).join(','),
    ];
    if (wide) {
      const target = pod.placement
        ? pod.placement.outcome === 'placed'
          ? (pod.placement.node ?? '')
          : paint(colour, 'red', 'Pending')
        : '';
      const chain = pod.owners.map((o) => `${o.kind}/${o.name}`).join(' > ');
      row.push(pod.node, target, pod.pdbs.join(','), chain);
    }
    return row;
  });
  return renderTable(headers, rows);
}

const PDB_VERDICT = { ok: 'at once', serial: 'one by one', waits: 'waits for healthy pods', never: 'never allows' };

/** A row per PDB the drain meets: its numbers, and how the drain fares with it. */
function planPdbs(plan: DrainPlan): string {
  if (plan.pdbs.length === 0) return '';
  const table = renderTable(
    ['PDB', 'PODS HERE', 'HEALTHY', 'REQUIRED', 'ALLOWED NOW', 'VERDICT'],
    plan.pdbs.map((pdb) => [
      `${pdb.namespace}/${pdb.name}`,
      pdb.podsInDrain,
      `${pdb.currentHealthy}/${pdb.expectedPods}`,
      pdb.desiredHealthy,
      pdb.disruptionsAllowed,
      PDB_VERDICT[pdb.verdict],
    ]),
  );
  return `\n${table}`;
}

/** Every block and risk, pod by pod, then why each kind of finding matters. */
function planFindings(plan: DrainPlan, colour: boolean): string {
  const findings = plan.pods.flatMap((pod) =>
    pod.reasons.filter((r) => r.severity !== 'info').map((r) => ({ pod: `${pod.namespace}/${pod.name}`, r })),
  );
  if (findings.length === 0) return '';
  let out = '\nFindings:\n';
  for (const { pod, r } of findings) {
    const severity = r.severity === 'block' ? paint(colour, 'red', 'blocks') : paint(colour, 'yellow', 'risk');
    const override = r.severity === 'block' && r.override ? ` (override: ${r.override})` : '';
    out += `  ${severity}  ${pod}: ${r.code}: ${r.message}${override}\n`;
  }
  const codes = [...new Set(findings.map((f) => f.r.code))] as ReasonCode[];
  out += '\nWhy it matters:\n';
  for (const code of codes) out += `  ${code}: ${REASONS[code]}\n`;
  return out;
}

/** Where a replacement's placement depends on other pods, or is not decided by the plan. */
function planPlacementNotes(plan: DrainPlan): string {
  const notes = plan.pods.flatMap((pod) =>
    pod.reasons
      .filter((r) => r.code === 'PlacedAfterMove' || r.code === 'PlacementUnknown')
      .map((r) => `${pod.namespace}/${pod.name}: ${r.code}: ${r.message}`),
  );
  if (notes.length === 0) return '';
  return `\nPlacement notes:\n${notes.map((n) => `  ${n}\n`).join('')}`;
}

/** The permissions the drain relies on and lacks. */
function planMissingPermissions(plan: DrainPlan): string {
  const missing = plan.permissions.filter((perm) => !perm.allowed);
  if (missing.length === 0) return '';
  let out = '\nPermissions missing:\n';
  for (const perm of missing) {
    const subresource = perm.subresource ? `/${perm.subresource}` : '';
    const namespace = perm.namespace ? ` in ${perm.namespace}` : '';
    out += `  ${perm.verb} ${perm.resource}${subresource}${namespace}${perm.required ? ' (required)' : ''}\n`;
  }
  return out;
}

/** How many replacements fit on the nodes left. */
function planPlacement(plan: DrainPlan): string {
  const placed = plan.pods.filter((pod) => pod.placement);
  if (placed.length === 0) return '';
  const pending = placed.filter((pod) => pod.placement?.outcome === 'pending').length;
  const replacements = `replacement${placed.length === 1 ? '' : 's'}`;
  const stay = pending ? `; ${pending} would stay Pending` : '';
  return `\nPlacement: ${placed.length - pending} of ${placed.length} ${replacements} fit on the nodes left${stay}\n`;
}

/** The counts, and whether the drain can proceed (or what blocks it). */
function planVerdict(plan: DrainPlan, colour: boolean): string {
  const s = plan.summary;
  const pods = `${s.pods} pod${s.pods === 1 ? '' : 's'}`;
  const actions = `${s.evict} to evict, ${s.skip} skipped, ${s.wait} already terminating, ${s.blocked} blocked`;
  let out = `\nSummary: ${pods}: ${actions}; ${s.warnings} risk${s.warnings === 1 ? '' : 's'}\n`;
  if (plan.verdict === 'proceed') {
    const readRisks = s.warnings ? ' (read the risks above)' : '';
    out += `Verdict: ${paint(colour, 'green', 'the drain can proceed')}${readRisks}\n`;
  } else {
    out += `Verdict: ${paint(colour, 'red', 'BLOCKED')}\n`;
    for (const blocker of plan.blockers) out += `  - ${blocker}\n`;
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
