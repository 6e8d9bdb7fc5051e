/**
 * The integration tests' view of the shared local cluster: one cluster per
 * test run (started by scripts/test.ts or `npm run cluster:up`), each test
 * in its own namespace, removed afterwards; helpers to mint users, read the
 * audit log, add and remove simulated nodes, and run the CLI and kubectl.
 * With STUDY_BIN=/path/to/kubectl-study the CLI is that release binary instead of dist/.
 * The cluster runs the Kubernetes release STUDY_K8S_VERSION names (scripts/test.ts sets it;
 * unset: the newest): serverRelease() says which, and requiresRelease() skips a test on a
 * release that lacks what it needs.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

import * as k8s from '@kubernetes/client-node';

import { startAdminProxy } from '../cluster/proxy.js';
import {
  addNodes,
  adminRequest,
  mintUserKubeconfig,
  readClusterInfo,
  removeNodes,
  type ClusterInfo,
  type NodeSpec,
} from '../cluster/cluster.js';
import { REPO_ROOT } from '../cluster/paths.js';

let cached: ClusterInfo | undefined;

export function cluster(): ClusterInfo {
  if (cached) return cached;
  const info = readClusterInfo();
  if (!info)
    throw new Error(
      'the local cluster is not running: start it with "npm run -s cluster:up" (npm test does it for you)',
    );
  cached = info;
  return info;
}

export interface ServerRelease {
  /** "v1.32.13" */
  version: string;
  /** 32 for 1.32: compare with requiresRelease's minimum. */
  minor: number;
}

/** The Kubernetes release of the cluster under test, from its cluster.json. */
export function serverRelease(): ServerRelease {
  const { version } = cluster().release;
  return { version, minor: Number(version.split('.')[1]) };
}

/**
 * Skips the test (saying why) when the cluster's release is older than `minimum` ("1.33"),
 * for a feature that release lacks; returns whether the test should go on.
 *
 *   if (!requiresRelease(t, '1.33', 'sidecar containers are GA in 1.33')) return;
 */
export function requiresRelease(t: TestContext, minimum: string, why: string): boolean {
  const wanted = Number(minimum.split('.')[1]);
  if (!/^1\.\d+$/.test(minimum) || !Number.isInteger(wanted))
    throw new Error(`requiresRelease: "${minimum}" is not like 1.33`);
  const { version, minor } = serverRelease();
  if (minor >= wanted) return true;
  t.skip(`needs Kubernetes ${minimum} or newer (${why}); the cluster runs ${version}`);
  return false;
}

export function adminConfig(kubeconfig = cluster().adminKubeconfig): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

export interface Apis {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  policy: k8s.PolicyV1Api;
  rbac: k8s.RbacAuthorizationV1Api;
  authz: k8s.AuthorizationV1Api;
  coordination: k8s.CoordinationV1Api;
}

export function apis(kubeconfig?: string): Apis {
  const kc = adminConfig(kubeconfig);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
    authz: kc.makeApiClient(k8s.AuthorizationV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
  };
}

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

/** Polls until fn returns a truthy value; fails with the last value's description after timeoutMs. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false | null>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
  );
}

/** Creates a namespace of its own for this test, deleted when the test ends. */
export async function testNamespace(t: TestContext, prefix = 'kst'): Promise<string> {
  const name = `${prefix}-${suffix()}`;
  const { core } = apis();
  await core.createNamespace({ body: { metadata: { name, labels: { 'kstudy.test/owned': 'true' } } } });
  t.after(async () => {
    await core.deleteNamespace({ name }).catch(() => {});
  });
  await eventually(`the default service account in ${name}`, () =>
    core.readNamespacedServiceAccount({ name: 'default', namespace: name }),
  );
  return name;
}

export function tempDir(prefix = 'kstudy-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A kubeconfig for a new user (client certificate signed by the cluster CA). */
export function mintUser(
  user: string,
  groups: string[] = [],
  validity: { notBefore?: Date; notAfter?: Date } = {},
): string {
  const dir = tempDir('kstudy-user-');
  return mintUserKubeconfig(cluster(), path.join(dir, 'kubeconfig'), user, groups, validity);
}

/** A token for a service account (TokenRequest API). */
export async function serviceAccountToken(namespace: string, name: string, seconds = 3600): Promise<string> {
  const { core } = apis();
  const r = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: [], expirationSeconds: seconds },
    },
  });
  return r.status?.token ?? '';
}

export interface AuditEvent {
  verb: string;
  user: { username: string; groups?: string[] };
  impersonatedUser?: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  requestURI: string;
  responseStatus?: { code: number };
  userAgent?: string;
  stage: string;
}

/** Where the audit log ends now: pass it to auditEventsSince. */
export function auditMark(): number {
  try {
    return statSync(cluster().auditLog).size;
  } catch {
    return 0;
  }
}

/**
 * The audit events (every one is a write request) logged after the mark: whole lines only, for the API server
 * may be writing one (another test's write) as the mark is taken or the log read.
 */
export function auditEventsSince(mark: number): AuditEvent[] {
  const log = readFileSync(cluster().auditLog);
  // A mark taken while a line was being written falls inside it: that line is from before the mark.
  const start = mark === 0 || log[mark - 1] === 0x0a ? mark : log.indexOf(0x0a, mark) + 1 || log.length;
  const bytes = log.subarray(start);
  const text = bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditEvent);
}

/** Writes made by one user (directly or impersonated) after the mark. */
export function writesBy(mark: number, username: string): AuditEvent[] {
  return auditEventsSince(mark).filter(
    (e) => e.user.username === username || e.impersonatedUser?.username === username,
  );
}

export const ADMIN_USER = 'kstudy-admin';

export async function addTestNodes(specs: NodeSpec[]): Promise<void> {
  await addNodes(cluster(), specs);
}

export async function removeTestNodes(names: string[]): Promise<void> {
  await removeNodes(cluster(), names);
}

export { adminRequest };

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr, ms: Date.now() - started });
    });
    // A command that exits before reading its input is not a failure of the test.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

let releaseLinks: string | undefined;

/**
 * How to start one of our executables: `node bin/NAME` (the bundled build in dist/, as the
 * npm route runs it), or, when STUDY_BIN names a release binary, that binary linked as NAME
 * (it serves each plugin by the name it runs as, as krew links it).
 */
export function pluginCommand(executable: string): { cmd: string; args: string[] } {
  const bin = process.env.STUDY_BIN;
  if (!bin) return { cmd: process.execPath, args: [path.join(REPO_ROOT, 'bin', executable)] };
  releaseLinks ??= tempDir('kstudy-bin-');
  const link = path.join(releaseLinks, executable);
  if (!existsSync(link)) symlinkSync(path.resolve(bin), link);
  return { cmd: link, args: [] };
}

/** Runs one of our executables (see pluginCommand). */
export function runPlugin(
  executable: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const { cmd, args: before } = pluginCommand(executable);
  return run(cmd, [...before, ...args], options);
}

/** Runs the real kubectl built with the cluster. */
export function kubectl(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(cluster().binaries.kubectl, args, {
    ...options,
    env: { KUBECONFIG: cluster().adminKubeconfig, ...options.env },
  });
}

export function runCommand(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return run(cmd, args, options);
}

/**
 * A plain-http reverse proxy to the API server that authenticates as the
 * admin (as kubectl proxy does) and records every request it forwards:
 * point a kubeconfig's server at http://127.0.0.1:PORT to see what a
 * command asks for.
 */
export async function recordingProxy(t: TestContext): Promise<{ server: string; requests: string[] }> {
  const proxy = await startAdminProxy(cluster());
  t.after(() => proxy.close());
  return proxy;
}

/** A kubeconfig with only a server (and a namespace): for a proxy that authenticates by itself. */
export function serverOnlyKubeconfig(server: string, namespace = 'default'): string {
  const file = path.join(tempDir('kstudy-server-'), 'config');
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "${server}"}\ncontexts:\n- name: c\n  context: {cluster: c, namespace: ${namespace}}\ncurrent-context: c\n`,
  );
  return file;
}
