// The DNS listener's name-reading hook (issue #16): an injected reader (detectors/dns-names.ts
// when wired) sees every query with its pool and whether the name is listed; what it finds
// is logged with source dns, and a finding the pool blocks stops an allowed name.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../config/full.js';
import type { Finding } from '../detectors/index.js';
import { Engine } from '../detectors/engine.js';
import { dnsNotes } from '../proxy/decide/dns.js';
import { EventBus, type ProxyEvent } from '../proxy/events/events.js';
import { DnsListener, type NameReader } from '../proxy/wire/dns-listener.js';
import { startUpstream, udpQuery, type Upstream } from './helpers/dns.js';

let upstream: Upstream;
let listener: DnsListener;
const events: ProxyEvent[] = [];
const seen: Array<Parameters<NameReader>[0]> = [];

const tunnelFinding = (qname: string): Finding => ({
  ruleId: 'dns-tunnel',
  title: 'DNS tunnelling suspected',
  severity: 'high',
  offset: 0,
  length: qname.length,
  line: 1,
  column: 1,
  redacted: 'aaaa…(40)',
  fingerprint: '0123456789abcdef',
  destinations: [],
});

beforeAll(async () => {
  upstream = await startUpstream({ 'ok.allowed.test': [{ type: 'A', name: 'ok.allowed.test', ttl: 60, data: '104.16.9.9' }] });
  const config = parseConfig(
    `dns:\n  listen: 127.0.0.1:0\n  servers: [127.0.0.1:${upstream.port}]\npools:\n  - name: ci\n    sources: [127.0.0.1/32]\n    mode: enforce\n    allow: ["*.allowed.test"]\n    secrets: { action: block }\n`,
    'test.yaml',
    {},
  );
  const bus = new EventBus();
  bus.subscribe((e) => events.push(e));
  const readName: NameReader = (q) => {
    seen.push(q);
    return q.qname.startsWith('tunnel') ? [tunnelFinding(q.qname)] : [];
  };
  listener = new DnsListener({ config, engine: new Engine({ rules: [], fingerprintKey: Buffer.alloc(32, 7) }), bus, readName });
  await listener.listen();
});

afterAll(async () => {
  await listener?.close();
  await upstream?.close();
});

test('the reader sees each query; a blocking finding turns an allowed name into NXDOMAIN, unforwarded', async () => {
  const port = listener.address()?.port as number;
  expect((await udpQuery(port, 'ok.allowed.test')).rcode).toBe('NOERROR');
  expect((await udpQuery(port, 'tunnelaaaabbbbccccdddd.allowed.test', { type: 'TXT' })).rcode).toBe('NXDOMAIN');
  expect(seen.map((q) => [q.pool, q.qname, q.qtype, q.listed])).toEqual([
    ['ci', 'ok.allowed.test', 'A', true],
    ['ci', 'tunnelaaaabbbbccccdddd.allowed.test', 'TXT', true],
  ]);
  expect(upstream.queries).toEqual(['ok.allowed.test A']);
  const finding = events.find((e) => e.type === 'finding');
  expect(finding).toMatchObject({ source: 'dns', kind: 'dns', rule: 'dns-tunnel', verdict: 'exfiltration', action: 'block', host: '[redacted 22].allowed.test' });
  const line = events.find((e) => e.type === 'dns' && e.findings === 1);
  expect(line).toMatchObject({ decision: 'deny', reason: 'secret-exfiltration', rcode: 'NXDOMAIN' });
});

test('check-config and the start-up log name pools without sources when dns.listen is set', () => {
  const withDns = parseConfig('dns:\n  listen: 127.0.0.1:5353\npools:\n  - name: tokened\n    token: test-only-token\n  - name: ci\n    sources: [10.0.0.0/8]\n', 't.yaml', {});
  expect(dnsNotes(withDns)).toHaveLength(1);
  expect(dnsNotes(withDns)[0]).toMatch(/^pool tokened has no sources: .*REFUSED/);
  const without = parseConfig('pools:\n  - name: tokened\n    token: test-only-token\n', 't.yaml', {});
  expect(dnsNotes(without)).toEqual([]);
});
