/** `kubectl study-rollout`: arguments and flags only; the work is in src/rollout/. */
import type { Command } from '@commander-js/extra-typings';

import { exitCodeSummary } from '../../base/errors.js';
import { historyOptions, statusOptions, undoOptions } from '../../rollout/options.js';
import { argument } from '../candidates.js';
import { connectionFlags, fleetFlags, namespaceFlag, outputFlags, outputFormat } from '../flags.js';
import type { Emit } from '../operations.js';

const FORMATS = ['table', 'json', 'yaml'] as const;

export function defineRollout(cmd: Command, emit: Emit): void {
  cmd.enablePositionalOptions();
  cmd.addHelpText(
    'after',
    `
Examples:
  kubectl study-rollout status deployment/web              # watch until done, saying why it is not
  kubectl study-rollout status deploy -l tier=front --fail-fast --timeout 5m
  kubectl study-rollout history deployment/web
  kubectl study-rollout history deployment/web diff 2 live
  kubectl study-rollout undo deployment/web --to-revision 2 --dry-run

Exit codes: ${exitCodeSummary()}.`,
  );

  const status = outputFlags(
    namespaceFlag(
      fleetFlags(
        connectionFlags(
          cmd
            .command('status')
            .description('is the rollout done, and if not, why not (watched until done or --timeout)')
            .addArgument(argument('<targets...>', 'KIND/NAME..., or KIND with -l SELECTOR', 'workloads'))
            .option('-l, --selector <selector>', 'every workload of KIND matching this label selector')
            .option('-w, --watch [bool]', 'keep watching until done (--watch=false answers once)')
            .option('--timeout <duration>', 'give up after this long (default 0: never)')
            .option(
              '--fail-fast',
              'stop at the first pod error (image pull, crash loop, FailedCreate) instead of waiting for the deadline',
            ),
        ),
      ),
    ),
    FORMATS,
  );
  status.action((targets, opts) => {
    const output = outputFormat(opts.output, FORMATS);
    emit('rollout status', statusOptions(targets, opts, output), output, opts);
  });

  const history = outputFlags(
    namespaceFlag(
      fleetFlags(
        connectionFlags(
          cmd
            .command('history')
            .description(
              'revisions with images, change cause and replicas; --revision N for one; "diff A B" to compare',
            )
            .addArgument(
              argument('<target...>', 'KIND/NAME (or KIND NAME), optionally followed by: diff A B', 'workloads'),
            )
            .option('--revision <n>', "show that revision's pod template"),
        ),
      ),
    ),
    FORMATS,
  );
  history.action((args, opts) => {
    const op = historyOptions(args, opts);
    const output = outputFormat(opts.output, FORMATS);
    if (op.command === 'diff') emit('rollout diff', op.options, output, opts);
    else emit('rollout history', op.options, output, opts);
  });

  const undo = outputFlags(
    namespaceFlag(
      connectionFlags(
        cmd
          .command('undo')
          .description(
            'roll back to the previous revision (or --to-revision N), as kubectl does; --dry-run shows the diff',
          )
          .addArgument(argument('<target...>', 'KIND/NAME (or KIND NAME)', 'workloads'))
          .option('--to-revision <n>', 'the revision to go back to (default 0: the previous one)')
          .option('--dry-run [strategy]', 'show the diff that would be applied; change nothing')
          .option('-w, --watch', 'then follow the rollout status')
          .option('--timeout <duration>', 'with --watch: give up after this long'),
      ),
    ),
    FORMATS,
  );
  undo.action((args, opts) => emit('rollout undo', undoOptions(args, opts), outputFormat(opts.output, FORMATS), opts));
}
