/** Loopback network helpers for tests. */
import net from 'node:net';
import type { TestContext } from 'node:test';

/** A loopback port nothing listens on (bound, then closed): connections are refused. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether nothing listens on a loopback port now. */
async function portFree(port: number): Promise<boolean> {
  const s = net.createServer();
  const free = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (free) await new Promise<void>((r) => s.close(() => r()));
  return free;
}

/**
 * A cluster port base (see tests/cluster/paths.ts) whose ports are all free
 * now, tried from `from` upwards in steps of 100: other clusters may run
 * beside the tests (another checkout's, a release's).
 */
export async function freePortBase(from: number, offsets: readonly number[]): Promise<number> {
  for (let base = from; base < from + 5000; base += 100) {
    let free = true;
    for (const offset of offsets) if (!(await portFree(base + offset))) free = false;
    if (free) return base;
  }
  throw new Error(`no free cluster port base from ${from}`);
}

/**
 * A loopback listener that accepts connections and never answers: a server
 * that is up and silent. It counts the connections, and the most clients
 * waiting on it at once (connected, sent something, still open).
 */
export async function hangingListener(): Promise<{
  port: number;
  connections: () => number;
  mostWaitingAtOnce: () => number;
  close: () => void;
}> {
  const sockets: net.Socket[] = [];
  let waiting = 0;
  let most = 0;
  const server = net.createServer((sock) => {
    sockets.push(sock);
    sock.once('data', () => {
      most = Math.max(most, ++waiting);
      sock.once('close', () => waiting--);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => sockets.length,
    mostWaitingAtOnce: () => most,
    close: () => {
      for (const sock of sockets) sock.destroy();
      server.close();
    },
  };
}

/**
 * A TCP proxy on a loopback port in front of `target` (the API server's port) that a test takes down
 * (connections refused, those open cut) and brings back on the same port; closed when the test ends.
 */
export async function outageProxy(
  t: TestContext,
  target: number,
): Promise<{ port: number; down: () => Promise<void>; up: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const up = (): Promise<void> =>
    new Promise((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target, '127.0.0.1');
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const end = (): void => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const down = (): Promise<void> =>
    new Promise((resolve) => {
      for (const sock of sockets) sock.destroy();
      sockets.clear();
      if (server) server.close(() => resolve());
      else resolve();
    });
  await up();
  t.after(down);
  return { port, down, up };
}
