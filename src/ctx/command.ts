/**
 * `kubectl study-ctx`: parse (done by the wiring), load the kubeconfig,
 * compute with the pure core, act (check, switch), print.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

import { ExitCode, UsageError, type ExitCodeValue } from '../cli/errors.js';
import type { CommonFlags } from '../cli/flags.js';
import { colorEnabled, writeStructured } from '../cli/output.js';
import type { RunState } from '../cli/program.js';
import { readCertificate } from '../kube/credentials.js';
import { kubeconfigPaths, mergeKubeconfigs, readKubeconfigFiles, type MergedKubeconfig } from '../kube/kubeconfig.js';
import { parseDuration } from '../util/duration.js';
import { contextDetail } from './detail.js';
import { buildInventory, hasErrors, type InventoryDeps } from './inventory.js';
import { renderCheckList, renderContextList, renderDetail, renderSwitch } from './print.js';
import { setNamespace, useContext } from './switch.js';

function commandOnPath(command: string, env: NodeJS.ProcessEnv): boolean {
  const isFile = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) return isFile(command);
  return (env.PATH ?? '').split(path.delimiter).some((dir) => dir && isFile(path.join(dir, command)));
}

export function realDeps(env: NodeJS.ProcessEnv, now = new Date()): InventoryDeps {
  return {
    now,
    readCert: readCertificate,
    commandExists: (c) => commandOnPath(c, env),
    fileReadable: (f) => {
      try {
        accessSync(f, constants.R_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Loads every file, never failing on a broken one: study-ctx reports problems instead. */
function load(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): MergedKubeconfig {
  const { paths } = kubeconfigPaths(kubeconfig, env);
  return mergeKubeconfigs(readKubeconfigFiles(paths));
}

function timeoutOf(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new UsageError(`invalid --timeout "${text}"`, { hint: 'use a positive duration such as 5s or 500ms' });
  }
  return ms;
}

interface ListOptions extends CommonFlags {
  kubeconfig?: string;
  check: boolean;
  timeout: string;
}

export async function runList(state: RunState, opts: ListOptions): Promise<ExitCodeValue> {
  const { io } = state;
  const timeoutMs = timeoutOf(opts.timeout);
  const merged = load(opts.kubeconfig, io.env);
  const list = buildInventory(merged, realDeps(io.env));
  // The check (and with it client-node) is loaded only when asked for.
  const checks = opts.check ? await (await import('./check.js')).checkContexts(merged, list.contexts.map((c) => c.name), timeoutMs, state.signal) : undefined;
  if (opts.output === 'json' || opts.output === 'yaml') {
    await writeStructured(io, opts.output, checks ? { ...list, checks: checks.checks } : list);
  } else {
    io.stdout.write(renderContextList(list, opts.output === 'wide', colorEnabled(io)));
    if (checks) io.stdout.write(`\n${renderCheckList(checks, colorEnabled(io))}`);
  }
  const failed = hasErrors(list.problems) || (checks?.checks.some((c) => !c.ok) ?? false);
  return failed ? ExitCode.BLOCKED : ExitCode.OK;
}

interface CheckOptions extends CommonFlags {
  kubeconfig?: string;
  names: string[];
  timeout: string;
}

export async function runCheck(state: RunState, opts: CheckOptions): Promise<ExitCodeValue> {
  const { io } = state;
  const timeoutMs = timeoutOf(opts.timeout);
  const merged = load(opts.kubeconfig, io.env);
  const names = opts.names.length ? opts.names : [...merged.contexts.keys()];
  const unknown = names.filter((n) => !merged.contexts.has(n));
  if (unknown.length) {
    throw new UsageError(`no such context: ${unknown.join(', ')}`, { hint: 'run "kubectl study-ctx" to list the contexts' });
  }
  if (names.length === 0) throw new UsageError('the kubeconfig defines no contexts to check');
  const { checkContexts } = await import('./check.js');
  const result = await checkContexts(merged, names, timeoutMs, state.signal);
  if (opts.output === 'json' || opts.output === 'yaml') await writeStructured(io, opts.output, result);
  else io.stdout.write(renderCheckList(result, colorEnabled(io)));
  return result.checks.every((c) => c.ok) ? ExitCode.OK : ExitCode.BLOCKED;
}

interface ShowOptions extends CommonFlags {
  kubeconfig?: string;
  name: string | undefined;
}

export async function runShow(state: RunState, opts: ShowOptions): Promise<ExitCodeValue> {
  const { io } = state;
  const merged = load(opts.kubeconfig, io.env);
  const name = opts.name ?? merged.currentContext;
  if (!name) throw new UsageError('no context named and no current-context set', { hint: 'pass a context name' });
  const deps = realDeps(io.env);
  const list = buildInventory(merged, deps);
  const detail = contextDetail(merged, name, list.problems, deps);
  if (opts.output === 'json' || opts.output === 'yaml') await writeStructured(io, opts.output, detail);
  else io.stdout.write(renderDetail(detail, colorEnabled(io)));
  return hasErrors(detail.problems) ? ExitCode.BLOCKED : ExitCode.OK;
}

interface UseOptions extends CommonFlags {
  kubeconfig?: string;
  name: string;
}

export async function runUse(state: RunState, opts: UseOptions): Promise<ExitCodeValue> {
  const merged = load(opts.kubeconfig, state.io.env);
  const result = await useContext(merged, opts.name);
  if (opts.output === 'json' || opts.output === 'yaml') await writeStructured(state.io, opts.output, result);
  else state.io.stdout.write(renderSwitch(result));
  return ExitCode.OK;
}

interface NamespaceOptions extends CommonFlags {
  kubeconfig?: string;
  namespace: string;
  context: string | undefined;
}

export async function runNamespace(state: RunState, opts: NamespaceOptions): Promise<ExitCodeValue> {
  const merged = load(opts.kubeconfig, state.io.env);
  const context = opts.context ?? merged.currentContext;
  if (!context) throw new UsageError('no current-context is set', { hint: 'pass --context NAME' });
  const result = await setNamespace(merged, context, opts.namespace);
  if (opts.output === 'json' || opts.output === 'yaml') await writeStructured(state.io, opts.output, result);
  else state.io.stdout.write(renderSwitch(result));
  return ExitCode.OK;
}
