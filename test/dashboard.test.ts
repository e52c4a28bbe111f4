// The Grafana dashboard and the alert rules query only what Chokepoint exports: every
// PromQL expression is read (dashboards/promql.ts), its metric names are compared with a
// real scrape of a running proxy that saw traffic, and the dashboard follows the house
// rules (variables, titles, descriptions, units, counters in rate/increase over
// $__rate_interval).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { allPanels, dashboardQueries, metricNames, selectors, variableExpression, type Dashboard } from '../dashboards/promql.js';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';
import { curl } from './helpers/clients.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

const dashboardText = readFileSync(new URL('../dashboards/chokepoint.dashboard.json', import.meta.url), 'utf8');
const dashboard = JSON.parse(dashboardText) as Dashboard;
const rules = parse(readFileSync(new URL('../dashboards/chokepoint.rules.yml', import.meta.url), 'utf8')) as {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string }> }>;
};
const queries = dashboardQueries(dashboard);
const panels = allPanels(dashboard);

/** Series Prometheus makes itself, not scraped from Chokepoint. */
const SYNTHETIC = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE']);

interface Scrape {
  /** Sample names (with _bucket/_sum/_count for histograms) → their label names. */
  samples: Map<string, Set<string>>;
  /** Family name → TYPE. */
  types: Map<string, string>;
}

function parseExposition(text: string): Scrape {
  const samples = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type?.[1] && type[2]) types.set(type[1], type[2]);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s/.exec(line);
    if (!m?.[1]) continue;
    const labels = samples.get(m[1]) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) if (l[1]) labels.add(l[1]);
    samples.set(m[1], labels);
  }
  return { samples, types };
}

/** Counter samples and histogram/summary series: they only make sense as rates. */
function isCumulative(scrape: Scrape, sample: string): boolean {
  if (scrape.types.get(sample) === 'counter') return true;
  // prom-client names the counter family with its _total suffix; the text format may also drop it.
  if (sample.endsWith('_total') && scrape.types.get(sample.slice(0, -'_total'.length)) === 'counter') return true;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const type = scrape.types.get(sample.slice(0, -suffix.length));
    if (type === 'histogram' || type === 'summary') return true;
  }
  return false;
}

/**
 * The one place a counter may appear outside rate()/increase(): the "new series" term
 * `x{m} unless x{m} offset $__rate_interval`, which counts the first event of a series
 * that increase() cannot see (it needs two samples). Rewritten as increase() for the check,
 * after checking both sides select the same series.
 */
function normaliseNewSeriesIdiom(expr: string): string {
  return expr.replace(
    /([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^{}]*\})?\s+unless\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^{}]*\})?\s+offset\s+\$__rate_interval/g,
    (whole, a: string, am: string | undefined, b: string, bm: string | undefined) => {
      if (a !== b || (am ?? '') !== (bm ?? '')) throw new Error(`"unless ... offset" must compare a selector with itself: ${whole}`);
      return `increase(${a}${am ?? ''}[$__rate_interval])`;
    },
  );
}

let origin: Origin;
let proxy: TestProxy;
let scrape: Scrape;

beforeAll(async () => {
  origin = await startHttpOrigin();
  proxy = await startTestProxy(
    `
tls:
  intercept: none
pools:
  - name: builders
    sources: [127.0.0.1/32]
    mode: enforce
    allow:
      - origin.test:${origin.port}
      - 127.0.0.1/32:${origin.port}
    tls:
      intercept: all
    secrets:
      action: block
`,
    { resolve: fakeResolver({ 'origin.test': ['127.0.0.1'] }) },
  );
  // Traffic: allowed, denied, and a planted credential bound nowhere near GitHub.
  const token = generators['github-pat-classic']?.(createRng(606));
  if (!token) throw new Error('no generator for github-pat-classic');
  const allowed = await curl(['-x', proxy.url, `http://origin.test:${origin.port}/build`]);
  expect(allowed.status).toBe(200);
  const denied = await curl(['-x', proxy.url, 'http://unlisted.test/']);
  expect(denied.status).toBe(403);
  const exfil = await curl(['-x', proxy.url, `http://origin.test:${origin.port}/upload?t=${token}`]);
  expect(exfil.status).toBe(403);
  expect(exfil.headers['x-chokepoint-reason']).toBe('secret-exfiltration');
  await proxy.waitForEgress(3);
  const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`);
  expect(res.status).toBe(200);
  scrape = parseExposition(await res.text());
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
});

describe('dashboard structure', () => {
  test('has a datasource variable (not ${DS_PROMETHEUS}) and instance and pool query variables', () => {
    expect(dashboardText).not.toMatch(/\$\{DS_[A-Z_]+\}/);
    expect(dashboard).not.toHaveProperty('__inputs');
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['instance', 'pool']) {
      const v = vars.get(name);
      expect(v, name).toMatchObject({ type: 'query', datasource: { type: 'prometheus', uid: '${datasource}' } });
    }
  });

  test('every panel and every query uses the datasource variable', () => {
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets ?? []) expect(t.datasource, `${p.title} ${t.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  test('every panel has a title, a description and a unit, and at least one query', () => {
    expect(panels.filter((p) => p.type !== 'row').length).toBeGreaterThanOrEqual(12);
    for (const p of panels) {
      expect(p.title?.trim(), `panel ${p.id}`).toBeTruthy();
      expect(p.description?.trim(), `${p.title}: description`).toBeTruthy();
      if (p.type === 'row') continue;
      expect(p.fieldConfig?.defaults?.unit?.trim(), `${p.title}: unit`).toBeTruthy();
      expect(p.targets?.length, `${p.title}: queries`).toBeGreaterThan(0);
    }
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('the panels the issue asks for are there', () => {
    const metricsByPanel = new Map(panels.map((p) => [p.title ?? '', new Set((p.targets ?? []).flatMap((t) => (t.expr ? metricNames(t.expr) : [])))]));
    const panelWith = (metric: string): string[] => [...metricsByPanel].filter(([, m]) => m.has(metric)).map(([t]) => t);
    const exprOf = (title: string): string => (panels.find((p) => p.title === title)?.targets ?? []).map((t) => t.expr ?? '').join('\n');
    expect(exprOf('Egress rate by decision')).toMatch(/by \(decision\)/);
    // Hosts, not the `unlisted` allowlist bucket: the bounded denied-destinations counter (deny only).
    expect(exprOf('Top denied destinations')).toMatch(/^topk\(10, sum by \(pool, host\) \(/);
    expect(metricNames(exprOf('Top denied destinations'))).toEqual(['chokepoint_denied_destinations_total']);
    expect(exprOf('Findings by rule and verdict')).toMatch(/by \(rule, verdict\)/);
    expect(panels.find((p) => p.title === 'Canary triggers')?.type).toBe('stat');
    expect(panels.find((p) => p.title === 'Exfiltration findings')?.type).toBe('stat');
    expect(exprOf('Exfiltration findings')).toContain('verdict="exfiltration"');
    expect(exprOf('Bytes in/out')).toMatch(/by \(direction\)/);
    expect(exprOf('Request duration percentiles')).toMatch(/histogram_quantile\(0\.5,.*histogram_quantile\(0\.95,.*histogram_quantile\(0\.99,/s);
    for (const m of ['chokepoint_tunnels_active', 'chokepoint_log_streams_active', 'chokepoint_config_reloads_total', 'chokepoint_ca_certificate_expiry_timestamp_seconds']) {
      expect(panelWith(m), m).not.toEqual([]);
    }
  });

  test('every query parses and selects at least one metric', () => {
    expect(queries.length).toBeGreaterThan(15);
    for (const q of queries) expect(metricNames(q.expr), `${q.panel} ${q.refId}`).not.toEqual([]);
  });
});

describe('queries against a real scrape', () => {
  test('the scrape saw the scenario (sanity: the comparison below is not vacuous)', () => {
    expect(scrape.samples.has('chokepoint_requests_total')).toBe(true);
    expect(scrape.samples.has('chokepoint_secret_findings_total')).toBe(true);
    expect(scrape.types.size).toBeGreaterThan(10);
  });

  test('every metric the dashboard queries is one the proxy exports', () => {
    const missing: string[] = [];
    for (const q of queries) for (const m of metricNames(q.expr)) if (!scrape.samples.has(m)) missing.push(`${q.panel}: ${m}`);
    for (const v of dashboard.templating.list) {
      const raw = typeof v.query === 'string' ? v.query : v.query?.query;
      const expr = v.type === 'query' && raw ? variableExpression(raw) : undefined;
      if (expr) for (const m of metricNames(expr)) if (!scrape.samples.has(m)) missing.push(`variable ${v.name}: ${m}`);
    }
    expect(missing).toEqual([]);
  });

  test('every metric the alert rules query is one the proxy exports (or up)', () => {
    const missing: string[] = [];
    for (const g of rules.groups) {
      for (const r of g.rules) {
        for (const m of metricNames(r.expr)) if (!SYNTHETIC.has(m) && !scrape.samples.has(m)) missing.push(`${r.alert ?? r.record}: ${m}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test('every counter and histogram series is read through rate() or increase() over $__rate_interval', () => {
    const wrong: string[] = [];
    let cumulative = 0;
    for (const q of queries) {
      for (const s of selectors(normaliseNewSeriesIdiom(q.expr))) {
        if (!isCumulative(scrape, s.metric)) continue;
        cumulative++;
        if (!(s.fn === 'rate' || s.fn === 'increase') || s.range !== '$__rate_interval') wrong.push(`${q.panel}: ${s.metric} in ${s.fn ?? 'nothing'}[${s.range ?? ''}]`);
      }
    }
    expect(cumulative).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
  });

  test('every selector filters by $instance, and by $pool where the metric has a pool label', () => {
    const wrong: string[] = [];
    for (const q of queries) {
      for (const s of selectors(q.expr)) {
        if (!/\binstance=~"\$instance"/.test(s.matchers)) wrong.push(`${q.panel}: ${s.metric} lacks instance=~"$instance"`);
        const labels = scrape.samples.get(s.metric);
        if (labels?.has('pool') && !/\bpool=~"\$pool"/.test(s.matchers)) wrong.push(`${q.panel}: ${s.metric} lacks pool=~"$pool"`);
        if (labels && !labels.has('pool') && /\$pool/.test(s.matchers)) wrong.push(`${q.panel}: ${s.metric} has no pool label`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('the PromQL reader', () => {
  test('finds selectors with their function and range, and skips label lists, keywords and strings', () => {
    const found = selectors(
      'histogram_quantile(0.9, sum by (le, pool) (rate(a_bucket{x="}", y=~"$pool"}[$__rate_interval]))) / on(instance) group_left(version) b offset 5m or c # d\n + count({__name__="e"}) * Inf',
    );
    expect(found.map((s) => [s.metric, s.fn, s.range])).toEqual([
      ['a_bucket', 'rate', '$__rate_interval'],
      ['b', undefined, undefined],
      ['c', undefined, undefined],
      ['e', 'count', undefined],
    ]);
  });

  test('the new-series idiom must compare a selector with itself', () => {
    expect(normaliseNewSeriesIdiom('x{a="1"} unless x{a="1"} offset $__rate_interval')).toBe('increase(x{a="1"}[$__rate_interval])');
    expect(() => normaliseNewSeriesIdiom('x{a="1"} unless x{a="2"} offset $__rate_interval')).toThrow(/itself/);
  });
});
