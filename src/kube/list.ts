/** Paginated lists, the one way kubectl-study follows `continue` tokens. */
import type { Query } from './url.js';

export interface Page<T> {
  items: T[];
  /** client-node's models call the token _continue; raw JSON (client.request) calls it continue. */
  metadata?: { _continue?: string; continue?: string; resourceVersion?: string };
}

export interface ListResult<T> {
  items: T[];
  /** The resourceVersion of the first page: where a watch can start. */
  resourceVersion: string;
}

/** Fetches every page (limit per page, 500 by default). */
export async function listAll<T>(
  fetchPage: (opts: { limit: number; _continue?: string }) => Promise<Page<T>>,
  limit = 500,
): Promise<ListResult<T>> {
  const items: T[] = [];
  let cont: string | undefined;
  let resourceVersion = '';
  for (let page = 0; page < 10_000; page++) {
    const answer = await fetchPage(cont ? { limit, _continue: cont } : { limit });
    items.push(...answer.items);
    if (page === 0) resourceVersion = answer.metadata?.resourceVersion ?? '';
    cont = answer.metadata?._continue || answer.metadata?.continue || undefined;
    if (!cont) break;
  }
  return { items, resourceVersion };
}

/** Every item at a raw API path (e.g. /apis/rbac.authorization.k8s.io/v1/roles), page by page. */
export function listPath<T>(
  client: { request<R>(method: string, path: string, opts?: { query?: Query }): Promise<R> },
  path: string,
  query: Query = {},
  limit = 500,
): Promise<ListResult<T>> {
  return listAll<T>(
    (p) => client.request<Page<T>>('GET', path, { query: { ...query, limit: p.limit, continue: p._continue } }),
    limit,
  );
}
