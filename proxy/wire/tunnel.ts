// CONNECT tunnels: admit, connect to the checked address, answer 200, read the
// ClientHello to hold the client to the name it asked for (no domain fronting), then
// pipe bytes both ways until either side closes or the tunnel idles out.
import type { IncomingMessage } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Interceptor } from './intercept.js';
import { parseClientHello, type HelloResult } from '../decide/tls-hello.js';
import type { Config } from '../../config/index.js';
import type { Finding } from '../../detectors/index.js';
import type { Admission } from '../decide/gate.js';
import type { PoolRuntime } from '../decide/runtime.js';
import type { Target } from '../decide/target.js';
import { hasOutcome, newExchange, recordClose, recordFailure, recordVerdict, upstreamReason, type Exchange } from './exchange.js';
import { headerProblem } from './listener.js';
import { refuseRaw } from './refusal.js';
import { normalizeHost, parseAuthority, stripPort } from '../decide/target.js';
import { tunnelCloseReason, type TunnelEnding } from '../decide/close-reason.js';

/**
 * After one side of a tunnel closed cleanly (FIN, passed on to the other), how long the
 * other side has to close its own before the proxy closes it (and the reason says who left).
 */
const CLOSE_LINGER_MS = 1000;

/** What a CONNECT needs of the listener that took it (TunnelContext implements it). */
export interface TunnelContext {
  readonly config: Config;
  readonly isDraining: boolean;
  readonly interceptor: Interceptor | undefined;
  /** Set the exchange's host as lines show it; the secrets the name holds (judged by gate). */
  showHost(ex: Exchange, target: Target, written: string): readonly Finding[];
  /**
   * A ClientHello's SNI for another name than the tunnel's, as lines may show it: read for
   * secrets (recorded as the exchange's `host` findings: the name went out in the hello) and
   * shown redacted when it holds one.
   */
  showSni(ex: Exchange, pool: PoolRuntime, sni: string): string;
  gate(req: IncomingMessage, target: Target, ex: Exchange, hostFindings?: readonly Finding[]): Admission | Promise<Admission>;
  acquireTunnel(pool: PoolRuntime): boolean;
  releaseTunnel(pool: PoolRuntime): void;
  finish(ex: Exchange): void;
}

export async function handleConnect(proxy: TunnelContext, req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
  const ex = newExchange(req, 'connect');
  let answered = false; // 200 already sent (interception fell back to a plain tunnel)
  let finished = false;
  /** An established plain tunnel's upstream and what its two sides did (for the reason). */
  let tunnel: { upstream: Socket; ending: TunnelEnding } | undefined;
  const finish = (): void => {
    if (finished) return;
    if (tunnel && !tunnel.upstream.destroyed) {
      // Both sides' ends decide the reason: wait for the upstream's close too.
      tunnel.upstream.once('close', finish);
      return;
    }
    finished = true;
    if (tunnel) recordClose(ex, tunnelCloseReason(tunnel.ending));
    proxy.finish(ex);
  };
  client.once('close', finish);
  client.on('error', () => client.destroy());

  try {
    const malformed = headerProblem(req);
    if (malformed) return refuseRaw(client, ex, malformed, 'bad-request');
    const target = parseAuthority(req.url ?? '');
    if (!target) return refuseRaw(client, ex, 400, 'bad-request');
    // The name as written is read for secrets (case kept: base64url); shown redacted if it holds one.
    const hostFindings = proxy.showHost(ex, target, stripPort(req.url ?? ''));
    ex.port = target.port;
    if (proxy.isDraining) return refuseRaw(client, ex, 503, 'shutting-down');

    const admission = await proxy.gate(req, target, ex, hostFindings);
    if (!admission.ok) return refuseRaw(client, ex, admission.status, admission.reason);
    const pool = admission.pool;
    if (!proxy.acquireTunnel(pool)) return refuseRaw(client, ex, 429, 'too-many-tunnels');
    client.once('close', () => proxy.releaseTunnel(pool));

    if (proxy.interceptor && pool.intercepts(target.host)) {
      // Opened here: no upstream connection until a request inside asks for one.
      ex.status = 200;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      const first = await readHello(client, head);
      if (first.hello.kind === 'hello') {
        if (first.hello.sni !== undefined) ex.sni = shownSni(first.hello.sni, target.host, ex.host, (n) => proxy.showSni(ex, pool, n));
        const refusal = checkHello(first.hello, target.host, proxy.config.requireSni);
        if (refusal) {
          recordVerdict(ex, 'deny', refusal); // an opened tunnel is held to its name, audit pool or not
          client.destroy();
          return;
        }
        client.once('close', () => {
          ex.bytesUp = client.bytesRead;
          ex.bytesDown = client.bytesWritten;
        });
        ex.intercepted = true;
        proxy.interceptor.open(client, first.bytes, first.hello.sni, { target, admission, client: ex.client, connect: ex });
        return;
      }
      // Not TLS: nothing to open; fall through to a plain tunnel (the 200 is already sent).
      head = first.bytes;
      answered = true;
    }

    const { connect: connectTimeout, idle } = proxy.config.timeouts;
    const connectStarted = performance.now();
    const down = relayDown(client, (n) => (ex.bytesDown += n));
    const upstream = net.connect({ host: admission.address, port: target.port, noDelay: true, onread: down.onread });
    down.source = upstream;
    upstream.setTimeout(connectTimeout);
    const connected = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      upstream.once('connect', () => {
        ex.connectMs = performance.now() - connectStarted; // TCP only: the client does its own TLS
        resolve(undefined);
      });
      upstream.once('error', (err) => resolve(err));
      upstream.once('timeout', () => resolve(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
    });
    if (connected) {
      upstream.destroy();
      const failed = upstreamReason(connected);
      if (answered) {
        recordFailure(ex, failed.reason);
        return void client.destroy();
      }
      return refuseRaw(client, ex, failed.status, failed.reason);
    }
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    upstream.setTimeout(idle);
    client.setTimeout(idle);
    client.setNoDelay(true);
    const ending: TunnelEnding = { clientFin: false, upstreamFin: false, upstreamReset: false };
    tunnel = { upstream, ending };
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      ending.first ??= 'upstream';
      // Only an RST is a reset; other failures (a timeout, …) keep their own reason.
      if (err.code === 'ECONNRESET') ending.upstreamReset = true;
      else if (err.code !== 'EPIPE' && !hasOutcome(ex)) recordFailure(ex, upstreamReason(err).reason); // the first failure
      client.destroy();
    });
    client.once('end', () => {
      ending.first ??= 'client';
      ending.clientFin = true;
    });
    client.once('error', () => (ending.first ??= 'client'));
    upstream.once('end', () => {
      ending.first ??= 'upstream';
      ending.upstreamFin = true;
      client.end(); // what pipe did: the upstream's FIN reaches the client
    });
    // A side that closed cleanly has had its FIN passed on: give the other side a moment
    // to close its own (and queued bytes to drain) before closing it.
    const closeAfter = (socket: Socket, clean: () => boolean): void => {
      if (socket.destroyed) return;
      if (!clean()) return void socket.destroy();
      const timer = setTimeout(() => socket.destroy(), CLOSE_LINGER_MS);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    };
    upstream.once('close', () => closeAfter(client, () => ending.upstreamFin && !ending.upstreamReset));
    client.once('close', () => closeAfter(upstream, () => ending.clientFin));
    upstream.once('timeout', () => upstream.destroy());
    client.once('timeout', () => client.destroy());

    ex.status = 200;
    if (!answered) client.write('HTTP/1.1 200 Connection Established\r\n\r\n');

    // Upstream bytes flow at once (protocols where the server speaks first: relayDown is
    // reading since the connect); client bytes wait until the first ones tell whether this
    // is TLS and for which name.
    const first = await readHello(client, head);
    if (first.hello.kind === 'hello' && first.hello.sni !== undefined) ex.sni = shownSni(first.hello.sni, target.host, ex.host, (n) => proxy.showSni(ex, pool, n));
    const refusal = checkHello(first.hello, target.host, proxy.config.requireSni);
    if (refusal) {
      // An audited tunnel (the policy would have refused it) is let through and says why.
      recordVerdict(ex, admission.verdict === 'audit' ? 'audit' : 'deny', refusal);
      if (ex.decision === 'deny') {
        client.destroy();
        upstream.destroy();
        return;
      }
    }
    ex.bytesUp += first.bytes.length;
    if (first.bytes.length > 0) upstream.write(first.bytes);
    pipeCounted(client, upstream, (n) => (ex.bytesUp += n));
  } catch {
    // Fail closed.
    if (!client.destroyed) refuseRaw(client, ex, 500, 'internal-error');
  } finally {
    if (client.destroyed) finish();
  }
}

/** Read from the client until its first bytes decide what they are (or the socket ends). */
function readHello(client: Socket, head: Buffer): Promise<{ hello: HelloResult; bytes: Buffer }> {
  let bytes = head;
  const initial = parseClientHello(bytes);
  if (bytes.length > 0 && initial.kind !== 'partial') return Promise.resolve({ hello: initial, bytes });
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      bytes = bytes.length === 0 ? chunk : Buffer.concat([bytes, chunk]);
      const hello = parseClientHello(bytes);
      if (hello.kind !== 'partial' || bytes.length > 64 * 1024) done(hello.kind === 'partial' ? { kind: 'not-tls' } : hello);
    };
    const onEnd = (): void => done(bytes.length === 0 ? { kind: 'not-tls' } : parseClientHello(bytes));
    const done = (hello: HelloResult): void => {
      client.off('data', onData);
      client.off('end', onEnd);
      client.off('close', onEnd);
      client.pause();
      resolve({ hello: hello.kind === 'partial' ? { kind: 'not-tls' } : hello, bytes });
    };
    client.on('data', onData);
    client.once('end', onEnd);
    client.once('close', onEnd);
  });
}

/**
 * The server name as lines show it: when it names the tunnel's host and that host is shown
 * redacted (its name held a secret), shown as the host is.
 */
export function shownSni(sni: string, host: string, shownHost: string, showName: (name: string) => string = (n) => n): string {
  // The tunnel's own name is shown as the tunnel's host is; another name (an `sni-mismatch`,
  // let through by an audit pool) is read for secrets on its own.
  if (normalizeHost(sni)?.host === host) return shownHost === host ? sni : shownHost;
  return showName(sni);
}

/** The reason to refuse a tunnel's first bytes, or undefined when they are acceptable. */
export function checkHello(hello: HelloResult, host: string, requireSni: boolean): 'sni-mismatch' | 'sni-required' | undefined {
  if (hello.kind === 'hello' && hello.sni !== undefined) {
    const sni = normalizeHost(hello.sni);
    return sni && sni.host === host ? undefined : 'sni-mismatch';
  }
  return requireSni ? 'sni-required' : undefined;
}

/**
 * Reads of every tunnel's upstream land in one shared buffer and are written to the client
 * at once. A piped socket gets a fresh 64 KiB buffer per read instead: allocation and page
 * faults made up most of a tunnel's CPU (profiled: ~0.6 ms per MiB with pipe, ~0.35 with
 * this). A write the kernel takes whole frees the buffer before the next read of any
 * socket. A write it does not take stays queued on the client, still pointing into the
 * buffer: then the buffer is handed to that queue and a new one is made for every tunnel's
 * next read. (Keeping only the writing tunnel off it is not enough: another tunnel's read
 * would overwrite the queued bytes, and send its data to the wrong client.)
 */
const READ_BUFFER_BYTES = 64 * 1024;
let sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

interface RelayDown {
  onread: net.OnReadOpts;
  /** The upstream socket, once made (to resume it on drain). */
  source: Socket | undefined;
}

/** Upstream → client relay with byte counting and backpressure, for `net.connect({ onread })`. */
function relayDown(client: Socket, count: (n: number) => void): RelayDown {
  const relay: RelayDown = {
    source: undefined,
    onread: {
      buffer: () => sharedReadBuffer,
      callback: (n: number, buf: Uint8Array): boolean => {
        if (client.destroyed) return false;
        count(n);
        const ok = client.write(buf.subarray(0, n));
        // Queued, not yet written: those bytes live in the shared buffer; give it up.
        if (client.writableLength > 0 && buf === sharedReadBuffer) sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
        if (ok) return true;
        client.once('drain', () => relay.source?.resume());
        return false;
      },
    },
  };
  return relay;
}

/** Pipe with byte counting and backpressure. */
function pipeCounted(from: Socket, to: Socket, count: (n: number) => void): void {
  from.on('data', (chunk: Buffer) => count(chunk.length));
  from.pipe(to);
  from.resume();
}

export type { Exchange };
