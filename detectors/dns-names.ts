// Reading DNS query names (issue #16): what a runner looks up can carry data out, to
// whoever runs the name server of the name's parent domain. Pure: a name in, findings
// out; the DNS listener (proxy/wire/dns-listener.ts) calls `read` for every query.
//
// Two readings:
// - Secrets. The name as it came, its labels joined with the dots removed, and that
//   joined text decoded as hex, base32 and base64url (at every alignment, so data that
//   starts after a prefix label decodes too) go through the engine in one scan: known
//   secrets and canaries (whatever encoding they were written in) and every detector rule.
// - Tunnelling (`dns-tunnel`): labels that carry data (long, high-entropy,
//   hex/base32/base64-looking runs), a burst of unique names under one unlisted parent
//   per pool, and TXT/NULL queries for unlisted names. Thresholds: DNS_TUNNEL_DEFAULTS,
//   documented in docs/rules.md ("DNS names").
//
// No regular expressions: the label tests are character loops. Findings never carry a
// name's data: a redacted preview and a keyed fingerprint, as every engine finding.
import { LRUCache } from 'lru-cache';
import type { Engine } from './engine.js';
import { shannonEntropy } from './entropy.js';
import { fingerprint, redactedPreview } from './redact.js';
import type { Finding, Severity } from './types.js';

/** One query as the listener sees it. */
export interface DnsQuery {
  /** The pool that owns the client (`none` for a client in no pool). */
  pool: string;
  /** The question name without the trailing dot. Case as received is best (base64url is case-sensitive). */
  qname: string;
  /** The query type as dns-packet names it: `A`, `TXT`, `NULL`, ... */
  qtype: string;
  /** The pool's allowlist allows the name. */
  listed: boolean;
  nowMs: number;
}

export interface DnsTunnelThresholds {
  /** A run of letters/digits/underscore (hyphens split runs) at least this long may be data. */
  minDataRun: number;
  /** ... if, all such runs of the name together, their Shannon entropy is at least this many bits per character ... */
  minRunEntropy: number;
  /** ... and letters and digits alternate at least this share of the time (random hex/base32 does, words and ids with a number suffix do not). */
  minClassChangeRate: number;
  /** A name is a tunnel when its data runs add up to this many characters. */
  dataChars: number;
  /** Unique names under one unlisted parent per pool within `windowMs` that make a burst. */
  uniqueNames: number;
  windowMs: number;
  /** Parents tracked at once per reader (least recently seen forgotten first). */
  trackedParents: number;
}

export const DNS_TUNNEL_DEFAULTS: Readonly<DnsTunnelThresholds> = {
  minDataRun: 16,
  minRunEntropy: 2.5,
  minClassChangeRate: 0.05,
  dataChars: 48,
  uniqueNames: 100,
  windowMs: 60_000,
  trackedParents: 4096,
};

export interface DnsNameReaderOptions {
  engine: Engine;
  /** The per-install key: `dns-tunnel` findings fingerprint the parent domain with it. */
  fingerprintKey: Buffer;
  thresholds?: Partial<DnsTunnelThresholds>;
  /** Names whose reading is remembered (engine findings, parent, data characters: fixed per name). Default 10,000. */
  cacheNames?: number;
}

/** Query types that carry free-form answers (the return channel of a tunnel). */
const DATA_QTYPES: ReadonlySet<string> = new Set(['TXT', 'NULL']);

/** Second-level labels under which registrations sit one level deeper (`example.co.uk`). */
const SECOND_LEVELS: ReadonlySet<string> = new Set(['co', 'com', 'net', 'org', 'gov', 'edu', 'ac', 'or', 'ne', 'go', 'gv', 'mil', 'ltd', 'plc', 'sch', 'nic']);

/**
 * The registrable parent of a name (`attacker.example` of `x.y.attacker.example`): the last
 * two labels, three under a country code's second level (`example.co.uk`). An approximation
 * of the public suffix list, enough to group a tunnel's names.
 */
export function parentDomain(labels: readonly string[]): string {
  const n = labels.length;
  if (n <= 2) return labels.join('.');
  const tld = labels[n - 1] as string;
  const sld = labels[n - 2] as string;
  const keep = tld.length === 2 && SECOND_LEVELS.has(sld) ? 3 : 2;
  return labels.slice(n - keep).join('.');
}

const enum Cls {
  Other,
  Letter,
  Digit,
}

function cls(c: number): Cls {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) return Cls.Letter;
  if (c >= 0x30 && c <= 0x39) return Cls.Digit;
  return Cls.Other;
}

/** Letter/digit alternations in `run` (other characters skipped). */
function classChanges(run: string): number {
  let changes = 0;
  let prev = Cls.Other;
  for (let i = 0; i < run.length; i++) {
    const k = cls(run.charCodeAt(i));
    if (k === Cls.Other) continue;
    if (prev !== Cls.Other && k !== prev) changes++;
    prev = k;
  }
  return changes;
}

/**
 * Characters of data in `labels` (the labels under the parent): the runs of letters,
 * digits and `_` (hyphens and dots split runs) of at least `minDataRun` characters,
 * counted when, taken together, letters and digits alternate at
 * least `minClassChangeRate` of the time (or half of them are digits, as in hex of text) and their entropy reaches `minRunEntropy`
 * (random hex alternates about 47% of the time, base32 30%, base32 of ASCII text less,
 * base64 35%; words and ids with a number suffix hardly ever). 0 when they do not look like data.
 */
export function dataChars(labels: readonly string[], thresholds: DnsTunnelThresholds = DNS_TUNNEL_DEFAULTS): number {
  let length = 0;
  let changes = 0;
  let digits = 0;
  const runs: string[] = [];
  for (const label of labels) {
    for (const run of label.split('-')) {
      if (run.length < thresholds.minDataRun) continue;
      runs.push(run);
      length += run.length;
      changes += classChanges(run);
      for (let i = 0; i < run.length; i++) if (cls(run.charCodeAt(i)) === Cls.Digit) digits++;
    }
  }
  // Hex of text is mostly digits (`41`-`5a`, `30`-`39`) and alternates little: half digits counts too.
  if (length === 0 || (changes / length < thresholds.minClassChangeRate && digits * 2 < length)) return 0;
  return shannonEntropy(Buffer.from(runs.join('').toLowerCase(), 'latin1')) >= thresholds.minRunEntropy ? length : 0;
}

// ---- decoding the joined labels ----------------------------------------------------

const B32 = new Int8Array(128).fill(-1);
const B64 = new Int8Array(128).fill(-1);
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 26; i++) {
  B32[0x41 + i] = i;
  B32[0x61 + i] = i;
  B64[0x41 + i] = i;
  B64[0x61 + i] = 26 + i;
}
for (let i = 0; i < 6; i++) B32[0x32 + i] = 26 + i; // '2'..'7'
for (let i = 0; i < 10; i++) {
  B64[0x30 + i] = 52 + i;
  HEX[0x30 + i] = i;
}
B64[0x2d] = 62; // '-'
B64[0x5f] = 63; // '_'
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

/**
 * Decode `text` from `from` on, `bits` bits per character by `table`. A character outside
 * the alphabet decodes as zero bits: the output keeps its alignment, so data after a
 * foreign prefix or before the parent domain still decodes to its own bytes.
 */
function decodeBits(text: string, from: number, table: Int8Array, bits: number): Buffer {
  const out = Buffer.allocUnsafe(Math.floor(((text.length - from) * bits) / 8));
  let acc = 0;
  let have = 0;
  let o = 0;
  for (let i = from; i < text.length && o < out.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? (table[c] as number) : -1;
    acc = ((acc << bits) | (v < 0 ? 0 : v)) & 0xffff;
    have += bits;
    if (have >= 8) {
      have -= 8;
      out[o++] = (acc >> have) & 0xff;
    }
  }
  return out.subarray(0, o);
}

/** How many characters of `text` the alphabet holds. */
function inAlphabet(text: string, table: Int8Array): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && (table[c] as number) >= 0) n++;
  }
  return n;
}

function hasCapital(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/** The shortest encoding of the shortest known secret (8 bytes as base64: 11 characters). */
const MIN_ENCODED = 11;

interface Segment {
  start: number;
  end: number;
  /** Absent for the name as it came and its joined labels. */
  decodedFrom?: string;
}

/** The name, its joined labels and their decodings, as one buffer the engine scans once. */
function scanInput(qname: string, joined: string): { input: Buffer; segments: Segment[] } {
  const parts: Buffer[] = [];
  const segments: Segment[] = [];
  let at = 0;
  const push = (b: Buffer, decodedFrom?: string): void => {
    if (b.length === 0) return;
    const seg: Segment = { start: at, end: at + b.length };
    if (decodedFrom !== undefined) seg.decodedFrom = decodedFrom;
    segments.push(seg);
    parts.push(b, NEWLINE);
    at += b.length + 1;
  };
  push(Buffer.from(qname, 'latin1'));
  if (joined !== qname) push(Buffer.from(joined, 'latin1'));
  if (joined.length >= MIN_ENCODED) {
    if (inAlphabet(joined, HEX) >= 16) for (let a = 0; a < 2; a++) push(decodeBits(joined, a, HEX, 4), 'hex');
    if (inAlphabet(joined, B32) >= 13) for (let a = 0; a < 8; a++) push(decodeBits(joined, a, B32, 5), 'base32');
    // base64url is case-sensitive: a name without capitals (lowercased on the way) decodes to noise.
    if (hasCapital(joined)) for (let a = 0; a < 4; a++) push(decodeBits(joined, a, B64, 6), 'base64url');
  }
  return { input: Buffer.concat(parts), segments };
}

const NEWLINE = Buffer.from('\n');
const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

// ---- the reader ---------------------------------------------------------------------

interface Burst {
  windowStart: number;
  /** 32-bit hashes of the unique names seen this window (bounded by the threshold). */
  names: Set<number>;
}

/** FNV-1a, 32 bits: names are remembered as hashes, never as text. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** What is fixed of one name: kept per name, so a name seen again costs a lookup. */
interface NameReading {
  /** The engine's findings in it (its labels joined and decoded). */
  secrets: readonly Finding[];
  parent: string;
  /** The labels under the parent. */
  sub: readonly string[];
  /** Characters of data in `sub` (dataChars). */
  chars: number;
  hash: number;
}

export class DnsNameReader {
  private engine: Engine;
  private readonly key: Buffer;
  readonly thresholds: Readonly<DnsTunnelThresholds>;
  /** What is fixed of a name (its engine findings, parent, data characters, hash), by name. */
  private readonly scanned: LRUCache<string, NameReading>;
  private readonly bursts: LRUCache<string, Burst>;

  constructor(options: DnsNameReaderOptions) {
    this.engine = options.engine;
    this.key = options.fingerprintKey;
    this.thresholds = { ...DNS_TUNNEL_DEFAULTS, ...options.thresholds };
    this.scanned = new LRUCache({ max: Math.max(1, options.cacheNames ?? 10_000) });
    this.bursts = new LRUCache({ max: Math.max(1, this.thresholds.trackedParents) });
  }

  /** The findings of one query: secrets in its name, and signs of tunnelling. */
  read(q: DnsQuery): Finding[] {
    const qname = q.qname.endsWith('.') ? q.qname.slice(0, -1) : q.qname;
    if (qname.length === 0) return [];
    // A name seen before (most of a fleet's lookups) is read from what was kept of it.
    const reading = this.scanned.get(qname) ?? this.readName(qname);
    const tunnel = this.tunnel(q, qname, reading);
    if (reading.secrets.length === 0) return tunnel ? [tunnel] : [];
    const out = [...reading.secrets];
    if (tunnel) out.push(tunnel);
    return out;
  }

  /**
   * The secrets in a name alone (the engine's findings on it, its joined labels and their
   * decodings), without the tunnelling readings: what the proxy listener asks of the host
   * of a request or tunnel. Read as `read` reads a query name, from the same memory of
   * names, so a host seen before costs a lookup. Case as sent is best (base64url).
   */
  secretsIn(name: string): readonly Finding[] {
    const bare = name.endsWith('.') ? name.slice(0, -1) : name;
    if (bare.length === 0) return NO_FINDINGS;
    return (this.scanned.get(bare) ?? this.readName(bare)).secrets;
  }

  /** Everything of a name that does not depend on the query: kept for the next query of it. */
  private readName(qname: string): NameReading {
    const labels = qname.split('.');
    const parent = parentDomain(labels);
    const sub = labels.slice(0, labels.length - parent.split('.').length);
    const reading: NameReading = { secrets: this.secrets(qname, labels), parent, sub, chars: dataChars(sub, this.thresholds), hash: hash32(qname) };
    this.scanned.set(qname, reading);
    return reading;
  }

  /**
   * A reload built a new engine (other rules or known secrets): read with it from now on.
   * The remembered scans are dropped; the burst windows are kept (a reload does not reset a tunnel).
   */
  setEngine(engine: Engine): void {
    if (engine === this.engine) return;
    this.engine = engine;
    this.scanned.clear();
  }

  /** The same as `read`, as a function (the listener's NameReader). */
  get reader(): (q: DnsQuery) => Finding[] {
    return (q) => this.read(q);
  }

  private secrets(qname: string, labels: readonly string[]): readonly Finding[] {
    const { input, segments } = scanInput(qname, labels.join(''));
    const found = this.engine.scan(input);
    const seen = new Set<string>();
    const out: Finding[] = [];
    for (const f of found) {
      const k = `${f.ruleId}\0${f.fingerprint}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const seg = segments.find((s) => f.offset >= s.start && f.offset < s.end);
      // Where in the name: the whole name (a decoded secret has no place of its own in it).
      const finding: Finding = { ...f, offset: 0, length: Buffer.byteLength(qname, 'latin1'), line: 1, column: 1 };
      if (seg?.decodedFrom !== undefined) finding.decodedFrom = [seg.decodedFrom, ...(f.decodedFrom ?? [])];
      if (finding.known === 'canary') finding.severity = 'critical';
      out.push(finding);
    }
    return out;
  }

  private tunnel(q: DnsQuery, qname: string, reading: NameReading): Finding | undefined {
    const t = this.thresholds;
    const { parent, sub, chars } = reading;
    if (chars >= t.dataChars) return this.finding(parent, sub, 'high', `DNS tunnelling suspected: ${chars} characters of encoded data in the labels`, qname);
    if (!q.listed && sub.length > 0) {
      const key = `${q.pool}\0${parent}`;
      let burst = this.bursts.get(key);
      if (!burst || q.nowMs - burst.windowStart >= t.windowMs || q.nowMs < burst.windowStart) {
        burst = { windowStart: q.nowMs, names: new Set() };
        this.bursts.set(key, burst);
      }
      const h = reading.hash;
      if (!burst.names.has(h)) {
        if (burst.names.size >= t.uniqueNames) {
          return this.finding(parent, sub, 'high', `DNS tunnelling suspected: over ${t.uniqueNames} unique names under one parent domain within ${t.windowMs / 1000}s`, qname);
        }
        burst.names.add(h);
      }
    }
    if (!q.listed && DATA_QTYPES.has(q.qtype.toUpperCase())) {
      return this.finding(parent, sub, 'medium', `DNS tunnelling suspected: ${q.qtype.toUpperCase()} query for a name outside the allowlist`, qname);
    }
    return undefined;
  }

  private finding(parent: string, sub: readonly string[], severity: Severity, title: string, qname: string): Finding {
    const data = sub.join('');
    return {
      ruleId: 'dns-tunnel',
      title,
      severity,
      offset: 0,
      length: Buffer.byteLength(qname, 'latin1'),
      line: 1,
      column: 1,
      // The subdomain part is the data: a preview of it, the parent fingerprinted (one tunnel, one fingerprint).
      redacted: redactedPreview(data, Buffer.byteLength(data, 'latin1')),
      fingerprint: fingerprint(this.key, Buffer.from(parent, 'latin1')),
      destinations: [],
    };
  }
}
