// The exporter: a real proxy, real requests (allowed, denied, an exfiltration found in a
// plain HTTP query string), a real scrape of /metrics from the admin port, checked by
// promtool and read back for the values operators rely on. Plus the sink itself, fed
// events directly, and the gate's and forwarder's timings.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../config/full.js';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';
import { curl, basicAuth, scrapeMetrics } from './helpers/clients.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';
import { requireTool } from './helpers/tools.js';
import { createMetrics } from '../proxy/events/metrics.js';
import type { EgressEvent } from '../proxy/events/events.js';
import { admit } from '../proxy/decide/gate.js';
import { compileRuntime } from '../proxy/decide/runtime.js';
import { Forwarder } from '../proxy/wire/forward.js';

/**
 * prom-client's own default metrics (collectDefaultMetrics): the only names promtool may
 * complain about. Its gauges `nodejs_active_*_total` carry a counter's suffix, for one.
 */
const PROM_CLIENT_DEFAULTS = new Set([
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_cpu_seconds_total',
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_heap_bytes',
  'process_open_fds',
  'process_max_fds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_heap_space_size_total_bytes',
  'nodejs_heap_space_size_used_bytes',
  'nodejs_heap_space_size_available_bytes',
  'nodejs_version_info',
  'nodejs_gc_duration_seconds',
]);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format, sample lines only (no regexes: a small scanner). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const labels: Record<string, string> = {};
    let name: string;
    if (brace >= 0 && brace < space) {
      name = line.slice(0, brace);
      let i = brace + 1;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        const key = line.slice(i, eq);
        i = eq + 2; // past ="
        let value = '';
        while (line[i] !== '"') {
          if (line[i] === '\\') {
            const next = line[i + 1];
            value += next === 'n' ? '\n' : (next ?? '');
            i += 2;
          } else {
            value += line[i];
            i += 1;
          }
        }
        labels[key] = value;
        i += 1; // closing quote
        if (line[i] === ',') i += 1;
      }
    } else {
      name = line.slice(0, space);
    }
    out.push({ name, labels, value: Number(line.slice(space + 1)) });
  }
  return out;
}

function find(samples: Sample[], name: string, labels: Record<string, string>): Sample | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return find(samples, name, labels)?.value;
}

/** `promtool check metrics` on a scrape: the metric names of the problems it reports. */
function promtool(text: string): Promise<{ code: number; output: string; names: string[] }> {
  return new Promise((resolve) => {
    const child = execFile(requireTool('promtool'), ['check', 'metrics'], { encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      const output = `${stdout}${stderr}`;
      const names = output
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
        // `name problem` (or `name: problem`): the metric name is the first word.
        .map((l) => l.split(' ', 1)[0] ?? '')
        .map((w) => (w.endsWith(':') ? w.slice(0, -1) : w));
      resolve({ code, output, names });
    });
    child.stdin?.end(text);
  });
}

const oneAuditPool = (): ReturnType<typeof parseConfig> =>
  parseConfig('stateDir: /nonexistent\npools:\n  - name: ci\n    anonymous: true\n    mode: audit\n', 'test.yaml', {});

const rng = createRng(606);
const githubToken = (): string => {
  const make = generators['github-pat-classic'];
  if (!make) throw new Error('no generator for github-pat-classic');
  return make(rng);
};

const CI = basicAuth('ci', 'ci-token-0123456789abcdef');

describe('metrics on a real scrape', () => {
  let origin: Origin;
  let proxy: TestProxy;
  let before: string;
  let after: string;
  let token: string;

  beforeAll(async () => {
    origin = await startHttpOrigin();
    proxy = await startTestProxy(
      `
pools:
  - name: ci
    token: ci-token-0123456789abcdef
    mode: enforce
    # The origin listens on loopback, a special address: only an IP entry admits it.
    allow: ["*.example.test:${origin.port}", "127.0.0.1/32:${origin.port}"]
    secrets:
      action: block
  - name: quiet
    token: quiet-token-0123456789abcdef
    mode: audit
    allow: ["*.example.test:${origin.port}"]
`,
      // paste.elsewhere.test does not resolve: refused by name (not-allowlisted) all the same.
      { resolve: fakeResolver({ 'api.example.test': ['127.0.0.1'] }) },
    );
    before = await scrapeMetrics(proxy.adminPort);

    const via = ['-x', proxy.url, '-H', `Proxy-Authorization: ${CI}`];
    const allowed = await curl([...via, `http://api.example.test:${origin.port}/ok`]);
    expect(allowed.status, allowed.body).toBe(200);
    const denied = await curl([...via, `http://paste.elsewhere.test:${origin.port}/`]);
    expect(denied.status).toBe(403);
    expect(denied.headers['x-chokepoint-reason']).toBe('not-allowlisted');
    token = githubToken();
    const exfil = await curl([...via, `http://api.example.test:${origin.port}/upload?token=${token}`]);
    expect(exfil.status).toBe(403);
    expect(exfil.headers['x-chokepoint-reason']).toBe('secret-exfiltration');
    await proxy.waitForEgress(3);
    after = await scrapeMetrics(proxy.adminPort);
  });

  afterAll(async () => {
    await proxy?.close();
    await origin?.close();
  });

  test('promtool check metrics finds nothing to fix except in prom-client default metrics', async () => {
    const result = await promtool(after);
    const ours = result.names.filter((n) => !PROM_CLIENT_DEFAULTS.has(n));
    expect(ours, result.output).toEqual([]);
    // What promtool does say is about prom-client's gauges named like counters.
    for (const name of result.names) expect(name.startsWith('chokepoint_')).toBe(false);
    // Sanity: promtool did read our metrics (a broken exposition is reported with a parse error, not a name).
    expect(after).toContain('# TYPE chokepoint_requests_total counter');
  });

  test('promtool finds nothing in our own metrics when the defaults are off', async () => {
    const metrics = createMetrics({ activeTunnels: () => 0, defaultMetrics: false, caNotAfter: () => new Date('2030-01-01T00:00:00Z'), logStreamsActive: () => 2 });
    metrics.initPools(oneAuditPool());
    metrics.sink(egressEvent({ connectMs: 3, dnsMs: 1, scanned: { url: 10, header: 20, body: 30 }, scanSkipped: ['oversize'] }));
    const result = await promtool(await metrics.registry.metrics());
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  test('the DNS lookup histogram counts the lookups the requests made', () => {
    const s = parseExposition(after);
    // api.example.test was looked up for the allowed request and the blocked upload (the
    // upload is refused by the scan, after the gate resolved it); the quiet pool made none.
    expect(value(s, 'chokepoint_dns_lookup_duration_seconds_count', { pool: 'ci' })).toBeGreaterThanOrEqual(2);
    expect(value(s, 'chokepoint_dns_lookup_duration_seconds_count', { pool: 'quiet' })).toBe(0);
  });

  test('series known ahead start at 0 before the first event', () => {
    const s = parseExposition(before);
    for (const pool of ['ci', 'quiet']) {
      for (const kind of ['http', 'connect', 'intercept', 'websocket']) {
        expect(value(s, 'chokepoint_requests_total', { pool, kind, decision: 'allow', destination: 'unlisted' })).toBe(0);
        expect(value(s, 'chokepoint_requests_total', { pool, kind, decision: 'deny', reason: 'not-allowlisted', destination: 'unlisted' })).toBe(0);
        expect(value(s, 'chokepoint_requests_total', { pool, kind, decision: 'audit', reason: 'not-allowlisted', destination: 'unlisted' })).toBe(0);
        expect(value(s, 'chokepoint_request_duration_seconds_count', { pool, kind })).toBe(0);
        expect(value(s, 'chokepoint_upstream_connect_duration_seconds_count', { pool, kind })).toBe(0);
      }
      expect(value(s, 'chokepoint_canary_triggers_total', { pool })).toBe(0);
      expect(value(s, 'chokepoint_new_destinations_total', { pool })).toBe(0);
      expect(value(s, 'chokepoint_transferred_bytes_total', { pool, direction: 'upstream' })).toBe(0);
      expect(value(s, 'chokepoint_transferred_bytes_total', { pool, direction: 'downstream' })).toBe(0);
      expect(value(s, 'chokepoint_dns_lookup_duration_seconds_count', { pool })).toBe(0);
      expect(value(s, 'chokepoint_tunnels_active', { pool })).toBe(0);
    }
    for (const source of ['url', 'header', 'body', 'log']) expect(value(s, 'chokepoint_scan_bytes_total', { source })).toBe(0);
    for (const reason of ['oversize', 'undecodable-encoding', 'unknown-encoding', 'decoded-too-large', 'depth-limit']) {
      expect(value(s, 'chokepoint_scan_skipped_total', { reason })).toBe(0);
    }
    for (const reason of ['dns-failure', 'dns-timeout', 'upstream-refused', 'upstream-reset', 'upstream-timeout', 'upstream-error', 'upstream-tls-error']) {
      expect(value(s, 'chokepoint_upstream_errors_total', { reason })).toBe(0);
    }
    expect(value(s, 'chokepoint_config_reloads_total', { result: 'success' })).toBe(0);
    expect(value(s, 'chokepoint_config_reloads_total', { result: 'failure' })).toBe(0);
    expect(value(s, 'chokepoint_log_streams_active', {})).toBe(0);
    // Findings carry rule labels, known only when one is found: no series before that.
    expect(find(s, 'chokepoint_secret_findings_total', {})).toBeUndefined();
  });

  test('requests are counted per decision with reason and destination (the matched entry, never the host)', () => {
    const s = parseExposition(after);
    const entry = `*.example.test:${origin.port}`;
    expect(value(s, 'chokepoint_requests_total', { pool: 'ci', kind: 'http', decision: 'allow', reason: '', destination: entry })).toBe(1);
    expect(value(s, 'chokepoint_requests_total', { pool: 'ci', kind: 'http', decision: 'deny', reason: 'not-allowlisted', destination: 'unlisted' })).toBe(1);
    expect(value(s, 'chokepoint_requests_total', { pool: 'ci', kind: 'http', decision: 'deny', reason: 'secret-exfiltration', destination: entry })).toBe(1);
    const total = s.filter((x) => x.name === 'chokepoint_requests_total').reduce((n, x) => n + x.value, 0);
    expect(total).toBe(3);
    expect(value(s, 'chokepoint_new_destinations_total', { pool: 'ci' })).toBe(1);
    expect(value(s, 'chokepoint_new_destinations_total', { pool: 'quiet' })).toBe(0);
  });

  test('the finding is counted with source, rule, verdict and action', () => {
    const s = parseExposition(after);
    const hit = find(s, 'chokepoint_secret_findings_total', { pool: 'ci', source: 'url', rule: 'github-pat-classic' });
    expect(hit?.labels).toMatchObject({ verdict: 'exfiltration', action: 'block' });
    expect(hit?.labels.severity).not.toBe('');
    expect(hit?.value).toBe(1);
    expect(value(s, 'chokepoint_canary_triggers_total', { pool: 'ci' })).toBe(0);
  });

  test('bytes, histograms, build info and reload timestamp', () => {
    const s = parseExposition(after);
    const down = value(s, 'chokepoint_transferred_bytes_total', { pool: 'ci', direction: 'downstream' }) ?? 0;
    // The allowed request's JSON echo came back; refusals are the proxy's own words.
    expect(down).toBeGreaterThan(0);
    expect(value(s, 'chokepoint_request_duration_seconds_count', { pool: 'ci', kind: 'http' })).toBe(3);
    expect(value(s, 'chokepoint_request_duration_seconds_bucket', { pool: 'ci', kind: 'http', le: '+Inf' })).toBe(3);
    for (const name of ['chokepoint_request_duration_seconds', 'chokepoint_upstream_connect_duration_seconds', 'chokepoint_dns_lookup_duration_seconds']) {
      expect(after).toContain(`# TYPE ${name} histogram`);
    }
    expect(value(s, 'chokepoint_build_info', {})).toBe(1);
    expect(find(s, 'chokepoint_build_info', {})?.labels.version).not.toBe('');
    const reloaded = value(s, 'chokepoint_config_last_reload_success_timestamp_seconds', {}) ?? 0;
    expect(reloaded).toBeGreaterThan(1_600_000_000);
    // No pool intercepts: there is no CA, so no expiry series.
    expect(after).not.toContain('chokepoint_ca_certificate_expiry_timestamp_seconds');
  });

  test('no label value is a raw host, an address, a path or the secret', () => {
    // The one metric that names hosts, bounded by count, is test/metrics-denied.test.ts's.
    const all = parseExposition(after).filter((x) => x.name.startsWith('chokepoint_'));
    expect([...new Set(all.filter((x) => 'host' in x.labels).map((x) => x.name))]).toEqual(['chokepoint_denied_destinations_total']);
    const s = all.filter((x) => x.name !== 'chokepoint_denied_destinations_total');
    const values = new Set(s.flatMap((x) => Object.values(x.labels)));
    for (const raw of ['api.example.test', 'paste.elsewhere.test', '127.0.0.1', '/ok', '/upload', `api.example.test:${origin.port}`]) {
      expect(values.has(raw), raw).toBe(false);
    }
    const names = new Set(s.flatMap((x) => Object.keys(x.labels)));
    expect(names.has('client')).toBe(false);
    expect(names.has('host')).toBe(false);
    expect(after).not.toContain(token);
    // The denied host is named by the bounded denied-destinations counter, and nowhere else.
    expect(after.split('\n').filter((l) => l.includes('paste.elsewhere.test'))).toEqual([expect.stringMatching(/^chokepoint_denied_destinations_total\{pool="ci",host="paste\.elsewhere\.test"\} 1$/)]);
  });
});

describe('CA expiry', () => {
  test('exported from the interception CA when a pool intercepts', async () => {
    const proxy = await startTestProxy(`
pools:
  - name: ci
    anonymous: true
    mode: audit
    tls:
      intercept: all
`);
    try {
      const s = parseExposition(await scrapeMetrics(proxy.adminPort));
      const notAfter = proxy.app.issuer?.caNotAfter;
      expect(notAfter).toBeDefined();
      expect(value(s, 'chokepoint_ca_certificate_expiry_timestamp_seconds', {})).toBe(Math.floor((notAfter as Date).getTime() / 1000));
    } finally {
      await proxy.close();
    }
  });
});

function egressEvent(extra: Partial<EgressEvent> = {}): EgressEvent {
  return {
    type: 'egress',
    start: Date.now(),
    pool: 'ci',
    client: '10.0.0.9',
    kind: 'http',
    method: 'GET',
    host: 'example.com',
    port: 80,
    decision: 'allow',
    destination: 'unlisted',
    status: 200,
    bytesUp: 5,
    bytesDown: 7,
    durationMs: 12,
    findings: 0,
    ...extra,
  };
}

describe('the metrics sink', () => {
  const setup = (): ReturnType<typeof createMetrics> => {
    let streams = 0;
    const metrics = createMetrics({ activeTunnels: (pool) => (pool === 'ci' ? 4 : 0), defaultMetrics: false, logStreamsActive: () => ++streams });
    metrics.initPools(oneAuditPool());
    return metrics;
  };

  test('connect and DNS times become histogram observations, in seconds', async () => {
    const metrics = setup();
    metrics.sink(egressEvent({ connectMs: 3, dnsMs: 40 }));
    metrics.sink(egressEvent({ kind: 'connect', connectMs: 2000 }));
    metrics.sink(egressEvent()); // a reused connection, no lookup: no observation
    const s = parseExposition(await metrics.registry.metrics());
    expect(value(s, 'chokepoint_upstream_connect_duration_seconds_count', { pool: 'ci', kind: 'http' })).toBe(1);
    expect(value(s, 'chokepoint_upstream_connect_duration_seconds_sum', { pool: 'ci', kind: 'http' })).toBeCloseTo(0.003, 6);
    expect(value(s, 'chokepoint_upstream_connect_duration_seconds_bucket', { pool: 'ci', kind: 'http', le: '0.0025' })).toBe(0);
    expect(value(s, 'chokepoint_upstream_connect_duration_seconds_bucket', { pool: 'ci', kind: 'http', le: '0.005' })).toBe(1);
    expect(value(s, 'chokepoint_upstream_connect_duration_seconds_bucket', { pool: 'ci', kind: 'connect', le: '1' })).toBe(0);
    expect(value(s, 'chokepoint_upstream_connect_duration_seconds_bucket', { pool: 'ci', kind: 'connect', le: '2.5' })).toBe(1);
    expect(value(s, 'chokepoint_dns_lookup_duration_seconds_count', { pool: 'ci' })).toBe(1);
    expect(value(s, 'chokepoint_dns_lookup_duration_seconds_sum', { pool: 'ci' })).toBeCloseTo(0.04, 6);
  });

  test('scanned bytes by source and skipped scans by reason, from exchanges and from log scan events', async () => {
    const metrics = setup();
    metrics.sink(egressEvent({ scanned: { url: 12, header: 300 } }));
    metrics.sink(egressEvent({ scanned: { url: 8, header: 100, body: 4096 }, scanSkipped: ['unknown-encoding', 'depth-limit'] }));
    metrics.sink(egressEvent({ scanSkipped: ['oversize'] }));
    metrics.sink({ type: 'scan', pool: 'ci', source: 'log', bytes: 777 });
    metrics.sink({ type: 'scan', pool: 'ci', source: 'log', bytes: 0, skipped: 'decoded-too-large' });
    const s = parseExposition(await metrics.registry.metrics());
    expect(value(s, 'chokepoint_scan_bytes_total', { source: 'url' })).toBe(20);
    expect(value(s, 'chokepoint_scan_bytes_total', { source: 'header' })).toBe(400);
    expect(value(s, 'chokepoint_scan_bytes_total', { source: 'body' })).toBe(4096);
    expect(value(s, 'chokepoint_scan_bytes_total', { source: 'log' })).toBe(777);
    expect(value(s, 'chokepoint_scan_skipped_total', { reason: 'oversize' })).toBe(1);
    expect(value(s, 'chokepoint_scan_skipped_total', { reason: 'unknown-encoding' })).toBe(1);
    expect(value(s, 'chokepoint_scan_skipped_total', { reason: 'depth-limit' })).toBe(1);
    expect(value(s, 'chokepoint_scan_skipped_total', { reason: 'decoded-too-large' })).toBe(1);
    expect(value(s, 'chokepoint_scan_skipped_total', { reason: 'undecodable-encoding' })).toBe(0);
    // Scan events are not requests.
    expect(s.filter((x) => x.name === 'chokepoint_requests_total').reduce((n, x) => n + x.value, 0)).toBe(3);
  });

  test('gauges read their callbacks at scrape time; a canary finding counts as a trigger', async () => {
    const metrics = setup();
    metrics.sink({
      type: 'finding',
      pool: 'ci',
      client: '10.0.0.9',
      host: 'paste.example',
      kind: 'http',
      source: 'body',
      rule: 'canary',
      title: 'Canary',
      severity: 'critical',
      verdict: 'exfiltration',
      action: 'block',
      fingerprint: 'f',
      redacted: 'ab…(20)',
      known: 'canary',
    });
    const first = parseExposition(await metrics.registry.metrics());
    const second = parseExposition(await metrics.registry.metrics());
    expect(value(first, 'chokepoint_tunnels_active', { pool: 'ci' })).toBe(4);
    expect(value(first, 'chokepoint_log_streams_active', {})).toBe(1);
    expect(value(second, 'chokepoint_log_streams_active', {})).toBe(2);
    expect(value(first, 'chokepoint_canary_triggers_total', { pool: 'ci' })).toBe(1);
    expect(value(first, 'chokepoint_secret_findings_total', { pool: 'ci', source: 'body', rule: 'canary', verdict: 'exfiltration', action: 'block' })).toBe(1);
  });

  test('gauges say how the primary combines workers: sums for what each holds, not for shared facts', async () => {
    const metrics = createMetrics({ activeTunnels: () => 1, defaultMetrics: false, caNotAfter: () => new Date(0) });
    const json = await metrics.registry.getMetricsAsJSON();
    const aggregator = (name: string): string | undefined => json.find((m) => m.name === name)?.aggregator;
    expect(aggregator('chokepoint_tunnels_active')).toBe('sum');
    expect(aggregator('chokepoint_log_streams_active')).toBe('sum');
    expect(aggregator('chokepoint_build_info')).toBe('max');
    expect(aggregator('chokepoint_config_last_reload_success_timestamp_seconds')).toBe('min');
    expect(aggregator('chokepoint_ca_certificate_expiry_timestamp_seconds')).toBe('min');
    expect(aggregator('chokepoint_requests_total')).toBe('sum');
  });
});

describe('timings at their source', () => {
  test('the gate notes how long a lookup took, answered or failed; none for an IP literal', async () => {
    const config = oneAuditPool();
    const runtime = compileRuntime(config);
    const pool = runtime.pools.get('ci');
    if (!pool) throw new Error('no pool');
    let release: () => void = () => undefined;
    const resolve = (host: string): Promise<string[]> =>
      host === 'slow.test' ? new Promise((r) => (release = () => r(['192.0.2.10']))) : Promise.reject(new Error('NXDOMAIN'));
    const ctx = { runtime, resolve, self: new Set<string>() };

    const timing: { dnsMs?: number } = {};
    const pending = admit(ctx, pool, { host: 'slow.test', port: 80 }, timing);
    await new Promise((r) => setTimeout(r, 30));
    expect(timing.dnsMs).toBeUndefined(); // not before the answer
    release();
    const admission = await pending;
    expect(admission.ok).toBe(true);
    expect(timing.dnsMs).toBeGreaterThanOrEqual(25);

    const failed: { dnsMs?: number } = {};
    await admit(ctx, pool, { host: 'missing.test', port: 80 }, failed);
    expect(failed.dnsMs).toBeGreaterThanOrEqual(0);

    const literal: { dnsMs?: number } = {};
    const ip = (await import('../proxy/decide/target.js')).normalizeHost('192.0.2.7');
    if (!ip) throw new Error('no target');
    await admit(ctx, pool, { ...ip, port: 80 }, literal);
    expect(literal.dnsMs).toBeUndefined();
  });

  test('the forwarder notes the connect time of a new connection, not of a reused one', async () => {
    const origin = await startHttpOrigin();
    const forwarder = new Forwarder({ connect: 2000, idle: 5000 }, undefined);
    const once = async (timing: { connectMs?: number }): Promise<void> => {
      const { upstream, response } = forwarder.request({ secure: false, address: '127.0.0.1', port: origin.port, host: 'origin.test' }, 'GET', '/', { host: 'origin.test' }, timing);
      upstream.end();
      const res = await response;
      res.resume();
      await new Promise((r) => res.once('end', r));
    };
    try {
      const first: { connectMs?: number } = {};
      await once(first);
      expect(first.connectMs).toBeGreaterThanOrEqual(0);
      await new Promise((r) => setTimeout(r, 10)); // the socket goes back to the pool
      const second: { connectMs?: number } = {};
      await once(second);
      expect(second.connectMs).toBeUndefined();
    } finally {
      forwarder.close();
      await origin.close();
    }
  });
});
