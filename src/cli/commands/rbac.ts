/** Wiring of `kubectl whocan` and `kubectl study-access`; the work is in src/rbac/. */
import type { Command } from 'commander';

import { UsageError } from '../errors.js';
import { addCommonFlags, addKubeFlags, readCommonFlags, readKubeFlags } from '../flags.js';
import type { OutputFormat } from '../output.js';
import type { RunState } from '../program.js';

type Opts = Record<string, unknown>;
const FORMATS: OutputFormat[] = ['table', 'wide', 'json', 'yaml'];

export function defineWhoCanCommand(cmd: Command, state: RunState): void {
  cmd
    .argument('<verb>', 'the verb: get, list, create, delete, impersonate, bind, escalate, approve, sign, use, ...')
    .argument('[resource]', 'RESOURCE[.GROUP][/SUBRESOURCE], as kubectl names it (po, deploy, deployments.apps, pods/log)')
    .argument('[name]', 'an object name (never with list, create or deletecollection)')
    .option('--url <path>', 'a non-resource URL such as /healthz or /logs/*')
    .option('--verify', 'confirm every subject with the API server (SubjectAccessReview)')
    .option('--near-misses', 'also show bindings that almost grant it');
  addKubeFlags(cmd, { allNamespaces: true });
  addCommonFlags(cmd, FORMATS);
  cmd.addHelpText(
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

Exit codes: 0 someone is allowed, 1 nobody is (besides system:masters), 2 usage, 6 API error.`,
  );
  cmd.action(async (verb: string, resource: string | undefined, name: string | undefined, opts: Opts) => {
    const common = readCommonFlags(opts, FORMATS);
    state.verbose = common.verbose;
    const { runWhoCan } = await import('../../rbac/whocan.js');
    state.exitCode = await runWhoCan(state, {
      ...common,
      kube: readKubeFlags(opts),
      verb,
      resource,
      name,
      url: opts.url as string | undefined,
      verify: opts.verify === true,
      nearMisses: opts.nearMisses === true,
    });
  });
}

function subjectFlags(opts: Opts): { as?: string; asGroups: string[]; sa?: string } {
  const asGroups = Array.isArray(opts.asGroup) ? (opts.asGroup as string[]) : [];
  const as = typeof opts.as === 'string' ? opts.as : undefined;
  const sa = typeof opts.sa === 'string' ? opts.sa : undefined;
  if (sa && (as || asGroups.length)) throw new UsageError('--sa and --as/--as-group name the subject two ways; use one');
  return { as, asGroups, sa };
}

/** study-access reads --as/--as-group as the subject to analyse, so it parses them itself. */
function kubeFlagsWithoutImpersonation(opts: Opts): ReturnType<typeof readKubeFlags> {
  return readKubeFlags({ ...opts, as: undefined, asGroup: [], asUid: undefined });
}

export function defineAccessCommand(cmd: Command, state: RunState): void {
  cmd.enablePositionalOptions();
  const subject = (c: Command): Command =>
    c.option('--sa <namespace/name>', 'analyse this service account');
  subject(cmd);
  addKubeFlags(cmd);
  addCommonFlags(cmd, ['table', 'json', 'yaml']);
  cmd.addHelpText(
    'after',
    `
What a subject may do: yourself by default, --as USER [--as-group G ...], or --sa NAMESPACE/NAME.
Here --as and --as-group name the subject to analyse; they do not impersonate.

Examples:
  kubectl study-access                       # yourself, in the context's namespace
  kubectl study-access --sa shop/ci -n shop
  kubectl study-access why create pods --as jane -n shop`,
  );
  cmd.action(async (opts: Opts) => {
    const common = readCommonFlags(opts, ['table', 'json', 'yaml']);
    state.verbose = common.verbose;
    const { runAccess } = await import('../../rbac/access.js');
    state.exitCode = await runAccess(state, { ...common, kube: kubeFlagsWithoutImpersonation(opts), subject: subjectFlags(opts) });
  });
  const why = subject(cmd.command('why'))
    .description('why a subject may (or may not) do VERB on RESOURCE: binding -> role -> rule, or the near misses')
    .argument('<verb>')
    .argument('<resource>')
    .argument('[name]');
  addKubeFlags(why);
  addCommonFlags(why, ['table', 'json', 'yaml']);
  why.action(async (verb: string, resource: string, name: string | undefined, opts: Opts) => {
    const common = readCommonFlags(opts, ['table', 'json', 'yaml']);
    state.verbose = common.verbose;
    const { runWhy } = await import('../../rbac/access.js');
    state.exitCode = await runWhy(state, { ...common, kube: kubeFlagsWithoutImpersonation(opts), subject: subjectFlags(opts), verb, resource, name });
  });
}
