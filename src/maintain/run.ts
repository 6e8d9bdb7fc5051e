/**
 * `kubectl study maintain`: node after node (or up to --max-unavailable at
 * once), plan, drain, run the work, wait for Ready, uncordon (only what
 * this run cordoned), wait for the evicted workloads, next. A Lease keeps
 * it to one run per cluster; a journal makes it resumable; the first
 * failure stops it in a stated, safe state.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';

import { BlockedError, ExitCode, TimeoutError, UsageError, type ExitCodeValue } from '../cli/errors.js';
import type { CommonFlags, KubeFlags } from '../cli/flags.js';
import { interactiveStderr, liveRegion, writeStructured, type Io } from '../cli/output.js';
import { ask } from '../cli/prompt.js';
import type { RunState } from '../cli/program.js';
import { renderTable } from '../cli/table.js';
import { connect, type KubeClient } from '../kube/client.js';
import { listAll } from '../kube/list.js';
import { isNodeReady } from '../kube/objects.js';
import { sleep } from '../util/concurrency.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { makePlan } from '../drain/command.js';
import { cordon, evictedWorkloads, executeDrain, waitAvailable } from '../drain/execute.js';
import type { DrainPlan, PdbPlan, PlanOptions } from '../drain/model.js';
import { eventLine } from '../drain/print.js';
import { Journal, type NodeProgress } from './journal.js';
import { holderIdentity, MaintenanceLock } from './lease.js';

export interface MaintainOptions extends CommonFlags {
  kube: KubeFlags;
  nodes: string[];
  selector?: string;
  run?: string;
  waitFile?: string;
  maxUnavailable: number;
  journal?: string;
  dryRun: boolean;
  yes: boolean;
  drainTimeout: string;
  readyTimeout: string;
  recoverTimeout: string;
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  force: boolean;
  ignoreOptOuts: boolean;
  lockNamespace: string;
  lockDuration: string;
}

export type NodeStatus = 'pending' | 'skipped-done' | 'done' | 'failed' | 'not-started';

export interface NodeReport {
  node: string;
  status: NodeStatus;
  phase: string;
  cordonedByRun: boolean;
  cordonedNow: boolean;
  elapsedMs: number;
  detail?: string;
}

export interface MaintainReport {
  kind: 'MaintainReport';
  apiVersion: 'study.kubectl.io/v1';
  outcome: 'done' | 'planned' | 'blocked' | 'failed' | 'timed-out' | 'interrupted';
  nodes: NodeReport[];
  plan: { order: string[][]; blocked: Array<{ node: string; blockers: string[] }>; pdbs: PdbPlan[] };
  degraded: string[];
  next?: string;
  journal?: string;
}

function duration(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`invalid ${flag} "${text}"`, { hint: 'a positive duration such as 5m' });
  return ms;
}

/** The drain rules maintain applies to every node. */
function planOptions(o: MaintainOptions): PlanOptions {
  return { force: o.force, ignoreDaemonSets: o.ignoreDaemonSets, deleteEmptyDirData: o.deleteEmptyDirData, disableEviction: false, ignoreOptOuts: o.ignoreOptOuts, strict: false };
}

function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs the operator's command for one node: NODE in the environment, never in the command line. */
function runCommand(command: string, node: string, io: Io, signal: AbortSignal, quiet: boolean): Promise<{ code: number; stderrTail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...process.env, NODE: node, STUDY_NODE: node },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    child.stdout.on('data', (d: Buffer) => {
      if (!quiet) io.stderr.write(`[${node}] ${d.toString()}`);
    });
    child.stderr.on('data', (d: Buffer) => {
      tail = (tail + d.toString()).slice(-500);
      if (!quiet) io.stderr.write(`[${node}] ${d.toString()}`);
    });
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      resolve({ code: code ?? (sig ? 128 : 1), stderrTail: tail.trim() });
    });
  });
}

async function waitForOperator(o: MaintainOptions, node: string, io: Io, signal: AbortSignal): Promise<void> {
  if (o.waitFile) {
    io.stderr.write(`waiting for ${o.waitFile} to exist before bringing ${node} back (it is removed once seen)\n`);
    while (!existsSync(o.waitFile)) await sleep(500, signal);
    rmSync(o.waitFile, { force: true });
    return;
  }
  await ask(io, `Node ${node} is drained. Do the work, then press Enter to bring it back: `, signal);
}

async function waitReady(client: KubeClient, node: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const n = await client.call(`get node ${node}`, () => client.core.readNode({ name: node }));
    if (isNodeReady(n)) return;
    await sleep(2000, signal);
  }
  throw new TimeoutError(`node ${node} was not Ready within ${formatDuration(timeoutMs)}`);
}

class StepFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
  }
}

export async function runMaintain(state: RunState, o: MaintainOptions): Promise<ExitCodeValue> {
  const { io } = state;
  if (!Number.isInteger(o.maxUnavailable) || o.maxUnavailable < 1) throw new UsageError('--max-unavailable must be a whole number of at least 1');
  if (!o.dryRun && !o.run && !o.waitFile && !(io.stdin.isTTY && io.stderr.isTTY)) {
    throw new UsageError('say what to do on each node: --run COMMAND, or --wait-file FILE (or run on a terminal to be asked)');
  }
  if (!o.dryRun && !o.journal) throw new UsageError('--journal FILE is required, so that a stopped run can be resumed', { hint: 'e.g. --journal ./maintenance.journal' });
  const readyTimeout = duration(o.readyTimeout, '--ready-timeout');
  const recoverTimeout = duration(o.recoverTimeout, '--recover-timeout');
  const lockSeconds = Math.ceil(duration(o.lockDuration, '--lock-duration') / 1000);
  const seen = new Set<string>();
  for (const n of o.nodes) {
    if (seen.has(n)) throw new UsageError(`node "${n}" is named twice`);
    seen.add(n);
  }
  const client = connect(o.kube, { timeoutMs: o.kube.requestTimeoutMs || 30_000 });
  let nodes = o.nodes;
  if (o.selector) {
    if (nodes.length) throw new UsageError('name nodes or use -l/--selector, not both');
    nodes = (await client.call('list nodes', () => listAll((p) => client.core.listNode({ ...p, labelSelector: o.selector })))).items.map((n) => n.metadata?.name ?? '').sort();
  }
  if (nodes.length === 0) throw new UsageError('name the nodes to maintain, or select them with -l');

  const journal = o.journal ? new Journal(o.journal, randomBytes(4).toString('hex')) : undefined;
  const progress: Map<string, NodeProgress> = journal?.progress() ?? new Map();
  const reports = new Map<string, NodeReport>(nodes.map((n) => [n, { node: n, status: 'pending', phase: 'waiting', cordonedByRun: progress.get(n)?.cordonedByRun ?? false, cordonedNow: false, elapsedMs: 0 }]));
  const todo = nodes.filter((n) => !progress.get(n)?.done);
  for (const n of nodes) if (progress.get(n)?.done) Object.assign(reports.get(n)!, { status: 'skipped-done', phase: 'done in an earlier run' });

  // The plan for the whole run, before anything is touched.
  const order = batches(todo, o.maxUnavailable);
  const blocked: MaintainReport['plan']['blocked'] = [];
  let pdbs: PdbPlan[] = [];
  for (const batch of order) {
    const { plan } = await makePlan(client, batch, planOptions(o));
    pdbs = [...pdbs, ...plan.pdbs];
    if (plan.verdict === 'blocked') {
      // Say which node of the batch blocks.
      for (const n of batch) {
        const one = batch.length === 1 ? plan : (await makePlan(client, [n], planOptions(o))).plan;
        if (one.verdict === 'blocked') blocked.push({ node: n, blockers: one.blockers });
      }
      if (!blocked.length) blocked.push({ node: batch.join(','), blockers: plan.blockers });
    }
  }
  const report: MaintainReport = {
    kind: 'MaintainReport',
    apiVersion: 'study.kubectl.io/v1',
    outcome: 'planned',
    nodes: [],
    plan: { order, blocked, pdbs },
    degraded: [],
    ...(o.journal ? { journal: o.journal } : {}),
  };
  const structured = o.output === 'json' || o.output === 'yaml';
  const finish = async (code: ExitCodeValue): Promise<ExitCodeValue> => {
    report.nodes = nodes.map((n) => reports.get(n)!);
    if (structured) await writeStructured(io, o.output as 'json' | 'yaml', report);
    else io.stdout.write(renderReport(report));
    return code;
  };
  if (!structured) io.stdout.write(renderPlanSummary(report, nodes, progress));
  if (blocked.length) {
    report.outcome = 'blocked';
    report.next = 'resolve the blocks (or pass the override flags the plan names) and run the same command again; nothing was changed';
    return finish(ExitCode.BLOCKED);
  }
  if (o.dryRun) return finish(ExitCode.OK);
  if (!o.yes && io.stdin.isTTY && io.stderr.isTTY) {
    const answer = await ask(io, `Maintain ${todo.length} node${todo.length === 1 ? '' : 's'} (${todo.join(', ')})? [y/N] `, state.signal);
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.stderr.write('Nothing was changed.\n');
      return ExitCode.NEGATIVE;
    }
  }

  const lock = await MaintenanceLock.acquire(client, { namespace: o.lockNamespace, name: 'kubectl-study-maintain', durationSeconds: lockSeconds }, holderIdentity(journal?.run ?? 'run'));
  if (lock.tookOverFrom) io.stderr.write(`took over the expired lock of ${lock.tookOverFrom}\n`);
  lock.startRenewing();
  // On a terminal, a live table (node, phase, elapsed); otherwise one line per step.
  // (Not while the operator is asked on the same terminal: the redraw would erase the question.)
  const live = interactiveStderr(io) && !structured && Boolean(o.run);
  const startedAt = new Map<string, number>();
  const region = liveRegion(io.stderr);
  const redraw = (): void => {
    const rows = nodes.map((n) => {
      const r = reports.get(n)!;
      const t0 = startedAt.get(n);
      return [n, r.phase, t0 ? formatDuration(r.elapsedMs || Date.now() - t0) : ''];
    });
    region(renderTable(['NODE', 'PHASE', 'ELAPSED'], rows));
  };
  const ticker = live ? setInterval(redraw, 1000) : undefined;
  ticker?.unref();
  const say = (node: string, phase: string): void => {
    if (!lock.held()) throw new StepFailed('the maintenance lock was lost (not renewed in time, or taken by another run): stopping before the next step', ExitCode.BLOCKED);
    const r = reports.get(node)!;
    r.phase = phase;
    if (!startedAt.has(node)) startedAt.set(node, Date.now());
    if (live) redraw();
    else io.stderr.write(`${node}: ${phase}\n`);
  };
  let code: ExitCodeValue = ExitCode.OK;
  try {
    for (const batch of order) {
      await Promise.all(
        batch.map(async (node) => {
          const started = Date.now();
          const r = reports.get(node)!;
          const p = progress.get(node);
          const has = (step: string): boolean => p?.steps.has(step as never) ?? false;
          try {
            if (state.signal.aborted) throw new StepFailed('interrupted', ExitCode.INTERRUPTED);
            let workloads = p?.workloads ?? [];
            if (!has('drained')) {
              say(node, has('cordoned') ? 'resuming: draining (cordoned by an earlier run of this command)' : 'draining');
              const { plan, podListVersions } = await makePlan(client, [node], planOptions(o));
              if (plan.verdict === 'blocked') throw new StepFailed(`the drain plan is blocked: ${plan.blockers.join('; ')}`, ExitCode.BLOCKED);
              if (!has('cordoned')) {
                // Record the intent before the cordon, so a kill in between cannot turn our cordon into someone else's.
                r.cordonedByRun = !plan.nodes[0]?.unschedulable;
                journal?.record({ node, step: 'cordoned', cordonedByRun: r.cordonedByRun });
              }
              const drainTimeout = parseDuration(o.drainTimeout) ?? 0;
              const result = await executeDrain(client, plan, podListVersions, {
                deadline: drainTimeout > 0 ? Date.now() + drainTimeout : undefined,
                interrupt: state.signal,
                concurrency: 10,
                gracePeriodSeconds: -1,
                disableEviction: false,
                waitHealthy: false,
                onEvent: (e) => {
                  if (!live) io.stderr.write(`[${node}] ${eventLine(e)}\n`);
                },
              });
              r.cordonedNow = result.cordoned.length > 0 || (await client.core.readNode({ name: node }).then((n) => n.spec?.unschedulable === true).catch(() => false));
              if (result.outcome !== 'drained') {
                const why = result.outcome === 'interrupted' ? ExitCode.INTERRUPTED : result.outcome === 'timed-out' ? ExitCode.TIMEOUT : result.message ? ExitCode.API : ExitCode.BLOCKED;
                throw new StepFailed(`the drain did not finish (${result.outcome}${result.message ? `: ${result.message}` : ''})`, why);
              }
              workloads = evictedWorkloads(plan, result.pods);
              journal?.record({ node, step: 'drained', workloads });
            }
            if (!has('uncordoned')) r.cordonedNow = true;
            if (!has('command-done')) {
              if (o.run) {
                say(node, `running: ${o.run}`);
                journal?.record({ node, step: 'command-started' });
                const { code: exit, stderrTail } = await runCommand(o.run, node, io, state.signal, live);
                if (state.signal.aborted) throw new StepFailed('interrupted while the command ran', ExitCode.INTERRUPTED);
                if (exit !== 0) throw new StepFailed(`the command failed with exit code ${exit}${stderrTail ? `: ${stderrTail.split('\n').at(-1)}` : ''}`, ExitCode.BLOCKED);
              } else {
                say(node, 'waiting for the operator');
                await waitForOperator(o, node, io, state.signal);
              }
              journal?.record({ node, step: 'command-done' });
            }
            if (!has('ready')) {
              say(node, 'waiting for the node to be Ready');
              await waitReady(client, node, readyTimeout, state.signal);
              journal?.record({ node, step: 'ready' });
            }
            if (!has('uncordoned')) {
              if (r.cordonedByRun) {
                await cordon(client, node, false);
                r.cordonedNow = false;
                say(node, 'uncordoned');
              } else {
                say(node, 'stays cordoned: it was cordoned before this run');
              }
              journal?.record({ node, step: 'uncordoned', detail: r.cordonedByRun ? 'uncordoned' : 'left cordoned: cordoned before the run' });
            }
            if (!has('recovered')) {
              say(node, `waiting for ${workloads.length} workload${workloads.length === 1 ? '' : 's'} to be Available`);
              const deadline = AbortSignal.any([state.signal, AbortSignal.timeout(recoverTimeout)]);
              const health = await waitAvailable(client, workloads, deadline, () => {});
              const bad = health.filter((h) => !h.available);
              if (state.signal.aborted) throw new StepFailed('interrupted', ExitCode.INTERRUPTED);
              if (bad.length) {
                report.degraded.push(...bad.map((b) => `${b.namespace}/${b.workload}`));
                throw new StepFailed(`workloads not Available within ${formatDuration(recoverTimeout)}: ${bad.map((b) => `${b.namespace}/${b.workload}`).join(', ')}`, ExitCode.TIMEOUT);
              }
              journal?.record({ node, step: 'recovered' });
            }
            journal?.record({ node, step: 'done' });
            Object.assign(r, { status: 'done', phase: 'done' });
          } catch (err) {
            const failure = err instanceof StepFailed ? err : new StepFailed((err as Error).message, (err as { exitCode?: ExitCodeValue }).exitCode ?? ExitCode.API);
            journal?.record({ node, step: 'failed', detail: failure.message });
            Object.assign(r, { status: 'failed', detail: failure.message });
            if (code === ExitCode.OK) code = failure.exitCode;
          } finally {
            r.elapsedMs = Date.now() - started;
          }
        }),
      );
      if (code !== ExitCode.OK) break;
    }
  } finally {
    if (ticker) clearInterval(ticker);
    if (live) redraw();
    await lock.release();
  }
  for (const r of reports.values()) if (r.status === 'pending') Object.assign(r, { status: 'not-started', phase: 'not started' });
  report.outcome = code === ExitCode.OK ? 'done' : code === ExitCode.INTERRUPTED ? 'interrupted' : code === ExitCode.TIMEOUT ? 'timed-out' : 'failed';
  if (code !== ExitCode.OK) {
    const failed = [...reports.values()].find((r) => r.status === 'failed');
    report.next = `fix the cause${failed ? ` on ${failed.node}` : ''}, then run the same command again: it resumes where it stopped and skips finished nodes${[...reports.values()].some((r) => r.cordonedNow && r.cordonedByRun) ? `; or give up with: kubectl study-drain uncordon ${[...reports.values()].filter((r) => r.cordonedNow && r.cordonedByRun).map((r) => r.node).join(' ')}` : ''}`;
  }
  return finish(code);
}

function renderPlanSummary(r: MaintainReport, nodes: string[], progress: Map<string, NodeProgress>): string {
  let out = `Maintenance plan: ${nodes.length} node${nodes.length === 1 ? '' : 's'}, ${r.plan.order.length} step${r.plan.order.length === 1 ? '' : 's'}\n`;
  r.plan.order.forEach((b, i) => (out += `  ${i + 1}. ${b.join(', ')}\n`));
  const done = nodes.filter((n) => progress.get(n)?.done);
  if (done.length) out += `  already done in an earlier run (skipped): ${done.join(', ')}\n`;
  const resumed = nodes.filter((n) => !progress.get(n)?.done && progress.get(n)?.steps.size);
  if (resumed.length) out += `  resumed from the journal: ${resumed.map((n) => `${n} (${[...(progress.get(n)?.steps ?? [])].join(', ')})`).join('; ')}\n`;
  for (const b of r.plan.blocked) out += `  BLOCKED ${b.node}: ${b.blockers.join('; ')}\n`;
  if (r.plan.pdbs.length) {
    out += renderTable(['PDB', 'PODS IN STEP', 'HEALTHY', 'REQUIRED', 'ALLOWED NOW', 'VERDICT'], r.plan.pdbs.map((p) => [`${p.namespace}/${p.name}`, p.podsInDrain, `${p.currentHealthy}/${p.expectedPods}`, p.desiredHealthy, p.disruptionsAllowed, p.verdict]));
  }
  return `${out}\n`;
}

function renderReport(r: MaintainReport): string {
  let out = renderTable(
    ['NODE', 'RESULT', 'PHASE', 'ELAPSED', 'CORDONED NOW', 'DETAIL'],
    r.nodes.map((n) => [n.node, n.status, n.phase, n.elapsedMs ? formatDuration(n.elapsedMs) : '', n.cordonedNow ? (n.cordonedByRun ? 'yes (by this run)' : 'yes (before the run)') : 'no', n.detail ?? '']),
  );
  out += `Result: ${r.outcome}\n`;
  if (r.degraded.length) out += `Degraded workloads: ${r.degraded.join(', ')}\n`;
  if (r.next) out += `Next: ${r.next}\n`;
  return out;
}

export { BlockedError };
