/** `kubectl whocan` and `kubectl study-access`: arguments and flags only; the work is in src/rbac/. */
import type { Command } from '@commander-js/extra-typings';

import { exitCodeSummary } from '../../base/errors.js';
import { accessOptions, whoCanOptions, whyOptions } from '../../rbac/options.js';
import { argument } from '../candidates.js';
import { allNamespacesFlag, connectionFlags, fleetFlags, namespaceFlag, outputFlags, outputFormat } from '../flags.js';
import type { Emit } from '../operations.js';

const FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
const ACCESS_FORMATS = ['table', 'json', 'yaml'] as const;

export function defineWhoCan(cmd: Command, emit: Emit): void {
  const whocan = outputFlags(
    allNamespacesFlag(
      namespaceFlag(
        fleetFlags(
          connectionFlags(
            cmd
              .addArgument(
                argument(
                  '<verb>',
                  'the verb: get, list, create, delete, impersonate, bind, escalate, approve, sign, use, ...',
                  'verbs',
                ),
              )
              .addArgument(
                argument(
                  '[resource]',
                  'RESOURCE[.GROUP][/SUBRESOURCE], as kubectl names it (po, deploy, deployments.apps, pods/log)',
                  'resources',
                ),
              )
              .argument('[name]', 'an object name (never with list, create or deletecollection)')
              .option('--url <path>', 'a non-resource URL such as /healthz or /logs/*')
              .option('--verify', 'confirm every subject with the API server (SubjectAccessReview)')
              .option('--near-misses', 'also show bindings that almost grant it'),
          ),
        ),
      ),
    ),
    FORMATS,
  );
  whocan.addHelpText(
    'after',
    `
Every subject (User, Group, ServiceAccount) RBAC allows, with the binding, role and rule that grant it,
matched exactly as the RBAC authorizer matches. Without -n a namespaced resource is asked about in the
context's namespace; -A asks about every namespace (RoleBindings and ClusterRoleBindings alike).

Examples:
  kubectl whocan get secrets -n kube-system
  kubectl whocan create pods/exec -A --verify
  kubectl whocan impersonate users
  kubectl whocan get --url /logs/kube-apiserver.log
  kubectl whocan update deployments.apps web -n shop --near-misses

Exit codes: ${exitCodeSummary()}.`,
  );
  whocan.action((verb, resource, name, opts) =>
    emit('whocan', whoCanOptions(verb, resource, name, opts), outputFormat(opts.output, FORMATS), opts),
  );
}

export function defineAccess(cmd: Command, emit: Emit): void {
  cmd.enablePositionalOptions();
  const access = outputFlags(
    namespaceFlag(
      fleetFlags(connectionFlags(cmd.option('--sa <namespace/name>', 'analyse this service account'), 'subject')),
    ),
    ACCESS_FORMATS,
  );
  access.addHelpText(
    'after',
    `
What a subject may do: yourself by default, --as USER [--as-group G ...], or --sa NAMESPACE/NAME.
Here --as and --as-group name the subject to analyse; they do not impersonate.

Examples:
  kubectl study-access                       # yourself, in the context's namespace
  kubectl study-access --sa shop/ci -n shop
  kubectl study-access why create pods --as jane -n shop

Exit codes: ${exitCodeSummary()}.`,
  );
  access.action((opts) => emit('access', accessOptions(opts), outputFormat(opts.output, ACCESS_FORMATS), opts));

  const why = outputFlags(
    namespaceFlag(
      fleetFlags(
        connectionFlags(
          cmd
            .command('why')
            .description(
              'why a subject may (or may not) do VERB on RESOURCE: binding -> role -> rule, or the near misses',
            )
            .option('--sa <namespace/name>', 'analyse this service account')
            .addArgument(argument('<verb>', '', 'verbs'))
            .addArgument(argument('<resource>', '', 'resources'))
            .argument('[name]'),
          'subject',
        ),
      ),
    ),
    ACCESS_FORMATS,
  );
  why.action((verb, resource, name, opts) =>
    emit('access why', whyOptions(verb, resource, name, opts), outputFormat(opts.output, ACCESS_FORMATS), opts),
  );
}
