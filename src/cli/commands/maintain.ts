/** `kubectl study maintain`: arguments and flags only; the work is in src/maintain/. */
import type { Command } from '@commander-js/extra-typings';

import { formatDuration } from '../../base/duration.js';
import { exitCodeSummary } from '../../base/errors.js';
import { canAsk } from '../../base/prompt.js';
import { DEFAULT_OUTAGE_MS } from '../../kube/apierror.js';
import {
  LOCK_RENEW_SECONDS,
  MAINTAIN_DEFAULTS as DEFAULTS,
  MIN_LOCK_SECONDS,
  maintainOptions,
  maintainStatusOptions,
} from '../../maintain/options.js';
import { argument, option } from '../candidates.js';
import { connectionFlags, fleetFlags, fleetOnlyDryRun, outputFlags, outputFormat } from '../flags.js';
import type { Emit } from '../operations.js';

const FORMATS = ['table', 'json', 'yaml'] as const;

export function defineMaintain(cmd: Command, emit: Emit): void {
  cmd.enablePositionalOptions();
  const maintain = outputFlags(
    fleetFlags(
      connectionFlags(
        cmd
          .addArgument(argument('[nodes...]', 'the nodes, in order', 'nodes'))
          .option('-l, --selector <selector>', 'the nodes matching this label selector (in name order)')
          .option(
            '--run <command>',
            'run this for each node (by /bin/sh; the node is in $NODE and $STUDY_NODE, never spliced into the line)',
          )
          .option(
            '--before <command>',
            'run this for each node after the plan and before its drain (by /bin/sh; $NODE as for --run), ' +
              'e.g. to silence its alerts',
          )
          .option(
            '--after <command>',
            'run this for each node after its uncordon and recovery check (by /bin/sh; $NODE as for --run)',
          )
          .addOption(
            option(
              '--wait-file <file>',
              'instead of --run: wait for this file to exist before bringing each node back',
              'files',
            ),
          )
          .option('--max-unavailable <n>', `nodes worked on at once, never more (default ${DEFAULTS.maxUnavailable})`)
          .addOption(
            option(
              '--journal <file>',
              'also record every step in this local file (the cluster keeps the run\u2019s state beside its Lease); ' +
                'needed only for a run too large for that',
              'files',
            ),
          )
          .option(
            '--window <spec>',
            'start steps only inside this window, e.g. "Mon-Fri 22:00-06:00 Europe/Berlin" ([DAYS] HH:MM-HH:MM [ZONE]; ' +
              'repeat for several; kept in the run\u2019s state)',
            (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
          )
          .addOption(
            option(
              '--outside-window <wait|stop>',
              'outside every window: wait for the next (the default), or stop cleanly saying when it opens',
              ['wait', 'stop'],
            ),
          )
          .option('--pause-between <duration>', 'pause this long between steps (kept in the run\u2019s state)')
          .option('--dry-run', 'show the plan for the whole run; change nothing')
          .option('-y, --yes', 'do not ask for confirmation (only asked on a terminal)')
          .option(
            '--timeout <duration>',
            'give up on the whole run after this long, stopping at the step it is in (default 0: never)',
          )
          .option(
            '--drain-timeout <duration>',
            `give up on one node\u2019s drain after this long (default ${DEFAULTS.drainTimeout}; 0: never)`,
          )
          .option(
            '--ready-timeout <duration>',
            `how long a node may take to be Ready again (default ${DEFAULTS.readyTimeout})`,
          )
          .option(
            '--volume-detach-timeout <duration>',
            `after each drain, how long to wait for every volume to detach from the node before the command ` +
              `(default ${DEFAULTS.volumeDetachTimeout})`,
          )
          .option(
            '--skip-volume-detach-wait',
            'run the command without waiting for the node\u2019s volumes to detach (they may be attached while it runs)',
          )
          .option(
            '--recover-timeout <duration>',
            `how long the evicted workloads may take to be Available again (default ${DEFAULTS.recoverTimeout})`,
          )
          .option('--ignore-daemonsets', 'as in study-drain')
          .option('--delete-emptydir-data', 'as in study-drain')
          .option('--force', 'as in study-drain')
          .option('--ignore-opt-outs', 'as in study-drain')
          .option(
            '--allow-unplaceable',
            'go on although the scheduler would find no node for some replacements (they stay Pending), ' +
              'as in study-drain',
          )
          .addOption(
            option(
              '--resume-step <rerun|skip>',
              'for a command an earlier run started on another host: run it again, or take it as done',
              ['rerun', 'skip'],
            ),
          )
          .option(
            '--api-outage-timeout <duration>',
            'how long the API server may stay unreachable before the run stops at a step boundary ' +
              `(default ${formatDuration(DEFAULT_OUTAGE_MS)})`,
          )
          .addOption(
            option(
              '--lock-namespace <namespace>',
              `where the run\u2019s Lease lives (default ${DEFAULTS.lockNamespace})`,
              'namespaces',
            ),
          )
          .option(
            '--lock-duration <duration>',
            `how long the Lease lasts without renewal (default ${DEFAULTS.lockDuration}, at least ${MIN_LOCK_SECONDS}s; renewed every ${LOCK_RENEW_SECONDS}s)`,
          ),
      ),
    ),
    FORMATS,
  );
  maintain.addHelpText(
    'after',
    `
For each node in turn: plan (stop if blocked), drain, wait for its volumes to detach, run the
command, wait for Ready, uncordon (only if this run cordoned it), wait for the evicted workloads
to be Available, then the next.
The plan for the whole run comes first; one run at a time per cluster (a Lease). The run's state
lives in the cluster, in a ConfigMap beside the Lease (--lock-namespace): the same command again,
on this machine or any other, resumes the run, never redoing a finished node.

Examples:
  kubectl study maintain worker-1 worker-2 --dry-run --ignore-daemonsets
  kubectl study maintain -l pool=blue --run './upgrade.sh' --ignore-daemonsets --yes
  kubectl study maintain status

Exit codes: ${exitCodeSummary()}.`,
  );
  maintain.action((nodes, opts) => {
    fleetOnlyDryRun(opts, opts.dryRun === true, 'maintenance run');
    emit('maintain', maintainOptions(nodes, opts, canAsk(emit.io)), outputFormat(opts.output, FORMATS), opts);
  });

  const status = outputFlags(
    connectionFlags(
      cmd
        .command('status')
        .description('the current and last maintenance runs, from the state the cluster keeps: any machine can ask')
        .addOption(
          option(
            '--lock-namespace <namespace>',
            `where the runs\u2019 Lease and state live (default ${DEFAULTS.lockNamespace})`,
            'namespaces',
          ),
        ),
    ),
    FORMATS,
  );
  status.action((opts) =>
    emit('maintain status', maintainStatusOptions(opts), outputFormat(opts.output, FORMATS), opts),
  );
}
