/**
 * The catalog of names: every name argument of every command, valid and
 * invalid, validated by what the API accepts for that kind of name, not by
 * one DNS rule for all. Nodes, Deployments, DaemonSets, service accounts:
 * DNS-1123 subdomains; namespaces, StatefulSets, services: DNS-1123
 * labels; RBAC objects: path segments (system:controller:x); users, groups,
 * UIDs: any text a request carries (system:masters); signers: DOMAIN/PATH;
 * contexts, clusters and kubeconfig users: any non-empty text without
 * control characters.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseArgs, type PluginName } from '../../../src/cli/program.js';
import { resourceNameArg } from '../../../src/rbac/options.js';
import { captureIo } from '../../support/io.js';

/** A name is accepted (true) or refused with this error. */
type Verdict = true | RegExp;

const long = (n: number): string => 'a'.repeat(n);
const journal = ['--run', 'x', '--journal', 'j'];

const COMMANDS: Array<[PluginName, string[], Verdict]> = [
  // study-drain, uncordon, maintain: node names (DNS-1123 subdomains).
  ['study-drain', ['worker-1'], true],
  ['study-drain', ['worker-1.eu-west-1.compute.internal'], true],
  ['study-drain', [long(253)], true],
  ['study-drain', [long(254)], /is not a valid node name/],
  ['study-drain', ['Node_1'], /"Node_1" is not a valid node name/],
  ['study-drain', ['node:1'], /"node:1" is not a valid node name/],
  ['study-drain', ['worker-'], /"worker-" is not a valid node name/],
  ['study-drain', [''], /an empty name is not a valid node name/],
  ['study-drain', ['uncordon', 'worker-1.example.com'], true],
  ['study-drain', ['uncordon', 'Worker'], /"Worker" is not a valid node name/],
  ['study', ['maintain', 'worker-1.example.com', ...journal], true],
  ['study', ['maintain', 'worker/1', ...journal], /"worker\/1" is not a valid node name/],
  ['study', ['maintain', 'n1', ...journal, '--lock-namespace', 'kube-system'], true],
  [
    'study',
    ['maintain', 'n1', ...journal, '--lock-namespace', 'ops.tools'],
    /"ops.tools" is not a valid namespace name/,
  ],
  // study-rollout: Deployments and DaemonSets are subdomains; StatefulSets labels (their pods' host names).
  ['study-rollout', ['status', 'deploy/web.v2'], true],
  ['study-rollout', ['status', 'ds/node-exporter.v1'], true],
  ['study-rollout', ['status', 'sts/web-0'], true],
  ['study-rollout', ['status', 'sts/web.v2'], /"web.v2" is not a valid statefulset name/],
  ['study-rollout', ['status', 'sts', long(64)], /is not a valid statefulset name/],
  ['study-rollout', ['status', 'deploy/Web'], /"Web" is not a valid deployment name/],
  ['study-rollout', ['history', 'statefulset/db.primary'], /"db.primary" is not a valid statefulset name/],
  ['study-rollout', ['history', 'deployment/db.primary'], true],
  ['study-rollout', ['undo', 'daemonset/x_y'], /"x_y" is not a valid daemonset name/],
  ['study-rollout', ['status', 'deploy/web', '-n', 'team-a'], true],
  ['study-rollout', ['status', 'deploy/web', '-n', 'team.a'], /"team.a" is not a valid namespace name/],
  // whocan and why before discovery: any text a request can carry; the resource's own rule comes after.
  ['whocan', ['impersonate', 'groups', 'system:masters'], true],
  ['whocan', ['impersonate', 'users', 'system:serviceaccount:kube-system:default'], true],
  ['whocan', ['approve', 'signers.certificates.k8s.io', 'kubernetes.io/kube-apiserver-client'], true],
  ['whocan', ['bind', 'clusterroles', 'system:aggregate-to-edit'], true],
  ['whocan', ['get', 'pods', ''], /an empty name is not a valid object name/],
  ['whocan', ['get', 'pods', 'web\n1'], /^"web\\n1" is not a valid object name$/],
  ['study-access', ['why', 'impersonate', 'groups', 'system:masters'], true],
  ['study-access', ['why', 'get', 'pods', ''], /an empty name is not a valid object name/],
  // --sa NAMESPACE/NAME: a namespace label and a service account's subdomain.
  ['study-access', ['--sa', 'team-a/ci.deployer'], true],
  ['study-access', ['--sa', 'team.a/ci'], /"team.a" is not a valid namespace name/],
  ['study-access', ['--sa', 'team-a/CI'], /"CI" is not a valid service account name/],
  // Contexts, clusters, users of a kubeconfig: any non-empty text without control characters.
  ['study-ctx', ['use', 'arn:aws:eks:eu-west-1:123456789012:cluster/prod'], true],
  ['study-ctx', ['use', 'gke_project_europe-west1-b_prod'], true],
  ['study-ctx', ['use', 'kind kind'], true],
  ['study-ctx', ['use', ' '], true],
  ['study-ctx', ['use', ''], /an empty context name was given/],
  ['study-ctx', ['use', 'prod\nx'], /^"prod\\nx" is not a valid context name$/],
  ['study-ctx', ['show', 'admin@kstudy'], true],
  ['study-ctx', ['check', 'a/b', 'c:d'], true],
  ['study-ctx', ['check', 'a\u0007'], /^"a\\u0007" is not a valid context name$/],
  ['study-ctx', ['namespace', 'kube-system', '--context', 'arn:aws:eks:eu-west-1:1:cluster/x'], true],
  ['study-ctx', ['namespace', 'kube.system'], /"kube.system" is not a valid namespace name/],
  ['study-ctx', ['namespace', 'web', '--context', ''], /an empty context name was given/],
  ['whocan', ['get', 'pods', '--context', 'arn:aws:eks:eu-west-1:1:cluster/x', '--cluster', 'a b'], true],
  ['whocan', ['get', 'pods', '--context', ''], /--context was given an empty value/],
  ['whocan', ['get', 'pods', '--user', 'u\r'], /--user holds a line break/],
  ['study-drain', ['n1', '--context', ' prod '], true],
];

test('every name argument of every command: accepted or refused as the API takes names of its kind', () => {
  const failures: string[] = [];
  for (const [plugin, argv, verdict] of COMMANDS) {
    let error: string | undefined;
    try {
      parseArgs(plugin, argv, captureIo());
    } catch (err) {
      error = (err as Error).message;
    }
    const where = `${plugin} ${JSON.stringify(argv)}`;
    if (verdict === true && error !== undefined) failures.push(`${where}: refused: ${error}`);
    if (verdict !== true && (error === undefined || !verdict.test(error)))
      failures.push(`${where}: ${error === undefined ? 'accepted' : `"${error}"`}, expected ${verdict}`);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${COMMANDS.length} cases:\n${failures.join('\n')}`);
});

const RBAC = 'rbac.authorization.k8s.io';

/** whocan's and why's NAME once discovery has resolved the resource: [group, resource, name, verdict]. */
const RESOURCE_NAMES: Array<[string, string, string, Verdict]> = [
  ['', 'groups', 'system:masters', true],
  ['', 'groups', 'oidc:ops team', true],
  ['', 'users', 'system:admin', true],
  ['', 'users', 'jane@example.com', true],
  ['', 'users', 'system:serviceaccount:kube-system:default', true],
  ['', 'users', 'jane\n', /is not a valid user name/],
  ['authentication.k8s.io', 'uids', '6a0e-11ef:x', true],
  ['authentication.k8s.io', 'userextras', 'scopes/view', true],
  ['certificates.k8s.io', 'signers', 'kubernetes.io/kube-apiserver-client', true],
  ['certificates.k8s.io', 'signers', 'kubernetes.io/kubelet-serving', true],
  ['certificates.k8s.io', 'signers', 'example.com/*', true],
  ['certificates.k8s.io', 'signers', 'kube-apiserver-client', /"kube-apiserver-client" is not a valid signer name/],
  ['certificates.k8s.io', 'signers', 'kubernetes.io/a/b', /is not a valid signer name/],
  ['certificates.k8s.io', 'signers', 'localhost/x', /is not a valid signer name/],
  ['certificates.k8s.io', 'signers', 'Example.COM/x', /is not a valid signer name/],
  ['', 'namespaces', 'kube-system', true],
  ['', 'namespaces', 'kube.system', /"kube.system" is not a valid namespace name/],
  ['', 'services', 'web', true],
  ['', 'services', 'web.v2', /"web.v2" is not a valid service name/],
  ['apps', 'statefulsets', 'db', true],
  ['apps', 'statefulsets', 'db.primary', /is not a valid statefulset name/],
  ['apps', 'deployments', 'web.v2', true],
  [RBAC, 'clusterroles', 'system:controller:node-controller', true],
  [RBAC, 'clusterroles', 'system:aggregate-to-edit', true],
  [RBAC, 'clusterrolebindings', 'system:masters', true],
  [RBAC, 'roles', 'system::leader-locking-kube-scheduler', true],
  [RBAC, 'rolebindings', 'Mixed_Case OK', true],
  [RBAC, 'clusterroles', 'a/b', /"a\/b" is not a valid cluster role name/],
  [RBAC, 'clusterroles', '..', /is not a valid cluster role name/],
  [RBAC, 'roles', '50%', /is not a valid role name/],
  ['', 'pods', 'web-7d4b9c-x2v5q', true],
  ['', 'pods', 'Web!', /"Web!" is not a valid object name/],
  ['', 'pods', 'system:masters', /is not a valid object name/],
  ['', 'nodes', 'worker-1.example.com', true],
  ['', 'nodes', 'Worker_1', /is not a valid object name/],
  ['', 'serviceaccounts', 'default', true],
  ['', 'serviceaccounts', 'ci:deployer', /is not a valid object name/],
  ['', 'secrets', 'tls.web', true],
  ['example.com', 'widgets', 'a.b-c', true],
  ['*', '*', 'anything:at/all', true],
];

test('whocan\u2019s and why\u2019s NAME, once the resource is known: valid as the API takes that resource\u2019s names', () => {
  const failures: string[] = [];
  for (const [group, resource, name, verdict] of RESOURCE_NAMES) {
    let error: string | undefined;
    try {
      resourceNameArg({ group, resource }, name);
    } catch (err) {
      error = (err as Error).message;
    }
    const where = `${resource}${group ? `.${group}` : ''} ${JSON.stringify(name)}`;
    if (verdict === true && error !== undefined) failures.push(`${where}: refused: ${error}`);
    if (verdict !== true && (error === undefined || !verdict.test(error)))
      failures.push(`${where}: ${error === undefined ? 'accepted' : `"${error}"`}, expected ${verdict}`);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${RESOURCE_NAMES.length} cases:\n${failures.join('\n')}`);
});
