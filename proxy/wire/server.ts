// The proxy listener: plain HTTP forwarding (absolute-URI requests), CONNECT tunnels and
// WebSocket upgrades. Each request builds its exchange (exchange.ts) and passes the gate
// (decide/gate.ts); http-exchange.ts and forward.ts carry plain HTTP requests, tunnel.ts
// (and intercept.ts, for a tunnel the pool opens) carries CONNECT, and websocket.ts
// carries WebSocket upgrades (their messages read). Every request ends in exactly one
// egress event (finish).
import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import net from 'node:net';
import type { Config } from '../../config/index.js';
import { parseListen } from '../../config/index.js';
import { randomBytes } from 'node:crypto';
import type { Engine, Finding } from '../../detectors/index.js';
import { DnsNameReader } from '../../detectors/dns-names.js';
import { redactedName } from '../../detectors/redact.js';
import type { LeafIssuer } from './ca.js';
import { EventBus, type EgressKind } from '../events/events.js';
import { Forwarder, upstreamTrust } from './forward.js';
import { BufferBudget, handleExchange, type ExchangeContext } from './http-exchange.js';
import { Interceptor, type InterceptContext } from './intercept.js';
import type { Taps } from './taps.js';
import { admit, identifyPool, type Admission, type GateContext } from '../decide/gate.js';
import { systemResolver } from './resolve.js';
import type { Resolve } from '../decide/gate.js';
import { compileRuntime, type PoolRuntime, type Runtime } from '../decide/runtime.js';
import { asWritten, parseAbsoluteUri, stripPort, type Target } from '../decide/target.js';
import { decide } from '../decide/policy.js';
import { findingsVerdict } from '../decide/verdict.js';
import { exchangeJudge } from './exchange-judge.js';
import { handleConnect, type TunnelContext } from './tunnel.js';
import { type Exchange, egressEvent, newExchange, recordAdmission, recordVerdict } from './exchange.js';
import { createListener, headerProblem } from './listener.js';
import { pairWithUpstream, refuseHttp, refuseRaw, type Refusal } from './refusal.js';
import { isH2cUpgrade, isH2Preface, refuseH2Preface } from './h2c.js';
import { prepareWebSocket, relayWebSocket } from './websocket.js';

export interface ProxyServerOptions {
  config: Config;
  /** The detection engine requests are scanned with (see detection.ts). */
  engine: Engine;
  /** Leaf certificates for TLS interception; without it nothing is intercepted. */
  issuer?: LeafIssuer;
  bus?: EventBus;
  /** Name resolution; tests pass one they control. Default: the system resolver or config dns.servers. */
  resolve?: Resolve;
  /**
   * Reads the host names of requests and tunnels for secrets, as the DNS listener reads
   * query names (the app passes the one it gives the DNS listener: one memory of names).
   * Default: a reader of its own with the engine.
   */
  names?: DnsNameReader;
}

const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/** Record the gate's answer; `audit`: a secret in the host would have been refused by an enforce pool. */
function admitted(ex: Exchange, a: Admission, audit: boolean): Admission {
  recordAdmission(ex, a);
  // After the policy's answer, which would overwrite it: what the host's secret would have done.
  if (audit && a.ok) recordVerdict(ex, 'audit', 'secret-exfiltration');
  return a;
}

export class ProxyServer implements TunnelContext, InterceptContext {
  readonly bus: EventBus;
  private runtime: Runtime;
  private resolve: Resolve;
  /** Set when the caller gave the resolver (tests): a reload keeps it. */
  private readonly resolveGiven: boolean;
  private readonly server: http.Server;
  /** HTTP requests, plain and intercepted (forward.ts). */
  private forwarder: Forwarder;
  /** The upstream trust the forwarder was built with (to tell whether a reload changes it). */
  private trustKey: string;
  private engine: Engine;
  /** Secrets in host names (detectors/dns-names.ts), remembered per name. */
  private readonly names: DnsNameReader;
  private readonly buffers: BufferBudget;
  readonly interceptor: Interceptor | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly tunnelCounts = new Map<string, number>();
  private self: Set<string> = new Set();
  private draining = false;
  /** Observers of forwarded traffic (CI log recognisers); set by the app. */
  taps: Taps | undefined;

  constructor(options: ProxyServerOptions) {
    this.bus = options.bus ?? new EventBus();
    this.runtime = compileRuntime(options.config);
    this.resolve = options.resolve ?? systemResolver(options.config.dns.servers, options.config.dns.cacheTtl);
    this.resolveGiven = options.resolve !== undefined;
    const { timeouts } = options.config;
    this.engine = options.engine;
    // The key fingerprints only the reader's tunnelling findings, which hosts are not read for.
    this.names = options.names ?? new DnsNameReader({ engine: options.engine, fingerprintKey: randomBytes(32) });
    const trust = upstreamTrust(options.config.tls.upstreamCAs);
    this.trustKey = trust?.join('\n') ?? '';
    this.forwarder = new Forwarder(timeouts, trust);
    this.buffers = new BufferBudget(options.config.scan.totalBufferBytes);
    this.interceptor = options.issuer ? new Interceptor(this, options.issuer) : undefined;
    this.server = createListener(options.config);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    this.server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => void handleConnect(this, req, socket, head));
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => void this.onUpgrade(req, socket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
  }

  /** The config in force (new connections use it). */
  get config(): Config {
    return this.runtime.config;
  }

  /** Take a new config (and engine) for new connections; open ones keep theirs. */
  reload(config: Config, engine: Engine = this.engine): void {
    const previous = this.runtime.config;
    this.runtime = compileRuntime(config);
    this.engine = engine;
    this.names.setEngine(engine);
    // Other DNS servers or cache lifetime: a new resolver (and an empty cache) from now on.
    const dnsChanged = previous.dns.cacheTtl !== config.dns.cacheTtl || (previous.dns.servers ?? []).join(',') !== (config.dns.servers ?? []).join(',');
    if (dnsChanged && !this.resolveGiven) this.resolve = systemResolver(config.dns.servers, config.dns.cacheTtl);
    // The forwarder (and its keep-alive pools) only changes with what it is built from:
    // a new one per reload would leave a pool of idle upstream sockets behind each reload
    // until timeouts.idle.
    // (The CA files are reread: a rotated file with the same name is a change.)
    const trust = upstreamTrust(config.tls.upstreamCAs);
    const trustKey = trust?.join('\n') ?? '';
    const same = previous.timeouts.connect === config.timeouts.connect && previous.timeouts.idle === config.timeouts.idle && trustKey === this.trustKey;
    if (same) return;
    this.trustKey = trustKey;
    const old = this.forwarder;
    this.forwarder = new Forwarder(config.timeouts, trust);
    // Let requests on the old pools finish; they hold their own sockets.
    setTimeout(() => old.close(), config.timeouts.idle).unref();
  }

  /** What one HTTP exchange needs: the engine, forwarder and budget in force now. */
  exchangeContext(pool: PoolRuntime): ExchangeContext {
    return { config: this.runtime.config, pool, engine: this.engine, forwarder: this.forwarder, bus: this.bus, buffers: this.buffers, draining: this.draining, ...(this.taps ? { taps: this.taps } : {}) };
  }

  /** TLS options for upstream connections made outside the forwarder (WebSocket in interception). */
  upstreamTlsOptions(): { secureContext: SecureContext } {
    return { secureContext: this.forwarder.secureContext };
  }

  /** Bytes currently held for scanning across all requests. */
  get bufferedBytes(): number {
    return this.buffers.inUse;
  }

  async listen(): Promise<AddressInfo> {
    const addr = parseListen(this.runtime.config.listen);
    if (!addr) throw new Error(`invalid listen address ${this.runtime.config.listen}`);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(addr.port, addr.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const bound = this.server.address() as AddressInfo;
    this.self = selfAddresses(bound);
    return bound;
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /**
   * Stop accepting, let open requests and tunnels finish until the deadline, then cut
   * what is left. Resolves when every socket is closed.
   */
  async close(deadlineMs = this.runtime.config.timeouts.shutdown): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, deadlineMs);
    deadline.unref();
    await closed;
    clearTimeout(deadline);
    this.forwarder.close();
    this.interceptor?.close();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** The gate's view of now: the runtime in force, the resolver, our own addresses. */
  gateContext(): GateContext {
    return { runtime: this.runtime, resolve: this.resolve, self: this.self };
  }

  /** Reserve a tunnel slot for a pool; false when the pool is at its limit. */
  acquireTunnel(pool: PoolRuntime): boolean {
    const n = this.tunnelCounts.get(pool.config.name) ?? 0;
    if (n >= pool.maxTunnels) return false;
    this.tunnelCounts.set(pool.config.name, n + 1);
    return true;
  }

  releaseTunnel(pool: PoolRuntime): void {
    this.tunnelCounts.set(pool.config.name, (this.tunnelCounts.get(pool.config.name) ?? 1) - 1);
  }

  activeTunnels(pool: string): number {
    return this.tunnelCounts.get(pool) ?? 0;
  }

  /** Emit the one egress event of an exchange. */
  finish(ex: Exchange): void {
    this.bus.emit(egressEvent(ex, Date.now()));
  }

  /**
   * A plain HTTP request. Synchronous as far as it can go (issue #19): an IP literal is
   * admitted at once and a request without a body is sent at once, so most requests make
   * no promise of ours; a name to look up, or a body to read, continues when it is ready.
   */
  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const ex = newExchange(req, 'http');
    res.once('close', () => {
      // A client that went away before any answer: 499, as nginx logs it.
      ex.status = res.headersSent ? res.statusCode : 499;
      this.finish(ex);
    });
    try {
      const malformed = headerProblem(req);
      if (malformed) return this.refuseResponse(res, ex, { status: malformed, reason: 'bad-request' });
      const parsed = parseAbsoluteUri(req.url ?? '');
      if (!parsed) return this.refuseResponse(res, ex, { status: 400, reason: 'bad-request' });
      const hostFindings = this.showHost(ex, parsed.target, stripPort(parsed.authority));
      ex.port = parsed.target.port;
      ex.path = parsed.path.split('?', 1)[0] ?? '/';

      const admission = this.gate(req, parsed.target, ex, hostFindings);
      if (admission instanceof Promise) {
        admission.then(
          (a) => this.forwardAdmitted(req, res, ex, parsed, a),
          () => this.internalError(res, ex),
        );
      } else this.forwardAdmitted(req, res, ex, parsed, admission);
    } catch {
      this.internalError(res, ex);
    }
  }

  private forwardAdmitted(req: IncomingMessage, res: ServerResponse, ex: Exchange, parsed: { target: Target; authority: string; path: string }, admission: Admission): void {
    try {
      if (!admission.ok) return this.refuseResponse(res, ex, admission);
      // The absolute URI names the destination; a Host header saying otherwise is replaced.
      req.headers.host = parsed.authority;
      const pool = admission.pool;
      const carried = handleExchange(
        this.exchangeContext(pool),
        req,
        res,
        ex,
        { secure: false, address: admission.address, port: parsed.target.port, host: parsed.target.host },
        parsed.path,
        (r) => this.refuseResponse(res, ex, r),
      );
      if (carried) carried.catch(() => this.internalError(res, ex));
    } catch {
      this.internalError(res, ex);
    }
  }

  /** Fail closed: an internal error while deciding never lets a request through. */
  private internalError(res: ServerResponse, ex: Exchange): void {
    if (!res.headersSent) this.refuseResponse(res, ex, { status: 500, reason: 'internal-error' });
    else res.destroy();
  }

  private async onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const ex = newExchange(req, 'websocket');
    socket.once('close', () => this.finish(ex));
    socket.on('error', () => socket.destroy());
    try {
      const malformed = headerProblem(req);
      if (malformed) return refuseRaw(socket, ex, malformed, 'bad-request');
      const parsed = parseAbsoluteUri(req.url ?? '');
      if (!parsed) return refuseRaw(socket, ex, 400, 'bad-request');
      const hostFindings = this.showHost(ex, parsed.target, stripPort(parsed.authority));
      ex.port = parsed.target.port;
      ex.path = parsed.path.split('?', 1)[0] ?? '/';
      if (isH2cUpgrade(req)) return refuseRaw(socket, ex, 400, 'h2c-not-supported');
      const admission = await this.gate(req, parsed.target, ex, hostFindings);
      if (!admission.ok) return refuseRaw(socket, ex, admission.status, admission.reason);
      const ctx = this.exchangeContext(admission.pool);
      const prepared = prepareWebSocket(ctx, ex, req, parsed.path, this.taps, parsed.target.host);
      if ('refusal' in prepared) return refuseRaw(socket, ex, prepared.refusal.status, prepared.refusal.reason);
      // Connected to the address the gate checked, never a second lookup.
      const upstream = net.connect({ host: admission.address, port: ex.port });
      upstream.setTimeout(this.config.timeouts.connect);
      upstream.once('connect', () => upstream.setTimeout(this.config.timeouts.idle));
      upstream.once('timeout', () => upstream.destroy(Object.assign(new Error('idle timeout'), { code: 'ETIMEDOUT' })));
      pairWithUpstream(socket, upstream, ex);
      upstream.once('connect', () => relayWebSocket({ ctx, ex, req, path: parsed.path, authority: parsed.authority, head, client: socket, upstream, ...prepared }));
    } catch {
      refuseRaw(socket, ex, 500, 'internal-error');
    }
  }

  /**
   * Set the exchange's host (what every line, refusal and metric of it shows) and read the
   * name for secrets, as the DNS listener reads a query name (detectors/dns-names.ts, one
   * memory of names: a host seen before costs a lookup). `written` is the host as the
   * client wrote it: read in its own case (base64url is case-sensitive) when it is the
   * target's name. A name holding a secret is shown redacted from here on. IP literals
   * hold none. The findings are judged by `gate`, once the pool is known.
   */
  showHost(ex: Exchange, target: Target, written: string): readonly Finding[] {
    ex.host = target.host;
    if (target.ip) return NO_FINDINGS;
    const name = asWritten(written, target.host);
    const found = this.names.secretsIn(name);
    if (found.length > 0) ex.host = this.redactName(name);
    return found;
  }

  /** A name as lines show one holding a secret (the DNS listener's way). */
  private redactName(name: string): string {
    return redactedName(name, (kept) => this.names.secretsIn(kept).length > 0).toLowerCase();
  }

  showSni(ex: Exchange, pool: PoolRuntime, sni: string): string {
    const found = this.names.secretsIn(sni);
    if (found.length === 0) return sni;
    exchangeJudge(this.exchangeContext(pool), ex, ex.host).record(found, 'host');
    return this.redactName(sni);
  }

  /**
   * Identify and admit; records the answer on the exchange (exchange.ts recordAdmission).
   * Secrets in the host name (`hostFindings`, from showHost) are judged first, before
   * admit() looks the name up: a blocking one refuses the request with no lookup and no
   * connection (the secret would leave through the proxy's own resolver); in an audit pool
   * whose action is block the admitted exchange is marked `audit`.
   */
  gate(req: IncomingMessage, target: Target, ex: Exchange, hostFindings: readonly Finding[] = NO_FINDINGS): Admission | Promise<Admission> {
    const ctx = this.gateContext();
    const pool = identifyPool(ctx.runtime, req.headers['proxy-authorization'], req.socket.remoteAddress);
    if (!pool) {
      return { ok: false, status: 407, verdict: 'deny', reason: 'unauthenticated', destination: 'unlisted' };
    }
    ex.pool = pool.config.name; // before the lookup: admit notes its time on the exchange
    let audit = false;
    if (hostFindings.length > 0) {
      const judged = exchangeJudge(this.exchangeContext(pool), ex, target.host).record(hostFindings, 'host');
      const verdict = findingsVerdict(judged, pool.config);
      if (verdict.kind === 'refuse') {
        const byName = decide({ pool: pool.policy, target, self: ctx.self });
        const refused: Admission = {
          ok: false,
          pool,
          status: 403,
          verdict: 'deny',
          reason: verdict.reason,
          destination: byName === 'resolve' ? 'unlisted' : byName.destination,
          ...(verdict.finding ? { finding: verdict.finding } : {}),
        };
        recordAdmission(ex, refused);
        return refused;
      }
      audit = verdict.kind === 'audit';
    }
    const admission = admit(ctx, pool, target, ex);
    // No closure on the synchronous path (most requests: a cached lookup or an IP literal).
    return admission instanceof Promise ? admission.then((a) => admitted(ex, a, audit)) : admitted(ex, admission, audit);
  }

  /** Refuse an HTTP request (plain or intercepted), naming the finding that caused it if any (refusal.ts). */
  refuseResponse(res: ServerResponse, ex: Exchange, refusal: Refusal): void {
    refuseHttp(res, ex, refusal, this.draining);
  }

  /** A request the parser refused (also inside intercepted tunnels): answer, log, close. */
  onClientError(err: NodeJS.ErrnoException, socket: Socket, kind: EgressKind = 'http'): void {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    if (isH2Preface(err)) {
      const ex = newExchange(undefined, kind, socket.remoteAddress);
      refuseH2Preface(socket, ex);
      return this.finish(ex);
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const ex = newExchange(undefined, kind, socket.remoteAddress);
    refuseRaw(socket, ex, status, 'bad-request');
    this.finish(ex);
  }
}

/** `ip:port` of every socket this proxy listens on (all interfaces when bound to any). */
function selfAddresses(bound: AddressInfo): Set<string> {
  const out = new Set<string>();
  const any = bound.address === '0.0.0.0' || bound.address === '::';
  if (!any) {
    out.add(`${bound.address}:${bound.port}`);
    return out;
  }
  for (const list of Object.values(networkInterfaces())) {
    for (const nic of list ?? []) out.add(`${nic.address}:${bound.port}`);
  }
  return out;
}
