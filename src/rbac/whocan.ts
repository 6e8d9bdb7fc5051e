/**
 * `kubectl whocan VERB RESOURCE [NAME]` and `kubectl whocan VERB --url
 * /PATH`: every subject RBAC allows, through which binding, role and rule;
 * near misses on request; --verify asks the API server's own authorizer
 * (SubjectAccessReview) about each subject found.
 */
import type { RbacV1Subject, V1PolicyRule } from '@kubernetes/client-node';

import { ExitCode, UsageError, type ExitCodeValue } from '../cli/errors.js';
import type { CommonFlags, KubeFlags } from '../cli/flags.js';
import { colorEnabled, paint, writeStructured } from '../cli/output.js';
import type { RunState } from '../cli/program.js';
import { renderTable } from '../cli/table.js';
import { connect, type KubeClient } from '../kube/client.js';
import { discover, resolveResource } from '../kube/discovery.js';
import { mapLimit } from '../util/concurrency.js';
import { loadRbac } from './load.js';
import {
  describeRule,
  describeSubject,
  implicitGroups,
  RbacIndex,
  serviceAccountUsername,
  whoCan,
  type Grant,
  type NearMiss,
  type RequestAttributes,
} from './match.js';

export interface WhoCanOptions extends CommonFlags {
  kube: KubeFlags;
  verb: string;
  resource?: string;
  name?: string;
  url?: string;
  verify: boolean;
  nearMisses: boolean;
}

export interface WhoCanRow {
  subject: { kind: string; name: string; namespace?: string };
  reaches: string;
  binding: Grant['binding'];
  role: Grant['role'];
  rule: V1PolicyRule;
  scope: string;
  /** With --verify: what SubjectAccessReview answered. */
  verified?: boolean;
}

export interface WhoCanResult {
  kind: 'WhoCan';
  apiVersion: 'study.kubectl.io/v1';
  request: RequestAttributes & { allNamespaces: boolean };
  subjects: WhoCanRow[];
  superusers: string[];
  nearMisses: NearMiss[];
  /** True when some RBAC objects could not be read. */
  incomplete: boolean;
  missing: string[];
  /** With --verify: subjects where RBAC analysis and the authorizer disagree. */
  disagreements: Array<{ subject: WhoCanRow['subject']; scope: string; rbac: boolean; apiServer: boolean }>;
  notes: string[];
}

const VERBS_WITHOUT_NAME = new Set(['list', 'create', 'deletecollection']);

/** SubjectAccessReview spec identity for a binding subject, as the authenticator would present it. */
export function identityOf(subject: WhoCanRow['subject']): { user?: string; groups: string[] } {
  if (subject.kind === 'Group') return { groups: [subject.name] };
  if (subject.kind === 'ServiceAccount') {
    const user = serviceAccountUsername(subject.namespace ?? '', subject.name);
    return { user, groups: implicitGroups(user, []) };
  }
  return { user: subject.name, groups: implicitGroups(subject.name, []) };
}

export async function subjectAccessReview(client: KubeClient, who: { user?: string; groups: string[] }, req: RequestAttributes): Promise<boolean> {
  const review = await client.authz.createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        ...(who.user ? { user: who.user } : {}),
        groups: who.groups,
        ...(req.path !== undefined
          ? { nonResourceAttributes: { verb: req.verb, path: req.path } }
          : {
              resourceAttributes: {
                verb: req.verb,
                group: req.apiGroup,
                resource: req.resource,
                subresource: req.subresource,
                name: req.name,
                namespace: req.namespace,
              },
            }),
      },
    },
  });
  return review.status?.allowed === true;
}

export async function buildRequest(client: KubeClient, o: WhoCanOptions): Promise<RequestAttributes & { namespaced: boolean }> {
  if (o.url) {
    if (o.resource) throw new UsageError('give a RESOURCE or --url, not both');
    if (!o.url.startsWith('/')) throw new UsageError(`--url takes a path such as /healthz, not "${o.url}"`);
    return { verb: o.verb, apiGroup: '', resource: '', subresource: '', name: '', namespace: '', path: o.url, namespaced: false };
  }
  if (!o.resource) throw new UsageError('name a RESOURCE (or --url /PATH)', { hint: 'kubectl whocan get pods -n default' });
  const resolved = resolveResource(o.resource, await discover(client));
  if (o.name && VERBS_WITHOUT_NAME.has(o.verb)) {
    throw new UsageError(`"${o.verb}" requests carry no object name, so NAME cannot be matched`, { hint: `drop ${o.name}` });
  }
  const namespace = !resolved.namespaced || o.kube.allNamespaces ? '' : (o.kube.namespace ?? client.namespace);
  return { verb: o.verb, apiGroup: resolved.group, resource: resolved.resource, subresource: resolved.subresource, name: o.name ?? '', namespace, namespaced: resolved.namespaced };
}

export async function runWhoCan(state: RunState, o: WhoCanOptions): Promise<ExitCodeValue> {
  if (!o.verb) throw new UsageError('name a VERB', { hint: 'kubectl whocan get pods' });
  // whocan asks about others: the kube flags' --as would only impersonate the caller.
  const client = connect(o.kube, { signal: state.signal });
  const { namespaced, ...req } = await buildRequest(client, o);
  // Every namespace's Roles and RoleBindings only when the answer needs them (-A, near misses).
  const everyNamespace = o.kube.allNamespaces || o.nearMisses;
  const rbac = await loadRbac(client, req.namespace || client.namespace, everyNamespace ? {} : { onlyNamespace: req.namespace });
  const index = new RbacIndex(rbac.data);
  const { grants, nearMisses } = whoCan(index, req, o.kube.allNamespaces, namespaced);
  const rows: WhoCanRow[] = grants.map((g) => ({
    subject: { kind: g.subject.kind, name: g.subject.name, ...(g.subject.namespace ? { namespace: g.subject.namespace } : {}) },
    reaches: describeSubject(g.subject as RbacV1Subject),
    binding: g.binding,
    role: g.role,
    rule: g.rule,
    scope: g.scope,
  }));
  const result: WhoCanResult = {
    kind: 'WhoCan',
    apiVersion: 'study.kubectl.io/v1',
    request: { ...req, allNamespaces: o.kube.allNamespaces },
    subjects: rows,
    superusers: ['Group system:masters'],
    nearMisses: o.nearMisses ? nearMisses : [],
    incomplete: rbac.missing.length > 0,
    missing: rbac.missing,
    disagreements: [],
    notes: [
      'members of system:masters are allowed everything by the API server before RBAC, with no binding',
      'other authorizers (Node, Webhook, ABAC) can allow what RBAC analysis cannot see',
    ],
  };
  if (o.verify) {
    const seen = new Map<string, boolean>();
    await mapLimit(rows, 16, async (row) => {
      const key = `${row.subject.kind}/${row.subject.namespace ?? ''}/${row.subject.name}@${row.scope}`;
      if (!seen.has(key)) seen.set(key, await client.call('create subjectaccessreviews', () => subjectAccessReview(client, identityOf(row.subject), { ...req, namespace: row.scope || req.namespace })));
      row.verified = seen.get(key)!;
    });
    for (const row of rows) {
      if (row.verified === false && !result.disagreements.some((d) => d.subject.name === row.subject.name && d.scope === row.scope)) {
        result.disagreements.push({ subject: row.subject, scope: row.scope, rbac: true, apiServer: false });
      }
    }
  }
  const structured = o.output === 'json' || o.output === 'yaml';
  if (structured) await writeStructured(state.io, o.output as 'json' | 'yaml', result);
  else state.io.stdout.write(renderWhoCan(result, o.output === 'wide', o.verify, colorEnabled(state.io)));
  return rows.length > 0 ? ExitCode.OK : ExitCode.NEGATIVE;
}

function requestText(r: WhoCanResult['request']): string {
  if (r.path !== undefined) return `${r.verb} ${r.path}`;
  const res = `${r.resource}${r.subresource ? `/${r.subresource}` : ''}${r.apiGroup ? `.${r.apiGroup}` : ''}${r.name ? ` ${r.name}` : ''}`;
  return `${r.verb} ${res}${r.allNamespaces ? ' in any namespace' : r.namespace ? ` in namespace ${r.namespace}` : ' (cluster-wide)'}`;
}

export function renderWhoCan(r: WhoCanResult, wide: boolean, verify: boolean, colour: boolean): string {
  let out = `Who can ${requestText(r.request)}:\n`;
  if (r.subjects.length) {
    const headers = ['SUBJECT', 'KIND', 'BINDING', 'ROLE', 'SCOPE'];
    if (wide) headers.push('RULE', 'REACHES');
    if (verify) headers.push('VERIFIED');
    const rows = r.subjects.map((s) => {
      const row = [
        s.subject.kind === 'ServiceAccount' ? `${s.subject.namespace}/${s.subject.name}` : s.subject.name,
        s.subject.kind,
        `${s.binding.kind}/${s.binding.namespace ? `${s.binding.namespace}/` : ''}${s.binding.name}`,
        `${s.role.kind}/${s.role.name}`,
        s.scope || 'cluster',
      ];
      if (wide) row.push(describeRule(s.rule), s.reaches);
      if (verify) row.push(s.verified === undefined ? '' : s.verified ? paint(colour, 'green', 'yes') : paint(colour, 'red', 'NO'));
      return row;
    });
    out += renderTable(headers, rows);
  } else {
    out += 'No subject is allowed this by RBAC.\n';
  }
  for (const s of r.superusers) out += `${s}: superuser, allowed without any binding\n`;
  if (r.nearMisses.length) {
    out += '\nNear misses:\n';
    for (const m of r.nearMisses) out += `  ${m.code}: ${m.binding.kind}/${m.binding.namespace ? `${m.binding.namespace}/` : ''}${m.binding.name} (${m.role.kind}/${m.role.name}): ${m.message}\n`;
  }
  if (r.disagreements.length) {
    out += `\n${paint(colour, 'red', 'The API server disagrees')} for: ${r.disagreements.map((d) => d.subject.name).join(', ')}\n`;
  }
  if (r.incomplete) {
    out += `\n${paint(colour, 'yellow', 'INCOMPLETE')}: you may not ${r.missing.join('; ')}: subjects granted through what could not be read are missing.\n`;
  }
  out += `\nNote: ${r.notes[1]}.\n`;
  return out;
}
