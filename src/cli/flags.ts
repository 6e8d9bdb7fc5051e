/**
 * The flag sets shared by many commands, declared once: kubectl's
 * connection flags and the output flags. Typed through commander's
 * extra-typings, so the values arrive as a typed object (the jobs' options
 * modules validate them).
 */
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';

import { UsageError } from '../base/errors.js';
import type { OutputFormat } from '../base/run.js';
import { option } from './candidates.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * How a command reads --as and --as-group: kubectl's impersonation, or (study-access) the subject
 * to analyse, asked about without impersonating anybody.
 */
export type AsMeaning = 'impersonate' | 'subject';

const AS_HELP: Record<AsMeaning, { as: string; group: string; uid: string }> = {
  impersonate: {
    as: 'username to impersonate for the operation',
    group: 'group to impersonate for the operation; repeat for several groups',
    uid: 'UID to impersonate for the operation',
  },
  subject: {
    as: 'the user whose access to analyse (named, not impersonated)',
    group: 'a group of that user; repeat for several groups (named, not impersonated)',
    uid: 'not used here: the subject is a user with its groups, or a service account',
  },
};

/**
 * kubectl's connection flags: --kubeconfig, --context, --cluster, --user, --as, --as-group (repeatable),
 * --as-uid, --request-timeout, --cache-dir. -n is namespaceFlag, for the commands that take it.
 */
export function connectionFlags<A extends any[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
  as: AsMeaning = 'impersonate',
) {
  return cmd
    .addOption(
      option(
        '--kubeconfig <path>',
        'path to the kubeconfig file to use (instead of KUBECONFIG or ~/.kube/config)',
        'files',
      ),
    )
    .addOption(option('--context <name>', 'the kubeconfig context to use', 'contexts'))
    .addOption(option('--cluster <name>', 'the kubeconfig cluster to use', 'clusters'))
    .addOption(option('--user <name>', 'the kubeconfig user to use', 'users'))
    .option('--as <user>', AS_HELP[as].as)
    .addOption(new Option('--as-group <group>', AS_HELP[as].group).argParser(collect).default([] as string[], ''))
    .option('--as-uid <uid>', AS_HELP[as].uid)
    .option(
      '--request-timeout <duration>',
      'how long to wait for one server request (e.g. 1s, 2m); 0 (the default) waits forever',
    )
    .addOption(
      option(
        '--cache-dir <path>',
        "kubectl's cache directory; API discovery is cached (and shared with kubectl) beneath it " +
          '(default $KUBECACHEDIR, else ~/.kube/cache)',
        'files',
      ),
    );
}

export function namespaceFlag<A extends any[], O extends OptionValues, G extends OptionValues>(cmd: Command<A, O, G>) {
  return cmd.addOption(option('-n, --namespace <namespace>', 'the namespace scope for this request', 'namespaces'));
}

export function allNamespacesFlag<A extends any[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
) {
  return cmd.option('-A, --all-namespaces', 'across all namespaces');
}

/** -o, offering the command's formats besides the default table, and --verbose. */
export function outputFlags<A extends any[], O extends OptionValues, G extends OptionValues>(
  cmd: Command<A, O, G>,
  formats: readonly OutputFormat[],
) {
  const names = formats.filter((f) => f !== 'table');
  return cmd
    .addOption(option('-o, --output <format>', `output format: ${names.join('|')}`, names))
    .option('--verbose', 'show stack traces and request details on errors');
}

/** The -o value, checked against what the command offers. */
export function outputFormat(value: string | undefined, allowed: readonly OutputFormat[]): OutputFormat {
  if (value === undefined) return 'table';
  const format = value as OutputFormat;
  if (format !== 'table' && allowed.includes(format)) return format;
  throw new UsageError(`unsupported output format "${value}"`, {
    hint: `-o takes one of: ${allowed.filter((f) => f !== 'table').join(', ')}`,
  });
}
