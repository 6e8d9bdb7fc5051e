/**
 * A plain-HTTP reverse proxy to the local API server that authenticates as
 * the admin (as kubectl proxy does) and records every request it forwards:
 * point a kubeconfig's server at it to see what a command asks for. Used by
 * the tests (recordingProxy) and by bench:plan (which counts requests).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import type { ClusterInfo } from './cluster.js';

export interface AdminProxy {
  server: string;
  /** "METHOD /path?query" of each request forwarded so far. */
  requests: string[];
  /** The requests recorded since the last take(), and a fresh record. */
  take(): string[];
  close(): void;
}

export async function startAdminProxy(info: ClusterInfo): Promise<AdminProxy> {
  const pki = path.join(info.dir, 'pki');
  const agent = new https.Agent({
    keepAlive: true,
    ca: readFileSync(path.join(pki, 'ca.crt')),
    cert: readFileSync(path.join(pki, 'admin.crt')),
    key: readFileSync(path.join(pki, 'admin.key')),
  });
  const proxy: AdminProxy = {
    server: '',
    requests: [],
    take: () => proxy.requests.splice(0),
    close: () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
  const server = http.createServer((req, res) => {
    proxy.requests.push(`${req.method} ${req.url}`);
    const headers = { ...req.headers };
    delete headers.host;
    const upstream = https.request(
      { host: '127.0.0.1', port: info.ports.apiserver, method: req.method, path: req.url, headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.server = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
