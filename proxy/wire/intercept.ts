// TLS interception: a CONNECT tunnel the pool may open is terminated here with a leaf
// certificate from our CA, and the HTTP/1.1 inside is served by an inner HTTP server,
// request by request, through the same scanning and forwarding as plain HTTP.
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { LeafIssuer } from './ca.js';
import type { Admission } from '../decide/gate.js';
import { handleExchange, type ExchangeContext } from './http-exchange.js';
import type { PoolRuntime } from '../decide/runtime.js';
import type { Config } from '../../config/index.js';
import type { SecureContext } from 'node:tls';
import { newExchange, recordAdmission, type Exchange } from './exchange.js';
import { prepareWebSocket, relayWebSocket } from './websocket.js';
import { createListener, headerProblem } from './listener.js';
import type { EgressKind } from '../events/events.js';
import type { Taps } from './taps.js';
import { normalizeHost, stripPort, type Target } from '../decide/target.js';
import { H2Interceptor } from './h2-intercept.js';
import { onClientHandshake } from './client-tls.js';
import { isH2cUpgrade } from './h2c.js';
import { pairWithUpstream, refuseRaw, type Refusal } from './refusal.js';
import { serverName } from './forward.js';

/** What the inner server knows of the tunnel a request arrived on. */
interface TunnelInfo {
  target: Target;
  admission: Extract<Admission, { ok: true }>;
  client: string;
  /** The CONNECT exchange, to count the intercepted requests' bytes on it. */
  connect: Exchange;
}

/** What interception needs of the listener whose tunnels it opens (ProxyServer implements it). */
export interface InterceptContext {
  readonly config: Config;
  readonly taps: Taps | undefined;
  exchangeContext(pool: PoolRuntime): ExchangeContext;
  upstreamTlsOptions(): { secureContext: SecureContext };
  refuseResponse(res: ServerResponse, ex: Exchange, refusal: Refusal): void;
  onClientError(err: NodeJS.ErrnoException, socket: Socket, kind?: EgressKind): void;
  finish(ex: Exchange): void;
}

export class Interceptor {
  private readonly inner: http.Server;
  private readonly tunnels = new WeakMap<Socket, TunnelInfo>();
  /** HTTP/2 clients (ALPN h2): streams as exchanges (h2-intercept.ts). */
  private readonly h2: H2Interceptor;

  constructor(
    private readonly proxy: InterceptContext,
    private readonly issuer: LeafIssuer,
  ) {
    this.inner = createListener(proxy.config);
    this.inner.on('request', (req: IncomingMessage, res: ServerResponse) => void this.onRequest(req, res));
    this.inner.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    this.inner.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => proxy.onClientError(err, socket, 'intercept'));
    this.h2 = new H2Interceptor(proxy);
  }

  /**
   * Take over a client socket after `200 Connection Established`: `first` holds the bytes
   * already read (the ClientHello), `sni` the name it asked for.
   */
  open(client: Socket, first: Buffer, sni: string | undefined, info: TunnelInfo): void {
    if (first.length > 0) client.unshift(first);
    const name = sni ?? info.target.host;
    const tlsSocket = new tls.TLSSocket(client, {
      isServer: true,
      secureContext: this.issuer.contextFor(name),
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    tlsSocket.on('error', () => tlsSocket.destroy());
    tlsSocket.once('close', () => client.destroy());
    // A client that fails the handshake (does not trust our CA, no common protocol) is
    // logged on the tunnel's line as `client-tls-failed` with its alert (client-tls.ts).
    onClientHandshake(tlsSocket, info.connect, () => {
      if (tlsSocket.alpnProtocol === 'h2') return this.h2.serve(tlsSocket, info);
      this.tunnels.set(tlsSocket, info);
      this.inner.emit('connection', tlsSocket);
    });
  }

  get leafIssuer(): LeafIssuer {
    return this.issuer;
  }

  private info(req: IncomingMessage): TunnelInfo | undefined {
    return this.tunnels.get(req.socket);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const info = this.info(req);
    const ex = newExchange(req, 'intercept', info?.client);
    res.once('close', () => {
      ex.status = res.headersSent ? res.statusCode : 499;
      this.proxy.finish(ex);
    });
    if (!info) return this.proxy.refuseResponse(res, ex, { status: 500, reason: 'internal-error' });
    const { target, admission } = info;
    ex.host = info.connect.host; // the tunnel's, as its line shows it (redacted when the name held a secret)
    ex.port = target.port;
    recordAdmission(ex, admission); // the tunnel's
    const path = req.url ?? '/';
    ex.path = path.split('?', 1)[0] ?? '/';
    try {
      // The tunnel was admitted for one host: a request inside it naming another is not
      // smuggled past the policy (it would have to come through its own CONNECT).
      const malformed = headerProblem(req);
      if (malformed) return this.proxy.refuseResponse(res, ex, { status: malformed, reason: 'bad-request' });
      const hostHeader = req.headers.host;
      const named = hostHeader === undefined ? undefined : normalizeHost(stripPort(hostHeader));
      if (!path.startsWith('/') || !named || named.host !== target.host) {
        return this.proxy.refuseResponse(res, ex, { status: 403, reason: 'host-mismatch' });
      }
      const ctx = this.proxy.exchangeContext(admission.pool);
      await handleExchange(ctx, req, res, ex, { secure: true, address: admission.address, port: target.port, host: target.host }, path, (r) =>
        this.proxy.refuseResponse(res, ex, r),
      );
    } catch {
      if (!res.headersSent) this.proxy.refuseResponse(res, ex, { status: 500, reason: 'internal-error' });
      else res.destroy();
    }
  }

  /**
   * WebSocket inside an intercepted tunnel: the handshake is scanned as a request's head
   * is, then relayed to the upstream over TLS with its messages read (websocket.ts).
   */
  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const info = this.info(req);
    if (!info) return void socket.destroy();
    const ex = newExchange(req, 'websocket', info.client);
    ex.host = info.connect.host; // the tunnel's, as its line shows it
    ex.port = info.target.port;
    recordAdmission(ex, info.admission);
    const path = req.url ?? '/';
    ex.path = path.split('?', 1)[0] ?? '/';
    socket.once('close', () => this.proxy.finish(ex));
    socket.on('error', () => socket.destroy());
    if (isH2cUpgrade(req)) return refuseRaw(socket, ex, 400, 'h2c-not-supported');
    const malformed = headerProblem(req);
    if (malformed) return refuseRaw(socket, ex, malformed, 'bad-request');
    const named = req.headers.host === undefined ? undefined : normalizeHost(stripPort(req.headers.host));
    if (!path.startsWith('/') || !named || named.host !== info.target.host) return refuseRaw(socket, ex, 403, 'host-mismatch');
    const ctx = this.proxy.exchangeContext(info.admission.pool);
    const prepared = prepareWebSocket(ctx, ex, req, path, this.proxy.taps, info.target.host);
    if ('refusal' in prepared) return refuseRaw(socket, ex, prepared.refusal.status, prepared.refusal.reason);
    const upstream = tls.connect({ host: info.admission.address, port: info.target.port, ...serverName(info.target.host), ALPNProtocols: ['http/1.1'], ...this.proxy.upstreamTlsOptions() });
    pairWithUpstream(socket, upstream, ex);
    upstream.once('secureConnect', () => relayWebSocket({ ctx, ex, req, path, head, client: socket, upstream, ...prepared }));
  }

  close(): void {
    this.h2.close();
    this.inner.close();
    this.inner.closeAllConnections();
  }
}
