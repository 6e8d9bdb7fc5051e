/**
 * Watches over our transport (so impersonation and timeouts apply as to
 * every other request): one long GET, one JSON event per line. The caller
 * resumes from the last resourceVersion seen; a 410 Gone means "list again".
 */
import type { KubeClient } from './client.js';
import type { Query } from './url.js';

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class WatchExpiredError extends Error {
  constructor() {
    super('the watch resourceVersion is too old (410 Gone)');
  }
}

/** Yields events until the server closes the stream or the signal aborts. */
export async function* watch<T extends { metadata?: { resourceVersion?: string } }>(
  client: KubeClient,
  path: string,
  query: Query,
  signal: AbortSignal,
): AsyncGenerator<WatchEvent<T>> {
  // A connection that dies without a reset would wait for ever: nothing for this long ends the stream (the
  // caller resumes).
  const idle = new AbortController();
  let timer = setTimeout(() => idle.abort(), IDLE_MS);
  const both = AbortSignal.any([signal, idle.signal]);
  const stream = await client.stream(path, { ...query, watch: 'true', allowWatchBookmarks: 'true' }, both);
  let buffer = '';
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), IDLE_MS);
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        if (event.type === 'ERROR') {
          const status = event.object as unknown as { code?: number; message?: string };
          if (status.code === 410) throw new WatchExpiredError();
          throw new Error(`watch failed: ${status.message ?? JSON.stringify(status)}`);
        }
        yield event;
      }
    }
  } catch (err) {
    if (signal.aborted || idle.signal.aborted) return;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Longer than the API server's bookmark interval (about a minute), so a quiet but live watch is kept. */
const IDLE_MS = 90_000;
