// The DNS listener (issue #16): runners' name lookups over UDP and TCP (RFC 1035, EDNS(0),
// RFC 7766), each decided by the pool that owns the client's source address
// (decide/dns.ts), forwarded as it came to `dns.servers` (or the system resolver's
// servers), its answer filtered by the address policy, cached, and logged as one event.
//
// Bad input is refused, never followed: packets under a header are dropped, responses
// (QR set) are dropped (no loops between resolvers), other opcodes get NOTIMP, a question
// name with a pointer, a label over 63 bytes, a name over 255 or bytes outside
// letters/digits/-/_ get FORMERR before the wire library sees them, and anything it
// cannot decode gets FORMERR too. TCP messages over MAX_TCP_QUERY_BYTES close the
// connection; idle TCP connections close after TCP_IDLE_MS.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { getServers } from 'node:dns';
import net, { type AddressInfo } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import { LRUCache } from 'lru-cache';
import type { Config } from '../../config/index.js';
import { parseEntry, parseListen, type HostMatch } from '../../config/index.js';
import type { Engine, Finding } from '../../detectors/index.js';
import { redactedName } from '../../detectors/redact.js';
import {
  DENIED_RCODE,
  NO_POOL_RCODE,
  RateLimiter,
  checkQuestionName,
  decideQuery,
  filterAnswer,
  normalizeQname,
  qtypeLabel,
  type DnsDecision,
  type DnsReason,
  type LocalNames,
  type QtypeLabel,
  type QueryDecision,
  type Rcode,
} from '../decide/dns.js';
import { judge } from '../decide/judge.js';
import { compileRuntime, type PoolRuntime, type Runtime } from '../decide/runtime.js';
import { parseAddress } from '../decide/target.js';
import type { DnsEvent, EventBus } from '../events/events.js';

/**
 * What reads a query name for secrets and tunnelling (detectors/dns-names.ts when wired).
 * `listed`: the name is allowed by the pool's allowlist. Called for every query of every
 * pool (`none` for a client in no pool), before it is forwarded: a finding whose action is
 * block denies the query in an enforce pool.
 */
export type NameReader = (q: { pool: string; qname: string; qtype: string; listed: boolean; nowMs: number }) => Finding[];

export interface DnsListenerOptions {
  config: Config;
  engine: Engine;
  bus: EventBus;
  /** Default: the engine scans the name as it is (known secrets, canaries, rules). */
  readName?: NameReader;
  /** Told of a new engine on reload (a reader that scans with the engine, such as DnsNameReader.setEngine). */
  onEngine?: (engine: Engine) => void;
  /** The system resolver's servers, when `dns.servers` is absent (default node:dns getServers()). */
  systemServers?: () => string[];
}

/** Largest query accepted over TCP; a longer length prefix closes the connection. */
export const MAX_TCP_QUERY_BYTES = 4096;
/** An idle TCP connection is closed after this long (RFC 7766 §6.2.3 suggests seconds). */
export const TCP_IDLE_MS = 10_000;
/** Queries one TCP connection may have in flight; beyond it reading pauses. */
const TCP_PIPELINE = 32;
/** TCP connections at once; beyond, new ones are closed. */
const MAX_TCP_CONNECTIONS = 1024;
/** Queries waiting for an upstream at once; beyond, SERVFAIL at once (memory stays bounded). */
const MAX_PENDING_UPSTREAM = 4096;
/** Answers kept (least recently used go first). */
const CACHE_ENTRIES = 10_000;
/** The UDP size we advertise and ask upstreams for (the DNS flag day 2020 value). */
const OUR_UDP_SIZE = 1232;
/** Largest UDP answer we send a client that advertises more. */
const MAX_UDP_ANSWER = 4096;

const RCODE_NUMBER: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const FLAG_AD = 0x0020;
const FLAG_CD = 0x0010;
/** Extended DNS Error "Blocked" (RFC 8914 §4.16), on answers to denied names when the client speaks EDNS. */
const EDE_OPTION = 15;
const EDE_BLOCKED = 15;
const EDE_PROHIBITED = 18;

/** One upstream server. */
interface Server {
  host: string;
  port: number;
  family: 4 | 6;
}

/** `10.0.0.2`, `10.0.0.2:5353`, `[fd00::53]:53`, `fd00::53` → a server, or undefined. */
export function parseServer(text: string): Server | undefined {
  let host = text;
  let port = 53;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return undefined;
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return undefined;
      port = Number(rest.slice(1));
    }
  } else if (text.split(':').length === 2) {
    host = text.slice(0, text.indexOf(':'));
    port = Number(text.slice(text.indexOf(':') + 1));
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const family = net.isIP(host);
  if (family !== 4 && family !== 6) return undefined;
  return { host, port, family };
}

/** What an upstream said, decoded once and kept. */
interface UpstreamAnswer {
  flags: number;
  rcode: string;
  answers: Answer[];
  authorities: Answer[];
  /** ms since epoch when it arrived (cached TTLs count down from here). */
  at: number;
  upstreamMs: number;
  /** What `served` made of it, per pool and decision; the last one made, for the next query like it. */
  served?: Map<string, Served>;
  lastServed?: Served;
}

class UpstreamError extends Error {
  constructor(readonly reason: 'dns-timeout' | 'dns-failure') {
    super(reason);
  }
}

/** Forwarding to upstream servers over UDP (TCP when an answer comes back truncated). */
class Upstreams {
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly pending = new Map<number, { server: Server; question: Buffer; done: (answer: Buffer | Error) => void }>();

  constructor(readonly servers: readonly Server[]) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Ask the servers in turn, each for its share of `timeoutMs`; the first answer wins. */
  async ask(query: Buffer, questionEnd: number, timeoutMs: number): Promise<Buffer> {
    if (this.servers.length === 0) throw new UpstreamError('dns-failure');
    const share = Math.max(100, Math.floor(timeoutMs / this.servers.length));
    let last: UpstreamError = new UpstreamError('dns-failure');
    for (const server of this.servers) {
      try {
        const answer = await this.udp(server, query, questionEnd, share);
        if (answer.length >= 12 && (answer.readUInt16BE(2) & FLAG_TC) !== 0) return await this.tcp(server, query, share);
        return answer;
      } catch (err) {
        last = err instanceof UpstreamError ? err : new UpstreamError('dns-failure');
      }
    }
    throw last;
  }

  private socket(family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
    s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    s.on('error', () => undefined); // per-query errors surface as timeouts
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    const p = this.pending.get(id);
    if (!p) return;
    // Only the server asked, with the question asked (bytes as sent, case included).
    if (rinfo.port !== p.server.port || normalizeIp(rinfo.address) !== normalizeIp(p.server.host)) return;
    if (msg.length < 12 + p.question.length || !msg.subarray(12, 12 + p.question.length).equals(p.question)) return;
    p.done(msg);
  }

  private udp(server: Server, query: Buffer, questionEnd: number, timeoutMs: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      let id = randomInt(0, 65536);
      for (let tries = 0; this.pending.has(id) && tries < 16; tries++) id = randomInt(0, 65536);
      if (this.pending.has(id)) return reject(new UpstreamError('dns-failure'));
      const out = Buffer.from(query);
      out.writeUInt16BE(id, 0);
      const timer = setTimeout(() => finish(new UpstreamError('dns-timeout')), timeoutMs);
      const finish = (answer: Buffer | Error): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (answer instanceof Error) reject(answer);
        else resolve(answer);
      };
      this.pending.set(id, { server, question: query.subarray(12, questionEnd), done: finish });
      this.socket(server.family).send(out, server.port, server.host, (err) => {
        if (err) finish(new UpstreamError('dns-failure'));
      });
    });
  }

  private tcp(server: Server, query: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const id = randomInt(0, 65536);
      const out = Buffer.alloc(query.length + 2);
      out.writeUInt16BE(query.length, 0);
      query.copy(out, 2);
      out.writeUInt16BE(id, 2);
      const socket = net.connect({ host: server.host, port: server.port });
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => done(new UpstreamError('dns-timeout')), timeoutMs);
      const done = (r: Buffer | Error): void => {
        clearTimeout(timer);
        socket.destroy();
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      socket.on('connect', () => socket.write(out));
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2) {
          const len = buf.readUInt16BE(0);
          if (buf.length >= 2 + len) {
            const msg = buf.subarray(2, 2 + len);
            if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(Buffer.from(msg));
            else done(new UpstreamError('dns-failure'));
          }
        }
      });
      socket.on('error', () => done(new UpstreamError('dns-failure')));
      socket.on('close', () => done(new UpstreamError('dns-failure')));
    });
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    for (const p of [...this.pending.values()]) p.done(new UpstreamError('dns-failure'));
  }
}

function normalizeIp(address: string): string {
  return parseAddress(address)?.toString() ?? address;
}

/** What one compiled config means for the listener. */
interface State {
  config: Config;
  runtime: Runtime;
  /** Client address → normalised address and pool (cleared with every new config). */
  clients: Map<string, { client: string; pool: PoolRuntime | undefined }>;
  localNames: LocalNames;
  upstreams: Upstreams;
}

/** The query type as logs name it: `A`, `HTTPS`, `TYPE65534` (RFC 3597) for the unnamed. */
function qtypeName(type: string): string {
  if (type === 'UNKNOWN_65') return 'HTTPS';
  if (type === 'UNKNOWN_64') return 'SVCB';
  if (type.startsWith('UNKNOWN_')) return `TYPE${type.slice(8)}`;
  return type;
}

export class DnsListener {
  private state: State;
  private engine: Engine;
  private readonly bus: EventBus;
  private readonly readNameGiven: NameReader | undefined;
  private readonly onEngine: ((engine: Engine) => void) | undefined;
  private readonly systemServers: () => string[];
  private readonly limiter: RateLimiter;
  private cache: LRUCache<string, Cached>;
  /** Queries as parsed, by their bytes after the ID (see `parse`). */
  private readonly parsedQueries = new Map<string, ParsedQuery>();
  private readonly inFlight = new Map<string, Promise<UpstreamAnswer>>();
  /** Names the default reader found clean (per engine), so the cache path does not rescan. */
  private cleanNames = new LRUCache<string, true>({ max: 10_000 });
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly tcpSockets = new Set<net.Socket>();
  private bound: AddressInfo | undefined;
  private closed = false;

  constructor(options: DnsListenerOptions) {
    this.bus = options.bus;
    this.engine = options.engine;
    this.readNameGiven = options.readName;
    this.onEngine = options.onEngine;
    this.systemServers = options.systemServers ?? getServers;
    const { rateLimit } = options.config.dns;
    this.limiter = new RateLimiter(rateLimit.perSecond, rateLimit.burst);
    this.state = this.compile(options.config);
    this.cache = newCache();
  }

  /** The servers queries are forwarded to, `host:port`. */
  get upstreamServers(): string[] {
    return this.state.upstreams.servers.map((s) => (s.family === 6 ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`));
  }

  private compile(config: Config, previous?: State): State {
    const localNames: HostMatch[] = [];
    for (const text of config.dns.localNames) {
      const e = parseEntry(text);
      if (e.kind === 'host') localNames.push(e.match);
    }
    const texts = config.dns.servers && config.dns.servers.length > 0 ? config.dns.servers : this.systemServers();
    const servers = texts.map(parseServer).filter((s): s is Server => s !== undefined && !this.isSelf(s, config));
    const same = previous && previous.upstreams.servers.map((s) => `${s.host}:${s.port}`).join(',') === servers.map((s) => `${s.host}:${s.port}`).join(',');
    return { config, runtime: compileRuntime(config), clients: new Map(), localNames, upstreams: same ? previous.upstreams : new Upstreams(servers) };
  }

  /** An upstream that is this listener (the system resolver pointing at us) would loop. */
  private isSelf(server: Server, config: Config): boolean {
    const configured = parseListen(config.dns.listen ?? '');
    const port = this.bound?.port ?? configured?.port;
    if (port === undefined || server.port !== port) return false;
    const host = normalizeIp(this.bound?.address ?? configured?.host ?? '');
    const ip = parseAddress(server.host);
    return host === normalizeIp(server.host) || host === '0.0.0.0' || host === '::' || (ip !== undefined && ip.range() === 'loopback');
  }

  /** Take a new config (pools, upstreams, localNames, rate limit, cache lifetime) and engine. */
  reload(config: Config, engine: Engine = this.engine): void {
    const previous = this.state;
    if (engine !== this.engine) {
      this.cleanNames = new LRUCache<string, true>({ max: 10_000 });
      this.onEngine?.(engine);
    }
    this.engine = engine;
    this.state = this.compile(config, previous);
    // Parsed queries hold the decision of the config they were decided by: start afresh, so no old config stays referenced.
    this.parsedQueries.clear();
    this.limiter.configure(config.dns.rateLimit.perSecond, config.dns.rateLimit.burst);
    if (this.state.upstreams !== previous.upstreams || previous.config.dns.cacheTtl !== config.dns.cacheTtl) {
      this.cache = newCache();
      const old = previous.upstreams;
      // Queries in flight on the old servers finish (or time out) first.
      setTimeout(() => old.close(), previous.config.dns.timeout + 100).unref();
    }
  }

  /** Bind UDP and TCP on `dns.listen` (the same port for both; port 0 picks one). */
  async listen(): Promise<AddressInfo> {
    const addr = parseListen(this.state.config.dns.listen ?? '');
    if (!addr) throw new Error(`invalid dns.listen address ${this.state.config.dns.listen ?? ''}`);
    const family = net.isIP(addr.host) === 6 ? 'udp6' : 'udp4';
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket({ type: family, ...(family === 'udp6' ? { ipv6Only: false } : {}) });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(addr.port, addr.host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = net.createServer({ pauseOnConnect: false }, (socket) => this.onTcp(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, addr.host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        // Port 0: the TCP side of the port UDP got may be taken; try another.
        if (addr.port === 0 && attempt < 5) continue;
        throw err;
      }
      udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo));
      udp.on('error', () => undefined);
      tcp.on('error', () => undefined);
      this.udp = udp;
      this.tcp = tcp;
      this.bound = udp.address();
      // The system resolver's servers may name this very listener: drop it now that its port is known.
      this.state = { ...this.state, upstreams: new Upstreams(this.state.upstreams.servers.filter((s) => !this.isSelf(s, this.state.config))) };
      return this.bound;
    }
  }

  address(): AddressInfo | undefined {
    return this.bound;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.tcpSockets) s.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
    this.state.upstreams.close();
  }

  private onUdp(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    let out: Buffer | undefined | Promise<Buffer | undefined>;
    try {
      out = this.answerNow(msg, rinfo.address, 'udp');
    } catch {
      return;
    }
    // A cached answer (and every refusal) is here now: sent at once, no promise in between.
    if (!(out instanceof Promise)) {
      if (out && !this.closed) this.udp?.send(out, rinfo.port, rinfo.address);
      return;
    }
    out.then(
      (reply) => {
        if (reply && !this.closed) this.udp?.send(reply, rinfo.port, rinfo.address);
      },
      () => undefined,
    );
  }

  private onTcp(socket: net.Socket): void {
    if (this.tcpSockets.size >= MAX_TCP_CONNECTIONS || this.closed) {
      socket.destroy();
      return;
    }
    this.tcpSockets.add(socket);
    socket.once('close', () => this.tcpSockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    const client = socket.remoteAddress ?? '';
    let buf: Buffer = Buffer.alloc(0);
    let inFlight = 0;
    const drain = (): void => {
      while (buf.length >= 2 && inFlight < TCP_PIPELINE) {
        const len = buf.readUInt16BE(0);
        if (len > MAX_TCP_QUERY_BYTES || len < 12) {
          socket.destroy();
          return;
        }
        if (buf.length < 2 + len) break;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        inFlight++;
        void this.answer(msg, client, 'tcp').then(
          (out) => {
            inFlight--;
            if (out && !socket.destroyed) {
              const frame = Buffer.alloc(out.length + 2);
              frame.writeUInt16BE(out.length, 0);
              out.copy(frame, 2);
              socket.write(frame);
            }
            if (socket.isPaused() && inFlight < TCP_PIPELINE) socket.resume();
            drain();
          },
          () => socket.destroy(),
        );
      }
      if (inFlight >= TCP_PIPELINE) socket.pause();
      // A length prefix and a part of a message is all that may wait.
      if (buf.length > MAX_TCP_QUERY_BYTES + 2) socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      drain();
    });
  }

  /**
   * One query in, the bytes to send back out (undefined: send nothing). Never throws for
   * anything a client sends; an internal error answers SERVFAIL.
   */
  async answer(msg: Buffer, clientAddress: string, protocol: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    return this.answerNow(msg, clientAddress, protocol);
  }

  /**
   * `answer`, with the answer at once when no upstream has to be asked (a cached answer, a
   * denial, a refusal, bad input), a promise otherwise: the cached path, which is most
   * queries of a fleet, costs no promise and no turn of the event loop.
   */
  private answerNow(msg: Buffer, clientAddress: string, protocol: 'udp' | 'tcp'): Buffer | undefined | Promise<Buffer | undefined> {
    if (msg.length < 12) return undefined;
    const flags = msg.readUInt16BE(2);
    if (flags & FLAG_QR) return undefined;
    const start = Date.now();
    const state = this.state;
    const { client, pool } = clientOf(state, clientAddress);
    const poolName = pool?.config.name ?? 'none';

    if (!this.limiter.take(client, start)) {
      this.bus.emit({ type: 'dns-rate-limited', pool: poolName, count: 1 });
      return protocol === 'tcp' ? headerOnly(msg, 'REFUSED') : undefined;
    }

    const opcode = (flags >> 11) & 0xf;
    if (opcode !== 0) return headerOnly(msg, 'NOTIMP');
    if (msg.readUInt16BE(4) !== 1) return headerOnly(msg, 'FORMERR');
    const parsed = this.parse(msg);
    if (!parsed) return headerOnly(msg, 'FORMERR');
    const { qname, qtype } = parsed;

    const ev: DnsEvent = {
      type: 'dns',
      start,
      pool: poolName,
      client,
      kind: 'dns',
      protocol,
      host: qname,
      qtype,
      qtypeLabel: parsed.qtypeLabel,
      decision: 'refused',
      destination: 'unlisted',
      rcode: 'NOERROR',
      answers: 0,
      findings: 0,
      durationMs: 0,
    };
    const reply = (out: Buffer, rcode: string, answers: number): Buffer => {
      ev.rcode = rcode;
      ev.answers = answers;
      ev.durationMs = Date.now() - start;
      this.bus.emit(ev);
      return out;
    };
    const ctx: Reply = { id: msg.readUInt16BE(0), parsed, protocol };

    try {
      let decision: QueryDecision = this.decide(state, pool, parsed);
      ev.decision = decision.decision;
      ev.destination = decision.destination;
      if (decision.reason) ev.reason = decision.reason;

      // Read the name: every query, whatever its fate.
      const blocked = this.readFindings(ev, pool, parsed.qnameAsSent, qtype, decision.decision === 'allow' && decision.forward && !decision.unfiltered, start);
      if (blocked && decision.forward) {
        if (pool?.config.mode === 'enforce') {
          decision = { ...decision, decision: 'deny', reason: 'secret-exfiltration', forward: false };
        } else if (decision.decision === 'allow') {
          decision = { ...decision, decision: 'audit', reason: 'secret-exfiltration' };
        }
        ev.decision = decision.decision;
        ev.reason = 'secret-exfiltration';
      }

      if (decision.decision === 'refused') return reply(build(ctx, NO_POOL_RCODE, [], [], EDE_PROHIBITED), NO_POOL_RCODE, 0);
      if (decision.local) {
        const answers = localAnswer(parsed.question);
        return reply(build(ctx, 'NOERROR', answers, []), 'NOERROR', answers.length);
      }
      if (!decision.forward || !pool) return reply(build(ctx, DENIED_RCODE, [], [], EDE_BLOCKED), DENIED_RCODE, 0);

      const forwarded = decision;
      const send = (upstream: UpstreamAnswer): Buffer => {
        const served = this.served(upstream, pool, forwarded);
        ev.decision = served.decision;
        if (served.reason) ev.reason = served.reason;
        else delete ev.reason;
        if (served.stripped > 0) ev.stripped = served.stripped;
        if (served.nxdomain) return reply(build(ctx, DENIED_RCODE, [], [], EDE_BLOCKED), DENIED_RCODE, 0);
        const out = assemble(msg, parsed.questionEnd, ctx, upstream.rcode, upstream.flags, served);
        if (protocol === 'udp' && out.length > maxUdp(parsed.opt)) {
          ev.truncated = true;
          return reply(build(ctx, upstream.rcode, [], [], undefined, upstream.flags | FLAG_TC), upstream.rcode, 0);
        }
        return reply(out, upstream.rcode, served.an);
      };
      const failed = (err: unknown): Buffer => {
        ev.reason = err instanceof UpstreamError ? err.reason : 'dns-failure';
        return reply(build(ctx, 'SERVFAIL', [], []), 'SERVFAIL', 0);
      };
      const internal = (): Buffer => {
        ev.reason ??= 'dns-failure';
        return reply(headerOnly(msg, 'SERVFAIL'), 'SERVFAIL', 0);
      };
      const upstream = this.resolve(state, msg, parsed, ev);
      if (!(upstream instanceof Promise)) return send(upstream);
      return upstream.then(
        (answer) => {
          try {
            return send(answer);
          } catch {
            return internal();
          }
        },
        (err: unknown) => {
          try {
            return failed(err);
          } catch {
            return internal();
          }
        },
      );
    } catch {
      ev.reason ??= 'dns-failure';
      return reply(headerOnly(msg, 'SERVFAIL'), 'SERVFAIL', 0);
    }
  }

  /**
   * The query's question and EDNS options, read once per distinct query: a runner asks for
   * the same names again and again, and the bytes after the ID say all that is read of
   * them. Undefined when they get FORMERR (a bad question name, or what dns-packet cannot
   * decode).
   */
  private parse(msg: Buffer): ParsedQuery | undefined {
    // Only queries of an ordinary size are kept (the memo's memory stays bounded by PARSED_QUERIES × MEMO_QUERY_BYTES).
    const key = msg.length <= MEMO_QUERY_BYTES ? msg.toString('latin1', 2) : undefined;
    const known = key === undefined ? undefined : this.parsedQueries.get(key);
    if (known) return known;
    const checked = checkQuestionName(msg);
    if ('problem' in checked) return undefined;
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const question = query.questions?.[0];
    if (!question) return undefined;
    const opt = (query.additionals ?? []).find((a): a is Extract<Answer, { type: 'OPT' }> => a.type === 'OPT');
    const qtype = qtypeName(question.type);
    const dnssecOk = ((opt?.flags ?? 0) & 0x8000) !== 0;
    const cd = query.flag_cd === true;
    const parsed: ParsedQuery = {
      question,
      opt,
      rd: query.flag_rd === true,
      cd,
      questionEnd: checked.end + 4,
      qname: normalizeQname(question.name === '.' ? '' : question.name),
      // The name as the client wrote it, for reading secrets: base64url is case-sensitive.
      qnameAsSent: question.name === '.' ? '' : question.name.endsWith('.') ? question.name.slice(0, -1) : question.name,
      qtype,
      qtypeLabel: qtypeLabel(qtype),
      cacheKey: `${question.name.toLowerCase()}|${question.type}|${question.class ?? 'IN'}|${dnssecOk ? 1 : 0}|${cd ? 1 : 0}`,
    };
    if (key === undefined) return parsed;
    if (this.parsedQueries.size >= PARSED_QUERIES) this.parsedQueries.clear();
    this.parsedQueries.set(key, parsed);
    return parsed;
  }

  /** The pool's decision on the name, remembered on the parsed query for this config and pool. */
  private decide(state: State, pool: PoolRuntime | undefined, parsed: ParsedQuery): QueryDecision {
    const memo = parsed.decided;
    if (memo && memo.state === state && memo.pool === pool) return memo.decision;
    const decision = decideQuery(pool?.policy, parsed.qname, state.localNames);
    parsed.decided = { state, pool, decision };
    return decision;
  }

  /**
   * The upstream answer as this pool may see it now: filtered by the address policy
   * (decide/dns.ts filterAnswer) and its records encoded with TTLs aged to this second.
   * Kept per answer, pool and decision, so a cache hit encodes nothing and judges no
   * address again until the next second.
   */
  private served(upstream: UpstreamAnswer, pool: PoolRuntime, decision: QueryDecision): Served {
    const age = Math.max(0, Math.floor((Date.now() - upstream.at) / 1000));
    const last = upstream.lastServed;
    if (last && last.age === age && last.policy === pool.policy && last.forDecision === decision.decision && last.unfiltered === decision.unfiltered) return last;
    const key = `${pool.config.name}|${decision.decision}|${decision.unfiltered ? 1 : 0}`;
    const byPool = (upstream.served ??= new Map());
    const kept = byPool.get(key);
    if (kept && kept.age === age && kept.policy === pool.policy) return (upstream.lastServed = kept);
    const filtered = kept && kept.policy === pool.policy ? kept.filtered : filterAnswer(pool.policy, decision, upstream.answers as Array<Answer & { name: string }>);
    // Authority: SOA only (negative caching at the client); additional records are not passed on.
    const authorities = filtered.nxdomain ? [] : upstream.authorities.filter((a) => a.type === 'SOA');
    const answers = filtered.nxdomain ? [] : filtered.answers;
    const served: Served = {
      age,
      policy: pool.policy,
      forDecision: decision.decision,
      unfiltered: decision.unfiltered,
      filtered,
      decision: filtered.decision,
      ...(filtered.reason ? { reason: filtered.reason } : {}),
      stripped: filtered.stripped,
      nxdomain: filtered.nxdomain,
      an: answers.length,
      ns: authorities.length,
      records: Buffer.concat([...answers, ...authorities].map((a) => encodeRecord(withTtl(a, age)))),
    };
    byPool.set(key, served);
    upstream.lastServed = served;
    return served;
  }

  /** Scan the name, emit a finding event for each; true when one blocks (its action says block). */
  private readFindings(ev: DnsEvent, pool: PoolRuntime | undefined, qname: string, qtype: string, listed: boolean, nowMs: number): boolean {
    let found: Finding[];
    if (this.readNameGiven) {
      found = this.readNameGiven({ pool: ev.pool, qname, qtype, listed, nowMs });
    } else {
      if (this.cleanNames.has(qname)) return false;
      found = this.engine.scan(Buffer.from(qname, 'utf8'));
      if (found.length === 0) {
        this.cleanNames.set(qname, true);
        return false;
      }
    }
    if (found.length === 0) return false;
    ev.findings = found.length;
    // The kept parent is shown only when it holds no secret of its own (`x.<token>.example`).
    ev.host = redactedName(qname, (kept) => this.engine.scan(Buffer.from(kept, 'latin1')).length > 0);
    const secrets = pool?.config.secrets ?? { action: 'alert' as const };
    let blocks = false;
    for (const finding of found) {
      const j = judge(finding, 'dns', qname, { secrets });
      if (j.action === 'block') blocks = true;
      const action = pool?.config.mode === 'enforce' ? j.action : j.action === 'block' ? 'alert' : j.action;
      this.bus.emit({
        type: 'finding',
        pool: ev.pool,
        client: ev.client,
        host: ev.host,
        kind: 'dns',
        source: 'dns',
        rule: finding.ruleId,
        title: finding.title,
        severity: finding.severity,
        verdict: j.verdict,
        action,
        fingerprint: finding.fingerprint,
        redacted: finding.redacted,
        ...(finding.known ? { known: finding.known } : {}),
        ...(finding.decodedFrom ? { decodedFrom: finding.decodedFrom } : {}),
      });
    }
    return blocks;
  }

  /** The upstream's answer: from the cache (at once), from a query in flight for the same question, or asked now. */
  private resolve(state: State, msg: Buffer, parsed: ParsedQuery, ev: DnsEvent): UpstreamAnswer | Promise<UpstreamAnswer> {
    const key = parsed.cacheKey;
    const hit = this.cache.get(key);
    if (hit) {
      if (hit.expires > ev.start) {
        ev.cached = true;
        return hit.answer;
      }
      this.cache.delete(key);
    }
    const waiting = this.inFlight.get(key);
    if (waiting) {
      ev.cached = true;
      return waiting;
    }
    if (state.upstreams.inFlight >= MAX_PENDING_UPSTREAM) return Promise.reject(new UpstreamError('dns-failure'));
    const cache = this.cache;
    const asked = Date.now();
    const started = performance.now();
    const p = state.upstreams
      .ask(msg, parsed.questionEnd, state.config.dns.timeout)
      .then(
        (raw) => {
          ev.upstreamMs = round(performance.now() - started);
          const decoded = dnsPacket.decode(raw);
          const rflags = raw.readUInt16BE(2);
          const rcode = RCODE_NAMES[rflags & 0xf] ?? 'SERVFAIL';
          if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') throw new UpstreamError('dns-failure');
          const answer: UpstreamAnswer = {
            flags: rflags,
            rcode,
            answers: (decoded.answers ?? []).filter((a) => a.type !== 'OPT'),
            authorities: decoded.authorities ?? [],
            at: asked,
            upstreamMs: ev.upstreamMs,
          };
          const ttl = cacheTtlMs(answer, state.config.dns.cacheTtl);
          if (ttl > 0) cache.set(key, { answer, expires: asked + ttl });
          return answer;
        },
        (err: unknown) => {
          ev.upstreamMs = round(performance.now() - started);
          throw err;
        },
      )
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Answers by question, least recently used first out. Each carries its own expiry, checked
 * against the query's clock reading (the cache's own TTL handling read a clock and set a
 * timer on the hot path).
 */
function newCache(): LRUCache<string, Cached> {
  return new LRUCache<string, Cached>({ max: CACHE_ENTRIES });
}

/** A cached answer and when it stops being served (ms since epoch). */
interface Cached {
  answer: UpstreamAnswer;
  expires: number;
}

/** Distinct queries kept parsed; past it the memo starts again (a flood of new names costs what parsing costs). */
const PARSED_QUERIES = 10_000;
/** Largest query kept parsed (a stub resolver's query is under 100 bytes, with EDNS and a cookie). */
const MEMO_QUERY_BYTES = 512;

/** How long an answer may be reused: its smallest TTL (negative answers: the SOA's), at most dns.cacheTtl. */
function cacheTtlMs(answer: UpstreamAnswer, maxMs: number): number {
  if (maxMs <= 0) return 0;
  let ttl: number | undefined;
  if (answer.answers.length > 0) {
    for (const a of answer.answers) if ('ttl' in a && typeof a.ttl === 'number') ttl = Math.min(ttl ?? Infinity, a.ttl);
  } else {
    const soa = answer.authorities.find((a) => a.type === 'SOA');
    if (soa && soa.type === 'SOA') ttl = Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0);
  }
  if (ttl === undefined || ttl <= 0) return 0;
  return Math.min(maxMs, ttl * 1000);
}

function withTtl(a: Answer, age: number): Answer {
  if (a.type === 'OPT' || age <= 0) return a;
  return { ...a, ttl: Math.max(0, (a.ttl ?? 0) - age) } as Answer;
}

/** A client address, normalised, and the pool its source address puts it in; remembered per config. */
function clientOf(state: State, address: string): { client: string; pool: PoolRuntime | undefined } {
  let known = state.clients.get(address);
  if (!known) {
    const client = normalizeIp(address);
    const config = state.runtime.identifier.identifySource(client);
    known = { client, pool: config && state.runtime.pools.get(config.name) };
    if (state.clients.size >= 65_536) state.clients.clear();
    state.clients.set(address, known);
  }
  return known;
}

/** What `served` keeps: the filter's verdict and the encoded answer and authority records. */
interface Served {
  age: number;
  policy: PoolRuntime['policy'];
  /** The query decision and filtering it was made for (with the pool's policy and the age). */
  forDecision: DnsDecision;
  unfiltered: boolean;
  filtered: ReturnType<typeof filterAnswer<Answer & { name: string }>>;
  decision: DnsDecision;
  reason?: DnsReason;
  stripped: number;
  nxdomain: boolean;
  an: number;
  ns: number;
  records: Buffer;
}

// dns-packet's record encoder (exported as `answer`; @types/dns-packet does not declare it).
const recordCodec = (dnsPacket as unknown as { answer: { encode(a: Answer): Buffer } }).answer;

function encodeRecord(a: Answer): Buffer {
  return recordCodec.encode(a);
}

/** OPT records we answer with (EDNS(0), our UDP size), without and with the DO bit. */
const OPT_PLAIN = recordCodec.encode({ type: 'OPT', name: '.', udpPayloadSize: OUR_UDP_SIZE, flags: 0, options: [] } as unknown as Answer);
const OPT_DO = recordCodec.encode({ type: 'OPT', name: '.', udpPayloadSize: OUR_UDP_SIZE, flags: 0x8000, options: [] } as unknown as Answer);

/**
 * A forwarded answer: our header, the client's question exactly as it sent it (bytes
 * `12..questionEnd`, its letter case included), the records `served` encoded, and OPT when
 * the client sent one.
 */
function assemble(msg: Buffer, questionEnd: number, ctx: Reply, rcode: string, upstreamFlags: number, served: Served): Buffer {
  const rcodeNumber = RCODE_NUMBER[rcode as Rcode] ?? RCODE_NAMES.indexOf(rcode);
  const { parsed } = ctx;
  const flags = FLAG_QR | FLAG_RA | (parsed.rd ? FLAG_RD : 0) | (parsed.cd ? FLAG_CD : 0) | (upstreamFlags & FLAG_AD) | (rcodeNumber & 0xf);
  const opt = parsed.opt ? (((parsed.opt.flags ?? 0) & 0x8000) !== 0 ? OPT_DO : OPT_PLAIN) : undefined;
  const question = questionEnd - 12;
  const out = Buffer.allocUnsafe(12 + question + served.records.length + (opt?.length ?? 0));
  out.writeUInt16BE(ctx.id, 0);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(served.an, 6);
  out.writeUInt16BE(served.ns, 8);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  msg.copy(out, 12, 12, questionEnd);
  served.records.copy(out, 12 + question);
  if (opt) opt.copy(out, 12 + question + served.records.length);
  return out;
}

/** The largest UDP answer this client takes: its EDNS size (512 to 4096), else 512. */
function maxUdp(opt: { udpPayloadSize?: number } | undefined): number {
  if (!opt) return 512;
  return Math.max(512, Math.min(MAX_UDP_ANSWER, opt.udpPayloadSize ?? 512));
}

interface Reply {
  /** The query's ID. */
  id: number;
  parsed: ParsedQuery;
  protocol: 'udp' | 'tcp';
}

/** What answering reads of a query, parsed once per distinct query (DnsListener.parse). */
interface ParsedQuery {
  question: Question;
  opt: { udpPayloadSize?: number; flags?: number } | undefined;
  rd: boolean;
  cd: boolean;
  /** Where the question ends (name, type, class): bytes 12..questionEnd are echoed in the answer. */
  questionEnd: number;
  /** Lower case, no trailing dot: what the policy reads. */
  qname: string;
  /** As the client wrote it, without the trailing dot: what the name reader reads. */
  qnameAsSent: string;
  qtype: string;
  qtypeLabel: QtypeLabel;
  cacheKey: string;
  /** The last decision made on it: for which config state and pool. */
  decided?: { state: State; pool: PoolRuntime | undefined; decision: QueryDecision };
}

/** A response to the query: its id and question, our flags, the records given, OPT when the client sent one. */
function build(ctx: Reply, rcode: string, answers: Answer[], authorities: Answer[], ede?: number, upstreamFlags?: number): Buffer {
  const rcodeNumber = RCODE_NUMBER[rcode as Rcode] ?? RCODE_NAMES.indexOf(rcode);
  const { parsed } = ctx;
  let flags = FLAG_RA | (parsed.rd ? FLAG_RD : 0) | (parsed.cd ? FLAG_CD : 0) | (rcodeNumber & 0xf);
  if (upstreamFlags !== undefined) flags |= upstreamFlags & (FLAG_AD | FLAG_TC);
  const additionals: Answer[] = [];
  if (parsed.opt) {
    const dnssecOk = ((parsed.opt.flags ?? 0) & 0x8000) !== 0;
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: OUR_UDP_SIZE,
      flags: dnssecOk ? 0x8000 : 0,
      // The option code is RFC 8914's; @types/dns-packet lists only the options it decodes.
      options: ede !== undefined ? [{ code: EDE_OPTION, data: Buffer.from([0, ede]) } as unknown as Extract<Answer, { type: 'OPT' }>['options'][number]] : [],
    } as Answer);
  }
  const packet: Packet = { type: 'response', id: ctx.id, flags, questions: [parsed.question], answers, authorities, additionals };
  return dnsPacket.encode(packet);
}

/** A response of the header alone (FORMERR, NOTIMP, SERVFAIL before the question could be read). */
function headerOnly(msg: Buffer, rcode: Rcode): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(msg.readUInt16BE(0), 0);
  const rd = msg.readUInt16BE(2) & FLAG_RD;
  const opcode = msg.readUInt16BE(2) & 0x7800;
  out.writeUInt16BE(FLAG_QR | opcode | rd | FLAG_RA | RCODE_NUMBER[rcode], 2);
  return out;
}

/** `localhost` and names under it (RFC 6761 §6.3): loopback, answered here, never forwarded. */
function localAnswer(q: Question): Answer[] {
  if (q.type === 'A') return [{ type: 'A', name: q.name, ttl: 0, data: '127.0.0.1' }];
  if (q.type === 'AAAA') return [{ type: 'AAAA', name: q.name, ttl: 0, data: '::1' }];
  return [];
}

export type { DnsDecision, DnsReason };
