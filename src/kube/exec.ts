/**
 * Exec credential plugins (client.authentication.k8s.io), run as kubectl
 * runs them, with every way they fail named as that user's exec plugin
 * failure, with the command: not on PATH, not executable, exiting non-zero
 * (its stderr, shortened), printing something that is not an
 * ExecCredential, or one of another apiVersion. The credential itself
 * never reaches any output.
 */
import { spawn } from 'node:child_process';

import {
  ApiError,
  EXEC_PLUGIN_FAILED,
  redactMessage,
  TimeoutError,
  UsageError,
  type StudyError,
} from '../base/errors.js';
import type { RawCluster, RawExec } from './kubeconfig.js';
import { headerUnsafe, pemProblem } from './credentials.js';

export interface ExecCredential {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  /** When it expires; undefined: for the life of the process. */
  expiresAt?: number;
}

export interface Plugin {
  userName: string;
  exec: RawExec;
  cluster: RawCluster;
}

function named(plugin: Plugin): string {
  return `user "${plugin.userName}": exec plugin "${plugin.exec.command ?? ''}"`;
}

/**
 * The last non-empty line of what the plugin said on stderr, with what looks
 * like a secret (a JWT, a value after token=/password:/Bearer, a long opaque
 * string) and URL credentials cut, then shortened.
 */
export function stderrGist(stderr: string): string {
  const line = (
    stderr
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  )
    .replace(/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]*)?/g, '(not shown)')
    .replace(/\b(token|password|passwd|secret|api[-_]?key)(["']?\s*[:=]\s*["']?)[^\s"',;]+/gi, '$1$2(not shown)')
    .replace(/\b(bearer|basic)\s+[^\s"',;]+/gi, '$1 (not shown)')
    .replace(/[A-Za-z0-9+/_=-]{40,}/g, '(not shown)');
  const cut = line.length > 160 ? `${line.slice(0, 157)}...` : line;
  return redactMessage(cut);
}

/** Reads an ExecCredential from the plugin's stdout. Pure. */
export function parseExecCredential(plugin: Plugin, stdout: string): ExecCredential {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new UsageError(`${named(plugin)} printed something that is not an ExecCredential (not JSON)`, {
      hint: 'run the plugin by hand to see what it prints',
    });
  }
  const cred = (doc ?? {}) as {
    kind?: unknown;
    apiVersion?: unknown;
    status?: {
      token?: unknown;
      clientCertificateData?: unknown;
      clientKeyData?: unknown;
      expirationTimestamp?: unknown;
    };
  };
  if (cred.kind !== 'ExecCredential') {
    throw new UsageError(
      `${named(plugin)} printed something that is not an ExecCredential ` +
        `(kind ${JSON.stringify(typeof cred.kind === 'string' ? cred.kind : null)})`,
      { hint: 'run the plugin by hand to see what it prints' },
    );
  }
  const want = plugin.exec.apiVersion ?? '';
  if (cred.apiVersion !== want) {
    throw new UsageError(
      `${named(plugin)} returned an ExecCredential of apiVersion ${String(cred.apiVersion)}, ` +
        `the kubeconfig asks for ${want || 'none'}`,
      {
        hint: 'set users[].user.exec.apiVersion to what the plugin speaks (client.authentication.k8s.io/v1 or v1beta1)',
      },
    );
  }
  const status = cred.status ?? {};
  const out: ExecCredential = {};
  if (typeof status.token === 'string' && status.token) out.token = status.token;
  if (typeof status.clientCertificateData === 'string' && status.clientCertificateData)
    out.clientCertificateData = status.clientCertificateData;
  if (typeof status.clientKeyData === 'string' && status.clientKeyData) out.clientKeyData = status.clientKeyData;
  if (!out.token && !(out.clientCertificateData && out.clientKeyData)) {
    throw new UsageError(
      `${named(plugin)} returned an ExecCredential with neither a token nor a client certificate and key`,
      { hint: 'run the plugin by hand to see what it prints' },
    );
  }
  const bad = (field: string, problem: string): never => {
    throw new UsageError(`${named(plugin)} returned an ExecCredential whose status.${field} ${problem}`, {
      hint: 'run the plugin by hand to see what it prints',
    });
  };
  if (out.token && headerUnsafe(out.token)) bad('token', 'holds a line break or another control character');
  if (out.clientCertificateData && out.clientKeyData) {
    const cert = pemProblem('certificate', out.clientCertificateData);
    if (cert) bad('clientCertificateData', cert);
    const key = pemProblem('key', out.clientKeyData);
    if (key) bad('clientKeyData', key);
  }
  if (typeof status.expirationTimestamp === 'string') {
    const at = Date.parse(status.expirationTimestamp);
    if (Number.isFinite(at)) out.expiresAt = at;
  }
  return out;
}

/** Runs the plugin once; its failures are typed errors naming the user and the command. */
export function runExecPlugin(
  plugin: Plugin,
  timeoutMs: number,
  signal?: AbortSignal,
  interactive = isInteractive(plugin),
): Promise<ExecCredential> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const command = plugin.exec.command;
  if (!command)
    return Promise.reject(
      new UsageError(`user "${plugin.userName}": exec has no command`, {
        hint: 'set users[].user.exec.command in the kubeconfig',
      }),
    );
  if (plugin.exec.interactiveMode === 'Always' && !process.stdin.isTTY) {
    return Promise.reject(
      new UsageError(`${named(plugin)} has interactiveMode Always, and standard input is not a terminal`, {
        hint: 'run on a terminal, or set exec.interactiveMode to IfAvailable in the kubeconfig',
      }),
    );
  }
  const info = {
    apiVersion: plugin.exec.apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive,
      ...(plugin.exec.provideClusterInfo
        ? {
            cluster: {
              server: plugin.cluster.server,
              'certificate-authority-data': plugin.cluster['certificate-authority-data'],
            },
          }
        : {}),
    },
  };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const e of plugin.exec.env ?? []) env[e.name] = e.value;
  return new Promise<ExecCredential>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (err: StudyError | undefined, value?: ExecCredential): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(value!);
    };
    // An interactive plugin reads the terminal (a prompt), as kubectl lets it; its prompts go to stderr.
    const child = spawn(command, plugin.exec.args ?? [], {
      env,
      stdio: [interactive ? 'inherit' : 'ignore', 'pipe', interactive ? 'inherit' : 'pipe'],
    });
    const onAbort = (): void => {
      child.kill('SIGTERM');
      finish((signal?.reason as StudyError) ?? new TimeoutError(`${named(plugin)} was stopped`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(
        new TimeoutError(`${named(plugin)} gave no credential within ${Math.round(timeoutMs / 1000)}s`, {
          hint: 'does it wait for a login in a browser? run it by hand first',
        }),
      );
    }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => {
      const hint = plugin.exec.installHint?.trim() || 'install it, or fix users[].user.exec.command in the kubeconfig';
      if (err.code === 'ENOENT') finish(new UsageError(`${named(plugin)} is not on PATH`, { hint }));
      else if (err.code === 'EACCES')
        finish(new UsageError(`${named(plugin)} cannot be run (permission denied)`, { hint: 'make it executable' }));
      else finish(new UsageError(`${named(plugin)} cannot be run (${err.code ?? 'error'})`, { hint }));
    });
    child.on('close', (code, sig) => {
      if (code !== 0) {
        const gist = stderrGist(stderr);
        finish(
          new ApiError(
            `${named(plugin)} failed (${sig ? `killed by ${sig}` : `exit code ${code}`})${gist ? `: ${gist}` : ''}`,
            { hint: 'run the plugin by hand; you may need to log in again', reason: EXEC_PLUGIN_FAILED },
          ),
        );
        return;
      }
      try {
        finish(undefined, parseExecCredential(plugin, stdout));
      } catch (err) {
        finish(err as StudyError);
      }
    });
  });
}

/**
 * Whether the plugin may talk to the person (a prompt, an SSO login): kubectl's rule, stdin a terminal
 * and interactiveMode not Never. Across many contexts only `Always` gets the terminal (and runs alone):
 * `IfAvailable` plugins run as they run off a terminal, side by side.
 */
function isInteractive(plugin: Plugin, manyContexts = false): boolean {
  if (process.stdin.isTTY !== true || plugin.exec.interactiveMode === 'Never') return false;
  return plugin.exec.interactiveMode === 'Always' || !manyContexts;
}

interface Pending {
  promise: Promise<ExecCredential>;
  credential?: ExecCredential;
  waiters: number;
  stop: AbortController;
}

/**
 * Exec credentials as every client of this process shares them: a plugin
 * runs once per kubeconfig user (and cluster, when it is given the cluster's
 * details), and again only when its credential is about to expire; at most
 * `limit` run at once, and an interactive one runs alone, the others waiting
 * for it. A plugin run is stopped only when every request waiting for it
 * has stopped waiting.
 */
export class ExecBroker {
  private readonly entries = new Map<string, Pending>();
  private running = 0;
  private exclusive = false;
  private readonly queue: Array<() => void> = [];
  private readonly listeners = new Set<(interactive: boolean) => void>();
  /** Plugin runs at once at most (a fleet question sets it to --parallel). */
  limit = Number.POSITIVE_INFINITY;
  /** Set by a question asked of many contexts: only plugins that must talk to the person get the terminal. */
  manyContexts = false;

  constructor(
    private readonly run: typeof runExecPlugin = runExecPlugin,
    private readonly interactive: (plugin: Plugin, manyContexts: boolean) => boolean = isInteractive,
  ) {}

  /** Told when an interactive plugin starts (true) and ends (false): a progress line keeps quiet meanwhile. */
  onInteractive(listener: (interactive: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  credential(plugin: Plugin, timeoutMs: number, signal?: AbortSignal): Promise<ExecCredential> {
    // A caller already stopped starts nothing (a plugin started here would be stopped at once, its rejection unheard).
    if (signal?.aborted) return Promise.reject(signal.reason);
    const key = JSON.stringify([
      plugin.userName,
      plugin.exec,
      plugin.exec.provideClusterInfo ? [plugin.cluster.server, plugin.cluster['certificate-authority-data']] : [],
    ]);
    let entry = this.entries.get(key);
    const expired = (c: ExecCredential | undefined): boolean =>
      c?.expiresAt !== undefined && c.expiresAt <= Date.now() + 10_000;
    if (entry && expired(entry.credential)) {
      this.entries.delete(key);
      entry = undefined;
    }
    if (!entry) {
      const stop = new AbortController();
      const created: Pending = { waiters: 0, stop, promise: Promise.resolve({}) };
      const interactive = this.interactive(plugin, this.manyContexts);
      created.promise = this.slot(interactive, stop.signal, () =>
        this.run(plugin, timeoutMs, stop.signal, interactive),
      ).then(
        (cred) => {
          created.credential = cred;
          return cred;
        },
        (err: unknown) => {
          if (this.entries.get(key) === created) this.entries.delete(key);
          throw err;
        },
      );
      entry = created;
      this.entries.set(key, entry);
    }
    if (entry.credential) return Promise.resolve(entry.credential);
    const waiting = entry;
    waiting.waiters++;
    if (!signal) return waiting.promise;
    return new Promise<ExecCredential>((resolve, reject) => {
      const leave = (): void => {
        signal.removeEventListener('abort', onAbort);
        waiting.waiters--;
      };
      const onAbort = (): void => {
        leave();
        if (waiting.waiters === 0 && !waiting.credential) {
          if (this.entries.get(key) === waiting) this.entries.delete(key);
          waiting.stop.abort(signal.reason);
        }
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      waiting.promise.then(
        (v) => {
          leave();
          resolve(v);
        },
        (e: unknown) => {
          leave();
          reject(e);
        },
      );
    });
  }

  /** Runs fn when a slot is free (within the limit, and alone if interactive), unless nobody waits for it by then. */
  private async slot<T>(interactive: boolean, stop: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const free = (): boolean => !this.exclusive && (interactive ? this.running === 0 : this.running < this.limit);
    while (!free()) await new Promise<void>((resolve) => this.queue.push(resolve));
    // Everyone who waited has stopped waiting (a deadline, Ctrl-C): no plugin, no prompt.
    if (stop.aborted) throw stop.reason;
    this.running++;
    if (interactive) {
      this.exclusive = true;
      for (const l of this.listeners) l(true);
    }
    try {
      return await fn();
    } finally {
      this.running--;
      if (interactive) {
        this.exclusive = false;
        for (const l of this.listeners) l(false);
      }
      for (const wake of this.queue.splice(0)) wake();
    }
  }
}

/** The process's one broker: every KubeClient takes its exec credential from it. */
export const execBroker = new ExecBroker();
