/** Wiring of `kubectl study maintain`: arguments and flags only; the work is in src/maintain/. */
import type { Command } from 'commander';

import { UsageError } from '../errors.js';
import { addCommonFlags, addKubeFlags, readCommonFlags, readKubeFlags } from '../flags.js';
import type { RunState } from '../program.js';

type Opts = Record<string, unknown>;

export function defineMaintainCommand(cmd: Command, state: RunState): void {
  cmd
    .argument('[nodes...]', 'the nodes, in order')
    .option('-l, --selector <selector>', 'the nodes matching this label selector (in name order)')
    .option('--run <command>', 'run this for each node (by /bin/sh; the node is in $NODE, never spliced into the line)')
    .option('--wait-file <file>', 'instead of --run: wait for this file to exist before bringing each node back')
    .option('--max-unavailable <n>', 'nodes worked on at once (never more)', (v) => {
      if (!/^\d+$/.test(v)) throw new UsageError(`--max-unavailable takes a whole number, not "${v}"`);
      return Number(v);
    }, 1)
    .option('--journal <file>', 'record every step here; the same command again resumes from it')
    .option('--dry-run', 'show the plan for the whole run; change nothing')
    .option('-y, --yes', 'do not ask for confirmation (only asked on a terminal)')
    .option('--drain-timeout <duration>', 'give up on one node\u2019s drain after this long (0: never)', '10m')
    .option('--ready-timeout <duration>', 'how long a node may take to be Ready again', '10m')
    .option('--recover-timeout <duration>', 'how long the evicted workloads may take to be Available again', '10m')
    .option('--ignore-daemonsets', 'as in study-drain')
    .option('--delete-emptydir-data', 'as in study-drain')
    .option('--force', 'as in study-drain')
    .option('--ignore-opt-outs', 'as in study-drain')
    .option('--lock-namespace <namespace>', 'where the run\u2019s Lease lives', 'kube-system')
    .option('--lock-duration <duration>', 'how long the Lease lasts without renewal (renewed every third of it)', '30s');
  addKubeFlags(cmd, { namespace: false });
  addCommonFlags(cmd, ['table', 'json', 'yaml']);
  cmd.addHelpText(
    'after',
    `
For each node in turn: plan (stop if blocked), drain, run the command, wait for Ready, uncordon
(only if this run cordoned it), wait for the evicted workloads to be Available, then the next.
The plan for the whole run comes first; one run at a time per cluster (a Lease); a journal makes
the same command resumable after any stop, never redoing a finished node.

Examples:
  kubectl study maintain worker-1 worker-2 --dry-run --ignore-daemonsets
  kubectl study maintain -l pool=blue --run './upgrade.sh' --journal blue.journal --ignore-daemonsets --yes

Exit codes: 0 every node done, 3 blocked or a step failed, 4 timed out, 130 interrupted, 2 usage.`,
  );
  cmd.action(async (nodes: string[], opts: Opts) => {
    const common = readCommonFlags(opts, ['table', 'json', 'yaml']);
    state.verbose = common.verbose;
    const { runMaintain } = await import('../../maintain/run.js');
    state.exitCode = await runMaintain(state, {
      ...common,
      kube: readKubeFlags(opts),
      nodes,
      selector: opts.selector as string | undefined,
      run: opts.run as string | undefined,
      waitFile: opts.waitFile as string | undefined,
      maxUnavailable: opts.maxUnavailable as number,
      journal: opts.journal as string | undefined,
      dryRun: opts.dryRun === true,
      yes: opts.yes === true,
      drainTimeout: opts.drainTimeout as string,
      readyTimeout: opts.readyTimeout as string,
      recoverTimeout: opts.recoverTimeout as string,
      ignoreDaemonSets: opts.ignoreDaemonsets === true,
      deleteEmptyDirData: opts.deleteEmptydirData === true,
      force: opts.force === true,
      ignoreOptOuts: opts.ignoreOptOuts === true,
      lockNamespace: opts.lockNamespace as string,
      lockDuration: opts.lockDuration as string,
    });
  });
}
