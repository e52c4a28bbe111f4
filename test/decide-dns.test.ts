// The DNS decision without sockets (issue #16): which pool owns a query, which names are
// forwarded, what of an answer reaches the runner, which packets are refused unread.
import { describe, expect, test } from 'vitest';
import { parseConfig, parseEntry, type HostMatch } from '../config/full.js';
import {
  DENIED_RCODE,
  NO_POOL_RCODE,
  RateLimiter,
  checkQuestionName,
  decideQuery,
  filterAnswer,
  normalizeQname,
  qtypeLabel,
  svcbHints,
  type RecordView,
} from '../proxy/decide/dns.js';
import { createIdentifier } from '../proxy/decide/identify.js';
import { compilePool, type PoolPolicy } from '../proxy/decide/policy.js';

const config = parseConfig(
  `
groups:
  internal: [artifacts.corp.example, 10.40.0.0/16:443]
pools:
  - name: strict
    sources: [10.1.0.0/16]
    mode: enforce
    allow:
      - "@npm"
      - "@internal"
      - api.github.com
      - "*.githubusercontent.com"
      - db.corp.example:5432
      - 169.254.169.254
    deny:
      - gist.githubusercontent.com
      - blocked.githubusercontent.com:22
      - 10.40.9.0/24
  - name: watch
    sources: [10.2.0.0/16]
    mode: audit
    allow: [api.github.com]
  - name: tokened
    token: a-token-for-tests-only
    mode: enforce
    allow: ["*"]
  - name: fallback
    anonymous: true
    allow: ["*"]
`,
  'test.yaml',
  {},
);

const policy = (name: string): PoolPolicy => {
  const pool = config.pools.find((p) => p.name === name);
  if (!pool) throw new Error(name);
  return compilePool(pool, config.groups);
};
const strict = policy('strict');
const watch = policy('watch');
const localNames: HostMatch[] = ['chokepoint.ci.svc.cluster.local'].map((t) => {
  const e = parseEntry(t);
  if (e.kind !== 'host') throw new Error(t);
  return e.match;
});

const a = (name: string, address: string): RecordView => ({ type: address.includes(':') ? 'AAAA' : 'A', name, data: address });
const cname = (name: string, target: string): RecordView => ({ type: 'CNAME', name, data: target });

describe('which pool owns a query', () => {
  const identifier = createIdentifier(config);
  test('a client is in the pool whose sources hold its address', () => {
    expect(identifier.identifySource('10.1.2.3')?.name).toBe('strict');
    expect(identifier.identifySource('::ffff:10.2.0.9')?.name).toBe('watch');
  });
  test('no credentials and no anonymous pool: a client outside every sources list is in no pool, and is REFUSED', () => {
    expect(identifier.identifySource('192.0.2.1')).toBeUndefined();
    expect(identifier.identifySource(undefined)).toBeUndefined();
    // The HTTP side still has its anonymous pool for the same client.
    expect(identifier.identify(undefined, '192.0.2.1')?.name).toBe('fallback');
    const d = decideQuery(undefined, 'api.github.com');
    expect(d).toMatchObject({ decision: 'refused', reason: 'no-pool', forward: false });
    expect(NO_POOL_RCODE).toBe('REFUSED');
  });
});

describe('the name', () => {
  test.each([
    ['api.github.com', 'api.github.com'],
    ['registry.npmjs.org', '@npm'],
    ['raw.githubusercontent.com', '*.githubusercontent.com'],
    ['artifacts.corp.example', '@internal'],
    // A host entry with a port still needs its name resolved.
    ['db.corp.example', 'db.corp.example:5432'],
    // A deny entry with a port denies that port only: the name resolves.
    ['blocked.githubusercontent.com', '*.githubusercontent.com'],
  ])('%s is allowed in the enforce pool by %s and forwarded', (name, entry) => {
    expect(decideQuery(strict, name)).toMatchObject({ decision: 'allow', destination: entry, forward: true, unfiltered: false });
  });

  test('an unlisted name is denied in enforce mode, never forwarded, answered NXDOMAIN', () => {
    expect(decideQuery(strict, 'exfil.attacker.example')).toMatchObject({ decision: 'deny', reason: 'not-allowlisted', destination: 'unlisted', forward: false });
    expect(DENIED_RCODE).toBe('NXDOMAIN');
  });

  test('a deny entry wins over a wildcard allow', () => {
    expect(decideQuery(strict, 'gist.githubusercontent.com')).toMatchObject({ decision: 'deny', reason: 'denylisted', forward: false });
  });

  test('in audit mode an unlisted name is forwarded and recorded as audit', () => {
    expect(decideQuery(watch, 'exfil.attacker.example')).toMatchObject({ decision: 'audit', reason: 'not-allowlisted', forward: true });
    expect(decideQuery(watch, 'api.github.com')).toMatchObject({ decision: 'allow', forward: true });
  });

  test('localhost is answered by the listener, dns.localNames are forwarded for every pool unfiltered', () => {
    expect(decideQuery(strict, 'localhost')).toMatchObject({ decision: 'allow', local: true, forward: false });
    expect(decideQuery(strict, 'app.localhost')).toMatchObject({ local: true });
    expect(decideQuery(strict, 'chokepoint.ci.svc.cluster.local', localNames)).toMatchObject({ decision: 'allow', forward: true, unfiltered: true, destination: 'dns.localNames' });
    expect(decideQuery(strict, 'other.ci.svc.cluster.local', localNames)).toMatchObject({ decision: 'deny' });
  });

  test('names are compared in lower case without the trailing dot', () => {
    expect(normalizeQname('API.GitHub.com.')).toBe('api.github.com');
    expect(decideQuery(strict, normalizeQname('API.GitHub.com.')).decision).toBe('allow');
  });

  test('qtype labels are a closed set', () => {
    expect(['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'HTTPS', 'NULL', 'PTR', 'UNKNOWN_65', 'other'].map(qtypeLabel)).toEqual([
      'A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'HTTPS', 'other', 'other', 'other', 'other',
    ]);
  });
});

describe('the answer', () => {
  const allowed = decideQuery(strict, 'api.github.com');

  test('public addresses pass untouched', () => {
    const r = filterAnswer(strict, allowed, [a('api.github.com', '140.82.112.6'), a('api.github.com', '2606:50c0:8000::154')]);
    expect(r).toMatchObject({ stripped: 0, nxdomain: false, decision: 'allow' });
    expect(r.answers).toHaveLength(2);
  });

  test.each([
    ['metadata', '169.254.170.2'],
    ['Azure wireserver', '168.63.129.16'],
    ['loopback', '127.0.0.1'],
    ['RFC 1918', '10.0.0.5'],
    ['IPv6 loopback', '::1'],
    ['IPv4-mapped metadata', '::ffff:169.254.170.2'],
    ['IPv4-mapped, hex form', '::ffff:a9fe:aa02'],
    ['link-local v6', 'fe80::1'],
    ['ULA', 'fd00:ec2::254'],
    ['CGNAT', '100.64.0.1'],
  ])('a %s address (%s) is stripped; the emptied answer is NXDOMAIN', (_what, address) => {
    const r = filterAnswer(strict, allowed, [a('api.github.com', address)]);
    expect(r).toMatchObject({ answers: [], stripped: 1, nxdomain: true, decision: 'deny', reason: 'private-address' });
  });

  test('only the special addresses go when public ones remain', () => {
    const r = filterAnswer(strict, allowed, [a('api.github.com', '10.0.0.5'), a('api.github.com', '140.82.112.6')]);
    expect(r).toMatchObject({ stripped: 1, nxdomain: false, decision: 'allow' });
    expect(r.answers.map((x) => x.data)).toEqual(['140.82.112.6']);
  });

  test('an address the pool allows by an IP entry stays (169.254.169.254 by its /32, 10.40/16 by its CIDR with a port)', () => {
    expect(filterAnswer(strict, allowed, [a('api.github.com', '169.254.169.254')])).toMatchObject({ stripped: 0, nxdomain: false });
    expect(filterAnswer(strict, decideQuery(strict, 'artifacts.corp.example'), [a('artifacts.corp.example', '10.40.1.2')])).toMatchObject({ stripped: 0 });
    // ...but not an address under a deny CIDR inside it.
    expect(filterAnswer(strict, allowed, [a('api.github.com', '10.40.9.9')])).toMatchObject({ nxdomain: true, reason: 'denylisted' });
  });

  test('an audit pool keeps a special address and records the query as audit', () => {
    const r = filterAnswer(watch, decideQuery(watch, 'api.github.com'), [a('api.github.com', '169.254.169.254')]);
    expect(r).toMatchObject({ stripped: 0, nxdomain: false, decision: 'audit', reason: 'private-address' });
    expect(r.answers).toHaveLength(1);
  });

  test('a CNAME chain must stay in the allowlist in enforce mode', () => {
    const inside = filterAnswer(strict, decideQuery(strict, 'registry.npmjs.org'), [cname('registry.npmjs.org', 'raw.githubusercontent.com'), a('raw.githubusercontent.com', '185.199.108.133')]);
    expect(inside).toMatchObject({ nxdomain: false, decision: 'allow' });
    const outside = filterAnswer(strict, allowed, [cname('api.github.com', 'lb.attacker.example.'), a('lb.attacker.example', '198.51.100.7')]);
    expect(outside).toMatchObject({ answers: [], nxdomain: true, decision: 'deny', reason: 'cname-not-allowlisted' });
    const audited = filterAnswer(watch, decideQuery(watch, 'api.github.com'), [cname('api.github.com', 'lb.attacker.example'), a('lb.attacker.example', '198.51.100.7')]);
    expect(audited).toMatchObject({ nxdomain: false, decision: 'audit', reason: 'cname-not-allowlisted' });
    expect(audited.answers).toHaveLength(2);
  });

  test('an answer without addresses (TXT, NODATA) is not made NXDOMAIN', () => {
    expect(filterAnswer(strict, allowed, [{ type: 'TXT', name: 'api.github.com', data: [Buffer.from('v=spf1')] }])).toMatchObject({ nxdomain: false, stripped: 0 });
    expect(filterAnswer(strict, allowed, [])).toMatchObject({ nxdomain: false, stripped: 0, answers: [] });
  });

  test('HTTPS records whose address hints are special are stripped', () => {
    // priority 1, target ".", alpn=h2 (key 1), ipv4hint 169.254.169.254 (key 4), ipv6hint ::1 (key 6)
    const rdata = Buffer.from([0, 1, 0, 0, 1, 0, 3, 2, 0x68, 0x32, 0, 4, 0, 4, 169, 254, 169, 254, 0, 6, 0, 16, ...Array(15).fill(0), 1]);
    expect(svcbHints(rdata)).toEqual(['169.254.169.254', '0:0:0:0:0:0:0:1']);
    const r = filterAnswer(strict, allowed, [{ type: 'UNKNOWN_65', name: 'api.github.com', data: rdata }, a('api.github.com', '140.82.112.6')]);
    expect(r).toMatchObject({ stripped: 1, nxdomain: false });
    expect(r.answers.map((x) => x.type)).toEqual(['A']);
  });

  test('localNames answers are not filtered', () => {
    const d = decideQuery(strict, 'chokepoint.ci.svc.cluster.local', localNames);
    expect(filterAnswer(strict, d, [a('chokepoint.ci.svc.cluster.local', '10.96.0.12')])).toMatchObject({ stripped: 0, nxdomain: false, decision: 'allow' });
  });
});

describe('question names refused unread', () => {
  const question = (labels: Array<string | Buffer>): Buffer =>
    Buffer.concat([Buffer.alloc(12), ...labels.map((l) => (typeof l === 'string' ? Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]) : l)), Buffer.from([0, 0, 1, 0, 1])]);

  test('an ordinary name passes, with where it ends', () => {
    const q = question(['_https', '_tcp', 'api', 'github', 'com']);
    expect(checkQuestionName(q)).toEqual({ end: q.length - 4 });
  });
  test('a label over 63 bytes, a name over 255, a pointer, a dot or NUL inside a label, a truncated name', () => {
    expect(checkQuestionName(question(['a'.repeat(63), 'com']))).toHaveProperty('end');
    expect(checkQuestionName(Buffer.concat([Buffer.alloc(12), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])]))).toEqual({ problem: 'label-too-long' });
    expect(checkQuestionName(question(Array(5).fill('b'.repeat(60))))).toEqual({ problem: 'name-too-long' });
    expect(checkQuestionName(Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 12])]))).toEqual({ problem: 'pointer' });
    expect(checkQuestionName(question(['github.com', 'evil']))).toEqual({ problem: 'bad-label' });
    expect(checkQuestionName(question([Buffer.from([3, 0x61, 0, 0x62])]))).toEqual({ problem: 'bad-label' });
    expect(checkQuestionName(Buffer.concat([Buffer.alloc(12), Buffer.from([5, 0x61])]))).toEqual({ problem: 'truncated' });
  });
});

describe('the per-source rate limit', () => {
  test('a burst is served, then the sustained rate; another source is not affected', () => {
    const limiter = new RateLimiter(10, 20);
    let t = 1_000;
    let served = 0;
    for (let i = 0; i < 50; i++) if (limiter.take('10.1.0.1', t)) served++;
    expect(served).toBe(20);
    expect(limiter.take('10.1.0.2', t)).toBe(true);
    t += 500; // half a second: 5 more tokens
    served = 0;
    for (let i = 0; i < 50; i++) if (limiter.take('10.1.0.1', t)) served++;
    expect(served).toBe(5);
  });
  test('0 queries per second turns it off; the number of sources kept is bounded', () => {
    const off = new RateLimiter(0, 0);
    for (let i = 0; i < 1000; i++) expect(off.take('x', 0)).toBe(true);
    const small = new RateLimiter(1, 1, 2);
    expect(small.take('a', 0)).toBe(true);
    expect(small.take('b', 0)).toBe(true);
    expect(small.take('c', 0)).toBe(true); // a is forgotten
    expect(small.take('a', 0)).toBe(true); // fresh bucket again
    expect(small.take('c', 0)).toBe(false);
  });
});
