import assert from 'node:assert/strict';
import { test } from 'node:test';

import { setContextNamespace, setCurrentContext } from '../../../src/ctx/edit.js';

const FILE = `# my clusters
apiVersion: v1
kind: Config
current-context: dev   # the one I use
clusters:
-   name: dev
    cluster: {server: "https://dev:6443"}
contexts:
-   name: dev
    context:
        cluster: dev
        user: me
-   name: prod
    context: {cluster: prod, user: me}   # flow style
-   name: bare
    context:
-   name: odd
    context:
        cluster: odd
        namespace: 'old-ns'
users: []
`;

test('current-context: only the value changes, comments and indentation stay', () => {
  const out = setCurrentContext(FILE, 'f', 'prod');
  assert.equal(out, FILE.replace('current-context: dev   #', 'current-context: prod   #'));
  assert.equal(
    setCurrentContext('apiVersion: v1\nkind: Config', 'f', 'x'),
    'apiVersion: v1\nkind: Config\ncurrent-context: x\n',
  );
  assert.equal(setCurrentContext('', 'f', 'x'), 'current-context: x\n');
  assert.equal(setCurrentContext('current-context:\nusers: []\n', 'f', 'x'), 'current-context: x\nusers: []\n');
  // Names YAML 1.1 would read as something else are quoted.
  assert.equal(setCurrentContext('current-context: a\n', 'f', 'yes'), 'current-context: "yes"\n');
});

test("a context's namespace: replaced, or added in the map's own style", () => {
  const block = setContextNamespace(FILE, 'f', 'dev', 'web');
  assert.equal(
    block,
    FILE.replace('        user: me\n-   name: prod', '        user: me\n        namespace: web\n-   name: prod'),
  );
  const flow = setContextNamespace(FILE, 'f', 'prod', 'web');
  assert.equal(flow, FILE.replace('{cluster: prod, user: me}', '{cluster: prod, user: me, namespace: web}'));
  const bare = setContextNamespace(FILE, 'f', 'bare', 'web');
  assert.equal(bare, FILE.replace('    context:\n-   name: odd', '    context: {namespace: web}\n-   name: odd'));
  const odd = setContextNamespace(FILE, 'f', 'odd', 'web');
  assert.equal(odd, FILE.replace("namespace: 'old-ns'", 'namespace: web'));
  assert.throws(() => setContextNamespace(FILE, 'f', 'nope', 'web'), /context "nope" not found in f/);
  assert.throws(() => setContextNamespace('a: [', 'f', 'x', 'y'), /f is not valid YAML/);
});
