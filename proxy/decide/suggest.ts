// `chokepoint policy suggest`: turn access-log lines into a per-pool allowlist of what was
// reached, so a team can run a week in audit mode and then switch to enforce. Pure: lines
// in, a YAML document out; the CLI (bin/commands/policy.ts) does the reading.
import ipaddr from 'ipaddr.js';
import { Document, isMap, isScalar, isSeq } from 'yaml';
import { DEFAULT_PORTS } from '../../config/index.js';
import { isSpecialAddress, normalizeHost, parseAddress, type Ip } from './target.js';

/** This many distinct sibling hosts (same parent domain, same ports) fold into `*.parent`. */
export const FOLD_THRESHOLD = 3;

/** A parent domain needs at least this many labels to be folded into (`*.example.com`, never `*.com`). */
export const FOLD_MIN_PARENT_LABELS = 2;

/**
 * Parents that are public suffixes or shared by many tenants: a wildcard under them would
 * admit anyone's hosts (an exfiltration channel), so their children are never folded.
 */
export const NO_FOLD_PARENTS: ReadonlySet<string> = new Set([
  's3.amazonaws.com',
  'amazonaws.com',
  'cloudfront.net',
  'blob.core.windows.net',
  'web.core.windows.net',
  'azurewebsites.net',
  'azureedge.net',
  'storage.googleapis.com',
  'appspot.com',
  'run.app',
  'web.app',
  'firebaseapp.com',
  'github.io',
  'gitlab.io',
  'herokuapp.com',
  'netlify.app',
  'vercel.app',
  'pages.dev',
  'workers.dev',
  'ngrok.io',
  'ngrok-free.app',
  'ngrok.app',
  'trycloudflare.com',
  'loca.lt',
  'duckdns.org',
]);

// Second-level labels under which country-code registries sell names (`co.uk`, `com.au`).
const GENERIC_SECOND_LEVEL = new Set(['ac', 'co', 'com', 'edu', 'gov', 'net', 'org', 'or', 'ne', 'go', 'gv', 'gob', 'mil']);

/** Stands for the address when a line says private-address but not which one. */
const UNKNOWN_ADDRESS = 'an address not in the log';

/** How many folded hosts or addresses a comment names before it says "and N more". */
const LIST_IN_COMMENT = 3;

export interface SuggestOptions {
  /** Only these pools (all when empty or absent). */
  pools?: readonly string[];
}

export interface SuggestStats {
  /** Non-empty lines seen. */
  lines: number;
  /** Lines that are not a JSON object. */
  notJson: number;
  /** Access-log lines (`msg: 'egress'`). */
  egress: number;
  /** Egress lines that reached their destination (allow or audit) and went into the suggestion. */
  used: number;
  /** Earliest and latest `time` of the egress lines, ISO 8601. */
  from?: string;
  to?: string;
}

export interface SuggestedEntry {
  /** The allowlist entry, valid config syntax. */
  entry: string;
  /** Its port part: `''` for the default ports, else `:port`. */
  ports: string;
  requests: number;
  /** The hosts a wildcard entry stands for (empty for other entries). */
  folded: string[];
  /** Private addresses seen for this entry (what the comment warns about). */
  privateAddresses: string[];
  /** The entry itself is an IP entry naming a private address (it lifts the default denial). */
  liftsPrivate: boolean;
}

export interface SuggestedPool {
  name: string;
  requests: number;
  allow: SuggestedEntry[];
}

export interface Suggestion {
  stats: SuggestStats;
  pools: SuggestedPool[];
}

/** What one host (or IP) at one port specification was seen doing. */
interface Seen {
  requests: number;
  privateAddresses: Set<string>;
}

/** Per pool: port suffix (`''` for the default ports, `:5432`) → host or IP entry → what was seen. */
type PoolSeen = Map<string, { names: Map<string, Seen>; ips: Map<string, Seen & { ip: Ip }> }>;

/** Accumulates access-log lines one at a time (logs can be large); `finish` builds the suggestion. */
export class Suggester {
  private readonly stats: SuggestStats = { lines: 0, notJson: 0, egress: 0, used: 0 };
  private readonly pools = new Map<string, PoolSeen>();
  /** Per pool: names seen in DNS lines → queries (merged at finish). */
  private readonly dnsNames = new Map<string, Map<string, number>>();
  private readonly only: ReadonlySet<string>;
  private fromMs = Infinity;
  private toMs = -Infinity;

  constructor(options: SuggestOptions = {}) {
    this.only = new Set(options.pools ?? []);
  }

  add(line: string): void {
    const text = line.trim();
    if (text === '') return;
    this.stats.lines++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.stats.notJson++;
      return;
    }
    if (!isRecord(value)) {
      this.stats.notJson++;
      return;
    }
    if (value.msg !== 'egress') return;
    this.stats.egress++;
    if (typeof value.time === 'string') {
      const ms = Date.parse(value.time);
      if (!Number.isNaN(ms)) {
        this.fromMs = Math.min(this.fromMs, ms);
        this.toMs = Math.max(this.toMs, ms);
      }
    }
    const { pool, host, port, decision, address } = value;
    // The policy's reason survives a later failure in policyReason (older lines: reason only).
    const reason = value.policyReason ?? value.reason;
    if (value.kind === 'dns') return this.addDns(value);
    if (decision !== 'allow' && decision !== 'audit') return;
    if (typeof pool !== 'string' || pool === '' || typeof host !== 'string' || host === '') return;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return;
    if (this.only.size > 0 && !this.only.has(pool)) return;
    // Hosts in the log are normalised already; normalise again so hand-edited or older
    // lines (bare IPv6, upper case, trailing dot) land on the same entry.
    const norm = normalizeHost(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);
    if (!norm) return;
    this.stats.used++;

    const suffix = DEFAULT_PORTS.includes(port) ? '' : `:${port}`;
    let poolSeen = this.pools.get(pool);
    if (!poolSeen) this.pools.set(pool, (poolSeen = new Map()));
    let bucket = poolSeen.get(suffix);
    if (!bucket) poolSeen.set(suffix, (bucket = { names: new Map(), ips: new Map() }));

    if (norm.ip) {
      const key = norm.ip.toString();
      let seen = bucket.ips.get(key);
      if (!seen) bucket.ips.set(key, (seen = { requests: 0, privateAddresses: new Set(), ip: norm.ip }));
      seen.requests++;
      if (reason === 'private-address' || isSpecialAddress(norm.ip)) seen.privateAddresses.add(key);
      return;
    }
    let seen = bucket.names.get(norm.host);
    if (!seen) bucket.names.set(norm.host, (seen = { requests: 0, privateAddresses: new Set() }));
    seen.requests++;
    // A host entry never lifts the private-address default: whoever reached a private
    // address through a name needs an IP entry too, and the comment says so.
    const resolved = typeof address === 'string' ? parseAddress(address) : undefined;
    if (resolved && isSpecialAddress(resolved)) seen.privateAddresses.add(resolved.toString());
    else if (reason === 'private-address') seen.privateAddresses.add(resolved?.toString() ?? UNKNOWN_ADDRESS);
  }

  /**
   * A DNS listener line (`"kind":"dns"`): a name the pool looked up and was answered
   * (allow or audit, NOERROR). A name that also appears in egress lines is covered by
   * their entries (any host entry lets a pool resolve its name); one seen in DNS only
   * becomes an entry for the default ports. Lines with findings (a secret or a tunnel in
   * the name) and names answered NXDOMAIN teach nothing.
   */
  private addDns(value: Record<string, unknown>): void {
    const { pool, host, decision, rcode, findings } = value;
    if (decision !== 'allow' && decision !== 'audit') return;
    if (rcode !== 'NOERROR' || (typeof findings === 'number' && findings > 0)) return;
    if (typeof pool !== 'string' || pool === '' || pool === 'none' || typeof host !== 'string' || host === '') return;
    if (this.only.size > 0 && !this.only.has(pool)) return;
    const norm = normalizeHost(host);
    if (!norm || norm.ip || norm.host === 'localhost' || norm.host.endsWith('.localhost')) return;
    this.stats.used++;
    let names = this.dnsNames.get(pool);
    if (!names) this.dnsNames.set(pool, (names = new Map()));
    names.set(norm.host, (names.get(norm.host) ?? 0) + 1);
  }

  /** DNS-only names go into the pool's default-port bucket, before folding. */
  private mergeDns(): void {
    for (const [pool, names] of this.dnsNames) {
      let poolSeen = this.pools.get(pool);
      if (!poolSeen) this.pools.set(pool, (poolSeen = new Map()));
      const known = new Set<string>();
      for (const bucket of poolSeen.values()) for (const name of bucket.names.keys()) known.add(name);
      let bucket = poolSeen.get('');
      for (const [name, count] of names) {
        if (known.has(name)) continue;
        if (!bucket) poolSeen.set('', (bucket = { names: new Map(), ips: new Map() }));
        bucket.names.set(name, { requests: count, privateAddresses: new Set() });
      }
    }
    this.dnsNames.clear();
  }

  finish(): Suggestion {
    this.mergeDns();
    const stats: SuggestStats = { ...this.stats };
    if (Number.isFinite(this.fromMs)) {
      stats.from = new Date(this.fromMs).toISOString();
      stats.to = new Date(this.toMs).toISOString();
    }
    const pools = [...this.pools.entries()]
      .sort(([a], [b]) => compareText(a, b))
      .map(([name, seen]): SuggestedPool => {
        const allow = [...seen.entries()].flatMap(([suffix, bucket]) => [
          ...foldNames(bucket.names, suffix),
          ...[...bucket.ips.values()].map((s) => ipEntry(s, suffix)),
        ]);
        allow.sort(compareEntries);
        return { name, requests: allow.reduce((n, e) => n + e.requests, 0), allow };
      });
    return { stats, pools };
  }
}

/** The whole job on an array of lines: the suggestion as a YAML document, and its stats. */
export function suggestPolicy(lines: Iterable<string>, options: SuggestOptions = {}): { yaml: string; suggestion: Suggestion } {
  const suggester = new Suggester(options);
  for (const line of lines) suggester.add(line);
  const suggestion = suggester.finish();
  return { yaml: renderSuggestion(suggestion), suggestion };
}

/** Can hosts under this parent fold into `*.parent`? Not under public suffixes or shared hosting. */
export function foldableParent(parent: string): boolean {
  const labels = parent.split('.');
  if (labels.length < FOLD_MIN_PARENT_LABELS) return false;
  if (NO_FOLD_PARENTS.has(parent)) return false;
  // `co.uk`, `com.au`: a second-level label under a two-letter country code is a suffix.
  if (labels.length === 2 && (labels[1] ?? '').length === 2 && GENERIC_SECOND_LEVEL.has(labels[0] ?? '')) return false;
  return true;
}

function foldNames(names: ReadonlyMap<string, Seen>, suffix: string): SuggestedEntry[] {
  // Sibling hosts per parent domain. Only exact hosts count towards a fold.
  const siblings = new Map<string, string[]>();
  for (const host of names.keys()) {
    const dot = host.indexOf('.');
    if (dot < 0) continue;
    const parent = host.slice(dot + 1);
    if (!foldableParent(parent)) continue;
    const list = siblings.get(parent);
    if (list) list.push(host);
    else siblings.set(parent, [host]);
  }
  const wildcards = [...siblings.entries()]
    .filter(([, hosts]) => hosts.length >= FOLD_THRESHOLD)
    .map(([parent]) => parent)
    // A wildcard under another wildcard is covered by it (`*.` is any depth).
    .filter((parent, _i, all) => !all.some((other) => other !== parent && isUnder(parent, other)));

  const out = new Map<string, SuggestedEntry>();
  for (const parent of wildcards) {
    out.set(`*.${parent}`, { entry: `*.${parent}${suffix}`, ports: suffix, requests: 0, folded: [], privateAddresses: [], liftsPrivate: false });
  }
  for (const [host, seen] of names) {
    const parent = wildcards.find((w) => isUnder(host, w));
    const target = parent === undefined ? undefined : out.get(`*.${parent}`);
    if (target) {
      target.requests += seen.requests;
      target.folded.push(host);
      target.privateAddresses.push(...seen.privateAddresses);
    } else {
      out.set(host, { entry: `${host}${suffix}`, ports: suffix, requests: seen.requests, folded: [], privateAddresses: [...seen.privateAddresses], liftsPrivate: false });
    }
  }
  for (const e of out.values()) {
    e.folded.sort(compareHosts);
    e.privateAddresses = [...new Set(e.privateAddresses)].sort(compareText);
  }
  return [...out.values()];
}

/** The entry that names exactly one address: `10.0.0.7/32:5432`, `[fd00::1]/128`. */
function ipEntryText(address: string, suffix: string): string {
  return address.includes(':') ? `[${address}]/128${suffix}` : `${address}/32${suffix}`;
}

function ipEntry(seen: Seen & { ip: Ip }, suffix: string): SuggestedEntry {
  const entry = ipEntryText(seen.ip.toString(), suffix);
  const privateAddresses = [...seen.privateAddresses].sort(compareText);
  return { entry, ports: suffix, requests: seen.requests, folded: [], privateAddresses, liftsPrivate: privateAddresses.length > 0 };
}

/** `host` is a proper subdomain of `parent` (at any depth). */
function isUnder(host: string, parent: string): boolean {
  return host.length > parent.length + 1 && host.endsWith(parent) && host[host.length - parent.length - 1] === '.';
}

/** Render a suggestion as YAML in the config's shape (`pools: [{ name, allow }]`), with comments. */
export function renderSuggestion({ stats, pools }: Suggestion): string {
  const doc = new Document({ pools: pools.map((p) => ({ name: p.name, allow: p.allow.map((e) => e.entry) })) });
  const header = [
    ' Suggested by `chokepoint policy suggest` from access logs: what each pool reached',
    ' (decision allow or audit). Review before use, then merge into your config.',
    ` ${stats.lines} line${plural(stats.lines)} read: ${stats.egress} egress, ${stats.used} reached, ${stats.notJson} not JSON (skipped)`,
    stats.from === undefined ? ' time range: no egress lines with a time' : ` time range: ${stats.from} to ${stats.to}`,
    ` Hosts on ports 80/443 have no port; others carry theirs. ${FOLD_THRESHOLD} or more sibling hosts`,
    ' (same parent domain, same port) are folded into a `*.parent` wildcard. Sorted by domain.',
  ];
  doc.commentBefore = header.join('\n');

  const seq = doc.get('pools', true);
  pools.forEach((pool, i) => {
    const node = isSeq(seq) ? seq.items[i] : undefined;
    if (!isMap(node)) return;
    const width = String(Math.max(0, ...pool.allow.map((e) => e.requests))).length;
    node.commentBefore = [
      ` ${pool.name}: ${pool.requests} request${plural(pool.requests)} to ${pool.allow.length} entr${pool.allow.length === 1 ? 'y' : 'ies'}`,
      ...pool.allow.map((e) => `   ${String(e.requests).padStart(width)}  ${e.entry}${e.folded.length > 0 ? `  (${listSome(e.folded)})` : ''}`),
    ].join('\n');
    const allow = node.get('allow', true);
    pool.allow.forEach((e, j) => {
      const item = isSeq(allow) ? allow.items[j] : undefined;
      if (!isScalar(item) || e.privateAddresses.length === 0) return;
      item.comment = e.liftsPrivate
        ? ' private address: this IP entry lifts the default denial of private addresses; keep it only if intended'
        : ` reached private address ${listSome(e.privateAddresses)}: a host entry does not lift the private-address denial; if intended, also allow ${listSome(e.privateAddresses.filter((a) => a !== UNKNOWN_ADDRESS).map((a) => ipEntryText(a, e.ports))) || 'the address (an IP/CIDR entry)'}`;
    });
  });
  return doc.toString({ lineWidth: 0 });
}

function listSome(items: readonly string[]): string {
  const shown = items.slice(0, LIST_IN_COMMENT).join(', ');
  return items.length > LIST_IN_COMMENT ? `${shown} and ${items.length - LIST_IN_COMMENT} more` : shown;
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Hosts sorted by domain (labels right to left), so a domain's hosts stand together. */
function compareHosts(a: string, b: string): number {
  return compareText(a.split('.').reverse().join('.'), b.split('.').reverse().join('.'));
}

/** Host entries first, sorted by domain then port; IP entries after them, by address then port. */
function compareEntries(a: SuggestedEntry, b: SuggestedEntry): number {
  const ka = entryKey(a.entry);
  const kb = entryKey(b.entry);
  return ka.kind - kb.kind || compareText(ka.key, kb.key) || ka.port - kb.port;
}

function entryKey(entry: string): { kind: number; key: string; port: number } {
  const portAt = entry.lastIndexOf(':');
  const hasPort = portAt > entry.lastIndexOf(']') && portAt > entry.lastIndexOf('/');
  const port = hasPort ? Number(entry.slice(portAt + 1)) : 0;
  const address = hasPort ? entry.slice(0, portAt) : entry;
  const slash = address.indexOf('/');
  if (slash < 0) return { kind: 0, key: address.split('.').reverse().join('.'), port };
  const ip = ipaddr.parse(address.slice(0, slash).replace('[', '').replace(']', ''));
  const bytes = ip.toByteArray().map((b) => b.toString(16).padStart(2, '0')).join('');
  return { kind: ip.kind() === 'ipv4' ? 1 : 2, key: bytes, port };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
