// HTTP/2 keep-alive load through an intercepting proxy: a few connections (CONNECT, TLS
// with ALPN h2 and the proxy's CA), each with many streams in flight; every finished
// stream starts the next until the time is up. The HTTP/1.1 counterpart is
// peers/load.ts keepAliveLoad (one request in flight per connection).
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { keepAliveLoad, openTunnel, startTls, type Dest } from '../peers/load.js';

export interface H2LoadResult {
  requests: number;
  errors: number;
  ms: number;
  latenciesMs: number[];
}

/** TLS over a CONNECT tunnel, offering only h2 (the proxy must pick it). */
export async function openH2(proxyPort: number | undefined, dest: Dest, ca: string): Promise<http2.ClientHttp2Session> {
  const socket = await openTunnel(proxyPort, dest);
  const t = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const ip = net.isIP(dest.host) !== 0;
    const s = tls.connect({ socket, ca, ...(ip ? {} : { servername: dest.host }), ALPNProtocols: ['h2'], checkServerIdentity: (_h, cert) => tls.checkServerIdentity(dest.host, cert) });
    s.once('secureConnect', () => {
      s.off('error', reject);
      if (s.alpnProtocol !== 'h2') reject(new Error(`ALPN chose ${String(s.alpnProtocol)}, not h2`));
      else resolve(s);
    });
    s.once('error', reject);
  });
  const authority = dest.host.includes(':') ? `[${dest.host}]` : dest.host;
  const session = http2.connect(`https://${authority}:${dest.port}`, { createConnection: () => t });
  session.on('error', () => undefined);
  return session;
}

export async function h2KeepAliveLoad(
  open: () => Promise<http2.ClientHttp2Session>,
  path: string,
  connections: number,
  streamsPerConnection: number,
  durationMs: number,
  maxRequests: number,
): Promise<H2LoadResult> {
  const sessions = await Promise.all(Array.from({ length: connections }, () => open()));
  const start = performance.now();
  const deadline = start + durationMs;
  let requests = 0;
  let errors = 0;
  let sent = 0;
  const latenciesMs: number[] = [];
  const lane = (session: http2.ClientHttp2Session): Promise<void> =>
    new Promise<void>((resolve) => {
      const next = (): void => {
        if (performance.now() >= deadline || sent >= maxRequests || session.destroyed) return resolve();
        sent++;
        const t0 = performance.now();
        const req = session.request({ ':method': 'GET', ':path': path });
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('data', () => undefined);
        req.on('error', () => undefined);
        req.on('close', () => {
          latenciesMs.push(performance.now() - t0);
          requests++;
          if (status < 200 || status > 299) errors++;
          next();
        });
        req.end();
      };
      next();
    });
  await Promise.all(sessions.flatMap((s) => Array.from({ length: streamsPerConnection }, () => lane(s))));
  const ms = performance.now() - start;
  for (const s of sessions) s.destroy();
  return { requests, errors, ms, latenciesMs };
}

export interface H1H2Figures {
  /** HTTP/1.1 keep-alive: `connections` connections, one request in flight on each. */
  h1: H2LoadResult;
  /** h2: one connection, `streams` streams in flight. */
  h2One: H2LoadResult;
  /** h2: `connections` connections, streams / connections in flight on each. */
  h2Many: H2LoadResult;
}

/** The same GET of `path` through an intercepting proxy, HTTP/1.1 keep-alive against h2 streams. */
export async function interceptH1H2(
  proxyPort: number,
  dest: Dest,
  ca: string,
  path: string,
  o: { connections: number; streams: number; durationMs: number },
): Promise<H1H2Figures> {
  const get = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${dest.host}:${dest.port}\r\n\r\n`);
  const h1 = await keepAliveLoad(async () => startTls(await openTunnel(proxyPort, dest), dest, ca), get, o.connections, o.durationMs, 10_000_000);
  const h2One = await h2KeepAliveLoad(() => openH2(proxyPort, dest, ca), path, 1, o.streams, o.durationMs, 10_000_000);
  const h2Many = await h2KeepAliveLoad(() => openH2(proxyPort, dest, ca), path, o.connections, Math.max(1, Math.floor(o.streams / o.connections)), o.durationMs, 10_000_000);
  return { h1, h2One, h2Many };
}
