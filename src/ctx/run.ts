/**
 * `kubectl study-ctx`: load the kubeconfig (every file, never failing on a
 * broken one: problems are reported instead), compute with the pure core,
 * act (check, switch), return the result.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

import { ExitCode, NotFoundError, UsageError, type ExitCodeValue } from '../base/errors.js';
import type { RunContext } from '../base/run.js';
import { plural } from '../base/text.js';
import { readCertificate } from '../kube/credentials.js';
import {
  assertFilesUsable,
  kubeconfigPaths,
  mergeKubeconfigs,
  readKubeconfigFiles,
  type MergedKubeconfig,
} from '../kube/kubeconfig.js';
import type { CheckList } from './check.js';
import { contextDetail, type ContextDetail } from './detail.js';
import { buildInventory, hasErrors, type ContextList, type InventoryDeps } from './inventory.js';
import type { CheckOptions, ListOptions, NamespaceOptions, ShowOptions, UseOptions } from './options.js';
import { setNamespace, useContext, type SwitchResult } from './switch.js';

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
  const { paths, explicit } = kubeconfigPaths(kubeconfig, env);
  const merged = mergeKubeconfigs(readKubeconfigFiles(paths));
  if (explicit && merged.files[0]?.missing)
    throw new NotFoundError(`kubeconfig file ${paths[0]} does not exist`, { hint: 'check the --kubeconfig path' });
  return merged;
}

/**
 * For the commands that act on named contexts (check, show, use, namespace): a broken file is refused,
 * naming it, as kubectl does.
 */
function loadUsable(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): MergedKubeconfig {
  const merged = load(kubeconfig, env);
  assertFilesUsable(merged);
  return merged;
}

function unknownContexts(merged: MergedKubeconfig, names: string[]): void {
  const unknown = names.filter((n) => !merged.contexts.has(n));
  if (unknown.length) {
    throw new NotFoundError(
      `${plural(unknown.length, 'context')} ${unknown.map((n) => `"${n}"`).join(', ')} ` +
        `${plural(unknown.length, 'does', 'do')} not exist in the kubeconfig`,
      { hint: 'run "kubectl study-ctx" to list the contexts' },
    );
  }
}

export async function runList(ctx: RunContext, options: ListOptions): Promise<ContextList & { checkList?: CheckList }> {
  const merged = load(options.kubeconfig, ctx.io.env);
  const list = buildInventory(merged, realDeps(ctx.io.env));
  if (!options.check) return list;
  // The check (and with it client-node) is loaded only when asked for.
  const { checkContexts } = await import('./check.js');
  return {
    ...list,
    checkList: await checkContexts(
      merged,
      list.contexts.map((c) => c.name),
      options.timeoutMs,
      ctx.signal,
    ),
  };
}

export function listExitCode(list: ContextList & { checkList?: CheckList }): ExitCodeValue {
  // No kubeconfig at all is "not found" here as in every command that needs one (whocan, study-drain...).
  if (list.problems.some((p) => p.code === 'NoKubeconfig')) return ExitCode.NOT_FOUND;
  return hasErrors(list.problems) || (list.checkList?.checks.some((c) => !c.ok) ?? false)
    ? ExitCode.BLOCKED
    : ExitCode.OK;
}

export async function runCheck(ctx: RunContext, options: CheckOptions): Promise<CheckList> {
  const merged = loadUsable(options.kubeconfig, ctx.io.env);
  const names = options.names.length ? options.names : [...merged.contexts.keys()];
  unknownContexts(merged, names);
  if (names.length === 0)
    throw new UsageError('the kubeconfig defines no contexts to check', {
      hint: 'add one with "kubectl config set-context"',
    });
  const { checkContexts } = await import('./check.js');
  return checkContexts(merged, names, options.timeoutMs, ctx.signal);
}

export async function runShow(ctx: RunContext, options: ShowOptions): Promise<ContextDetail> {
  const merged = loadUsable(options.kubeconfig, ctx.io.env);
  const name = options.name ?? merged.currentContext;
  if (!name) throw new UsageError('no context named and no current-context set', { hint: 'pass a context name' });
  unknownContexts(merged, [name]);
  const deps = realDeps(ctx.io.env);
  return contextDetail(merged, name, buildInventory(merged, deps).problems, deps);
}

export async function runUse(ctx: RunContext, options: UseOptions): Promise<SwitchResult> {
  return useContext(loadUsable(options.kubeconfig, ctx.io.env), options.name);
}

export async function runNamespace(ctx: RunContext, options: NamespaceOptions): Promise<SwitchResult> {
  const merged = loadUsable(options.kubeconfig, ctx.io.env);
  const context = options.context ?? merged.currentContext;
  if (!context) throw new UsageError('no current-context is set', { hint: 'pass --context NAME' });
  return setNamespace(merged, context, options.namespace);
}
