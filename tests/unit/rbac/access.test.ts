import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ExitCode } from '../../../src/base/errors.js';
import type { ApiResource } from '../../../src/kube/discovery.js';
import {
  accessExitCode,
  answersFromRules,
  CLUSTER_SCOPE_NAMESPACE,
  computeMatrix,
  confirmCells,
  confirmedByOf,
  matrixShape,
  namedSubject,
  whyExitCode,
  type AccessMatrix,
  type MatrixRow,
  type WhyResult,
} from '../../../src/rbac/access.js';
import { RbacIndex } from '../../../src/rbac/match.js';
import { renderMatrix, renderWhy } from '../../../src/rbac/print.js';

const resource = (name: string, verbs: string[], namespaced = true): ApiResource => ({
  group: '',
  version: 'v1',
  resource: name,
  singular: '',
  kind: '',
  shortNames: [],
  namespaced,
  verbs,
  subresources: [],
});

test('answers land in their cells: a disagreement where the server differs, an error cell where a review failed', () => {
  const resources = [
    resource('pods', ['get', 'list', 'create']),
    resource('nodes', ['get'], false),
    resource('bindings', ['create']),
    resource('tokenreviews', ['proxy']),
  ];
  const shape = matrixShape(resources, 'ns');
  assert.deepEqual(
    shape.map((r) => [r.resource.resource, r.cells.map((c) => `${c.verb}:${c.req.namespace}`)]),
    [
      ['pods', ['get:ns', 'list:ns', 'create:ns']],
      ['nodes', ['get:']],
      ['bindings', ['create:ns']],
    ],
  );
  const rows = computeMatrix(
    new RbacIndex({ roles: [], clusterRoles: [], roleBindings: [], clusterRoleBindings: [] }),
    { username: 'u', groups: [] },
    'ns',
    resources,
  );
  const { disagreements, failures } = confirmCells(rows, [
    { allowed: false },
    { allowed: true },
    { error: 'forbidden' },
    { allowed: false },
    { allowed: false },
  ]);
  assert.deepEqual(disagreements, [{ resource: 'pods', verb: 'list', rbac: false, apiServer: true }]);
  assert.deepEqual(failures, ['forbidden']);
  assert.deepEqual(rows[0]!.cells.create, { allowed: false, verified: { error: 'forbidden' } });
  assert.deepEqual(rows[1]!.cells.get, { allowed: false, verified: false });
});

const request = { verb: 'get', apiGroup: '', resource: 'pods', subresource: '', name: '', namespace: 'ns' };

function why(over: Partial<WhyResult>): WhyResult {
  return {
    kind: 'AccessWhy',
    apiVersion: 'study.kubectl.io/v1',
    subject: { username: 'sa', groups: [] },
    request,
    allowed: false,
    confirmedBy: 'SelfSubjectAccessReview',
    grants: [],
    nearMisses: [],
    superuser: false,
    incomplete: false,
    missing: [],
    warnings: [],
    ...over,
  };
}

const unread = { incomplete: true, missing: ['list clusterrolebindings.rbac.authorization.k8s.io'] };

test('why answers by the API server where it answered (yes 0, no 1), however little RBAC could be read; the explanation stays marked incomplete', () => {
  const cases: Array<[string, Partial<WhyResult>, number, RegExp]> = [
    [
      'rules read in part, the server says no',
      { ...unread, verified: false },
      ExitCode.NEGATIVE,
      /^no rule grants sa get pods in ns\.\nThe API server denies it \(SelfSubjectAccessReview\): the answer is no\.\nINCOMPLETE: you may not list clusterrolebindings.*: the explanation may lack/,
    ],
    [
      'rules read in part, the server says yes',
      { ...unread, verified: true },
      ExitCode.OK,
      /^sa may get pods in ns: the API server allows it \(SelfSubjectAccessReview\); no rule in what could be read grants it\.\nINCOMPLETE: /,
    ],
    [
      'rules read in part, no server answer',
      { ...unread, confirmedBy: 'none' },
      ExitCode.BLOCKED,
      /^no rule grants sa get pods in ns\.\nINCOMPLETE: .*: a rule that grants it may be in what could not be read\n$/,
    ],
    [
      'rules read in part, the review failed',
      {
        ...unread,
        missing: [...unread.missing, 'confirm with SelfSubjectAccessReview: boom'],
        verified: { error: 'boom' },
      },
      ExitCode.BLOCKED,
      /^no rule grants .*\nINCOMPLETE: .*; confirm with SelfSubjectAccessReview: boom: a rule that grants it/,
    ],
    ['every rule read, both say no', { verified: false }, ExitCode.NEGATIVE, /^no rule grants sa get pods in ns\.\n$/],
    [
      'every rule read, no rule, the server says yes',
      { verified: true, confirmedBy: 'SubjectAccessReview' },
      ExitCode.OK,
      /^sa may get pods in ns: the API server allows it \(SubjectAccessReview\), though no RBAC rule grants it: another authorizer/,
    ],
    [
      'a rule grants it, the server denies it',
      { allowed: true, verified: false },
      ExitCode.NEGATIVE,
      /^sa may not get pods in ns: the API server denies it \(SelfSubjectAccessReview\), though RBAC grants it:\n/,
    ],
    [
      'a rule grants it, the server agrees',
      { allowed: true, verified: true },
      ExitCode.OK,
      /^sa may get pods in ns:\n$/,
    ],
    [
      'a rule grants it, nobody asked',
      { allowed: true, confirmedBy: 'none' },
      ExitCode.OK,
      /^sa may get pods in ns:\n$/,
    ],
    [
      'system:masters, nobody asked',
      { superuser: true, confirmedBy: 'none' },
      ExitCode.OK,
      /^sa may get pods in ns: the subject is in system:masters/,
    ],
    [
      'nothing grants it, nobody asked',
      { confirmedBy: 'none' },
      ExitCode.NEGATIVE,
      /^no rule grants sa get pods in ns\.\n$/,
    ],
  ];
  for (const [name, over, code, text] of cases) {
    const result = why(over);
    assert.equal(whyExitCode(result), code, name);
    assert.match(renderWhy(result), text, name);
  }
});

function matrix(cells: Array<MatrixRow['cells']>, over: Partial<AccessMatrix> = {}): AccessMatrix {
  return {
    kind: 'AccessMatrix',
    apiVersion: 'study.kubectl.io/v1',
    serverRelease: 'v1.37.2',
    rules: '1.37',
    subject: { username: 'sa', groups: [] },
    namespace: 'ns',
    confirmedBy: 'SelfSubjectAccessReview',
    rows: cells.map((c, i) => ({ group: '', resource: `r${i}`, namespaced: true, cells: c })),
    risky: [],
    disagreements: [],
    incomplete: false,
    missing: [],
    notes: [],
    warnings: [],
    ...over,
  };
}

test('the matrix follows the API server where it answered every cell: exit 0 and a headline that says so, however little RBAC could be read', () => {
  const cases: Array<[string, AccessMatrix, number, RegExp]> = [
    [
      'rules read in part, every cell answered, something allowed',
      matrix([{ get: { allowed: false, verified: true } }, { get: { allowed: false, verified: false } }], unread),
      ExitCode.OK,
      /Answered by the API server \(SelfSubjectAccessReview\): the RBAC rules could not all be read[\s\S]*r0 +ns +yes\n[\s\S]*INCOMPLETE: .*: the cells are the API server's answers/,
    ],
    [
      'rules read in part, every cell answered, nothing allowed',
      matrix([{ get: { allowed: false, verified: false } }], unread),
      ExitCode.OK,
      /Answered by the API server[\s\S]*Nothing is allowed\./,
    ],
    [
      'rules read in part, not confirmed, nothing allowed',
      matrix([{ get: { allowed: false } }], { ...unread, confirmedBy: 'none' }),
      ExitCode.BLOCKED,
      /Computed from RBAC rules \(you may not create[\s\S]*Nothing found allowed in what could be read[\s\S]*the matrix may be missing/,
    ],
    [
      'rules read in part, a review failed, nothing allowed',
      matrix([{ get: { allowed: false, verified: { error: 'x' } } }], unread),
      ExitCode.BLOCKED,
      /Computed from RBAC rules, confirmed by/,
    ],
    [
      'rules read in part, a review failed, the server allows another cell',
      matrix([{ get: { allowed: false, verified: { error: 'x' } }, list: { allowed: false, verified: true } }], unread),
      ExitCode.OK,
      /r0 +ns +error +yes\n/,
    ],
    [
      'every rule read, nothing allowed',
      matrix([{ get: { allowed: false, verified: false } }]),
      ExitCode.OK,
      /Computed from RBAC rules, confirmed by SelfSubjectAccessReview\.\n\nNothing is allowed\./,
    ],
    [
      'every rule read, the server allows what no rule grants',
      matrix([{ get: { allowed: false, verified: true } }]),
      ExitCode.OK,
      /r0 +ns +-!\n/,
    ],
  ];
  for (const [name, m, code, text] of cases) {
    assert.equal(accessExitCode(m), code, name);
    assert.match(renderMatrix(m, false), text, name);
  }
});

test('in rules read in part, a "yes" they do not explain is no disagreement; a "no" for what they grant still is', () => {
  const resources = [resource('pods', ['get', 'list'])];
  const rows = computeMatrix(
    new RbacIndex({ roles: [], clusterRoles: [], roleBindings: [], clusterRoleBindings: [] }),
    { username: 'u', groups: [] },
    'ns',
    resources,
  );
  rows[0]!.cells.list!.allowed = true;
  const { disagreements } = confirmCells(rows, [{ allowed: true }, { allowed: false }], false);
  assert.deepEqual(disagreements, [{ resource: 'pods', verb: 'list', rbac: true, apiServer: false }]);
});

test('complete rules reviews decide namespaced cells both ways and cluster-scoped cells they allow; the rest is asked', () => {
  const resources = [resource('pods', ['get', 'list', 'delete']), resource('nodes', ['get', 'list'], false)];
  const shape = matrixShape(resources, 'ns');
  const namespace = {
    rules: [
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'nodes'] },
      { verbs: ['delete'], apiGroups: [''], resources: ['pods'], resourceNames: ['p1'] },
    ],
    incomplete: false,
  };
  const cluster = { rules: [{ verbs: ['get'], apiGroups: [''], resources: ['nodes'] }], incomplete: false };
  const cells = (rules: Parameters<typeof answersFromRules>[1]): Array<boolean | undefined> =>
    answersFromRules(shape, rules).map((a) => a?.allowed);
  // pods get, list, delete (names only: no answer for every name, so denied); nodes get, list.
  assert.deepEqual(cells({ namespace, cluster }), [true, true, false, true, undefined]);
  // A RoleBinding's "nodes" in the namespace's review says nothing cluster-wide: without the cluster-scope review, asked.
  assert.deepEqual(cells({ namespace }), [true, true, false, undefined, undefined]);
  // Incomplete (a webhook in the chain): nothing from it.
  assert.deepEqual(
    cells({ namespace: { ...namespace, incomplete: true }, cluster: { ...cluster, incomplete: true } }),
    [undefined, undefined, undefined, undefined, undefined],
  );
  // An evaluation error (a binding to a missing role): what the rules allow stands, a denial is asked.
  assert.deepEqual(cells({ namespace: { ...namespace, evaluationError: 'role not found' }, cluster }), [
    true,
    true,
    undefined,
    true,
    undefined,
  ]);
  // The cluster-scope review is matched as the request it stands for: a namespace no RoleBinding can be in.
  assert.match(CLUSTER_SCOPE_NAMESPACE, /\./);
});

test('who answered the cells, and whom the rules reviews are asked as', () => {
  assert.equal(confirmedByOf(0, 0, true), 'none');
  assert.equal(confirmedByOf(10, 0, true), 'SelfSubjectRulesReview');
  assert.equal(confirmedByOf(10, 3, false), 'SelfSubjectRulesReview and SubjectAccessReview');
  assert.equal(confirmedByOf(10, 3, true), 'SelfSubjectRulesReview and SelfSubjectAccessReview');
  assert.equal(confirmedByOf(0, 3, false), 'SubjectAccessReview');
  assert.equal(namedSubject({ kind: 'self' }), undefined);
  assert.deepEqual(namedSubject({ kind: 'serviceaccount', namespace: 'demo', name: 'ci' }), {
    username: 'system:serviceaccount:demo:ci',
    groups: ['system:authenticated', 'system:serviceaccounts', 'system:serviceaccounts:demo'],
  });
  assert.deepEqual(namedSubject({ kind: 'user', user: 'jane', groups: ['dev'] }), {
    username: 'jane',
    groups: ['dev', 'system:authenticated'],
  });
});
