import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ExitCode } from '../../../src/base/errors.js';
import { whoCanExitCode, type WhoCanResult, type WhoCanRow } from '../../../src/rbac/whocan.js';

function row(kind: string, name: string): WhoCanRow {
  return {
    subject: { kind, name },
    reaches: '',
    binding: { kind: 'ClusterRoleBinding', name: 'b' },
    role: { kind: 'ClusterRole', name: 'r' },
    rule: { verbs: ['*'] },
    scope: 'cluster',
  };
}

function result(subjects: WhoCanRow[], incomplete = false): WhoCanResult {
  return {
    kind: 'WhoCan',
    apiVersion: 'study.kubectl.io/v1',
    serverRelease: 'v1.37.2',
    rules: '1.37',
    request: {
      verb: 'escalate',
      apiGroup: 'rbac.authorization.k8s.io',
      resource: 'roles',
      subresource: '',
      name: '',
      namespace: 'demo',
      allNamespaces: false,
    },
    subjects,
    superusers: ['Group system:masters'],
    nearMisses: [],
    incomplete,
    missing: incomplete ? ['list rolebindings'] : [],
    disagreements: [],
    notes: [],
    warnings: [],
  };
}

test('whocan answers "nobody" (exit 1) when only system:masters is allowed, as the README says', () => {
  const masters = row('Group', 'system:masters');
  assert.equal(whoCanExitCode(result([masters])), ExitCode.NEGATIVE);
  assert.equal(whoCanExitCode(result([])), ExitCode.NEGATIVE);
  assert.equal(whoCanExitCode(result([masters, row('User', 'jane')])), ExitCode.OK);
  // A user named like the group is someone else.
  assert.equal(whoCanExitCode(result([row('User', 'system:masters')])), ExitCode.OK);
  assert.equal(whoCanExitCode(result([masters], true)), ExitCode.BLOCKED);
});
