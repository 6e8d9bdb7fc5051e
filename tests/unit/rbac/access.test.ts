import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { ApiResource } from '../../../src/kube/discovery.js';
import { computeMatrix, confirmCells, matrixShape } from '../../../src/rbac/access.js';
import { RbacIndex } from '../../../src/rbac/match.js';

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
