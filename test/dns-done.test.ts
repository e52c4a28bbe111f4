// Issue #16's remaining "done when" checks that no other test held: the listener binds only
// where configured, the runner pod example's resolver is Chokepoint's Service (the address
// pinned in service.yaml, port 53 to the DNS listener), the dashboard's DNS row, the
// cached-path memo of parsed queries never mixes up two queries, and a reload's new
// policy applies to a name already asked (the decision kept per query is per config).
import { readFileSync } from 'node:fs';
import dnsPacket, { type Answer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { allPanels, metricNames, type Dashboard } from '../dashboards/promql.js';
import { parseConfig } from '../config/full.js';
import { startUpstream, udpQuery, type Upstream } from './helpers/dns.js';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';

const read = (path: string): string => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('the DNS listener binds only where configured', () => {
  test('without dns.listen there is no DNS listener at all', async () => {
    const proxy = await startTestProxy(`pools:\n  - name: ci\n    sources: [127.0.0.1/32]\n    allow: [example.com]\n`);
    try {
      expect(proxy.app.dns).toBeUndefined();
      expect(proxy.app.dnsAddress).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  test('with dns.listen it listens on that address, UDP and TCP on one port', async () => {
    const proxy = await startTestProxy(`dns:\n  listen: 127.0.0.1:0\n  servers: [127.0.0.1:9]\npools:\n  - name: ci\n    sources: [127.0.0.1/32]\n    allow: [example.com]\n`);
    try {
      expect(proxy.app.dnsAddress?.address).toBe('127.0.0.1');
      expect(proxy.app.dnsAddress?.port).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });
});

describe("the runner pod's resolver is Chokepoint (deploy/kubernetes)", () => {
  const pod = parseAllDocuments(read('deploy/kubernetes/examples/runner-pod-dns.yaml'))[0]?.toJS() as {
    spec: { dnsPolicy: string; dnsConfig: { nameservers: string[] } };
  };
  const serviceText = read('deploy/kubernetes/service.yaml');
  const service = parseAllDocuments(serviceText)[0]?.toJS() as { spec: { ports: Array<{ name: string; port: number; targetPort: string; protocol: string }> } };

  test('dnsPolicy None: kube-dns is not its resolver; its one nameserver is the cluster IP service.yaml pins', () => {
    expect(pod.spec.dnsPolicy).toBe('None');
    expect(pod.spec.dnsConfig.nameservers).toHaveLength(1);
    const pinned = /#\s*clusterIP:\s*(\S+)/.exec(serviceText)?.[1];
    expect(pod.spec.dnsConfig.nameservers[0]).toBe(pinned);
  });

  test("the Service's port 53 goes to the DNS listener over UDP and TCP", () => {
    const dns = service.spec.ports.filter((p) => p.port === 53);
    expect(dns.map((p) => `${p.protocol}->${p.targetPort}`).sort()).toEqual(['TCP->dns-tcp', 'UDP->dns']);
  });
});

describe("the dashboard's DNS row", () => {
  const dashboard = JSON.parse(read('dashboards/chokepoint.dashboard.json')) as Dashboard;
  const panels = allPanels(dashboard);
  const exprOf = (title: string): string => (panels.find((p) => p.title === title)?.targets ?? []).map((t) => t.expr ?? '').join('\n');

  test('a DNS row with queries by pool, decision and qtype, upstream latency, rate limiting and DNS findings', () => {
    expect(panels.some((p) => p.title === 'DNS' && p.type === 'row')).toBe(true);
    expect(metricNames(exprOf('DNS queries by pool, decision and qtype'))).toEqual(['chokepoint_dns_queries_total']);
    expect(exprOf('DNS queries by pool, decision and qtype')).toMatch(/by \(pool, decision, qtype\)/);
    expect(metricNames(exprOf('DNS upstream latency'))).toContain('chokepoint_dns_upstream_duration_seconds_bucket');
    expect(exprOf('DNS upstream latency')).toContain('histogram_quantile(0.99');
    expect(metricNames(exprOf('DNS queries rate-limited'))).toEqual(['chokepoint_dns_rate_limited_total']);
    expect(exprOf('DNS findings by rule')).toContain('source="dns"');
  });
});

describe('answers from the cached path', () => {
  const zone: Record<string, Answer[]> = {
    'a.allowed.test': [{ type: 'A', name: 'a.allowed.test', ttl: 300, data: '104.16.3.1' }],
    'b.allowed.test': [{ type: 'A', name: 'b.allowed.test', ttl: 300, data: '104.16.3.2' }],
    '_svc._tcp.allowed.test': [{ type: 'SRV', name: '_svc._tcp.allowed.test', ttl: 300, data: { priority: 0, weight: 5, port: 8443, target: 'a.allowed.test' } }],
  };
  let upstream: Upstream;
  let proxy: TestProxy;
  let port: number;
  const config = (allow: string): string => `
dns:
  listen: 127.0.0.1:0
  servers: [127.0.0.1:${upstream.port}]
  rateLimit: { perSecond: 0 }
pools:
  - name: ci
    sources: [127.0.0.1/32]
    mode: enforce
    allow: [${allow}]
`;
  beforeAll(async () => {
    upstream = await startUpstream(zone);
    proxy = await startTestProxy(config('"*.allowed.test"'));
    port = proxy.app.dnsAddress?.port ?? 0;
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  test('each answer carries its own query ID and question, however often the same names are asked, interleaved', async () => {
    for (let round = 0; round < 5; round++) {
      for (const name of ['a.allowed.test', 'b.allowed.test', 'A.Allowed.Test']) {
        const r = await udpQuery(port, name);
        expect(r.rcode).toBe('NOERROR');
        expect(r.questions?.[0]?.name).toBe(name); // the question as sent, letter case included
        const want = name.toLowerCase() === 'a.allowed.test' ? '104.16.3.1' : '104.16.3.2';
        expect(r.answers?.map((a) => (a.type === 'A' ? a.data : ''))).toEqual([want]);
      }
    }
    // The same bytes after a different ID: the answer has the new ID.
    const ids = [7, 4242, 65535];
    for (const id of ids) {
      const out = await proxy.app.dns?.answer(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'a.allowed.test' }] }), '127.0.0.1', 'udp');
      expect(out && dnsPacket.decode(out).id).toBe(id);
    }
  });

  test('allowed queries of any type are forwarded as they came: SRV answered, an unnamed type (TYPE65534) asked as such; qtype logged as the wire names it, bounded in the metric', async () => {
    const srv = await udpQuery(port, '_svc._tcp.allowed.test', { type: 'SRV' });
    expect(srv.rcode).toBe('NOERROR');
    expect(srv.answers).toMatchObject([{ type: 'SRV', data: { port: 8443, target: 'a.allowed.test' } }]);
    const odd = await udpQuery(port, 'a.allowed.test', { type: 'UNKNOWN_65534' });
    expect(odd.rcode).toBe('NOERROR');
    expect(odd.answers).toEqual([]);
    expect(upstream.queries).toEqual(expect.arrayContaining(['_svc._tcp.allowed.test SRV', 'a.allowed.test UNKNOWN_65534']));
    await proxy.waitForLine((l) => l.kind === 'dns' && l.qtype === 'SRV' && l.host === '_svc._tcp.allowed.test');
    await proxy.waitForLine((l) => l.kind === 'dns' && l.qtype === 'TYPE65534' && l.decision === 'allow');
    const text = await proxy.app.metrics.registry.metrics();
    expect(text).toMatch(/chokepoint_dns_queries_total\{pool="ci",decision="allow",qtype="SRV"\} 1/);
    expect(text).toMatch(/chokepoint_dns_queries_total\{pool="ci",decision="allow",qtype="other"\} 1/);
  });

  test('a query of unusual size (an EDNS option of 1,000 bytes) is answered like any other, again and again', async () => {
    for (let i = 0; i < 3; i++) {
      const msg = dnsPacket.encode({
        type: 'query',
        id: 100 + i,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'A', name: 'b.allowed.test' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [{ code: 65001, data: Buffer.alloc(1000, i) }] } as unknown as Answer],
      });
      const out = await proxy.app.dns?.answer(msg, '127.0.0.1', 'udp');
      const r = out && dnsPacket.decode(out);
      expect(r && r.id).toBe(100 + i);
      expect(r && r.answers?.map((a) => (a.type === 'A' ? a.data : ''))).toEqual(['104.16.3.2']);
    }
  });

  test('a reload that takes a name off the allowlist denies it at once, although it was asked (and answered) before', async () => {
    expect((await udpQuery(port, 'b.allowed.test')).rcode).toBe('NOERROR');
    const next = parseConfig(config('a.allowed.test'), 'test');
    proxy.app.dns?.reload(next);
    expect((await udpQuery(port, 'b.allowed.test')).rcode).toBe('NXDOMAIN');
    expect((await udpQuery(port, 'a.allowed.test')).rcode).toBe('NOERROR');
  });
});
