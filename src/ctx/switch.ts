/**
 * Switching the current context or a context's default namespace, only on
 * explicit request. Writes the file client-go would write (the first
 * existing file for current-context, the defining file for a namespace),
 * atomically, changing that one value and not a byte more (edit.ts).
 */
import { readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { NotFoundError, UsageError } from '../base/errors.js';
import type { MergedKubeconfig } from '../kube/kubeconfig.js';
import { setContextNamespace, setCurrentContext } from './edit.js';

export interface SwitchResult {
  kind: 'ContextSwitch';
  apiVersion: 'study.kubectl.io/v1';
  file: string;
  context: string;
  namespace?: string;
  previous: string;
  changed: boolean;
}

/** client-go's GetDefaultFilename: the explicit file, else the first existing one, else the first named. */
function defaultWriteFile(merged: MergedKubeconfig): string {
  const existing = merged.files.find((f) => !f.missing);
  const file = existing?.path ?? merged.files[0]?.path;
  if (!file) throw new UsageError('no kubeconfig file to write', { hint: 'set KUBECONFIG or pass --kubeconfig' });
  return file;
}

export async function useContext(merged: MergedKubeconfig, name: string): Promise<SwitchResult> {
  if (!merged.contexts.has(name)) {
    throw new NotFoundError(`context "${name}" does not exist in the kubeconfig`, {
      hint: 'run "kubectl study-ctx" to list the contexts',
    });
  }
  const file = defaultWriteFile(merged);
  const previous = merged.currentContext;
  if (previous === name && merged.currentContextFile === file) {
    return { kind: 'ContextSwitch', apiVersion: 'study.kubectl.io/v1', file, context: name, previous, changed: false };
  }
  editFile(file, (text) => setCurrentContext(text, file, name));
  return { kind: 'ContextSwitch', apiVersion: 'study.kubectl.io/v1', file, context: name, previous, changed: true };
}

export async function setNamespace(
  merged: MergedKubeconfig,
  contextName: string,
  namespace: string,
): Promise<SwitchResult> {
  const entry = merged.contexts.get(contextName);
  if (!entry) {
    throw new NotFoundError(`context "${contextName}" does not exist in the kubeconfig`, {
      hint: 'run "kubectl study-ctx" to list the contexts',
    });
  }
  const previous = entry.value.namespace ?? '';
  const changed = previous !== namespace;
  if (changed) editFile(entry.file, (text) => setContextNamespace(text, entry.file, contextName, namespace));
  return {
    kind: 'ContextSwitch',
    apiVersion: 'study.kubectl.io/v1',
    file: entry.file,
    context: contextName,
    namespace,
    previous,
    changed,
  };
}

/**
 * Rewrites one kubeconfig file through `edit`, atomically, keeping its mode;
 * a symlink is written through to its target, as kubectl does.
 */
function editFile(file: string, edit: (text: string, target: string) => string): void {
  let target = file;
  let text = '';
  let mode = 0o600;
  try {
    target = realpathSync(file);
    text = readFileSync(target, 'utf8');
    mode = statSync(target).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const next = edit(text, file);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.study-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, next, { mode });
    renameSync(tmp, target);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw new UsageError(`cannot write ${file}: ${(err as Error).message}`);
  }
}
