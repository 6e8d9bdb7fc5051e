/**
 * A plain-HTTP reverse proxy to the local API server that authenticates as
 * the admin (as kubectl proxy does) and records every request it forwards:
 * point a kubeconfig's server at it to see what a command asks for. Used by
 * the tests (recordingProxy; interposingProxy, which acts before each request
 * goes on) and by bench:plan (which counts requests).
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
  /** "METHOD /path -> CODE" of each answer so far. */
  answers: string[];
  /** The requests recorded since the last take(), and a fresh record. */
  take(): string[];
  close(): void;
}

/** `before`: awaited before each request goes on (with its body read), as another writer's moment. */
export async function startAdminProxy(
  info: ClusterInfo,
  before?: (method: string, url: string) => Promise<void>,
): Promise<AdminProxy> {
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
    answers: [],
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
    const forward = (): http.ClientRequest => {
      const upstream = https.request(
        { host: '127.0.0.1', port: info.ports.apiserver, method: req.method, path: req.url, headers, agent },
        (up) => {
          proxy.answers.push(`${req.method} ${(req.url ?? '').split('?')[0]} -> ${up.statusCode}`);
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      return upstream;
    };
    if (!before) {
      req.pipe(forward());
      return;
    }
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      before(req.method ?? 'GET', req.url ?? '').then(
        () => forward().end(Buffer.concat(body)),
        () => res.destroy(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.server = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
