/**
 * The local control plane: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok, all on 127.0.0.1, TLS everywhere, RBAC on, an
 * audit log of every write. `up` is idempotent; `down` stops everything
 * and removes the state. Every wait is bounded: a component that does not
 * come up fails the start with the tail of its log.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';

import { ensureBinaries, type Binaries } from './build.js';
import { HERE, ports as portsFor, REPO_ROOT, stateDir, type Ports } from './paths.js';
import { createCa, issue, type KeyPair } from './pki.js';
import { COMPONENTS, selectedRelease, type Component, type Release } from './releases.js';

/** Which release a cluster runs, as its cluster.json records it. */
export type ClusterRelease = Pick<Release, 'minor' | 'version' | 'etcd' | 'kwok'>;

export interface ClusterInfo {
  dir: string;
  release: ClusterRelease;
  /** The checkout that started it: up() from another checkout does not stop it. */
  checkout: string;
  /** Hash of the component configuration (kwok stages, audit policy): a change means restart. */
  configHash: string;
  server: string;
  adminKubeconfig: string;
  auditLog: string;
  caCert: string;
  caKey: string;
  ports: Ports;
  binaries: Binaries;
  pids: Record<string, number>;
  startedAt: string;
}

export interface NodeSpec {
  name: string;
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }>;
  /** More allocatable resources: extended ones (nvidia.com/gpu), hugepages-2Mi, ephemeral-storage. */
  resources?: Record<string, string>;
}

export type Log = (line: string) => void;

function infoFile(dir: string): string {
  return path.join(dir, 'cluster.json');
}

export function readClusterInfo(dir = stateDir()): ClusterInfo | undefined {
  try {
    return JSON.parse(readFileSync(infoFile(dir), 'utf8')) as ClusterInfo;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A request to the API server as the admin, JSON in and out. */
export function adminRequest<T = unknown>(
  info: Pick<ClusterInfo, 'dir' | 'ports'>,
  method: string,
  urlPath: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<{ status: number; body: T }> {
  const pki = path.join(info.dir, 'pki');
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: info.ports.apiserver,
        method,
        path: urlPath,
        ca: readFileSync(path.join(pki, 'ca.crt')),
        cert: readFileSync(path.join(pki, 'admin.crt')),
        key: readFileSync(path.join(pki, 'admin.key')),
        headers: {
          Accept: 'application/json',
          'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json',
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON (e.g. /readyz): keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

/** What the running components were configured with: the release and its table row, kwok stages, audit policy. */
export function configHash(release: Release = selectedRelease()): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(release));
  for (const f of ['kwok.yaml', 'audit-policy.yaml', 'cluster.ts']) h.update(readFileSync(path.join(HERE, f)));
  return h.digest('hex').slice(0, 12);
}

/** Whether the cluster runs, answers, and runs this release as configured now. */
export async function isHealthy(info: ClusterInfo, release: Release = selectedRelease()): Promise<boolean> {
  if (info.configHash !== configHash(release)) return false;
  if (!COMPONENTS.every((c) => info.pids[c] && alive(info.pids[c]!))) return false;
  try {
    const r = await adminRequest(info, 'GET', '/readyz', undefined, 3000);
    return r.status === 200;
  } catch {
    return false;
  }
}

function kubeconfigYaml(name: string, server: string, caPem: string, cert: KeyPair): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: kstudy
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caPem)}
users:
- name: ${name}
  user:
    client-certificate-data: ${b64(cert.certPem)}
    client-key-data: ${b64(cert.keyPem)}
contexts:
- name: ${name}@kstudy
  context:
    cluster: kstudy
    user: ${name}
current-context: ${name}@kstudy
`;
}

/** Writes a kubeconfig for a new user, with a client certificate signed by the cluster CA. */
export function mintUserKubeconfig(
  info: ClusterInfo,
  file: string,
  user: string,
  groups: string[] = [],
  validity: { notBefore?: Date; notAfter?: Date } = {},
): string {
  const ca: KeyPair = { certPem: readFileSync(info.caCert, 'utf8'), keyPem: readFileSync(info.caKey, 'utf8') };
  const cert = issue(ca, { commonName: user, organizations: groups, client: true, ...validity });
  writeFileSync(file, kubeconfigYaml(user, info.server, ca.certPem, cert), { mode: 0o600 });
  return file;
}

function writePki(dir: string, p: Ports): { ca: KeyPair; server: string } {
  const pki = path.join(dir, 'pki');
  mkdirSync(pki, { recursive: true });
  const ca = createCa();
  const write = (name: string, pair: KeyPair): void => {
    writeFileSync(path.join(pki, `${name}.crt`), pair.certPem);
    writeFileSync(path.join(pki, `${name}.key`), pair.keyPem, { mode: 0o600 });
  };
  write('ca', ca);
  const loopback = { dnsNames: ['localhost'], ips: ['127.0.0.1'] };
  write('etcd-server', issue(ca, { commonName: 'etcd', server: true, client: true, ...loopback }));
  write('etcd-client', issue(ca, { commonName: 'kube-apiserver-etcd-client', client: true }));
  write(
    'apiserver',
    issue(ca, {
      commonName: 'kube-apiserver',
      server: true,
      client: false,
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      ips: ['127.0.0.1', '10.96.0.1'],
    }),
  );
  write('admin', issue(ca, { commonName: 'kstudy-admin', organizations: ['system:masters'] }));
  write('controller-manager', issue(ca, { commonName: 'system:kube-controller-manager' }));
  write('scheduler', issue(ca, { commonName: 'system:kube-scheduler' }));
  write('kwok', issue(ca, { commonName: 'kwok-controller', organizations: ['system:masters'] }));
  // Service-account token signing key pair (a plain RSA key; the cert is unused).
  write('sa', issue(ca, { commonName: 'service-accounts' }));
  const server = `https://127.0.0.1:${p.apiserver}`;
  for (const [name, file] of [
    ['admin', 'admin'],
    ['controller-manager', 'controller-manager'],
    ['scheduler', 'scheduler'],
    ['kwok', 'kwok'],
  ] as const) {
    const pair: KeyPair = {
      certPem: readFileSync(path.join(pki, `${file}.crt`), 'utf8'),
      keyPem: readFileSync(path.join(pki, `${file}.key`), 'utf8'),
    };
    writeFileSync(path.join(dir, `${name}.kubeconfig`), kubeconfigYaml(name, server, ca.certPem, pair), {
      mode: 0o600,
    });
  }
  return { ca, server };
}

/** The flags every release gets; the release table adds its own (componentArgs). */
function commonArgs(component: Component, dir: string, p: Ports): string[] {
  const pki = (f: string): string => path.join(dir, 'pki', f);
  const kc = (n: string): string => path.join(dir, `${n}.kubeconfig`);
  switch (component) {
    case 'etcd':
      return [
        '--name=kstudy',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=https://127.0.0.1:${p.etcdClient}`,
        `--advertise-client-urls=https://127.0.0.1:${p.etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${p.etcdPeer}`,
        `--initial-cluster=kstudy=http://127.0.0.1:${p.etcdPeer}`,
        `--cert-file=${pki('etcd-server.crt')}`,
        `--key-file=${pki('etcd-server.key')}`,
        `--trusted-ca-file=${pki('ca.crt')}`,
        '--client-cert-auth=true',
        '--unsafe-no-fsync=true',
        '--quota-backend-bytes=4294967296',
        '--log-level=warn',
      ];
    case 'kube-apiserver':
      return [
        `--etcd-servers=https://127.0.0.1:${p.etcdClient}`,
        `--etcd-cafile=${pki('ca.crt')}`,
        `--etcd-certfile=${pki('etcd-client.crt')}`,
        `--etcd-keyfile=${pki('etcd-client.key')}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${p.apiserver}`,
        `--tls-cert-file=${pki('apiserver.crt')}`,
        `--tls-private-key-file=${pki('apiserver.key')}`,
        `--client-ca-file=${pki('ca.crt')}`,
        '--authorization-mode=Node,RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki('sa.key')}`,
        `--service-account-signing-key-file=${pki('sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/16',
        '--endpoint-reconciler-type=none',
        `--audit-policy-file=${path.join(HERE, 'audit-policy.yaml')}`,
        `--audit-log-path=${path.join(dir, 'audit.log')}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
        '--audit-log-maxsize=0',
        '--allow-privileged=true',
        '--profiling=false',
        '--max-requests-inflight=800',
        '--max-mutating-requests-inflight=400',
        '--v=1',
      ];
    case 'kube-controller-manager':
      return [
        `--kubeconfig=${kc('controller-manager')}`,
        `--authentication-kubeconfig=${kc('controller-manager')}`,
        `--authorization-kubeconfig=${kc('controller-manager')}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${p.controllerManager}`,
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki('sa.key')}`,
        `--root-ca-file=${pki('ca.crt')}`,
        `--cluster-signing-cert-file=${pki('ca.crt')}`,
        `--cluster-signing-key-file=${pki('ca.key')}`,
        '--controllers=*,-node-ipam-controller,-persistentvolume-attach-detach-controller',
        // Simulated nodes renew their leases through kwok; give them slack so they are never tainted away.
        '--node-monitor-grace-period=5m',
        '--node-monitor-period=5s',
        '--kube-api-qps=200',
        '--kube-api-burst=400',
        '--concurrent-deployment-syncs=10',
        '--concurrent-replicaset-syncs=10',
        '--profiling=false',
        '--v=1',
      ];
    case 'kube-scheduler':
      return [
        `--config=${path.join(dir, 'scheduler.yaml')}`,
        `--authentication-kubeconfig=${kc('scheduler')}`,
        `--authorization-kubeconfig=${kc('scheduler')}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${p.scheduler}`,
        '--profiling=false',
        '--v=1',
      ];
    case 'kwok':
      return [
        `--kubeconfig=${kc('kwok')}`,
        `--config=${path.join(HERE, 'kwok.yaml')}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        '--cidr=10.244.0.0/16',
        '--node-ip=10.0.0.1',
        `--server-address=127.0.0.1:${p.kwok}`,
      ];
  }
}

function componentArgs(component: Component, dir: string, p: Ports, release: Release): string[] {
  return [...commonArgs(component, dir, p), ...(release.extraArgs[component] ?? [])];
}

function schedulerConfig(dir: string): string {
  return `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: ${path.join(dir, 'scheduler.kubeconfig')}
  qps: 200
  burst: 400
leaderElection:
  leaderElect: false
`;
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function startComponent(bin: Binaries, component: Component, dir: string, p: Ports, release: Release): number {
  const logFile = path.join(dir, 'logs', `${component}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(bin.kstack, [component, ...componentArgs(component, dir, p, release)], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${component}`);
  return child.pid;
}

class StartError extends Error {}

async function waitFor(
  what: string,
  component: Component,
  info: ClusterInfo,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const c of COMPONENTS) {
      const pid = info.pids[c];
      if (pid && !alive(pid)) {
        throw new StartError(
          `${c} exited while waiting for ${what}; last lines of its log:\n${tail(path.join(info.dir, 'logs', `${c}.log`))}`,
        );
      }
    }
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new StartError(
    `${what} did not happen within ${timeoutMs / 1000}s; last lines of the ${component} log:\n${tail(path.join(info.dir, 'logs', `${component}.log`))}`,
  );
}

function etcdHealthy(dir: string, p: Ports): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: p.etcdClient,
        path: '/health',
        ca: readFileSync(path.join(dir, 'pki', 'ca.crt')),
        cert: readFileSync(path.join(dir, 'pki', 'etcd-client.crt')),
        key: readFileSync(path.join(dir, 'pki', 'etcd-client.key')),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export function nodeObject(spec: NodeSpec): object {
  const capacity = { cpu: spec.cpu ?? '4', memory: spec.memory ?? '16Gi', pods: spec.pods ?? '110', ...spec.resources };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/role': 'agent',
        type: 'kwok',
        ...spec.labels,
      },
    },
    spec: { taints: spec.taints ?? [] },
    status: {
      allocatable: capacity,
      capacity,
      nodeInfo: { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'kwok' },
    },
  };
}

function nodeReady(node: { status?: { conditions?: Array<{ type: string; status: string }> } }): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Creates simulated nodes and waits until kwok reports them Ready. */
export async function addNodes(info: ClusterInfo, specs: NodeSpec[], timeoutMs = 60_000): Promise<void> {
  const pending = [...specs];
  const workers = Array.from({ length: Math.min(16, pending.length) }, async () => {
    for (let spec = pending.shift(); spec; spec = pending.shift()) {
      const r = await adminRequest(info, 'POST', '/api/v1/nodes', nodeObject(spec));
      if (r.status !== 201 && r.status !== 409)
        throw new Error(`creating node ${spec.name}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    }
  });
  await Promise.all(workers);
  const names = new Set(specs.map((s) => s.name));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await adminRequest<{ items: Array<{ metadata: { name: string } }> }>(info, 'GET', '/api/v1/nodes');
    const ready = r.body.items.filter((n) => names.has(n.metadata.name) && nodeReady(n as never)).length;
    if (ready === names.size) return;
    await new Promise((res) => setTimeout(res, 300));
  }
  throw new Error(
    `simulated nodes not Ready within ${timeoutMs / 1000}s; last lines of the kwok log:\n${tail(path.join(info.dir, 'logs', 'kwok.log'))}`,
  );
}

export async function removeNodes(info: ClusterInfo, names: string[]): Promise<void> {
  for (const name of names) {
    const r = await adminRequest(info, 'DELETE', `/api/v1/nodes/${encodeURIComponent(name)}`);
    if (r.status !== 200 && r.status !== 404) throw new Error(`deleting node ${name}: HTTP ${r.status}`);
  }
}

export function defaultNodes(count: number): NodeSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `kwok-node-${i + 1}`,
    labels: { 'topology.kubernetes.io/zone': `zone-${'abc'[i % 3]}` },
  }));
}

export interface UpOptions {
  nodes?: number;
  log?: Log;
  /** Default: the release STUDY_K8S_VERSION names (its state directory and ports unless overridden). */
  release?: Release;
  /** Where STUDY_CLUSTER_DIR and STUDY_CLUSTER_PORT_BASE are read (default process.env): a second cluster beside the first. */
  env?: NodeJS.ProcessEnv;
}

export async function up(options: UpOptions = {}): Promise<ClusterInfo> {
  const log = options.log ?? (() => {});
  const release = options.release ?? selectedRelease();
  const env = options.env ?? process.env;
  const dir = stateDir(env, release);
  const existing = readClusterInfo(dir);
  if (existing && (await isHealthy(existing, release))) {
    log(`reusing the running ${release.version} cluster in ${dir}`);
    return existing;
  }
  if (existing) {
    // On a machine shared by several checkouts (worktrees, branches), one's configuration
    // is not another's: stopping a running cluster that another checkout started would
    // pull it from under that checkout's tests.
    const running = COMPONENTS.some((c) => existing.pids[c] && alive(existing.pids[c]!));
    if (running && existing.checkout && existing.checkout !== REPO_ROOT) {
      throw new Error(
        `a cluster started from ${existing.checkout} runs in ${dir} with another configuration; stop it from there (npm run -s cluster:down) or start this one elsewhere (STUDY_CLUSTER_DIR and STUDY_CLUSTER_PORT_BASE)`,
      );
    }
    await down({ log, release, env });
  }
  const binaries = await ensureBinaries(release, log);
  const started = Date.now();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const p = portsFor(env, release);
  const { server } = writePki(dir, p);
  writeFileSync(path.join(dir, 'scheduler.yaml'), schedulerConfig(dir));
  const info: ClusterInfo = {
    dir,
    release: { minor: release.minor, version: release.version, etcd: release.etcd, kwok: release.kwok },
    checkout: REPO_ROOT,
    configHash: configHash(release),
    server,
    adminKubeconfig: path.join(dir, 'admin.kubeconfig'),
    auditLog: path.join(dir, 'audit.log'),
    caCert: path.join(dir, 'pki', 'ca.crt'),
    caKey: path.join(dir, 'pki', 'ca.key'),
    ports: p,
    binaries,
    pids: {},
    startedAt: new Date().toISOString(),
  };
  const save = (): void => writeFileSync(infoFile(dir), JSON.stringify(info, null, 2));
  try {
    info.pids.etcd = startComponent(binaries, 'etcd', dir, p, release);
    save();
    await waitFor('etcd to be healthy', 'etcd', info, 20_000, () => etcdHealthy(dir, p));
    info.pids['kube-apiserver'] = startComponent(binaries, 'kube-apiserver', dir, p, release);
    save();
    await waitFor('kube-apiserver to be ready', 'kube-apiserver', info, 60_000, async () => {
      const r = await adminRequest(info, 'GET', '/readyz', undefined, 2000);
      return r.status === 200;
    });
    for (const c of ['kube-controller-manager', 'kube-scheduler', 'kwok'] as const) {
      info.pids[c] = startComponent(binaries, c, dir, p, release);
    }
    save();
    await waitFor('the default service account', 'kube-controller-manager', info, 30_000, async () => {
      const r = await adminRequest(info, 'GET', '/api/v1/namespaces/default/serviceaccounts/default', undefined, 2000);
      return r.status === 200;
    });
    await addNodes(info, defaultNodes(options.nodes ?? 3));
    log(`${release.version} cluster up in ${((Date.now() - started) / 1000).toFixed(1)}s: ${server}`);
    return info;
  } catch (err) {
    await down({ log: () => {}, release }).catch(() => {});
    throw err;
  }
}

export async function down(options: { log?: Log; release?: Release; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  const log = options.log ?? (() => {});
  const dir = stateDir(options.env ?? process.env, options.release ?? selectedRelease());
  const info = readClusterInfo(dir);
  if (info) {
    // Stop in reverse order of start; SIGTERM, then SIGKILL after 5 s.
    const order = [...COMPONENTS].reverse();
    for (const c of order) {
      const pid = info.pids[c];
      if (pid && alive(pid)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && order.some((c) => info.pids[c] && alive(info.pids[c]!))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const c of order) {
      const pid = info.pids[c];
      if (pid && alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // A cluster.json written before clusters had releases has none.
    log(`stopped the ${info.release ? `${info.release.version} ` : ''}cluster in ${dir}`);
  }
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}
