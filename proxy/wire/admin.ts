// The admin listener: /metrics for Prometheus, /healthz (the process answers) and
// /readyz (the proxy listens and is not draining). Loopback by default; tokens when set.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import { parseListen } from '../../config/index.js';

export interface AdminOptions {
  listen: string;
  /** Bearer token for /healthz and /readyz; empty: none. */
  token: string;
  /** Bearer token for /metrics; empty: none. */
  metricsToken: string;
  registry: Registry;
  ready: () => boolean;
}

export function createAdminServer(options: AdminOptions): { listen(): Promise<AddressInfo>; close(): Promise<void> } {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    const needed = path === '/metrics' ? options.metricsToken : options.token;
    if (needed !== '' && !bearerMatches(req.headers.authorization, needed)) {
      res.setHeader('www-authenticate', 'Bearer realm="chokepoint-admin"');
      return send(401, 'unauthorized\n');
    }
    switch (path) {
      case '/metrics':
        options.registry.metrics().then(
          (text) => send(200, text, options.registry.contentType),
          () => send(500, 'metrics unavailable\n'),
        );
        return;
      case '/healthz':
        return send(200, 'ok\n');
      case '/readyz':
        return options.ready() ? send(200, 'ready\n') : send(503, 'not ready\n');
      default:
        return send(404, 'not found\n');
    }
  });
  return {
    async listen() {
      const addr = parseListen(options.listen);
      if (!addr) throw new Error(`invalid admin listen address ${options.listen}`);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(addr.port, addr.host, () => resolve());
      });
      return server.address() as AddressInfo;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header?.toLowerCase().startsWith('bearer ')) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header.slice(7).trim()), digest(token));
}
