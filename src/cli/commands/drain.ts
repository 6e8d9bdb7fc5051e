/** Wiring of `kubectl study-drain`: arguments and flags only; the work is in src/drain/. */
import type { Command } from 'commander';

import { UsageError } from '../errors.js';
import { addCommonFlags, addKubeFlags, readCommonFlags, readKubeFlags } from '../flags.js';
import type { OutputFormat } from '../output.js';
import type { RunState } from '../program.js';

const FORMATS: OutputFormat[] = ['table', 'wide', 'json', 'yaml'];

type Opts = Record<string, unknown>;

function int(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`${name} takes a whole number, not "${value}"`);
    return n;
  };
}

export function defineDrainCommand(cmd: Command, state: RunState): void {
  cmd.enablePositionalOptions();
  cmd
    .argument('[nodes...]', 'the nodes to drain')
    .option('--dry-run [strategy]', 'only show the plan; change nothing (kubectl accepts none|client|server)')
    .option('-l, --selector <selector>', 'drain the nodes matching this label selector')
    .option('--pod-selector <selector>', 'only the pods matching this label selector')
    .option('--force', 'also evict pods with no controller, or whose controller is gone')
    .option('--ignore-daemonsets', 'skip DaemonSet pods (kubectl refuses to drain a node with them otherwise)')
    .option('--delete-emptydir-data', 'also evict pods with emptyDir volumes (their data is lost)')
    .option('--disable-eviction', 'DELETE pods instead of evicting them: bypasses every PodDisruptionBudget')
    .option('--ignore-opt-outs', 'also evict pods annotated safe-to-evict "false" or do-not-disrupt "true"')
    .option('--strict', 'treat every risk of the plan as a block')
    .option('--allow-unplaceable', 'drain although the scheduler would find no node for some replacements (they stay Pending)')
    .option('--grace-period <seconds>', "seconds each pod gets to terminate; -1 uses the pod's own", int('--grace-period'), -1)
    .option('--timeout <duration>', 'give up after this long (0: never)', '0')
    .option('--skip-wait-for-delete-timeout <seconds>', 'skip pods terminating for longer than this', int('--skip-wait-for-delete-timeout'), 0)
    .option('--concurrency <n>', 'evictions in flight at most (never more per PDB than it allows)', int('--concurrency'), 10)
    .option('--wait-healthy', 'after the pods are gone, wait until their workloads are Available again')
    .option('-y, --yes', 'do not ask for confirmation (it is only asked on a terminal)');
  addKubeFlags(cmd, { namespace: false });
  addCommonFlags(cmd, FORMATS);
  cmd.addHelpText(
    'after',
    `
First a read-only plan: every pod on the node, what the drain would do with it and why, the
PodDisruptionBudgets counted across the whole drain, workloads that would lose every ready
replica, and where the scheduler would put each replacement (its filters simulated on a
snapshot of the cluster: taints, node affinity, resources, host ports, pod affinity and
anti-affinity, topology spread, volumes). A replacement that fits nowhere blocks the plan
unless --allow-unplaceable. A blocked plan changes nothing.
Then: cordon, evict (policy/v1 Eviction with the pod's UID as a precondition), wait for
each pod to be gone. Ctrl-C starts no new eviction, reports, and leaves the node cordoned.

Examples:
  kubectl study-drain worker-1 --dry-run            # the plan only
  kubectl study-drain worker-1 --ignore-daemonsets  # plan, confirm, drain
  kubectl study-drain worker-1 --ignore-daemonsets --yes --timeout 10m -o json
  kubectl study-drain uncordon worker-1

Exit codes: 0 drained (or the plan can proceed), 3 blocked, 4 timed out, 5 node not found,
6 API or connection error, 130 interrupted, 2 usage.`,
  );
  cmd.action(async (nodes: string[], opts: Opts) => {
    const common = readCommonFlags(opts, FORMATS);
    state.verbose = common.verbose;
    const kube = readKubeFlags(opts);
    const dryRun = opts.dryRun === undefined ? false : opts.dryRun === true ? true : String(opts.dryRun) !== 'none';
    if (typeof opts.dryRun === 'string' && !['none', 'client', 'server'].includes(opts.dryRun)) {
      throw new UsageError(`invalid --dry-run "${opts.dryRun}"`, { hint: '--dry-run takes none, client or server (all but none show the plan only)' });
    }
    const { runDrain } = await import('../../drain/command.js');
    state.exitCode = await runDrain(state, {
      ...common,
      kube,
      nodes,
      selector: opts.selector as string | undefined,
      podSelector: opts.podSelector as string | undefined,
      dryRun,
      force: opts.force === true,
      ignoreDaemonSets: opts.ignoreDaemonsets === true,
      deleteEmptyDirData: opts.deleteEmptydirData === true,
      disableEviction: opts.disableEviction === true,
      ignoreOptOuts: opts.ignoreOptOuts === true,
      strict: opts.strict === true,
      allowUnplaceable: opts.allowUnplaceable === true,
      gracePeriod: opts.gracePeriod as number,
      timeout: opts.timeout as string,
      skipWaitForDeleteTimeout: opts.skipWaitForDeleteTimeout as number,
      concurrency: opts.concurrency as number,
      waitHealthy: opts.waitHealthy === true,
      yes: opts.yes === true,
    });
  });

  const uncordon = cmd.command('uncordon').description('make nodes schedulable again').argument('<nodes...>', 'the nodes');
  addKubeFlags(uncordon, { namespace: false });
  addCommonFlags(uncordon, ['table', 'json', 'yaml']);
  uncordon.action(async (nodes: string[], opts: Opts) => {
    const common = readCommonFlags(opts, ['table', 'json', 'yaml']);
    state.verbose = common.verbose;
    const { runUncordon } = await import('../../drain/command.js');
    state.exitCode = await runUncordon(state, { ...common, kube: readKubeFlags(opts), nodes });
  });
}
