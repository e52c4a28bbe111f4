// `workers: 2` as an operator runs it: the built CLI forks two workers sharing the proxy
// port; the primary's admin listener serves the metrics of both, aggregated by the right
// rule; SIGHUP reloads both; SIGTERM drains both and the primary exits 0.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, test } from 'vitest';
import { openTunnel } from './helpers/clients.js';
import { requireTool } from './helpers/tools.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'bin', 'chokepoint.js');

const cleanup: Array<() => void> = [];
afterAll(() => {
  for (const f of cleanup.splice(0)) f();
});

function get(port: number, path: string, agent: false | undefined = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** The value of one sample line (`name{labels} value`) in a scrape; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function sumOf(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** The lines `promtool check metrics` reports for a scrape. */
function promtoolProblems(text: string): Promise<string[]> {
  return new Promise((resolve) => {
    const child = execFile(requireTool('promtool'), ['check', 'metrics'], { encoding: 'utf8' }, (_err, stdout, stderr) =>
      resolve(`${stdout}${stderr}`.split('\n').filter((l) => l.trim() !== '')),
    );
    child.stdin?.end(text);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('two workers share the proxy port; the primary aggregates their metrics, reloads and drains them', async () => {
  const origin: Origin = await startHttpOrigin();
  cleanup.push(() => void origin.close());
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-workers-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, 'chokepoint.yaml');
  writeFileSync(
    configPath,
    `listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
stateDir: ${join(dir, 'state')}
workers: 2
timeouts:
  shutdown: 10s
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: [127.0.0.1/32:${origin.port}]
`,
  );

  const child: ChildProcess = spawn(process.execPath, [CLI, 'start', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.push(() => child.kill('SIGKILL'));
  // 'close': the exit code, once stdout has been read to its end.
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines: Array<Record<string, unknown>> = [];
  if (!child.stdout) throw new Error('no stdout');
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));

  // The primary's line names the workers and the admin address (workers log their own start, without).
  const started = await until('the primary to start', async () => lines.find((l) => l.msg === 'chokepoint started' && l.workers === 2)).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${stderr}`);
  });
  const port = Number(String(started.listen).split(':').pop());
  const adminPort = Number(String(started.admin).split(':').pop());
  expect(port).toBeGreaterThan(0);
  expect(adminPort).toBeGreaterThan(0);
  const workerStarted = (): Array<Record<string, unknown>> => lines.filter((l) => l.msg === 'chokepoint started' && l.workers === undefined);
  await until('both workers to log their start', async () => (workerStarted().length >= 2 ? true : undefined));
  const workerStarts = workerStarted();
  expect(workerStarts).toHaveLength(2);
  // Both workers listen on the primary's port; neither runs an admin listener.
  for (const w of workerStarts) {
    expect(w.listen).toBe(started.listen);
    expect(w.admin).toBeUndefined();
  }

  expect((await get(adminPort, '/healthz')).status).toBe(200);
  expect((await get(adminPort, '/readyz')).status).toBe(200);
  const before = (await get(adminPort, '/metrics')).body;
  expect(sample(before, 'chokepoint_requests_total{pool="ci",kind="http",decision="deny",reason="not-allowlisted",destination="unlisted"}')).toBe(0);

  // 20 requests, each on a new connection: the primary hands them out round-robin.
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => get(port, `http://127.0.0.1:${origin.port}/n${i}`)));
  expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
  expect(origin.received).toHaveLength(20);

  // Four tunnels held open: they spread over both workers; the gauge adds them up.
  const tunnels: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const t = await openTunnel(port, `127.0.0.1:${origin.port}`);
    expect(t.status).toBe(200);
    tunnels.push(t.socket);
  }

  const allow = `chokepoint_requests_total{pool="ci",kind="http",decision="allow",reason="",destination="127.0.0.1/32:${origin.port}"}`;
  const scrape = await until('all 20 requests in the aggregate', async () => {
    const text = (await get(adminPort, '/metrics')).body;
    return sample(text, allow) === 20 && sample(text, 'chokepoint_tunnels_active{pool="ci"}') === 4 ? text : undefined;
  });
  expect(sample(scrape, allow)).toBe(20);
  expect(sumOf(scrape, 'chokepoint_requests_total')).toBe(20);
  expect(sample(scrape, 'chokepoint_request_duration_seconds_count{pool="ci",kind="http"}')).toBe(20);
  expect(sample(scrape, 'chokepoint_tunnels_active{pool="ci"}')).toBe(4);
  // Shared facts are not multiplied by the number of workers.
  expect(sumOf(scrape, 'chokepoint_build_info')).toBe(1);
  expect(scrape.split('\n').filter((l) => l.startsWith('chokepoint_build_info{'))).toHaveLength(1);
  expect(sample(scrape, 'chokepoint_log_streams_active')).toBe(0);
  const lastReload = sample(scrape, 'chokepoint_config_last_reload_success_timestamp_seconds') ?? 0;
  expect(lastReload).toBeGreaterThan(1_600_000_000);
  expect(lastReload).toBeLessThan(Date.now() / 1000 + 60);
  // The aggregate is as clean as one process's scrape: nothing of ours for promtool to fix.
  const problems = await promtoolProblems(scrape);
  expect(problems.filter((l) => l.startsWith('chokepoint_'))).toEqual([]);
  // Each metric appears once: one HELP line per name, not one per worker.
  const helps = scrape.split('\n').filter((l) => l.startsWith('# HELP chokepoint_'));
  expect(new Set(helps).size).toBe(helps.length);

  // SIGHUP to the primary reloads every worker.
  child.kill('SIGHUP');
  const reloaded = await until('both workers to reload', async () => {
    const text = (await get(adminPort, '/metrics')).body;
    return sample(text, 'chokepoint_config_reloads_total{result="success"}') === 2 ? text : undefined;
  });
  expect(sample(reloaded, 'chokepoint_config_reloads_total{result="failure"}')).toBe(0);
  // Log lines are written asynchronously: wait for both.
  await until('both workers to log the reload', async () => (lines.filter((l) => l.msg === 'config reloaded').length >= 2 ? true : undefined));
  expect(lines.filter((l) => l.msg === 'config reloaded')).toHaveLength(2);

  // SIGTERM: both drain (the tunnels are closed by their clients) and the primary exits 0.
  for (const t of tunnels) t.destroy();
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(lines.filter((l) => l.msg === 'draining')).toHaveLength(3); // the primary and each worker
  expect(lines.some((l) => l.msg === 'all workers stopped')).toBe(true);
  expect(stderr).toBe('');
}, 30_000);
