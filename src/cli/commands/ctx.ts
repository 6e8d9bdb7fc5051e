/** `kubectl study-ctx`: arguments and flags only; the work is in src/ctx/. */
import type { Command, OptionValues } from '@commander-js/extra-typings';

import { checkOptions, listOptions, namespaceOptions, showOptions, useOptions } from '../../ctx/options.js';
import { argument, option } from '../candidates.js';
import { outputFlags, outputFormat } from '../flags.js';
import type { Emit } from '../operations.js';

const LIST_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
const FORMATS = ['table', 'json', 'yaml'] as const;

function kubeconfigFlag<A extends any[], O extends OptionValues, G extends OptionValues>(cmd: Command<A, O, G>) {
  return cmd.addOption(
    option('--kubeconfig <path>', 'read only this kubeconfig file (instead of KUBECONFIG or ~/.kube/config)', 'files'),
  );
}

export function defineCtx(cmd: Command, emit: Emit): void {
  // Options after a subcommand name belong to the subcommand.
  cmd.enablePositionalOptions();
  const list = outputFlags(
    kubeconfigFlag(cmd)
      .option('--check', 'also check every context against its cluster (see "check")')
      .option('--timeout <duration>', 'per-context timeout of --check (default 5s)'),
    LIST_FORMATS,
  );
  list.addHelpText(
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

Exit codes: 0 no error-level problem, 3 an error-level problem or a failed check, 5 no such context or file, 2 usage.`,
  );
  list.action((opts) => emit('ctx', listOptions(opts), outputFormat(opts.output, LIST_FORMATS), opts));

  const check = outputFlags(
    kubeconfigFlag(cmd.command('check'))
      .description('check contexts against their clusters: DNS, TCP, TLS, authentication, identity, version')
      .addArgument(argument('[context...]', 'contexts to check (default: all)', 'contexts'))
      .option('--timeout <duration>', 'per-context timeout; all contexts are checked in parallel (default 5s)'),
    FORMATS,
  );
  check.action((names, opts) => emit('ctx check', checkOptions(names, opts), outputFormat(opts.output, FORMATS), opts));

  const show = outputFlags(
    kubeconfigFlag(cmd.command('show'))
      .description('show one context in detail (default: the current one), every secret masked')
      .addArgument(argument('[context]', 'context name', 'contexts')),
    FORMATS,
  );
  show.action((name, opts) => emit('ctx show', showOptions(name, opts), outputFormat(opts.output, FORMATS), opts));

  const use = outputFlags(
    kubeconfigFlag(cmd.command('use'))
      .description('make CONTEXT the current context (writes the kubeconfig file that kubectl would write)')
      .addArgument(argument('<context>', 'context name', 'contexts')),
    FORMATS,
  );
  use.action((name, opts) => emit('ctx use', useOptions(name, opts), outputFormat(opts.output, FORMATS), opts));

  const ns = outputFlags(
    kubeconfigFlag(cmd.command('namespace'))
      .alias('ns')
      .description('set the default namespace of the current context (or of --context)')
      .addArgument(argument('<namespace>', 'namespace name', 'namespaces'))
      .addOption(option('--context <name>', 'the context to change (default: the current one)', 'contexts')),
    FORMATS,
  );
  ns.action((namespace, opts) =>
    emit('ctx namespace', namespaceOptions(namespace, opts), outputFormat(opts.output, FORMATS), opts),
  );
}
