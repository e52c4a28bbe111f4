// The DNS decision (issue #16): which pool owns a query, whether its name is forwarded,
// and what of the upstream's answer reaches the runner. Pure: values in, values out, no
// sockets and no wire format library (the listener, proxy/wire/dns-listener.ts, decodes
// packets with dns-packet and hands the records here as plain values).
//
// The pool's own allowlist decides, with the same matcher as HTTP and CONNECT
// (policy.ts hostMatches over the compiled allow/deny rules); addresses in answers are
// judged with the same classification as CONNECT destinations (target.ts
// isSpecialAddress, parseAddress: IPv4-mapped IPv6 is its IPv4).
//
// Denied names get NXDOMAIN (DENIED_RCODE), never REFUSED: the runner's resolver takes it
// as the final answer at once (REFUSED makes stub resolvers try the next server and retry,
// slowly, and reads as an outage). REFUSED is kept for a client that belongs to no pool.
import type { Config, HostMatch, Ports } from '../../config/index.js';
import type { Ip } from './target.js';
import { hostMatches, type PoolPolicy } from './policy.js';
import { isSpecialAddress, parseAddress } from './target.js';

/** What the listener does with a query. `refused`: no pool owns the client (REFUSED). */
export type DnsDecision = 'allow' | 'deny' | 'audit' | 'refused';

/**
 * Why a query ended the way it did, when not plainly allowed. A closed set (a log field;
 * docs/config.md "DNS listener" lists each).
 */
export const DNS_REASONS = [
  'not-allowlisted',
  'denylisted',
  'private-address',
  'cname-not-allowlisted',
  'secret-exfiltration',
  'no-pool',
  'local-name',
  'bad-request',
  'not-implemented',
  'dns-timeout',
  'dns-failure',
  'rate-limited',
] as const;
export type DnsReason = (typeof DNS_REASONS)[number];

/** Response codes the listener answers with (RFC 1035 §4.1.1, names as dns-packet writes them). */
export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

/** The answer to a name the pool's policy denies (see the header comment). */
export const DENIED_RCODE: Rcode = 'NXDOMAIN';
/** The answer to a client that no pool owns by its source address. */
export const NO_POOL_RCODE: Rcode = 'REFUSED';

/** The bounded qtype label of metrics. */
export const QTYPE_LABELS = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'HTTPS', 'other'] as const;
export type QtypeLabel = (typeof QTYPE_LABELS)[number];

export function qtypeLabel(qtype: string): QtypeLabel {
  return (QTYPE_LABELS as readonly string[]).includes(qtype) && qtype !== 'other' ? (qtype as QtypeLabel) : 'other';
}

/** Names the listener answers itself, never forwarded (RFC 6761 §6.3): `localhost` and below it. */
export function isLocalhostName(qname: string): boolean {
  return qname === 'localhost' || qname.endsWith('.localhost');
}

/** A query name as the policy sees it: lower case, no trailing dot (`.` is the root, ``). */
export function normalizeQname(name: string): string {
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

/** Names every pool may resolve, their answers unfiltered (`dns.localNames`), compiled. */
export type LocalNames = readonly HostMatch[];

export interface QueryDecision {
  decision: DnsDecision;
  reason?: DnsReason;
  /** The allow entry (or group) that matched, `dns.localNames`, `localhost`, else `unlisted`. */
  destination: string;
  /** Forward to the upstreams (allow and audit; never deny or refused). */
  forward: boolean;
  /** Answer from the listener itself (localhost). */
  local: boolean;
  /** Keep the answer as the upstream gave it (a `dns.localNames` name): no address filtering. */
  unfiltered: boolean;
}

/** A deny entry covers the name when it covers every port (no port given, or `:*`). */
function coversAllPorts(ports: Ports): boolean {
  return ports.kind === 'default' || ports.kind === 'any';
}

/**
 * The name alone against a pool: a deny entry for every port wins; then any allow host
 * entry, whatever its ports (a pool that may reach `db.internal:5432` must be able to
 * resolve it).
 */
export function nameVerdict(pool: PoolPolicy, qname: string): { allowed: boolean; denied: boolean; label: string } {
  for (const r of pool.deny) {
    if (r.entry.kind === 'host' && coversAllPorts(r.entry.ports) && hostMatches(r.entry.match, qname)) return { allowed: false, denied: true, label: r.label };
  }
  for (const r of pool.allow) {
    if (r.entry.kind === 'host' && hostMatches(r.entry.match, qname)) return { allowed: true, denied: false, label: r.label };
  }
  return { allowed: false, denied: false, label: 'unlisted' };
}

/**
 * Decide one query. `pool` is the pool that owns the client by its source address
 * (identify.ts identifySource), undefined when none does.
 */
export function decideQuery(pool: PoolPolicy | undefined, qname: string, localNames: LocalNames = []): QueryDecision {
  if (!pool) return { decision: 'refused', reason: 'no-pool', destination: 'unlisted', forward: false, local: false, unfiltered: false };
  if (isLocalhostName(qname)) return { decision: 'allow', reason: 'local-name', destination: 'localhost', forward: false, local: true, unfiltered: false };
  const byName = nameVerdict(pool, qname);
  if (byName.denied) return finish(pool, 'denylisted', byName.label);
  if (byName.allowed) return { decision: 'allow', destination: byName.label, forward: true, local: false, unfiltered: false };
  if (localNames.some((m) => hostMatches(m, qname))) {
    return { decision: 'allow', reason: 'local-name', destination: 'dns.localNames', forward: true, local: false, unfiltered: true };
  }
  return finish(pool, 'not-allowlisted', 'unlisted');
}

function finish(pool: PoolPolicy, reason: DnsReason, destination: string): QueryDecision {
  const audit = pool.mode === 'audit';
  return { decision: audit ? 'audit' : 'deny', reason, destination, forward: audit, local: false, unfiltered: false };
}

/** One resource record as the filter sees it (dns-packet's decoded shape, narrowed). */
export interface RecordView {
  type: string;
  name: string;
  /** A/AAAA: the address text; CNAME: the target name; HTTPS/SVCB: the raw rdata (Buffer). */
  data?: unknown;
}

export interface FilteredAnswer<R extends RecordView> {
  /** The records to send (the upstream's, minus the stripped ones), or [] with NXDOMAIN. */
  answers: R[];
  /** Records removed by the address policy. */
  stripped: number;
  /** NXDOMAIN instead of the upstream's answer (an emptied answer, a CNAME out of the allowlist). */
  nxdomain: boolean;
  decision: DnsDecision;
  reason?: DnsReason;
}

/** SVCB/HTTPS ipv4hint (4) and ipv6hint (6) addresses of a record's rdata (RFC 9460 §7.3). */
export function svcbHints(rdata: Buffer): string[] {
  const out: string[] = [];
  let o = 2; // SvcPriority
  // TargetName: uncompressed labels (RFC 9460 §2.2).
  while (o < rdata.length) {
    const len = rdata[o] as number;
    if (len === 0) {
      o++;
      break;
    }
    if (len > 63) return out;
    o += 1 + len;
  }
  while (o + 4 <= rdata.length) {
    const key = rdata.readUInt16BE(o);
    const len = rdata.readUInt16BE(o + 2);
    o += 4;
    if (o + len > rdata.length) break;
    if (key === 4) for (let i = 0; i + 4 <= len; i += 4) out.push(`${rdata[o + i]}.${rdata[o + i + 1]}.${rdata[o + i + 2]}.${rdata[o + i + 3]}`);
    if (key === 6) {
      for (let i = 0; i + 16 <= len; i += 16) {
        const groups: string[] = [];
        for (let g = 0; g < 16; g += 2) groups.push(rdata.readUInt16BE(o + i + g).toString(16));
        out.push(groups.join(':'));
      }
    }
    o += len;
  }
  return out;
}

/** Why an address may not be in this pool's answers, or undefined when it may. */
function addressProblem(pool: PoolPolicy, ip: Ip): 'denylisted' | 'private-address' | undefined {
  const inRange = (e: { range: [Ip, number] }): boolean => e.range[0].kind() === ip.kind() && ip.match(e.range[0], e.range[1]);
  for (const r of pool.deny) if (r.entry.kind === 'cidr' && coversAllPorts(r.entry.ports) && inRange(r.entry)) return 'denylisted';
  if (!isSpecialAddress(ip)) return undefined;
  // An IP/CIDR allow entry naming the address lifts the default, as for CONNECT (any port).
  for (const r of pool.allow) if (r.entry.kind === 'cidr' && inRange(r.entry)) return undefined;
  return 'private-address';
}

/** The addresses a record carries (A, AAAA, and the hints of HTTPS/SVCB), or undefined for other types. */
function recordAddresses(r: RecordView): string[] | undefined {
  if (r.type === 'A' || r.type === 'AAAA') return [typeof r.data === 'string' ? r.data : ''];
  if ((r.type === 'HTTPS' || r.type === 'SVCB' || r.type === 'UNKNOWN_65' || r.type === 'UNKNOWN_64') && Buffer.isBuffer(r.data)) return svcbHints(r.data);
  return undefined;
}

/**
 * What of an upstream answer reaches the client, for a query decided `query`.
 * - A/AAAA records (and HTTPS/SVCB records with address hints) whose address is special
 *   (private, loopback, link-local, metadata, every form) or in a deny CIDR are removed
 *   in enforce pools, unless an IP/CIDR allow entry names the address; an audit pool keeps
 *   them and the query is `audit` with the reason. An answer whose addresses were all
 *   removed is NXDOMAIN.
 * - CNAME targets must be allowed names too: in an enforce pool a chain that leaves the
 *   allowlist is NXDOMAIN (`cname-not-allowlisted`), in an audit pool it is recorded.
 * Names of `dns.localNames` are not filtered.
 */
export function filterAnswer<R extends RecordView>(pool: PoolPolicy, query: QueryDecision, answers: readonly R[]): FilteredAnswer<R> {
  let decision = query.decision;
  let reason = query.reason;
  if (query.unfiltered || !query.forward) {
    return { answers: [...answers], stripped: 0, nxdomain: false, decision, ...(reason ? { reason } : {}) };
  }
  const enforce = pool.mode === 'enforce';
  const audit = (why: DnsReason): void => {
    if (decision === 'allow') {
      decision = 'audit';
      reason = why;
    }
  };

  // The chain, only where the name itself was allowed (an audit of an unlisted name stays that).
  if (query.decision === 'allow') {
    for (const r of answers) {
      if (r.type !== 'CNAME' || typeof r.data !== 'string') continue;
      if (nameVerdict(pool, normalizeQname(r.data)).allowed) continue;
      if (enforce) return { answers: [], stripped: 0, nxdomain: true, decision: 'deny', reason: 'cname-not-allowlisted' };
      audit('cname-not-allowlisted');
    }
  }

  const kept: R[] = [];
  let stripped = 0;
  let addressesBefore = 0;
  let addressesKept = 0;
  let why: DnsReason | undefined;
  for (const r of answers) {
    const addresses = recordAddresses(r);
    if (addresses === undefined || addresses.length === 0) {
      kept.push(r);
      continue;
    }
    const isAddress = r.type === 'A' || r.type === 'AAAA';
    if (isAddress) addressesBefore++;
    let problem: DnsReason | undefined;
    for (const text of addresses) {
      const ip = parseAddress(text);
      const p = ip === undefined ? 'private-address' : addressProblem(pool, ip);
      if (p) {
        problem = p;
        break;
      }
    }
    if (problem && enforce) {
      stripped++;
      why ??= problem;
      continue;
    }
    if (problem) audit(problem);
    kept.push(r);
    if (isAddress) addressesKept++;
  }
  if (stripped > 0 && addressesBefore > 0 && addressesKept === 0) {
    return { answers: [], stripped, nxdomain: true, decision: 'deny', reason: why ?? 'private-address' };
  }
  return { answers: kept, stripped, nxdomain: false, decision, ...(reason ? { reason } : {}) };
}

/** Largest name on the wire (RFC 1035 §2.3.4) and label. */
export const MAX_NAME_BYTES = 255;
export const MAX_LABEL_BYTES = 63;

/**
 * Check the question name of a query at `offset` (12, right after the header): labels of
 * at most 63 bytes of letters, digits, `-` and `_` (`*` too), the whole at most 255 bytes,
 * no compression pointer (a question has nothing before it to point to). Returns the end
 * offset of the name, or a problem. A label holding a dot or a byte outside that set would
 * make the name the policy reads differ from the one the upstream resolves.
 */
export function checkQuestionName(packet: Buffer, offset = 12): { end: number } | { problem: 'label-too-long' | 'name-too-long' | 'bad-label' | 'truncated' | 'pointer' } {
  let o = offset;
  let total = 0;
  for (;;) {
    if (o >= packet.length) return { problem: 'truncated' };
    const len = packet[o] as number;
    if (len === 0) {
      total += 1;
      return total > MAX_NAME_BYTES ? { problem: 'name-too-long' } : { end: o + 1 };
    }
    if ((len & 0xc0) === 0xc0) return { problem: 'pointer' };
    if (len > MAX_LABEL_BYTES) return { problem: 'label-too-long' };
    if (o + 1 + len > packet.length) return { problem: 'truncated' };
    for (let i = o + 1; i <= o + len; i++) {
      const c = packet[i] as number;
      const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2a;
      if (!ok) return { problem: 'bad-label' };
    }
    total += len + 1;
    if (total > MAX_NAME_BYTES) return { problem: 'name-too-long' };
    o += 1 + len;
  }
}

/** Token buckets per source address, bounded in count (least recently seen go first). */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    /** Sustained queries per second per source; 0 turns limiting off. */
    private perSecond: number,
    private burst: number,
    private readonly maxSources = 65_536,
  ) {}

  configure(perSecond: number, burst: number): void {
    this.perSecond = perSecond;
    this.burst = burst;
  }

  /** Take one query's token for `source` at `nowMs`; false when the source is over its rate. */
  take(source: string, nowMs: number): boolean {
    if (this.perSecond <= 0) return true;
    let b = this.buckets.get(source);
    if (b) {
      this.buckets.delete(source); // re-inserted below: Map order is recency
      b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.perSecond);
      b.at = nowMs;
    } else {
      b = { tokens: this.burst, at: nowMs };
      if (this.buckets.size >= this.maxSources) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
    }
    this.buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/**
 * What `check-config` and the start-up log say about DNS: with a DNS listener, a pool
 * without `sources` owns no query (a query carries no credentials), and its runners' lookups
 * are REFUSED unless another pool's sources hold them.
 */
export function dnsNotes(config: Pick<Config, 'dns' | 'pools'>): string[] {
  if (config.dns.listen === undefined) return [];
  return config.pools
    .filter((p) => p.sources.length === 0)
    .map((p) => `pool ${p.name} has no sources: the DNS listener (dns.listen) cannot tell its runners' queries apart (a DNS query carries no credentials), so they are REFUSED unless another pool's sources hold their addresses; give the pool sources`);
}
