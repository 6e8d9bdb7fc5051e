/**
 * Switching the current context or a context's default namespace, only on
 * explicit request. Writes the file client-go would write (the first
 * existing file for current-context, the defining file for a namespace),
 * atomically, keeping the rest of the file (comments and order) as it was.
 */
import { renameSync, statSync, writeFileSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';

import { NotFoundError, UsageError } from '../base/errors.js';
import type { MergedKubeconfig } from '../kube/kubeconfig.js';

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
  await editYamlFile(file, (doc) => {
    doc.set('current-context', name);
  });
  return { kind: 'ContextSwitch', apiVersion: 'study.kubectl.io/v1', file, context: name, previous, changed: true };
}

export async function setNamespace(merged: MergedKubeconfig, contextName: string, namespace: string): Promise<SwitchResult> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    throw new UsageError(`"${namespace}" is not a valid namespace name`, {
      hint: 'a namespace name is lower case letters, digits and "-", at most 63 characters',
    });
  }
  const entry = merged.contexts.get(contextName);
  if (!entry) {
    throw new NotFoundError(`context "${contextName}" does not exist in the kubeconfig`, {
      hint: 'run "kubectl study-ctx" to list the contexts',
    });
  }
  const previous = entry.value.namespace ?? '';
  if (previous === namespace) {
    return { kind: 'ContextSwitch', apiVersion: 'study.kubectl.io/v1', file: entry.file, context: contextName, namespace, previous, changed: false };
  }
  await editYamlFile(entry.file, (doc, YAML) => {
    const contexts = doc.get('contexts');
    if (!YAML.isSeq(contexts)) throw new UsageError(`${entry.file} has no contexts list`);
    const item = contexts.items.find((it) => YAML.isMap(it) && it.get('name') === contextName);
    if (!YAML.isMap(item)) throw new UsageError(`context "${contextName}" not found in ${entry.file}`);
    if (!YAML.isMap(item.get('context'))) item.set('context', doc.createNode({}));
    doc.setIn(['contexts', contexts.items.indexOf(item), 'context', 'namespace'], namespace);
  });
  return { kind: 'ContextSwitch', apiVersion: 'study.kubectl.io/v1', file: entry.file, context: contextName, namespace, previous, changed: true };
}

type YamlModule = typeof import('yaml');

async function editYamlFile(file: string, edit: (doc: import('yaml').Document, YAML: YamlModule) => void): Promise<void> {
  const { parseYamlDocument, YAML } = await import('../base/yaml.js');
  let text = '';
  let mode = 0o600;
  try {
    text = readFileSync(file, 'utf8');
    mode = statSync(file).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  const doc = parseYamlDocument(text);
  if (doc.errors.length > 0) {
    throw new UsageError(`${file} is not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`, {
      hint: 'fix the file first; kubectl-study does not rewrite a file it cannot parse',
    });
  }
  if (!doc.contents) doc.contents = doc.createNode({}) as never;
  edit(doc, YAML);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.study-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, doc.toString({ lineWidth: 0 }), { mode });
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw new UsageError(`cannot write ${file}: ${(err as Error).message}`);
  }
}
