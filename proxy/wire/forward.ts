// The upstream client for HTTP requests (plain and intercepted): node:http(s) request to
// the address the gate checked, never a second lookup. TLS goes out with SNI and
// verification against the host name, over a socket connected to the checked address.
// Keep-alive pools are keyed by address (and SNI), so a socket opened for one checked
// address is never reused for another.
//
// Why not http-proxy here: it cannot pin an HTTPS request to an address while sending
// SNI for the name, and the scanner must hold or stream the body itself (the project
// no longer depends on it: docs/architecture.md).
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { Reason } from '../events/events.js';
import { upstreamFailure } from '../decide/outcome.js';
import { connectionNamed, isEndToEnd } from './headers.js';

export interface UpstreamTarget {
  secure: boolean;
  /** The checked address to connect to. */
  address: string;
  port: number;
  /** The host name: SNI and certificate identity for TLS. */
  host: string;
}

/** Where the forwarder notes how long a new upstream connection took (an exchange passes itself). */
export interface ForwardTiming {
  connectMs?: number;
}

export interface ForwardTimeouts {
  connect: number;
  idle: number;
}

/** The failure of an upstream exchange, classified for the refusal the client gets. */
export class UpstreamError extends Error {
  constructor(
    readonly reason: Reason,
    readonly status: 502 | 504,
  ) {
    super(reason);
  }
}

/** The failure of an upstream request, by the one classifier (decide/outcome.ts upstreamFailure). */
export function classifyUpstreamError(err: NodeJS.ErrnoException, timedOut: boolean): UpstreamError {
  const { reason, status } = upstreamFailure(err.code, timedOut);
  return new UpstreamError(reason, status);
}

/** The CAs upstream TLS is verified against: the system store plus the operator's extras. */
export function upstreamTrust(extraFiles: readonly string[]): string[] | undefined {
  if (extraFiles.length === 0) return undefined; // node's default store
  let system: string[] = [...rootCertificates];
  try {
    system = [readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8')];
  } catch {
    // no Debian-style bundle: node's bundled roots
  }
  return [...system, ...extraFiles.map((f) => readFileSync(f, 'utf8'))];
}

export class Forwarder {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  /** The upstream trust, built once: also for upstream TLS made outside the agent (WebSocket). */
  readonly secureContext: SecureContext;

  constructor(
    private readonly timeouts: ForwardTimeouts,
    ca: string[] | undefined,
  ) {
    const common = { keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256, timeout: timeouts.idle };
    this.httpAgent = new http.Agent(common);
    // One secure context for every upstream connection, built once. Passing `ca` instead
    // would parse the whole trust store (~150 certificates) on each new connection, and
    // https.Agent puts `ca` into its pool key, concatenating ~200 KB of PEM per request
    // (profiled: that alone held intercepted keep-alive to ~1k req/s).
    this.secureContext = createSecureContext(ca ? { ca } : {});
    this.httpsAgent = new https.Agent({ ...common, secureContext: this.secureContext, ALPNProtocols: ['http/1.1'] });
  }

  /**
   * Send a request upstream. Resolves with the upstream response (headers received), or
   * rejects with an UpstreamError. The caller writes the body to the returned request.
   */
  request(
    target: UpstreamTarget,
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
    timing?: ForwardTiming,
  ): { upstream: http.ClientRequest; response: Promise<IncomingMessage> } {
    let resolve: (res: IncomingMessage) => void = () => undefined;
    let reject: (err: UpstreamError) => void = () => undefined;
    const response = new Promise<IncomingMessage>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    response.catch(() => undefined); // handled by the caller; never an unhandled rejection
    return { upstream: this.send(target, method, path, headers, timing, resolve, reject), response };
  }

  /**
   * `request` with callbacks instead of a promise (the plain-HTTP path: one promise and
   * its turns fewer per request, issue #19). `onResponse` when the upstream's headers
   * arrive, or `onError` once if it fails before; never both.
   */
  send(
    target: UpstreamTarget,
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
    timing: ForwardTiming | undefined,
    onResponse: (res: IncomingMessage) => void,
    onError: (err: UpstreamError) => void,
  ): http.ClientRequest {
    let timedOut = false;
    let answered = false;
    const options: https.RequestOptions = {
      host: target.address,
      port: target.port,
      method,
      path,
      headers,
      agent: target.secure ? this.httpsAgent : this.httpAgent,
      timeout: this.timeouts.idle,
      ...(target.secure ? serverName(target.host) : {}),
    };
    const upstream = target.secure ? https.request(options) : http.request(options);
    upstream.once('response', (res: IncomingMessage) => {
      answered = true;
      onResponse(res);
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      if (!answered) onError(classifyUpstreamError(err, timedOut));
    });
    upstream.once('timeout', () => {
      timedOut = true;
      upstream.destroy(Object.assign(new Error('upstream idle timeout'), { code: 'ETIMEDOUT' }));
    });
    upstream.once('socket', (socket: Socket) => {
      if (!socket.connecting) return; // a reused keep-alive socket: no connect to time
      const started = performance.now();
      const timer = setTimeout(() => {
        timedOut = true;
        upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
      }, this.timeouts.connect);
      socket.once(target.secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        // TCP, plus the TLS handshake for HTTPS.
        if (timing) timing.connectMs = performance.now() - started;
      });
      socket.once('close', () => clearTimeout(timer));
    });
    return upstream;
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Copy an upstream response to the client: status, end-to-end headers, body with counting. */
export function relayResponse(upstreamRes: IncomingMessage, res: ServerResponse, keepAlive: boolean, count: (n: number) => void): void {
  res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, endToEndPairs(upstreamRes, keepAlive));
  upstreamRes.on('data', (chunk: Buffer) => count(chunk.length));
  upstreamRes.pipe(res);
  upstreamRes.once('error', () => res.destroy());
  upstreamRes.once('aborted', () => res.destroy());
}

/**
 * The upstream's end-to-end header lines with their names and order kept (some clients
 * care), as a flat name, value list, and our Connection last. One pass over the raw lines
 * (no copy of the parsed headers and no deletes: issue #19).
 */
function endToEndPairs(upstreamRes: IncomingMessage, keepAlive: boolean): string[] {
  const named = connectionNamed(upstreamRes.headers.connection);
  const out: string[] = [];
  const raw = upstreamRes.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (isEndToEnd(name.toLowerCase(), named)) out.push(name, raw[i + 1] as string);
  }
  out.push('Connection', keepAlive ? 'keep-alive' : 'close');
  return out;
}

/**
 * The TLS `servername` (SNI) option for a destination: its name, or nothing for an IP
 * address. RFC 6066 forbids an IP address as server name (Node warns, DEP0123); without
 * one, the certificate is checked against the connected IP, which is the destination.
 */
export function serverName(host: string): { servername?: string } {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) === 0 ? { servername: host } : {};
}

