/** Nodes picked by a label selector, as -l picks them (study-drain, study maintain). */
import { NoMatchError } from '../base/errors.js';
import type { KubeClient } from './client.js';
import { listPath } from './list.js';
import { RESOURCES, resourcePath } from './url.js';

/** The node names of a -l selector, in name order; none is a usage error. */
export async function nodesMatching(client: KubeClient, selector: string): Promise<string[]> {
  const list = await client.call(`list nodes matching ${selector}`, () =>
    listPath<{ metadata?: { name?: string } }>(client, resourcePath(RESOURCES.nodes), { labelSelector: selector }),
  );
  const names = list.items
    .map((n) => n.metadata?.name ?? '')
    .filter(Boolean)
    .sort();
  if (names.length === 0)
    throw new NoMatchError(`no node matches the selector "${selector}"`, {
      hint: 'list the nodes and their labels with "kubectl get nodes --show-labels"',
    });
  return names;
}
