/** whocan's and study-access's options: bound from the flags and validated here, once. Pure. */
import { UsageError } from '../base/errors.js';
import { exclusive, headerValue, nameArg, namespaceName, objectName, type NameRule } from '../base/parse.js';
import {
  asGroupNames,
  connectionOptions,
  withoutImpersonation,
  type ConnectionFlags,
  type ConnectionOptions,
} from '../kube/connection.js';

export interface WhoCanOptions {
  connection: ConnectionOptions;
  verb: string;
  resource?: string;
  name?: string;
  url?: string;
  verify: boolean;
  nearMisses: boolean;
}

export interface WhoCanFlags extends ConnectionFlags {
  url?: string;
  verify?: boolean;
  nearMisses?: boolean;
}

const VERBS_WITHOUT_NAME = new Set(['list', 'create', 'deletecollection']);

function verbArg(verb: string): string {
  if (!/^([a-z][a-z-]*|\*)$/i.test(verb))
    throw new UsageError(`"${verb}" is not a verb`, {
      hint: 'e.g. get, list, create, delete, impersonate, bind, escalate, use, or *',
    });
  return verb;
}

export function whoCanOptions(
  verb: string,
  resource: string | undefined,
  name: string | undefined,
  flags: WhoCanFlags,
): WhoCanOptions {
  const out: WhoCanOptions = {
    connection: connectionOptions(flags),
    verb: verbArg(verb),
    verify: flags.verify === true,
    nearMisses: flags.nearMisses === true,
  };
  if (flags.url !== undefined) {
    exclusive({ RESOURCE: resource, '--url': flags.url });
    if (!flags.url.startsWith('/')) throw new UsageError(`--url takes a path such as /healthz, not "${flags.url}"`);
    if (name !== undefined) throw new UsageError('--url takes no object name');
    out.url = flags.url;
    return out;
  }
  if (!resource)
    throw new UsageError('name a RESOURCE (or --url /PATH)', { hint: 'kubectl whocan get pods -n default' });
  out.resource = resourceArg(resource);
  if (name !== undefined) {
    if (VERBS_WITHOUT_NAME.has(out.verb))
      throw new UsageError(`"${out.verb}" requests carry no object name, so NAME cannot be matched`, {
        hint: `drop ${name}`,
      });
    out.name = nameText(name);
  }
  return out;
}

/** NAME before discovery: only what no name of any resource can be (empty, a control character). */
function nameText(name: string): string {
  return nameArg('any', 'object', name);
}

/**
 * The names each resource takes where they are not an object's DNS-1123
 * subdomain. RBAC's resourceNames are any string a request can carry: who
 * may impersonate groups system:masters, approve for
 * kubernetes.io/kube-apiserver-client, bind clusterroles system:aggregate-to-edit.
 */
const NAME_RULES: Record<string, { rule: NameRule; what: string }> = {
  users: { rule: 'any', what: 'user' },
  groups: { rule: 'any', what: 'group' },
  'uids.authentication.k8s.io': { rule: 'any', what: 'UID' },
  'userextras.authentication.k8s.io': { rule: 'any', what: 'user extra' },
  'signers.certificates.k8s.io': { rule: 'signer', what: 'signer' },
  namespaces: { rule: 'dns-label', what: 'namespace' },
  services: { rule: 'dns-label', what: 'service' },
  'statefulsets.apps': { rule: 'dns-label', what: 'statefulset' },
  'roles.rbac.authorization.k8s.io': { rule: 'path-segment', what: 'role' },
  'rolebindings.rbac.authorization.k8s.io': { rule: 'path-segment', what: 'role binding' },
  'clusterroles.rbac.authorization.k8s.io': { rule: 'path-segment', what: 'cluster role' },
  'clusterrolebindings.rbac.authorization.k8s.io': { rule: 'path-segment', what: 'cluster role binding' },
  '*.*': { rule: 'any', what: 'object' },
};

/** NAME of whocan and why, once discovery has said which resource it names: valid as the API takes its names. Pure. */
export function resourceNameArg(resource: { group: string; resource: string }, name: string): string {
  const known = NAME_RULES[resource.group ? `${resource.resource}.${resource.group}` : resource.resource];
  return nameArg(known?.rule ?? 'dns-subdomain', known?.what ?? 'object', name);
}

/** The subject study-access analyses: --sa, --as with --as-group, or yourself. */
export type SubjectSpec =
  | { kind: 'self' }
  | { kind: 'user'; user: string; groups: string[] }
  | { kind: 'serviceaccount'; namespace: string; name: string };

export interface AccessOptions {
  /** The caller's connection: --as here names the subject, it does not impersonate. */
  connection: ConnectionOptions;
  subject: SubjectSpec;
}

export interface AccessFlags extends ConnectionFlags {
  sa?: string;
}

function subjectSpec(flags: AccessFlags): SubjectSpec {
  if (flags.asUid !== undefined)
    throw new UsageError('--as-uid is not used here: the subject is a user with its groups, or a service account', {
      hint: 'drop --as-uid',
    });
  const groups = asGroupNames(flags.asGroup ?? []);
  if (flags.sa !== undefined) {
    if (flags.as !== undefined || groups.length)
      throw new UsageError('--sa and --as/--as-group name the subject two ways; use one');
    const match = /^([^/]+)\/([^/]+)$/.exec(flags.sa);
    if (!match) throw new UsageError(`--sa takes NAMESPACE/NAME, not "${flags.sa}"`);
    return {
      kind: 'serviceaccount',
      namespace: namespaceName('--sa', match[1]!),
      name: objectName('service account', match[2]!),
    };
  }
  if (flags.as !== undefined) {
    if (flags.as.trim() === '')
      throw new UsageError('--as was given an empty user name', { hint: 'name the user, e.g. --as jane' });
    return { kind: 'user', user: headerValue('--as', flags.as), groups };
  }
  if (groups.length) throw new UsageError('--as-group needs --as', { hint: 'name the user whose groups these are' });
  return { kind: 'self' };
}

export function accessOptions(flags: AccessFlags): AccessOptions {
  const subject = subjectSpec(flags);
  return {
    connection: withoutImpersonation(connectionOptions({ ...flags, as: undefined, asGroup: [], asUid: undefined })),
    subject,
  };
}

export interface WhyOptions extends AccessOptions {
  verb: string;
  resource: string;
  name?: string;
}

const RESOURCE_ARG = /^(\*|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)(\/(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?))?$/i;

/** RESOURCE[.GROUP][/SUBRESOURCE], checked before discovery: pods, deployments.apps, pods/log, *. */
function resourceArg(text: string): string {
  if (!RESOURCE_ARG.test(text)) {
    throw new UsageError(
      `${text.trim() === '' ? 'an empty RESOURCE' : `"${text}" is not a RESOURCE`}: ` +
        'expected RESOURCE[.GROUP][/SUBRESOURCE]',
      { hint: 'for example pods, deployments.apps or pods/log' },
    );
  }
  return text;
}

export function whyOptions(verb: string, resource: string, name: string | undefined, flags: AccessFlags): WhyOptions {
  const out: WhyOptions = { ...accessOptions(flags), verb: verbArg(verb), resource: resourceArg(resource) };
  if (name !== undefined) out.name = nameText(name);
  return out;
}
