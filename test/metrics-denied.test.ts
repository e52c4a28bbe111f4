// chokepoint_denied_destinations_total (issue #18): the dashboard's "Top denied
// destinations" names hosts, not the `unlisted` bucket, with a bounded label set: the first
// 100 hosts each pool is denied, then host="other"; decision deny only (not 407
// auth-required challenges, not audit); forgotten on reload. The sink fed events directly,
// read back from the registry's exposition as Prometheus would scrape it.
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../config/full.js';
import type { EgressEvent } from '../proxy/events/events.js';
import { createMetrics, DENIED_HOSTS_PER_POOL, METRICS } from '../proxy/events/metrics.js';

const config = parseConfig(
  'pools:\n  - name: ci\n    sources: [10.0.0.0/8]\n    mode: enforce\n  - name: lab\n    sources: [192.168.0.0/16]\n    mode: enforce\n',
  'test.yaml',
  {},
);

function egress(extra: Partial<EgressEvent>): EgressEvent {
  return {
    type: 'egress',
    start: Date.now(),
    pool: 'ci',
    client: '10.0.0.9',
    kind: 'connect',
    method: 'CONNECT',
    host: 'example.test',
    port: 443,
    decision: 'deny',
    reason: 'not-allowlisted',
    destination: 'unlisted',
    status: 403,
    bytesUp: 0,
    bytesDown: 0,
    durationMs: 1,
    findings: 0,
    ...extra,
  };
}

/** pool → host → value of chokepoint_denied_destinations_total. */
async function denied(metrics: ReturnType<typeof createMetrics>): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const line of (await metrics.registry.metrics()).split('\n')) {
    const m = /^chokepoint_denied_destinations_total\{pool="([^"]*)",host="([^"]*)"\} (\S+)$/.exec(line);
    if (!m?.[1] || m[2] === undefined || !m[3]) continue;
    const hosts = out.get(m[1]) ?? new Map<string, number>();
    hosts.set(m[2], Number(m[3]));
    out.set(m[1], hosts);
  }
  return out;
}

function setup(): ReturnType<typeof createMetrics> {
  const metrics = createMetrics({ activeTunnels: () => 0, defaultMetrics: false });
  metrics.initPools(config);
  return metrics;
}

describe('chokepoint_denied_destinations_total', () => {
  test('is declared in the METRICS table as a counter by pool and host', () => {
    expect(METRICS.deniedDestinations).toMatchObject({ type: 'counter', name: 'chokepoint_denied_destinations_total', labelNames: ['pool', 'host'] });
    expect(DENIED_HOSTS_PER_POOL).toBe(100);
  });

  test('counts denied hosts by name; allow, audit and auth-required are not counted', async () => {
    const metrics = setup();
    // Before any traffic each pool has its `other` series at 0 (increase() sees the first one).
    expect(await denied(metrics)).toEqual(
      new Map([
        ['ci', new Map([['other', 0]])],
        ['lab', new Map([['other', 0]])],
      ]),
    );
    metrics.sink(egress({ host: 'pastebin.example' }));
    metrics.sink(egress({ host: 'PasteBin.Example.' })); // the same host, as a label
    metrics.sink(egress({ host: 'evil.test', kind: 'http', method: 'POST', reason: 'secret-exfiltration' }));
    metrics.sink(egress({ host: 'allowed.test', decision: 'allow', reason: undefined, status: 200 }));
    metrics.sink(egress({ host: 'audited.test', decision: 'audit' }));
    metrics.sink(egress({ host: 'github.com', decision: 'auth-required', reason: 'unauthenticated', status: 407 }));
    metrics.sink(egress({ pool: 'lab', host: '10.1.2.3' }));
    const d = await denied(metrics);
    expect(d.get('ci')).toEqual(
      new Map([
        ['other', 0],
        ['pastebin.example', 2],
        ['evil.test', 1],
      ]),
    );
    expect(d.get('lab')).toEqual(
      new Map([
        ['other', 0],
        ['10.1.2.3', 1],
      ]),
    );
  });

  test('bounded: the first 100 hosts of each pool are named, every later one is `other`', async () => {
    const metrics = setup();
    for (let i = 0; i < 250; i++) metrics.sink(egress({ host: `h${i}.scan.test` }));
    // Hosts already named keep their own series past the bound.
    metrics.sink(egress({ host: 'h0.scan.test' }));
    metrics.sink(egress({ host: 'h249.scan.test' }));
    metrics.sink(egress({ pool: 'lab', host: 'h200.scan.test' })); // another pool has its own 100
    const d = await denied(metrics);
    const ci = d.get('ci') ?? new Map<string, number>();
    expect(ci.size).toBe(101);
    expect(ci.get('h0.scan.test')).toBe(2);
    expect(ci.get('h99.scan.test')).toBe(1);
    expect(ci.has('h100.scan.test')).toBe(false);
    expect(ci.get('other')).toBe(151);
    expect(d.get('lab')?.get('h200.scan.test')).toBe(1);
    // A host that is no name, or longer than a DNS name can be, is `other` too.
    metrics.sink(egress({ pool: 'lab', host: '' }));
    metrics.sink(egress({ pool: 'lab', host: `${'a'.repeat(300)}.test` }));
    expect((await denied(metrics)).get('lab')?.get('other')).toBe(2);
  });

  test('a reload (initPools) forgets the hosts: the bound holds per config, not only until the first 100', async () => {
    const metrics = setup();
    for (let i = 0; i < 120; i++) metrics.sink(egress({ host: `old${i}.test` }));
    metrics.initPools(config);
    expect((await denied(metrics)).get('ci')).toEqual(new Map([['other', 0]]));
    metrics.sink(egress({ host: 'new.test' }));
    expect((await denied(metrics)).get('ci')?.get('new.test')).toBe(1);
  });
});
