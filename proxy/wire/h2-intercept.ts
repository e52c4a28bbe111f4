// HTTP/2 inside an intercepted tunnel: a client that chose `h2` by ALPN gets an HTTP/2
// server session with bounded SETTINGS (concurrent streams, header list size), and each
// stream becomes one exchange (h2-exchange.ts) with its own egress line, held to the
// tunnel's host as HTTP/1.1 requests are (`:authority` naming another host: 403
// `host-mismatch`, as a Host header would be refused).
import http2, { type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../../config/index.js';
import type { Admission } from '../decide/gate.js';
import { normalizeHost, stripPort, type Target } from '../decide/target.js';
import { newExchange, recordAdmission, type Exchange } from './exchange.js';
import { handleH2Stream, refuseStream } from './h2-exchange.js';
import { StreamSlices } from './h2-slices.js';
import { H2Upstreams } from './h2-upstream.js';
import type { ExchangeContext } from './http-exchange.js';
import { MAX_HEADER_LINES } from './listener.js';
import type { SecureContext } from 'node:tls';
import type { PoolRuntime } from '../decide/runtime.js';

/** The mark on a client's TLS socket that says which tunnel it came through. */
const TUNNEL = Symbol('chokepoint.h2.tunnel');

/** What an h2 connection knows of the tunnel it came through. */
export interface H2TunnelInfo {
  target: Target;
  admission: Extract<Admission, { ok: true }>;
  client: string;
  /** The tunnel's exchange: its host as lines show it (redacted when the name held a secret). */
  connect: Pick<Exchange, 'host'>;
}

/** One client h2 connection: its tunnel, and the slices its streams start in. */
interface SessionState {
  info: H2TunnelInfo;
  slices: StreamSlices;
}

/** What the h2 side needs of the proxy (ProxyServer, through the Interceptor). */
export interface H2Context {
  readonly config: Config;
  exchangeContext(pool: PoolRuntime): ExchangeContext;
  upstreamTlsOptions(): { secureContext: SecureContext };
  finish(ex: Exchange): void;
}

export class H2Interceptor {
  private readonly server: Http2Server;
  private readonly sessions = new Map<ServerHttp2Session, SessionState>();
  readonly upstreams: H2Upstreams;

  constructor(private readonly proxy: H2Context) {
    const { limits, timeouts } = proxy.config;
    this.server = http2.createServer({
      settings: {
        maxConcurrentStreams: limits.h2MaxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderBytes,
        enablePush: false,
      },
      // Header lines per block, as HTTP/1.1's limit (node's default of 128 is lower).
      maxHeaderListPairs: MAX_HEADER_LINES,
      // Streams beyond SETTINGS_MAX_CONCURRENT_STREAMS are refused by node (REFUSED_STREAM).
      peerMaxConcurrentStreams: limits.h2MaxConcurrentStreams,
    });
    this.server.on('session', (session: ServerHttp2Session) => {
      // session.socket is node's proxy of the TLS socket: it reads the tunnel's mark through.
      const info = Reflect.get(session.socket, TUNNEL) as H2TunnelInfo | undefined;
      if (!info) return void session.destroy();
      this.sessions.set(session, { info, slices: new StreamSlices() });
      session.once('close', () => this.sessions.delete(session));
      session.on('error', () => session.destroy());
      // An idle h2 connection (a gRPC channel) is kept as long as an idle upstream is.
      session.setTimeout(timeouts.idle, () => session.close());
    });
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void this.onStream(stream, headers));
    this.upstreams = new H2Upstreams({
      connectTimeout: timeouts.connect,
      idleTimeout: timeouts.idle,
      secureContext: () => proxy.upstreamTlsOptions().secureContext,
    });
  }

  /** Serve HTTP/2 on a client's TLS socket (ALPN said h2). */
  serve(socket: TLSSocket, info: H2TunnelInfo): void {
    Object.defineProperty(socket, TUNNEL, { value: info });
    // A TLSSocket made by hand (not by a tls.Server) keeps `secureConnecting` true after its
    // handshake, and node's h2 session would wait for a 'secureConnect' that never comes.
    Reflect.set(socket, 'secureConnecting', false);
    this.server.emit('connection', socket);
  }

  private async onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const state = this.sessions.get(stream.session as ServerHttp2Session);
    const ex = newExchange(undefined, 'intercept', state?.info.client ?? '');
    ex.httpVersion = '2';
    ex.method = String(headers[':method'] ?? '');
    stream.on('error', () => undefined); // a reset stream ends as its close says
    stream.once('close', () => {
      if (ex.status === 0) ex.status = 499;
      this.proxy.finish(ex);
    });
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    if (!state) return refuseStream(stream, ex, { status: 500, reason: 'internal-error' }, grpc);
    const { info, slices } = state;
    const { target, admission } = info;
    ex.host = info.connect.host; // the tunnel's, as its line shows it
    ex.port = target.port;
    recordAdmission(ex, admission); // the tunnel's
    const path = String(headers[':path'] ?? '');
    ex.path = path.split('?', 1)[0] ?? '/';
    try {
      if (ex.method === 'CONNECT' || !path.startsWith('/')) return refuseStream(stream, ex, { status: 400, reason: 'bad-request' }, grpc);
      // The tunnel was admitted for one host: a stream naming another would pass the policy by.
      const authority = String(headers[':authority'] ?? headers.host ?? '');
      const named = authority === '' ? undefined : normalizeHost(stripPort(authority));
      if (!named || named.host !== target.host) return refuseStream(stream, ex, { status: 403, reason: 'host-mismatch' }, grpc);
      const ctx = this.proxy.exchangeContext(admission.pool);
      // A burst of streams starts a slice per turn (h2-slices.ts).
      await slices.run(
        () => handleH2Stream(ctx, { upstreams: this.upstreams, authority }, stream, headers, ex, { secure: true, address: admission.address, port: target.port, host: target.host }),
        () => !stream.destroyed,
      );
    } catch {
      refuseStream(stream, ex, { status: 500, reason: 'internal-error' }, grpc);
    }
  }

  close(): void {
    for (const session of this.sessions.keys()) session.close();
    this.upstreams.close();
    this.server.close();
  }
}
