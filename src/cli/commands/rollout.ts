/** Wiring of `kubectl study-rollout`: arguments and flags only; the work is in src/rollout/. */
import type { Command } from 'commander';

import { UsageError } from '../errors.js';
import { addCommonFlags, addKubeFlags, readCommonFlags, readKubeFlags } from '../flags.js';
import type { OutputFormat } from '../output.js';
import type { RunState } from '../program.js';

type Opts = Record<string, unknown>;

function revisionNumber(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new UsageError(`${flag} takes a revision number, not "${value}"`);
    return Number(value);
  };
}

function bool(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new UsageError(`--watch takes true or false, not "${String(value)}"`);
}

export function defineRolloutCommand(cmd: Command, state: RunState): void {
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

Exit codes: 0 complete, 1 not done (--watch=false), 3 failed (progress deadline or --fail-fast),
4 timed out, 5 not found, 2 usage.`,
  );

  const status = cmd
    .command('status')
    .description('is the rollout done, and if not, why not (watched until done or --timeout)')
    .argument('<targets...>', 'KIND/NAME..., or KIND with -l SELECTOR')
    .option('-l, --selector <selector>', 'every workload of KIND matching this label selector')
    .option('-w, --watch [bool]', 'keep watching until done (--watch=false answers once)')
    .option('--timeout <duration>', 'give up after this long (0: never)', '0')
    .option('--fail-fast', 'stop at the first pod error (image pull, crash loop, FailedCreate) instead of waiting for the deadline');
  addKubeFlags(status);
  addCommonFlags(status, ['table', 'json', 'yaml']);
  status.action(async (targets: string[], opts: Opts) => {
    const common = readCommonFlags(opts, ['table', 'json', 'yaml'] as OutputFormat[]);
    state.verbose = common.verbose;
    const watch = bool(opts.watch, true);
    if (common.output === 'yaml' && watch) throw new UsageError('-o yaml needs --watch=false (a watch prints one JSON object per line: -o json)');
    const { runStatus } = await import('../../rollout/command.js');
    state.exitCode = await runStatus(state, {
      ...common,
      kube: readKubeFlags(opts),
      args: targets,
      selector: opts.selector as string | undefined,
      watch,
      timeout: opts.timeout as string,
      failFast: opts.failFast === true,
    });
  });

  const history = cmd
    .command('history')
    .description('revisions with images, change cause and replicas; --revision N for one; "diff A B" to compare')
    .argument('<target...>', 'KIND/NAME (or KIND NAME)')
    .option('--revision <n>', "show that revision's pod template", revisionNumber('--revision'));
  addKubeFlags(history);
  addCommonFlags(history, ['table', 'json', 'yaml']);
  history.action(async (args: string[], opts: Opts) => {
    const common = readCommonFlags(opts, ['table', 'json', 'yaml'] as OutputFormat[]);
    state.verbose = common.verbose;
    const diffAt = args.indexOf('diff');
    const kube = readKubeFlags(opts);
    const mod = await import('../../rollout/command.js');
    if (diffAt >= 0) {
      const target = args.slice(0, diffAt);
      const rest = args.slice(diffAt + 1);
      if (rest.length !== 2) throw new UsageError('diff takes two revisions: diff A B (a number or "live")', { hint: 'kubectl study-rollout history deployment/web diff 2 live' });
      state.exitCode = await mod.runDiff(state, { ...common, kube, args: target, from: rest[0]!, to: rest[1]! });
      return;
    }
    state.exitCode = await mod.runHistory(state, { ...common, kube, args, revision: opts.revision as number | undefined });
  });

  const undo = cmd
    .command('undo')
    .description('roll back to the previous revision (or --to-revision N), as kubectl does; --dry-run shows the diff')
    .argument('<target...>', 'KIND/NAME (or KIND NAME)')
    .option('--to-revision <n>', 'the revision to go back to (0: the previous one)', revisionNumber('--to-revision'), 0)
    .option('--dry-run [strategy]', 'show the diff that would be applied; change nothing')
    .option('-w, --watch', 'then follow the rollout status')
    .option('--timeout <duration>', 'with --watch: give up after this long', '0');
  addKubeFlags(undo);
  addCommonFlags(undo, ['table', 'json', 'yaml']);
  undo.action(async (args: string[], opts: Opts) => {
    const common = readCommonFlags(opts, ['table', 'json', 'yaml'] as OutputFormat[]);
    state.verbose = common.verbose;
    const { runUndo } = await import('../../rollout/command.js');
    state.exitCode = await runUndo(state, {
      ...common,
      kube: readKubeFlags(opts),
      args,
      toRevision: opts.toRevision as number,
      dryRun: opts.dryRun !== undefined && opts.dryRun !== 'none',
      watch: opts.watch === true,
      timeout: opts.timeout as string,
    });
  });
}
