/**
 * Access answers by release (src/rbac/rules.ts): exec, attach and
 * port-forward over a websocket need only get before 1.35, and get and
 * create from 1.35; the risky paths and whocan's explanation follow the
 * server's release.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { releaseOf } from '../../../src/kube/release.js';
import { riskyPaths } from '../../../src/rbac/access.js';
import { RbacIndex, type RequestAttributes } from '../../../src/rbac/match.js';
import { renderWhoCan } from '../../../src/rbac/print.js';
import { rbacRules, RBAC_RULES } from '../../../src/rbac/rules.js';
import { websocketNote, type WhoCanResult } from '../../../src/rbac/whocan.js';

const at = (release: string) => rbacRules(releaseOf(release));

/** jane may get pods/exec in ns (a Role), nothing else. */
const index = new RbacIndex({
  roles: [
    {
      metadata: { name: 'exec-get', namespace: 'ns' },
      rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods/exec'] }],
    },
  ],
  clusterRoles: [],
  roleBindings: [
    {
      metadata: { name: 'jane-exec', namespace: 'ns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'exec-get' },
      subjects: [{ kind: 'User', name: 'jane', apiGroup: 'rbac.authorization.k8s.io' }],
    },
  ],
  clusterRoleBindings: [],
});

test('the table: websocket exec needs create from 1.35', () => {
  assert.deepEqual(
    ['1.32', '1.34', '1.35', '1.37'].map((r) => at(r).websocketUpgradeNeedsCreate),
    [false, false, true, true],
  );
  assert.equal(RBAC_RULES[0]![0], '1.32');
});

test('get pods/exec is a risky permission before 1.35 (a websocket exec needs nothing more), not from 1.35', () => {
  const jane = { username: 'jane', groups: [] };
  const before = riskyPaths(index, jane, 'ns', at('1.34'));
  assert.deepEqual(
    before.map((r) => `${r.permission}: ${r.consequence}`),
    [
      'get pods/exec: can run commands inside running containers over a websocket, which needs only get before Kubernetes 1.35',
    ],
  );
  assert.match(before[0]!.path, /RoleBinding\/ns\/jane-exec -> Role\/exec-get/);
  assert.deepEqual(riskyPaths(index, jane, 'ns', at('1.35')), []);
});

test("whocan's explanation of exec, attach and port-forward follows the release", () => {
  const req = (verb: string, subresource: string): RequestAttributes => ({
    verb,
    apiGroup: '',
    resource: 'pods',
    subresource,
    name: '',
    namespace: 'ns',
  });
  assert.match(
    websocketNote(req('get', 'exec'), at('1.34')) ?? '',
    /before Kubernetes 1\.35, get pods\/exec is enough/,
  );
  assert.match(
    websocketNote(req('create', 'attach'), at('1.32')) ?? '',
    /get pods\/attach alone also lets a subject attach .* ask "kubectl whocan get pods\/attach" too/,
  );
  assert.match(
    websocketNote(req('get', 'portforward'), at('1.35')) ?? '',
    /from Kubernetes 1\.35, a websocket also needs create pods\/portforward/,
  );
  assert.equal(websocketNote(req('create', 'exec'), at('1.35')), undefined, 'create is enough on every release');
  assert.equal(websocketNote(req('get', 'log'), at('1.32')), undefined);
  assert.equal(websocketNote({ ...req('get', 'exec'), apiGroup: 'example.com' }, at('1.32')), undefined);
});

test('whocan prints every note after the first (system:masters, said as the superusers line)', () => {
  const result: WhoCanResult = {
    kind: 'WhoCan',
    apiVersion: 'study.kubectl.io/v1',
    serverRelease: 'v1.34.4',
    rules: '1.34',
    request: {
      verb: 'get',
      apiGroup: '',
      resource: 'pods',
      subresource: 'exec',
      name: '',
      namespace: 'ns',
      allNamespaces: false,
    },
    subjects: [],
    superusers: ['Group system:masters'],
    nearMisses: [],
    incomplete: false,
    missing: [],
    disagreements: [],
    notes: ['masters', 'other authorizers', 'before Kubernetes 1.35, get pods/exec is enough'],
    warnings: [],
  };
  const out = renderWhoCan(result, false, false);
  assert.match(out, /\nNote: other authorizers\.\nNote: before Kubernetes 1\.35, get pods\/exec is enough\.\n$/);
  assert.doesNotMatch(out, /Note: masters/);
});
