/** Loopback network helpers for tests. */
import net from 'node:net';

/** A loopback port nothing listens on (bound, then closed): connections are refused. */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
