// The per-request counters are added up outside prom-client and handed over when read
// (issue #19): every scrape must show the running totals, whatever happened between scrapes.
import { describe, expect, test } from 'vitest';
import type { Config } from '../config/index.js';
import type { EgressEvent } from '../proxy/events/events.js';
import { createMetrics } from '../proxy/events/metrics.js';

const event = (over: Partial<EgressEvent> = {}): EgressEvent => ({
  type: 'egress', start: 0, pool: 'ci', client: '10.0.0.1', kind: 'http', method: 'GET', host: 'registry.npmjs.org', port: 80,
  decision: 'allow', destination: '*.npmjs.org', status: 200, bytesUp: 10, bytesDown: 1000, findings: 0, durationMs: 2,
  scanned: { url: 4, header: 30 }, ...over,
});

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('per-request counters between scrapes', () => {
  test('each scrape shows the running totals of requests, bytes and scanned bytes', async () => {
    const m = createMetrics({ activeTunnels: () => 0, defaultMetrics: false });
    m.initPools({ pools: [{ name: 'ci' }] } as unknown as Config);
    const allowed = 'chokepoint_requests_total{pool="ci",kind="http",decision="allow",reason="",destination="*.npmjs.org"}';
    const denied = 'chokepoint_requests_total{pool="ci",kind="http",decision="deny",reason="not-allowlisted",destination="unlisted"}';
    for (let i = 0; i < 3; i++) m.sink(event());
    let text = await m.registry.metrics();
    expect(value(text, allowed)).toBe(3);
    expect(value(text, 'chokepoint_transferred_bytes_total{pool="ci",direction="downstream"}')).toBe(3000);
    expect(value(text, 'chokepoint_transferred_bytes_total{pool="ci",direction="upstream"}')).toBe(30);
    expect(value(text, 'chokepoint_scan_bytes_total{source="header"}')).toBe(90);
    // Nothing new: the same totals, not twice them.
    expect(value(await m.registry.metrics(), allowed)).toBe(3);
    m.sink(event());
    m.sink(event({ decision: 'deny', reason: 'not-allowlisted', policyReason: 'not-allowlisted', destination: 'unlisted', status: 403, bytesDown: 0, bytesUp: 0, scanned: undefined }));
    text = await m.registry.metrics();
    expect(value(text, allowed)).toBe(4);
    expect(value(text, denied)).toBe(1);
    expect(value(text, 'chokepoint_transferred_bytes_total{pool="ci",direction="downstream"}')).toBe(4000);
    expect(value(text, 'chokepoint_scan_bytes_total{source="url"}')).toBe(16);
    // A scan event (CI logs) counts into the same scanned-bytes series.
    m.sink({ type: 'scan', pool: 'ci', source: 'url', bytes: 4 });
    expect(value(await m.registry.metrics(), 'chokepoint_scan_bytes_total{source="url"}')).toBe(20);
  });
});
