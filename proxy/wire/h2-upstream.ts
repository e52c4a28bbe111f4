// Upstream HTTP/2 for intercepted h2 streams: one TLS connection per checked address,
// port and name, offering `h2` then `http/1.1`; when the origin picks h2 the session is
// kept and shared by every stream bound there (node:http2), otherwise the origin is
// remembered as HTTP/1.1-only for a while and its streams go through the HTTP/1.1
// forwarder. Like forward.ts: never a second lookup, SNI and verification for the name.
import http2, { type ClientHttp2Session } from 'node:http2';
import tls, { type SecureContext } from 'node:tls';
import { classifyUpstreamError, serverName, UpstreamError, type ForwardTiming, type UpstreamTarget } from './forward.js';

/** What an origin speaks: a live h2 session, or HTTP/1.1 only. */
export type UpstreamProtocol = { kind: 'h2'; session: ClientHttp2Session } | { kind: 'http/1.1' };

export interface H2UpstreamOptions {
  connectTimeout: number;
  idleTimeout: number;
  secureContext: () => SecureContext;
}

/** How long an origin that did not offer h2 is asked no more. */
const H1_MEMORY_MS = 60_000;
const MAX_REMEMBERED = 10_000;

export class H2Upstreams {
  private readonly sessions = new Map<string, Promise<UpstreamProtocol>>();
  private readonly h1Only = new Map<string, number>();
  private closed = false;

  constructor(private readonly options: H2UpstreamOptions) {}

  /** The protocol to reach `target` with (connecting, or reusing a session). */
  get(target: UpstreamTarget, timing?: ForwardTiming): Promise<UpstreamProtocol> {
    const key = `${target.address}\0${target.port}\0${target.host}`;
    const until = this.h1Only.get(key);
    if (until !== undefined) {
      if (until > Date.now()) return Promise.resolve({ kind: 'http/1.1' });
      this.h1Only.delete(key);
    }
    const open = this.sessions.get(key);
    if (open) return open;
    const made = this.connect(key, target, timing);
    this.sessions.set(key, made);
    made.then(
      (p) => {
        if (p.kind !== 'h2') this.sessions.delete(key);
      },
      () => this.sessions.delete(key),
    );
    return made;
  }

  private connect(key: string, target: UpstreamTarget, timing?: ForwardTiming): Promise<UpstreamProtocol> {
    if (this.closed) return Promise.reject(new UpstreamError('upstream-error', 502));
    const started = performance.now();
    return new Promise<UpstreamProtocol>((resolve, reject) => {
      let timedOut = false;
      const socket = tls.connect({
        host: target.address,
        port: target.port,
        ...serverName(target.host),
        ALPNProtocols: ['h2', 'http/1.1'],
        secureContext: this.options.secureContext(),
      });
      const timer = setTimeout(() => {
        timedOut = true;
        socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
      }, this.options.connectTimeout);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(classifyUpstreamError(err, timedOut));
      });
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        if (timing) timing.connectMs = performance.now() - started;
        if (socket.alpnProtocol !== 'h2') {
          socket.destroy();
          if (this.h1Only.size >= MAX_REMEMBERED) this.h1Only.clear();
          this.h1Only.set(key, Date.now() + H1_MEMORY_MS);
          return resolve({ kind: 'http/1.1' });
        }
        const authority = target.host.includes(':') ? `[${target.host}]` : target.host;
        const session = http2.connect(`https://${authority}:${target.port}`, { createConnection: () => socket });
        session.on('error', () => this.forget(key, session));
        session.once('close', () => this.forget(key, session));
        session.once('goaway', () => this.forget(key, session));
        session.setTimeout(this.options.idleTimeout, () => session.close());
        resolve({ kind: 'h2', session });
      });
    });
  }

  private forget(key: string, session: ClientHttp2Session): void {
    const current = this.sessions.get(key);
    if (!current) return;
    void current.then((p) => {
      if (p.kind === 'h2' && p.session === session) this.sessions.delete(key);
    });
  }

  close(): void {
    this.closed = true;
    for (const p of this.sessions.values()) {
      p.then(
        (u) => {
          if (u.kind === 'h2') u.session.destroy();
        },
        () => undefined,
      );
    }
    this.sessions.clear();
  }
}
