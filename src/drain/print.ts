/** Human output of study-drain: the plan, progress on a terminal or a log, the result. */
import { formatDuration } from '../base/duration.js';
import { confirm } from '../base/prompt.js';
import type { RunContext } from '../base/run.js';
import { renderTable } from '../base/table.js';
import { colorEnabled, liveView, paint } from '../base/terminal.js';
import { plural } from '../base/text.js';
import type { DrainEvent, DrainResult } from './events.js';
import { REASONS, type DrainPlan, type PdbPlan, type ReasonCode } from './model.js';
import type { DrainHooks, DrainOutput, UncordonResult } from './run.js';

/** Events that stay above the live progress line as a line of their own. */
const NOTED_LIVE: ReadonlyArray<DrainEvent['type']> = [
  'cordon',
  'failed',
  'waiting-healthy',
  'replacement-stuck',
  'replacements-unchecked',
];

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
        onEvent: (event) => {
          if (!view.live) return view.note(eventLine(event));
          if (event.type === 'evicted') counts.evicted++;
          if (event.type === 'gone') counts.gone++;
          if (event.type === 'pdb-wait') waitingOn = event.detail;
          if (event.type === 'throttled') waitingOn = 'API server throttling';
          if (event.type === 'evicted' || event.type === 'gone') waitingOn = '';
          if (NOTED_LIVE.includes(event.type)) view.note(eventLine(event));
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

/** The plan for people, section by section: each section's function says what it shows. */
export function renderPlan(plan: DrainPlan, wide: boolean, colour: boolean): string {
  return [
    planNodes(plan),
    planPods(plan, wide, colour),
    planPdbs(plan),
    planFindings(plan, colour),
    planWhyItMatters(plan),
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
    out += `Node ${node.name}: ${readiness}, ${cordoned}; ${count} ${plural(count, 'pod')}\n`;
    for (const found of node.reasons) out += `  ${found.severity}: ${found.code}: ${found.message}\n`;
  }
  return `${out}\n`;
}

const ACTION_COLOUR = { evict: 'green', skip: 'dim', wait: 'yellow', blocked: 'red' } as const;

/** A row per pod: what the drain does with it and why (-o wide: where it and its replacement run, its PDBs, owners). */
function planPods(plan: DrainPlan, wide: boolean, colour: boolean): string {
  if (plan.pods.length === 0) return 'No pods on the node.\n';
  // Several nodes at once: which node each pod is on comes first, wide or not.
  const byNode = plan.nodes.length > 1;
  const headers = [...(byNode ? ['NODE'] : []), 'NAMESPACE', 'NAME', 'OWNER', 'ACTION', 'REASON'];
  if (wide) headers.push(...(byNode ? [] : ['NODE']), 'REPLACEMENT ON', 'PDB', 'OWNER CHAIN');
  const rows = plan.pods.map((pod) => {
    const row = [
      ...(byNode ? [pod.node] : []),
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
      row.push(...(byNode ? [] : [pod.node]), target, pod.pdbs.join(','), chain);
    }
    return row;
  });
  return renderTable(headers, rows);
}

/** A row per PDB the drain meets: its numbers, and how the drain fares with it. */
function planPdbs(plan: DrainPlan): string {
  if (plan.pdbs.length === 0) return '';
  return `\n${renderTable(pdbColumns('PODS HERE'), plan.pdbs.map(pdbCells))}`;
}

/** The PDB table's headers, as study-drain and study maintain both print it; `pods` names what the pods are in. */
export function pdbColumns(pods: string): string[] {
  return ['PDB', pods, 'HEALTHY', 'REQUIRED', 'ALLOWED NOW', 'VERDICT'];
}

/** One PDB's cells under pdbColumns. */
export function pdbCells(pdb: PdbPlan): Array<string | number> {
  return [
    `${pdb.namespace}/${pdb.name}`,
    pdb.podsInDrain,
    `${pdb.currentHealthy}/${pdb.expectedPods}`,
    pdb.desiredHealthy,
    pdb.disruptionsAllowed,
    pdb.verdict,
  ];
}

/** Every block and risk, pod by pod. */
function planFindings(plan: DrainPlan, colour: boolean): string {
  const findings = plan.pods.flatMap((pod) =>
    pod.reasons
      .filter((found) => found.severity !== 'info')
      .map((found) => ({ pod: `${pod.namespace}/${pod.name}`, found })),
  );
  if (findings.length === 0) return '';
  let out = '\nFindings:\n';
  for (const { pod, found } of findings) {
    const severity = found.severity === 'block' ? paint(colour, 'red', 'blocks') : paint(colour, 'yellow', 'risk');
    const override = found.severity === 'block' && found.override ? ` (override: ${found.override})` : '';
    out += `  ${severity}  ${pod}: ${found.code}: ${found.message}${override}\n`;
  }
  return out;
}

/** Why each reason code the plan shows matters: every code of the REASON column and the node lines, once. */
function planWhyItMatters(plan: DrainPlan): string {
  const shown = [...plan.nodes.flatMap((node) => node.reasons), ...plan.pods.flatMap((pod) => pod.reasons)];
  const codes = [...new Set(shown.map((found) => found.code))] as ReasonCode[];
  if (codes.length === 0) return '';
  return `\nWhy it matters:\n${codes.map((code) => `  ${code}: ${REASONS[code]}\n`).join('')}`;
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
  const replacements = plural(placed.length, 'replacement');
  const stay = pending ? `; ${pending} would stay Pending` : '';
  return `\nPlacement: ${placed.length - pending} of ${placed.length} ${replacements} fit on the nodes left${stay}\n`;
}

/** The counts, and whether the drain can proceed (or what blocks it). */
function planVerdict(plan: DrainPlan, colour: boolean): string {
  const summary = plan.summary;
  const pods = `${summary.pods} ${plural(summary.pods, 'pod')}`;
  const actions =
    `${summary.evict} to evict, ${summary.skip} skipped, ` +
    `${summary.wait} already terminating, ${summary.blocked} blocked`;
  let out = `\nSummary: ${pods}: ${actions}; ${summary.warnings} ${plural(summary.warnings, 'risk')}\n`;
  if (plan.verdict === 'proceed') {
    const readRisks = summary.warnings ? ' (read the risks above)' : '';
    out += `Verdict: ${paint(colour, 'green', 'the drain can proceed')}${readRisks}\n`;
  } else {
    out += `Verdict: ${paint(colour, 'red', 'BLOCKED')}\n`;
    for (const blocker of plan.blockers) out += `  - ${blocker}\n`;
  }
  return out;
}

/** One line per event, for logs and non-terminal stderr. */
export function eventLine(event: DrainEvent): string {
  switch (event.type) {
    case 'cordon':
      return `node/${event.node} ${event.changed ? 'cordoned' : 'was already cordoned'}`;
    case 'evicting':
      return `evicting pod ${podName(event.pod)}`;
    case 'evicted':
      return `evicted pod ${podName(event.pod)}`;
    case 'gone':
      return `pod ${podName(event.pod)} is gone (${formatDuration(event.ms)})`;
    case 'pdb-wait':
      return `waiting to evict ${podName(event.pod)}: ${event.detail}; retry in ${formatDuration(event.retryMs)}`;
    case 'throttled':
      return (
        'the API server is throttling requests (429); ' +
        `retrying ${podName(event.pod)} in ${formatDuration(event.retryMs)}`
      );
    case 'retry':
      return `retrying ${podName(event.pod)} in ${formatDuration(event.retryMs)}: ${event.detail}`;
    case 'failed':
      return `could not evict ${podName(event.pod)}: ${event.detail}`;
    case 'waiting-healthy': {
      const { workloads } = event;
      const count = `${workloads.length} ${plural(workloads.length, 'workload')}`;
      return `waiting for ${count} to be Available again: ${workloads.join(', ')}`;
    }
    case 'healthy':
      return `${event.workload} is Available`;
    case 'replacement-stuck':
      return `replacement ${podName(event.pod)} of ${event.workload} is ${event.reason}`;
    case 'replacements-unchecked':
      return `could not look at the replacements (the drain goes on): ${event.detail}`;
  }
}

const podName = (pod: { namespace: string; name: string }): string => `${pod.namespace}/${pod.name}`;

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

export function renderResult(result: DrainResult, colour: boolean): string {
  const rows = result.pods
    .filter((pod) => pod.status !== 'skipped')
    .map((pod) => [
      pod.namespace,
      pod.name,
      pod.status,
      pod.ms === undefined ? '' : formatDuration(pod.ms),
      pod.message ?? '',
    ]);
  let out = rows.length ? renderTable(['NAMESPACE', 'NAME', 'RESULT', 'TOOK', 'DETAIL'], rows) : '';
  const count = (s: string): number => result.pods.filter((pod) => pod.status === s).length;
  const cordoned = result.cordoned
    .map((c) => `${c.node} (${c.changed ? 'cordoned by this drain' : 'was already cordoned'})`)
    .join(', ');
  out += `\nNodes cordoned: ${cordoned || 'none'}\n`;
  const notWaited = count('not-waited')
    ? ` ${count('not-waited')} evicted and not waited for (--skip-wait-for-delete-timeout),`
    : '';
  const unconfirmed = count('unconfirmed') ? `${count('unconfirmed')} sent but unconfirmed, ` : '';
  out +=
    `Pods: ${count('gone')} evicted and gone,${notWaited} ${count('evicted')} evicted but still terminating, ` +
    `${count('already-gone')} already gone, ${count('blocked')} blocked, ${count('failed')} failed, ` +
    `${unconfirmed}${count('not-attempted')} not attempted, ${count('skipped')} skipped\n`;
  out += renderReplacements(result, colour);
  const head = {
    drained: paint(colour, 'green', 'drained'),
    'timed-out': paint(colour, 'red', 'timed out'),
    interrupted: paint(colour, 'yellow', 'interrupted'),
    failed: paint(colour, 'red', 'not drained'),
  }[result.outcome];
  const times = `${result.throttled} ${plural(result.throttled, 'time')}`;
  const throttled = result.throttled ? ` (throttled ${times} by the API server)` : '';
  const message = result.message ? `: ${result.message}` : '';
  const took = `in ${formatDuration(result.elapsedMs)} with ${result.requests} API requests`;
  out += `Result: ${head} ${took}${throttled}${message}\n`;
  if (result.outcome !== 'drained') {
    const nodes = result.cordoned.map((c) => c.node).join(' ');
    out +=
      `The node${result.cordoned.length > 1 ? 's stay' : ' stays'} cordoned. ` +
      `Run the same command again to finish, or "kubectl study-drain uncordon ${nodes}" to undo.\n`;
  }
  return out;
}

/**
 * The report's lines on replacements that cannot start, and on workloads
 * not Available in time (naming their stuck replacements).
 */
function renderReplacements(result: DrainResult, colour: boolean): string {
  let out = '';
  for (const health of result.workloads) {
    if (health.available) {
      out += `${health.namespace}/${health.workload}: Available\n`;
      continue;
    }
    // In short here (Pending, unschedulable; ImagePullBackOff): the scheduler's or kubelet's words follow below.
    const stuck = result.replacements
      .filter((pod) => pod.namespace === health.namespace && pod.workload === health.workload)
      .map((pod) => `${pod.name} is ${pod.reason.split(':')[0]}`);
    const why = stuck.length ? `: ${stuck.join('; ')}` : '';
    out += `${health.namespace}/${health.workload}: not Available in time${why}\n`;
  }
  if (result.replacements.length) {
    out += `${paint(colour, 'yellow', 'Replacements that cannot start')} (the drain's result does not count them):\n`;
    for (const pod of result.replacements) out += `  ${pod.namespace}/${pod.name} of ${pod.workload}: ${pod.reason}\n`;
  }
  return out;
}

export function renderUncordon(result: UncordonResult): string {
  return result.nodes
    .map((n) => (n.changed ? `node/${n.node} uncordoned\n` : `node/${n.node} was not cordoned; nothing changed\n`))
    .join('');
}

/** Drain plans asked of many contexts, side by side: one row each, CONTEXT first. Pure. */
export function comparePlans(answers: ReadonlyArray<{ context: string; result: DrainOutput }>): string[] {
  const plans = answers.flatMap(({ context, result }) =>
    result.kind === 'planned' ? [{ context, plan: result.plan }] : [],
  );
  if (plans.length < 2) return [];
  const rows = plans.map(({ context, plan }) => [
    context,
    plan.nodes.map((n) => n.name).join(', '),
    plan.summary.pods,
    plan.summary.evict,
    plan.summary.skip,
    plan.summary.blocked,
    plan.summary.warnings,
    plan.verdict,
  ]);
  const table = renderTable(['CONTEXT', 'NODES', 'PODS', 'EVICT', 'SKIPPED', 'BLOCKED', 'RISKS', 'VERDICT'], rows);
  return ['The plans side by side:', ...table.trimEnd().split('\n')];
}
