/** `kubectl study-drain`: arguments and flags only; the work is in src/drain/. */
import type { Command } from '@commander-js/extra-typings';

import { formatDuration } from '../../base/duration.js';
import { exitCodeSummary } from '../../base/errors.js';
import { DRAIN_DEFAULTS } from '../../drain/defaults.js';
import { drainOptions, uncordonOptions } from '../../drain/options.js';
import { DEFAULT_OUTAGE_MS } from '../../kube/apierror.js';
import { argument } from '../candidates.js';
import { connectionFlags, fleetFlags, fleetOnlyDryRun, outputFlags, outputFormat } from '../flags.js';
import type { Emit } from '../operations.js';

const FORMATS = ['table', 'wide', 'json', 'yaml'] as const;

export function defineDrain(cmd: Command, emit: Emit): void {
  cmd.enablePositionalOptions();
  const drain = outputFlags(
    fleetFlags(
      connectionFlags(
        cmd
          .addArgument(argument('[nodes...]', 'the nodes to drain', 'nodes'))
          .option('--dry-run [strategy]', 'only show the plan; change nothing (kubectl accepts none|client|server)')
          .option('-l, --selector <selector>', 'drain the nodes matching this label selector')
          .option('--pod-selector <selector>', 'only the pods matching this label selector')
          .option('--force', 'also evict pods with no controller, or whose controller is gone')
          .option('--ignore-daemonsets', 'skip DaemonSet pods (kubectl refuses to drain a node with them otherwise)')
          .option('--delete-emptydir-data', 'also evict pods with emptyDir volumes (their data is lost)')
          .option('--disable-eviction', 'DELETE pods instead of evicting them: bypasses every PodDisruptionBudget')
          .option('--ignore-opt-outs', 'also evict pods annotated safe-to-evict "false" or do-not-disrupt "true"')
          .option('--strict', 'treat every risk of the plan as a block')
          .option(
            '--allow-unplaceable',
            'drain although the scheduler would find no node for some replacements (they stay Pending)',
          )
          .option(
            '--grace-period <seconds>',
            `seconds each pod gets to terminate; ${DRAIN_DEFAULTS.gracePeriodSeconds} (the default) uses the pod's own`,
          )
          .option('--timeout <duration>', 'give up after this long (default 0: never)')
          .option(
            '--skip-wait-for-delete-timeout <seconds>',
            'skip pods terminating for longer than this (default 0: off)',
          )
          .option(
            '--concurrency <n>',
            `evictions in flight at most, never more per PDB than it allows (default ${DRAIN_DEFAULTS.concurrency})`,
          )
          .option('--wait-healthy', 'after the pods are gone, wait until their workloads are Available again')
          .option(
            '--api-outage-timeout <duration>',
            'how long the API server may stay unreachable mid-drain before the drain stops ' +
              `(default ${formatDuration(DEFAULT_OUTAGE_MS)})`,
          )
          .option('-y, --yes', 'do not ask for confirmation (it is only asked on a terminal)'),
      ),
    ),
    FORMATS,
  );
  drain.addHelpText(
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

Exit codes: ${exitCodeSummary()}.`,
  );
  drain.action((nodes, opts) => {
    const options = drainOptions(nodes, opts);
    fleetOnlyDryRun(opts, options.dryRun, 'drain');
    emit('drain', options, outputFormat(opts.output, FORMATS), opts);
  });

  const uncordon = outputFlags(
    connectionFlags(
      cmd
        .command('uncordon')
        .description('make nodes schedulable again')
        .addArgument(argument('[nodes...]', 'the nodes', 'nodes')),
    ),
    ['table', 'json', 'yaml'],
  );
  uncordon.action((nodes, opts) =>
    emit('drain uncordon', uncordonOptions(nodes, opts), outputFormat(opts.output, ['table', 'json', 'yaml']), opts),
  );
}
