// The whole alerting chain on real servers, all on loopback: a running Chokepoint is
// scraped by a real Prometheus (dashboards/chokepoint.rules.yml loaded) that sends to a real
// Alertmanager (routing and inhibition of dashboards/alertmanager.yml, faster timings,
// webhooks pointed at a receiver this test runs). A planted credential sent to an allowed
// destination that it is not bound to must reach the `security` webhook as
// ChokepointSecretExfiltration (pool and rule labels), and a credential in a job log sent to
// the ingest listener as ChokepointSecretLeakedInLog; a denied destination must reach the
// `default` webhook as ChokepointEgressBlocked. Then every dashboard query returns data.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { dashboardQueries, substituteVariables, type Dashboard } from '../dashboards/promql.js';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';
import { curl } from './helpers/clients.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';
import { udpQuery } from './helpers/dns.js';
import { requireTool } from './helpers/tools.js';

const RULES = fileURLToPath(new URL('../dashboards/chokepoint.rules.yml', import.meta.url));
const ALERTMANAGER_EXAMPLE = fileURLToPath(new URL('../dashboards/alertmanager.yml', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../dashboards/chokepoint.dashboard.json', import.meta.url));

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  fingerprint: string;
}
interface WebhookPayload {
  version: string;
  receiver: string;
  status: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: WebhookAlert[];
}
interface Received {
  path: string;
  payload: WebhookPayload;
}

interface Child {
  name: string;
  proc: ChildProcess;
  output(): string;
}

const children: Child[] = [];
const dirs: string[] = [];
let webhook: http.Server | undefined;
const received: Received[] = [];
let origin: Origin;
let proxy: TestProxy;
let promUrl: string;
let amUrl: string;
const INGEST_TOKEN = 'ingest-token-for-the-alerting-test';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function start(name: string, cmd: string, args: string[]): Child {
  const proc = spawn(requireTool(cmd), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer): void => {
    out = (out + c.toString('utf8')).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.on('error', (err) => (out += `\nspawn error: ${err.message}`));
  const child = { name, proc, output: () => out };
  children.push(child);
  return child;
}

async function stop(child: Child): Promise<void> {
  const { proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Poll `check` until it returns a value (not undefined) or the deadline passes. */
async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}${context ? `\n${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function ready(child: Child, url: string): Promise<void> {
  await waitFor(`${child.name} at ${url}`, 15_000, async () => {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited with ${child.proc.exitCode}: ${child.output()}`);
    const res = await fetch(url);
    return res.ok ? true : undefined;
  });
}

interface PromVector {
  status: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  error?: string;
}

async function promQuery(expr: string): Promise<PromVector> {
  const res = await fetch(`${promUrl}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
  const body = (await res.json()) as PromVector;
  if (body.status !== 'success') throw new Error(`query failed: ${body.error ?? res.status}: ${expr}`);
  return body;
}

function findAlert(receiver: string, alertname: string, labels: Record<string, string>): { payload: WebhookPayload; alert: WebhookAlert } | undefined {
  for (const r of received) {
    if (r.payload.receiver !== receiver) continue;
    const alert = r.payload.alerts.find((a) => a.status === 'firing' && a.labels.alertname === alertname && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
    if (alert) return { payload: r.payload, alert };
  }
  return undefined;
}

const summary = (): string =>
  `webhook received: ${JSON.stringify(received.map((r) => ({ path: r.path, receiver: r.payload.receiver, alerts: r.payload.alerts.map((a) => a.labels) })))}\n` +
  children.map((c) => `--- ${c.name} (last output) ---\n${c.output().slice(-3000)}`).join('\n');

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-alerting-'));
  dirs.push(dir);

  // The webhook receiver: records every POST, answers 200.
  webhook = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST') {
        try {
          received.push({ path: req.url ?? '', payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookPayload });
        } catch {
          // Not JSON: not an Alertmanager notification; the assertions will not find it.
        }
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => webhook?.listen(0, '127.0.0.1', resolve));
  const hookPort = (webhook.address() as AddressInfo).port;

  // Alertmanager: the shipped example with fast timings and the webhooks pointed here.
  const am = parse(readFileSync(ALERTMANAGER_EXAMPLE, 'utf8')) as {
    route: Record<string, unknown> & { routes?: Array<Record<string, unknown>> };
    receivers: Array<{ name: string; webhook_configs?: Array<{ url: string }> }>;
  };
  for (const route of [am.route, ...(am.route.routes ?? [])]) {
    route.group_wait = '0s';
    route.group_interval = '1s';
    route.repeat_interval = '1h';
  }
  for (const receiver of am.receivers) for (const w of receiver.webhook_configs ?? []) w.url = `http://127.0.0.1:${hookPort}/${receiver.name}`;
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(am));
  const amPort = await freePort();
  amUrl = `http://127.0.0.1:${amPort}`;
  const alertmanager = start('alertmanager', '/usr/bin/prometheus-alertmanager', [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    '--cluster.listen-address=',
  ]);

  // Chokepoint: one enforce pool that intercepts TLS (so the CA expiry is exported) and
  // blocks credentials bound elsewhere.
  origin = await startHttpOrigin();
  proxy = await startTestProxy(
    `
tls:
  intercept: none
ingest:
  listen: 127.0.0.1:0
  token: \${INGEST_TOKEN}
dns:
  listen: 127.0.0.1:0
  servers: [127.0.0.1:9]
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
    { resolve: fakeResolver({ 'origin.test': ['127.0.0.1'] }), env: { INGEST_TOKEN } },
  );

  // Prometheus: 1s scrapes and evaluations, the shipped rules, our Alertmanager.
  const promPort = await freePort();
  promUrl = `http://127.0.0.1:${promPort}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '900ms' },
      rule_files: [RULES],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      scrape_configs: [{ job_name: 'chokepoint', static_configs: [{ targets: [`127.0.0.1:${proxy.adminPort}`] }] }],
    }),
  );
  const prometheus = start('prometheus', '/usr/bin/prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'prom-data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);

  await Promise.all([ready(alertmanager, `${amUrl}/-/ready`), ready(prometheus, `${promUrl}/-/ready`)]);
  // Scraped once: the series that start at 0 are in Prometheus before anything happens.
  await waitFor('Prometheus to scrape Chokepoint', 15_000, async () => {
    const r = await promQuery('up{job="chokepoint"}');
    return r.data.result.some((s) => s.value[1] === '1') ? true : undefined;
  }, summary);
});

afterAll(async () => {
  await Promise.all(children.map(stop));
  await proxy?.close();
  await origin?.close();
  await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
  webhook?.closeAllConnections();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('alerting on real Prometheus and Alertmanager', () => {
  test('traffic: one allowed request, a planted credential to an allowed destination, an unlisted destination, a job log with a credential', async () => {
    const allowed = await curl(['-x', proxy.url, `http://origin.test:${origin.port}/build`]);
    expect(allowed.status).toBe(200);

    const token = generators['github-pat-classic']?.(createRng(2606));
    if (!token) throw new Error('no generator for github-pat-classic');
    const before = origin.received.length;
    const exfil = await curl(['-x', proxy.url, `http://origin.test:${origin.port}/upload?t=${token}`]);
    expect(exfil.status).toBe(403);
    expect(exfil.headers['x-chokepoint-reason']).toBe('secret-exfiltration');
    expect(exfil.headers['x-chokepoint-rule']).toBe('github-pat-classic');
    expect(origin.received.length).toBe(before);

    const denied = await curl(['-x', proxy.url, 'http://unlisted.test/']);
    expect(denied.status).toBe(403);
    expect(denied.headers['x-chokepoint-reason']).toBe('not-allowlisted');
    await proxy.waitForEgress(3);

    const ingest = proxy.app.ingestAddress;
    if (!ingest) throw new Error('the ingest listener did not start');
    const leaked = generators['github-pat-classic']?.(createRng(2607));
    if (!leaked) throw new Error('no generator for github-pat-classic');
    const log = await fetch(`http://127.0.0.1:${ingest.port}/v1/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'text/plain', 'x-chokepoint-pool': 'builders', 'x-chokepoint-job': 'build-42' },
      body: `step 1: checkout\n+ echo configuring\nusing token ${leaked}\nstep 2: done\n`,
    });
    expect(log.status).toBe(200);
    const report = (await log.json()) as { findingCount: number };
    expect(report.findingCount).toBeGreaterThan(0);

    // A TXT lookup of an unlisted name from the pool's runner: NXDOMAIN and a dns-tunnel finding.
    const dnsPort = proxy.app.dnsAddress?.port;
    if (!dnsPort) throw new Error('the DNS listener did not start');
    expect((await udpQuery(dnsPort, 'x.unlisted.test', { type: 'TXT' })).rcode).toBe('NXDOMAIN');
  });

  test('the security webhook receives ChokepointSecretExfiltration with pool and rule labels', async () => {
    const found = await waitFor(
      'ChokepointSecretExfiltration at the security webhook',
      25_000,
      () => findAlert('security', 'ChokepointSecretExfiltration', { pool: 'builders', rule: 'github-pat-classic' }),
      summary,
    );
    expect(found.payload.version).toBe('4');
    expect(found.payload.status).toBe('firing');
    expect(received.find((r) => r.payload === found.payload)?.path).toBe('/security');
    expect(found.alert.labels).toMatchObject({ severity: 'critical', category: 'security', job: 'chokepoint', source: 'url', action: 'block' });
    expect(found.alert.labels.instance).toBe(`127.0.0.1:${proxy.adminPort}`);
    expect(found.alert.annotations.runbook_url).toBe('docs/runbooks.md#chokepointsecretexfiltration');
    expect(found.alert.annotations.summary).toContain('github-pat-classic');
    // The payload carries names and counts, never the credential.
    expect(JSON.stringify(found.payload)).not.toMatch(/gh[pousr]_[A-Za-z0-9]{20,}/);
    console.log(`security webhook payload:\n${JSON.stringify(found.payload, null, 2)}`);
  });

  test('the security webhook receives ChokepointSecretLeakedInLog for the job log', async () => {
    const found = await waitFor(
      'ChokepointSecretLeakedInLog at the security webhook',
      25_000,
      () => findAlert('security', 'ChokepointSecretLeakedInLog', { pool: 'builders', rule: 'github-pat-classic', source: 'log' }),
      summary,
    );
    expect(found.payload.version).toBe('4');
    expect(found.alert.labels).toMatchObject({ severity: 'critical', category: 'security' });
    expect(JSON.stringify(found.payload)).not.toMatch(/gh[pousr]_[A-Za-z0-9]{20,}/);
  });

  test('the default webhook receives ChokepointEgressBlocked for the denied destination', async () => {
    const found = await waitFor(
      'ChokepointEgressBlocked at the default webhook',
      25_000,
      () => findAlert('default', 'ChokepointEgressBlocked', { pool: 'builders', destination: 'unlisted', reason: 'not-allowlisted' }),
      summary,
    );
    expect(found.payload.version).toBe('4');
    expect(received.find((r) => r.payload === found.payload)?.path).toBe('/default');
    expect(found.alert.labels).toMatchObject({ severity: 'warning', category: 'egress' });
    // Security alerts never take the default route.
    expect(received.filter((r) => r.payload.receiver === 'default').flatMap((r) => r.payload.alerts).map((a) => a.labels.category)).not.toContain('security');
    console.log(`default webhook payload:\n${JSON.stringify(found.payload, null, 2)}`);
  });

  test('every dashboard query returns data from this Prometheus', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    const queries = dashboardQueries(dashboard).map((q) => ({ ...q, expr: substituteVariables(q.expr, { __rate_interval: '1m', pool: '.*', instance: '.*' }) }));
    expect(queries.length).toBeGreaterThan(15);
    // rate() over 1m needs two samples of each series; poll until all have data.
    let empty: string[] = [];
    await waitFor(
      'every dashboard query to return data',
      15_000,
      async () => {
        empty = [];
        for (const q of queries) {
          const result = await promQuery(q.expr); // throws on a query Prometheus rejects
          if (result.data.result.length === 0) empty.push(`${q.panel} (${q.refId}): ${q.expr}`);
        }
        return empty.length === 0 ? true : undefined;
      },
      () => `queries without data:\n${empty.join('\n')}`,
    );
    expect(empty).toEqual([]);
  });

  test('ChokepointDown inhibits the other alerts of its instance in this Alertmanager', async () => {
    const instance = 'inhibition-test:9464';
    const now = new Date().toISOString();
    const res = await fetch(`${amUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { labels: { alertname: 'ChokepointDown', severity: 'critical', category: 'availability', job: 'chokepoint', instance }, startsAt: now },
        { labels: { alertname: 'ChokepointEgressBlocked', severity: 'warning', category: 'egress', job: 'chokepoint', instance, pool: 'p', destination: 'd', reason: 'r' }, startsAt: now },
        { labels: { alertname: 'ChokepointEgressBlocked', severity: 'warning', category: 'egress', job: 'chokepoint', instance: 'other:9464', pool: 'p', destination: 'd', reason: 'r' }, startsAt: now },
      ]),
    });
    expect(res.status).toBe(200);
    interface AmAlert {
      labels: Record<string, string>;
      status: { state: string; inhibitedBy: string[] };
    }
    const states = await waitFor('the inhibition to apply', 10_000, async () => {
      const list = (await (await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent('alertname="ChokepointEgressBlocked"')}&filter=${encodeURIComponent('pool="p"')}`)).json()) as AmAlert[];
      const byInstance = new Map(list.map((a) => [a.labels.instance, a.status]));
      return byInstance.get(instance)?.state === 'suppressed' && byInstance.has('other:9464') ? byInstance : undefined;
    });
    expect(states.get(instance)?.inhibitedBy.length).toBeGreaterThan(0);
    expect(states.get('other:9464')?.state).toBe('active');
  });
});
