/**
 * Wiring of `kubectl study-ctx`: arguments and flags only. The work is in
 * src/ctx/, imported when a subcommand runs.
 */
import type { Command } from 'commander';

import { addCommonFlags, readCommonFlags } from '../flags.js';
import type { OutputFormat } from '../output.js';
import type { RunState } from '../program.js';

const LIST_FORMATS: OutputFormat[] = ['table', 'wide', 'json', 'yaml'];
const FORMATS: OutputFormat[] = ['table', 'json', 'yaml'];

function addConfigFlags(cmd: Command): Command {
  return cmd.option('--kubeconfig <path>', 'read only this kubeconfig file (instead of KUBECONFIG or ~/.kube/config)');
}

type Opts = Record<string, unknown>;

export function defineCtxCommand(cmd: Command, state: RunState): void {
  // Options after a subcommand name belong to the subcommand.
  cmd.enablePositionalOptions();
  addConfigFlags(cmd)
    .option('--check', 'also check every context against its cluster (see "check")')
    .option('--timeout <duration>', 'per-context timeout of --check', '5s');
  addCommonFlags(cmd, LIST_FORMATS);
  cmd.addHelpText(
    'after',
    `
Lists every context of the merged kubeconfig (KUBECONFIG files merged as kubectl merges them),
with its auth method, client certificate expiry and problems. Secrets never appear in any output.

Examples:
  kubectl study-ctx                     # list contexts and problems
  kubectl study-ctx -o wide             # also: which file defines each context
  kubectl study-ctx check               # reachability, TLS, identity, version of every context, in parallel
  kubectl study-ctx show prod           # one context in detail, secrets masked
  kubectl study-ctx use prod            # switch the current context (writes the kubeconfig)
  kubectl study-ctx namespace kube-system  # set the current context's default namespace

Exit codes: 0 no error-level problem, 3 an error-level problem or a failed check, 2 usage.`,
  );
  cmd.action(async (opts: Opts) => {
    const common = readCommonFlags(opts, LIST_FORMATS);
    state.verbose = common.verbose;
    const { runList } = await import('../../ctx/command.js');
    state.exitCode = await runList(state, {
      ...common,
      kubeconfig: opts.kubeconfig as string | undefined,
      check: opts.check === true,
      timeout: opts.timeout as string,
    });
  });

  const check = addConfigFlags(cmd.command('check'))
    .description('check contexts against their clusters: DNS, TCP, TLS, authentication, identity, version')
    .argument('[context...]', 'contexts to check (default: all)')
    .option('--timeout <duration>', 'per-context timeout; all contexts are checked in parallel', '5s');
  addCommonFlags(check, FORMATS);
  check.action(async (names: string[], opts: Opts) => {
    const common = readCommonFlags(opts, FORMATS);
    state.verbose = common.verbose;
    const { runCheck } = await import('../../ctx/command.js');
    state.exitCode = await runCheck(state, { ...common, kubeconfig: opts.kubeconfig as string | undefined, names, timeout: opts.timeout as string });
  });

  const show = addConfigFlags(cmd.command('show'))
    .description('show one context in detail (default: the current one), every secret masked')
    .argument('[context]', 'context name');
  addCommonFlags(show, FORMATS);
  show.action(async (name: string | undefined, opts: Opts) => {
    const common = readCommonFlags(opts, FORMATS);
    state.verbose = common.verbose;
    const { runShow } = await import('../../ctx/command.js');
    state.exitCode = await runShow(state, { ...common, kubeconfig: opts.kubeconfig as string | undefined, name });
  });

  const use = addConfigFlags(cmd.command('use'))
    .description('make CONTEXT the current context (writes the kubeconfig file that kubectl would write)')
    .argument('<context>', 'context name');
  addCommonFlags(use, FORMATS);
  use.action(async (name: string, opts: Opts) => {
    const common = readCommonFlags(opts, FORMATS);
    state.verbose = common.verbose;
    const { runUse } = await import('../../ctx/command.js');
    state.exitCode = await runUse(state, { ...common, kubeconfig: opts.kubeconfig as string | undefined, name });
  });

  const ns = addConfigFlags(cmd.command('namespace'))
    .alias('ns')
    .description("set the default namespace of the current context (or of --context)")
    .argument('<namespace>', 'namespace name')
    .option('--context <name>', 'the context to change (default: the current one)');
  addCommonFlags(ns, FORMATS);
  ns.action(async (namespace: string, opts: Opts) => {
    const common = readCommonFlags(opts, FORMATS);
    state.verbose = common.verbose;
    const { runNamespace } = await import('../../ctx/command.js');
    state.exitCode = await runNamespace(state, {
      ...common,
      kubeconfig: opts.kubeconfig as string | undefined,
      namespace,
      context: opts.context as string | undefined,
    });
  });
}
