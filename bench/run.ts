// Chokepoint side by side with the proxies fleets deploy today (squid, tinyproxy,
// mitmproxy) and with no proxy at all (direct), on loopback against an nginx origin.
// See --help. Every process it starts is stopped at the end, also on error.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestCa } from '../test/helpers/certs.js';
import { generateCiLog } from './lib/cilog.js';
import { describeMachine, machine, packageVersions } from './lib/machine.js';
import { writeSection } from './lib/markdown.js';
import { cpuMs, freePort, run, startServer, stopAll, treeRss, type Server } from './lib/proc.js';
import { stats, type Stats } from './lib/stats.js';
import { formatTable, markdownTable } from './lib/table.js';
import { chokepointConf, mitmdumpArgs, nginxConf, squidConf, tinyproxyConf } from './peers/configs.js';
import { interceptH1H2 } from './lib/h2load.js';
import { keepAliveLoad, oneShot, openIdleTunnels, openTunnel, startTls, type Dest } from './peers/load.js';
import { describeBound, judge, verdictsFor, type RowRef, type Verdict } from './targets.js';

const HELP = `Usage: npm run bench -- [--quick] [--only NAMES] [--tests LIST] [--no-docs] [--cpu-prof DIR] [--baseline DIR]

Measures Chokepoint against squid, tinyproxy and mitmproxy (and direct, no proxy) on
loopback with an nginx origin, interleaved and repeated:
  1 plain HTTP keep-alive (wrk, absolute-URI requests): req/s, p50/p99, proxy CPU per request
  2 CONNECT bulk (curl, 256 MiB over TLS): share of direct, proxy CPU per MiB
  3 CONNECT + TLS + GET on a new connection each time: added latency p50/p99
  4 HTTPS interception keep-alive (chokepoint, mitmproxy): req/s, CPU per request; TTFB new vs cached host
  5 interception with body scanning: POSTs of 1 MiB JSON, MB/s
  6 log ingest (POST /v1/logs, CI log text): MB/s
  7 memory: RSS idle, with 5,000 open tunnels, during a 200 MiB streamed upload
  8 interception keep-alive, HTTP/1.1 against h2 (chokepoint): req/s of 8 HTTP/1.1
    connections against 64 h2 streams on 1 connection and on 8, and their ratio
Prints one table, with issue #19's target and its verdict (met / NOT met) next to each
figure it judges (the targets are data: bench/targets.ts), then the list of targets, and
(full run, all proxies, all tests) rewrites the "Side by side: proxies" section of
docs/benchmarks.md with both.

Needs the Debian packages nginx squid tinyproxy mitmproxy wrk curl; as root it installs
them itself (apt-get, with a policy-rc.d that keeps their services from starting),
otherwise it names what is missing. Runs the built CLI (dist/; built if absent).

  --quick          fewer repeats and smaller sizes (a few minutes)
  --only NAMES     comma list of chokepoint,squid,tinyproxy,mitmproxy (direct always runs)
  --tests LIST     comma list of test numbers (default 1,2,3,4,5,6,7,8)
  --no-docs        do not write docs/benchmarks.md
  --cpu-prof DIR   run Chokepoint with node --cpu-prof, profiles written to DIR
  --baseline DIR   also run the Chokepoint of another tree (a git worktree of an older
                   commit, built with npm run build) as chokepoint@base in the same run,
                   interleaved with the others, and print chokepoint / chokepoint@base
                   per row: old and new side by side on the same machine and moment.
                   Example: git worktree add /tmp/base <commit> && ln -s "$PWD/node_modules"
                   /tmp/base/ && (cd /tmp/base && npm run build) &&
                   npm run bench -- --tests 1,2,3,4,5 --baseline /tmp/base`;

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag('--quick');
const ONLY = option('--only')?.split(',');
const TESTS = new Set((option('--tests') ?? '1,2,3,4,5,6,7,8').split(',').map(Number));
const CPU_PROF = option('--cpu-prof');
const BASELINE = option('--baseline');
const BASE = 'chokepoint@base';
const MiB = 1024 * 1024;

const P = QUICK
  ? { repeats: 2, wrkSeconds: 3, bulkBytes: 64 * MiB, newConn: 60, loadMs: 3000, ttfbHosts: 8, ingestBytes: 16 * MiB, tunnels: 2000, uploadBytes: 64 * MiB }
  : { repeats: 3, wrkSeconds: 8, bulkBytes: 256 * MiB, newConn: 200, loadMs: 6000, ttfbHosts: 30, ingestBytes: 64 * MiB, tunnels: 5000, uploadBytes: 200 * MiB };

const PACKAGES = ['nginx', 'squid', 'tinyproxy', 'mitmproxy', 'wrk', 'curl'];
const BINARIES: Record<string, string> = { nginx: 'nginx', squid: 'squid', tinyproxy: 'tinyproxy', mitmproxy: 'mitmdump', wrk: 'wrk', curl: 'curl' };

function have(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ensurePackages(): void {
  const missing = PACKAGES.filter((p) => !have(BINARIES[p] as string));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages: ${missing.join(' ')} (apt-get install -y ${missing.join(' ')}, as root)`);
  console.log(`installing ${missing.join(' ')} ...`);
  const policy = '/usr/sbin/policy-rc.d';
  const ours = !existsSync(policy);
  if (ours) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } finally {
    if (ours) unlinkSync(policy);
  }
}

function versionOf(cmd: string, args: string[], pattern: RegExp): string {
  // nginx prints its version on stderr, wrk exits 1 after printing it: read both streams.
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return pattern.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? 'unknown';
}

// ---- results ----
type Better = 'higher' | 'lower';
interface Metric {
  test: string;
  unit: string;
  better: Better;
  /** Shown without a ratio (context, not a contest). */
  info?: boolean;
  samples: Map<string, number[]>;
}
const metrics: Metric[] = [];
/** Proxies that closed the connection after each response in test 1 (no client keep-alive). */
const closes = new Set<string>();
const notes: string[] = [];
function record(test: string, unit: string, better: Better, proxy: string, value: number, info = false): void {
  let m = metrics.find((x) => x.test === test && x.unit === unit);
  if (!m) {
    m = { test, unit, better, info, samples: new Map() };
    metrics.push(m);
  }
  const list = m.samples.get(proxy) ?? [];
  list.push(value);
  m.samples.set(proxy, list);
}

const PEERS = ['squid', 'tinyproxy', 'mitmproxy'];
function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
}
/** A row's median over its repeats, undefined when the run did not measure it. */
function medianOf(row: RowRef): number | undefined {
  const s = metrics.find((m) => m.test === row.test && m.unit === row.unit)?.samples.get(row.proxy);
  return s && s.length > 0 ? stats(s).median : undefined;
}
/** Issue #19's targets (bench/targets.ts) judged on this run's medians. */
function verdicts(): Verdict[] {
  return judge(medianOf);
}
function targetCell(all: readonly Verdict[], row: RowRef): string {
  return verdictsFor(all, row)
    .map((v) => `${describeBound(v, fmt)}: ${v.word}`)
    .join('; ');
}
/** One line per target: what it asks, the figure, the bound, the word. */
function targetLines(all: readonly Verdict[]): string[] {
  return all.map((v) => {
    const value = v.value === undefined ? 'not measured' : `${fmt(v.value)} ${v.target.row.unit}`;
    return `${v.target.label}: ${v.target.row.proxy}, test ${v.target.row.test}: ${value}, target ${describeBound(v, fmt)}: ${v.word}`;
  });
}
function tableRows(): string[][] {
  const rows: string[][] = [];
  const all = verdicts();
  for (const m of metrics) {
    const med = new Map<string, Stats>();
    for (const [p, s] of m.samples) med.set(p, stats(s));
    const peerMedians = PEERS.map((p) => med.get(p)?.median).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const best = peerMedians.length === 0 ? undefined : m.better === 'higher' ? Math.max(...peerMedians) : Math.min(...peerMedians);
    for (const [p, s] of med) {
      const value = s.n > 1 && s.min !== s.max ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : fmt(s.median);
      const ratio = m.info || best === undefined || best === 0 || p === 'direct' ? '' : `${(s.median / best).toFixed(2)}`;
      rows.push([p, m.test, value, `${m.unit} (${m.better} is better)`, ratio, targetCell(all, { test: m.test, unit: m.unit, proxy: p })]);
    }
  }
  return rows;
}

/** chokepoint / chokepoint@base per row (and test), read with the unit's direction. */
function baselineRows(): string[][] {
  const rows: string[][] = [];
  for (const m of metrics) {
    for (const [name, base] of [['chokepoint', BASE], ['chokepoint (intercepting)', `${BASE} (intercepting)`]] as const) {
      const now = m.samples.get(name);
      const then = m.samples.get(base);
      if (!now || !then) continue;
      const a = stats(now).median;
      const b = stats(then).median;
      rows.push([m.test, m.unit, fmt(a), fmt(b), b === 0 ? '' : (a / b).toFixed(3), m.better]);
    }
  }
  return rows;
}

// ---- the run ----
interface Target {
  name: string;
  /** Proxy port; undefined for direct. */
  port: number | undefined;
  server?: Server;
  /** The CA an intercepting Chokepoint made (its state dir's ca.pem), read once it listens. */
  ca?: string;
}

async function main(): Promise<void> {
  if (flag('--help') || flag('-h')) {
    console.log(HELP);
    return;
  }
  ensurePackages();
  const root = resolve(import.meta.dirname, '..');
  const cli = join(root, 'dist/bin/chokepoint.js');
  if (!existsSync(cli)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  const want = (name: string): boolean => !ONLY || ONLY.includes(name);
  const baseCli = BASELINE ? join(resolve(BASELINE), 'dist/bin/chokepoint.js') : undefined;
  if (baseCli && !existsSync(baseCli)) throw new Error(`--baseline: ${baseCli} does not exist (run npm run build in ${BASELINE})`);

  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-bench-'));
  chmodSync(dir, 0o755);
  for (const d of ['www', 'logs', 'nginx-tmp', 'mitm', 'mitm-i']) mkdirSync(join(dir, d));
  chmodSync(join(dir, 'logs'), 0o777);
  try {
    // Origin content and certificate (IP SANs: the new-host test uses 127.0.0.10+).
    writeFileSync(join(dir, 'www', '1k'), Buffer.alloc(1024, 'x'));
    const fd = openSync(join(dir, 'www', 'big'), 'w');
    ftruncateSync(fd, P.bulkBytes);
    closeSync(fd);
    const extraIps = Array.from({ length: P.ttfbHosts }, (_, i) => `127.0.0.${10 + i}`);
    const ca = createTestCa('Bench Origin CA');
    const leaf = ca.issue(['localhost'], ['127.0.0.1', ...extraIps]);
    writeFileSync(join(dir, 'origin.pem'), leaf.certPem);
    writeFileSync(join(dir, 'origin-key.pem'), leaf.keyPem);
    const caFile = join(dir, 'origin-ca.pem');
    writeFileSync(caFile, ca.certPem);

    const origin = { http: await freePort(), https: await freePort(), extraIps, h2: await freePort() };
    const sinkPort = await freePort(); // the upload sink of test 7 (a Node server in this process)
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, origin));
    await startServer('nginx', 'nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], origin.http);

    const targets: Target[] = [{ name: 'direct', port: undefined }];
    const icpt: Target[] = [{ name: 'direct', port: undefined }];
    const ingestToken = randomBytes(18).toString('base64url'); // a throwaway for this run
    let ingestPort = 0;
    const profArgs = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(CPU_PROF)] : [];
    const startChokepoint = async (name: string, id: string, intercept: boolean, workers: number, ingest: boolean, bin: string = cli): Promise<Target> => {
      const port = await freePort();
      const ip = ingest ? await freePort() : 0;
      if (ingest) ingestPort = ip;
      const file = join(dir, `${id}.yaml`);
      writeFileSync(
        file,
        chokepointConf({ port, stateDir: join(dir, `${id}-state`), upstreamCa: caFile, originPorts: [origin.http, origin.https, origin.h2, sinkPort], intercept, workers, ...(ingest ? { ingest: { port: ip, token: ingestToken } } : {}) }),
      );
      const server = await startServer(name, process.execPath, [...profArgs, bin, 'start', '--config', file], port);
      return { name, port, server, ...(intercept ? { ca: readFileSync(join(dir, `${id}-state`, 'ca.pem'), 'utf8') } : {}) };
    };
    if (want('chokepoint')) {
      targets.push(await startChokepoint('chokepoint', 'chokepoint', false, 1, true));
      if (TESTS.has(1)) targets.push(await startChokepoint('chokepoint-w2', 'chokepoint-w2', false, 2, false));
      if (TESTS.has(4) || TESTS.has(5) || TESTS.has(8)) icpt.push(await startChokepoint('chokepoint', 'chokepoint-i', true, 1, false));
    }
    if (baseCli) {
      targets.push(await startChokepoint(BASE, 'base', false, 1, false, baseCli));
      if (TESTS.has(4) || TESTS.has(5)) icpt.push(await startChokepoint(BASE, 'base-i', true, 1, false, baseCli));
    }
    if (want('squid')) {
      const port = await freePort();
      writeFileSync(join(dir, 'squid.conf'), squidConf(dir, port));
      targets.push({ name: 'squid', port, server: await startServer('squid', 'squid', ['-N', '-f', join(dir, 'squid.conf')], port) });
    }
    if (want('tinyproxy')) {
      const port = await freePort();
      writeFileSync(join(dir, 'tinyproxy.conf'), tinyproxyConf(dir, port));
      targets.push({ name: 'tinyproxy', port, server: await startServer('tinyproxy', 'tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')], port) });
    }
    let mitmCa = '';
    if (want('mitmproxy')) {
      const port = await freePort();
      targets.push({ name: 'mitmproxy', port, server: await startServer('mitmproxy', 'mitmdump', mitmdumpArgs(join(dir, 'mitm'), port, caFile, true), port) });
      if (TESTS.has(4) || TESTS.has(5)) {
        const ip = await freePort();
        icpt.push({ name: 'mitmproxy', port: ip, server: await startServer('mitmproxy', 'mitmdump', mitmdumpArgs(join(dir, 'mitm-i'), ip, caFile, false), ip) });
        mitmCa = readFileSync(join(dir, 'mitm-i', 'mitmproxy-ca-cert.pem'), 'utf8');
      }
    }
    const caOf = (t: Target): string => t.ca ?? (t.name === 'mitmproxy' ? mitmCa : ca.certPem);
    const proxies = targets.filter((t) => t.server);
    const plain = targets.filter((t) => t.name !== 'chokepoint-w2');
    await sleep(1500);

    // 7a. Idle RSS, before any load.
    if (TESTS.has(7)) for (const t of [...proxies, ...icpt.filter((x) => x.server)]) record('7 memory: idle', 'MiB RSS', 'lower', label(t, icpt), treeRss(t.server?.pid ?? 0) / MiB);

    const rotate = <T>(list: readonly T[], r: number): T[] => list.map((_, i) => list[(i + r) % list.length] as T);

    // 1. Plain HTTP keep-alive with wrk.
    if (TESTS.has(1)) {
      const lua = (t: Target): string => {
        const file = join(dir, `wrk-${t.name}.lua`);
        const path = t.port === undefined ? '/1k' : `http://127.0.0.1:${origin.http}/1k`;
        writeFileSync(
          file,
          `wrk.headers["Host"] = "127.0.0.1:${origin.http}"
local req = wrk.format("GET", "${path}")
request = function() return req end
done = function(s, lat, _)
  local e = s.errors
  io.write(string.format("RESULT %d %d %f %f %d %d\\n", s.requests, s.duration, lat:percentile(50), lat:percentile(99), e.status + e.timeout + e.write, e.connect + e.read))
end
`,
        );
        return file;
      };
      for (let r = 0; r < P.repeats; r++) {
        for (const t of rotate(targets, r)) {
          const pid = t.server?.pid;
          const cpu0 = pid ? cpuMs(pid) : 0;
          const out = await run('wrk', ['-t1', '-c16', `-d${P.wrkSeconds}s`, '-s', lua(t), `http://127.0.0.1:${t.port ?? origin.http}/`], (P.wrkSeconds + 30) * 1000);
          const cpu = pid ? cpuMs(pid) - cpu0 : 0;
          const m = /RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+)/.exec(out);
          if (!m) throw new Error(`wrk output without a result for ${t.name}:\n${out}`);
          const [reqs, durUs, p50, p99, errs] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
          // Read errors are closed connections (tinyproxy answers HTTP/1.0 and closes): wrk reconnects.
          if (errs > reqs / 100) console.warn(`${t.name}: ${errs} wrk errors (status, timeout, write) of ${reqs}`);
          if (Number(m[6]) > reqs / 2) closes.add(t.name);
          record('1 plain HTTP keep-alive', 'req/s', 'higher', t.name, reqs / (durUs / 1e6));
          record('1 plain HTTP keep-alive', 'p50 ms', 'lower', t.name, p50 / 1000);
          record('1 plain HTTP keep-alive', 'p99 ms', 'lower', t.name, p99 / 1000);
          if (pid) record('1 plain HTTP keep-alive', 'proxy CPU µs/req', 'lower', t.name, (cpu * 1000) / reqs);
          console.log(`1 ${t.name}: ${(reqs / (durUs / 1e6)).toFixed(0)} req/s${pid ? `, ${((cpu * 1000) / reqs).toFixed(1)} µs CPU/req` : ''}`);
        }
      }
    }

    // 2. CONNECT bulk through curl. One unmeasured pass first (page cache, TLS, JIT); each
    // proxy's share is taken against direct in the same round, so drift cancels.
    if (TESTS.has(2)) {
      const bulk = async (t: Target): Promise<{ mbps: number; cpu: number }> => {
        const pid = t.server?.pid;
        const cpu0 = pid ? cpuMs(pid) : 0;
        const out = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', '--cacert', caFile, ...(t.port ? ['-x', `http://127.0.0.1:${t.port}`] : []), `https://127.0.0.1:${origin.https}/big`], 300_000);
        const cpu = pid ? cpuMs(pid) - cpu0 : 0;
        const [code, size, secs] = out.trim().split(' ');
        if (code !== '200' || Number(size) !== P.bulkBytes) throw new Error(`${t.name}: bulk download ${out}`);
        return { mbps: Number(size) / 1e6 / Number(secs), cpu };
      };
      for (const t of plain) await bulk(t);
      for (let r = 0; r < P.repeats; r++) {
        const round = new Map<string, number>();
        for (const t of rotate(plain, r)) {
          const { mbps, cpu } = await bulk(t);
          round.set(t.name, mbps);
          record('2 CONNECT bulk', 'MB/s', 'higher', t.name, mbps);
          if (t.server) record('2 CONNECT bulk', 'proxy CPU ms/MiB', 'lower', t.name, cpu / (P.bulkBytes / MiB));
          console.log(`2 ${t.name}: ${mbps.toFixed(0)} MB/s`);
        }
        const d = round.get('direct') as number;
        for (const [name, v] of round) if (name !== 'direct') record('2 CONNECT bulk', 'share of direct (same round)', 'higher', name, v / d);
      }
    }

    // 3. CONNECT + TLS + GET on a new connection each time.
    if (TESTS.has(3)) {
      const dest: Dest = { host: '127.0.0.1', port: origin.https };
      const samples = new Map<string, number[]>();
      for (let i = 0; i < P.newConn; i++) {
        for (const t of rotate(plain, i)) {
          const { totalMs } = await oneShot(t.port, dest, '/1k', ca.certPem);
          samples.set(t.name, [...(samples.get(t.name) ?? []), totalMs]);
        }
      }
      const d = samples.get('direct') ?? [];
      for (const [name, list] of samples) {
        record('3 CONNECT new connection', 'p50 ms', 'lower', name, percentile(list, 0.5));
        record('3 CONNECT new connection', 'p99 ms', 'lower', name, percentile(list, 0.99));
        if (name !== 'direct') {
          record('3 CONNECT new connection', 'added p50 ms', 'lower', name, percentile(list, 0.5) - percentile(d, 0.5));
          record('3 CONNECT new connection', 'added p99 ms', 'lower', name, percentile(list, 0.99) - percentile(d, 0.99));
        }
        console.log(`3 ${name}: p50 ${percentile(list, 0.5).toFixed(2)} ms p99 ${percentile(list, 0.99).toFixed(2)} ms`);
      }
    }

    // 8. Interception keep-alive over h2 next to HTTP/1.1 (Chokepoint only: h2 in interception is its own).
    if (TESTS.has(8)) {
      const dest: Dest = { host: '127.0.0.1', port: origin.h2 };
      for (let r = 0; r < P.repeats; r++) {
        for (const t of icpt.filter((x) => x.port && x.name.startsWith('chokepoint'))) {
          const f = await interceptH1H2(t.port as number, dest, caOf(t), '/1k', { connections: 8, streams: 64, durationMs: P.loadMs });
          const rate = (x: { requests: number; ms: number }): number => x.requests / (x.ms / 1000);
          record('8 interception keep-alive, HTTP/1.1 (8 connections)', 'req/s', 'higher', t.name, rate(f.h1));
          record('8 interception keep-alive, h2 (1 connection x 64 streams)', 'req/s', 'higher', t.name, rate(f.h2One));
          record('8 interception keep-alive, h2 (8 connections x 8 streams)', 'req/s', 'higher', t.name, rate(f.h2Many));
          record('8 interception keep-alive, h2 / HTTP/1.1', 'ratio (1 connection)', 'higher', t.name, rate(f.h2One) / rate(f.h1), true);
          console.log(`8 ${t.name}: HTTP/1.1 ${rate(f.h1).toFixed(0)} req/s, h2 1x64 ${rate(f.h2One).toFixed(0)} req/s (x${(rate(f.h2One) / rate(f.h1)).toFixed(2)}), h2 8x8 ${rate(f.h2Many).toFixed(0)} req/s (x${(rate(f.h2Many) / rate(f.h1)).toFixed(2)})`);
        }
      }
    }

    // 4. Interception keep-alive; TTFB new host vs cached.
    if (TESTS.has(4) && icpt.length > 1) {
      const dest: Dest = { host: '127.0.0.1', port: origin.https };
      const get = Buffer.from(`GET /1k HTTP/1.1\r\nHost: 127.0.0.1:${origin.https}\r\n\r\n`);
      for (let r = 0; r < P.repeats; r++) {
        for (const t of rotate(icpt, r)) {
          const pid = t.server?.pid;
          const cpu0 = pid ? cpuMs(pid) : 0;
          const res = await keepAliveLoad(async () => startTls(await openTunnel(t.port, dest), dest, caOf(t)), get, 8, P.loadMs, 2_000_000);
          const cpu = pid ? cpuMs(pid) - cpu0 : 0;
          if (res.errors > 0) console.warn(`${t.name}: ${res.errors} errors`);
          record('4 interception keep-alive', 'req/s', 'higher', t.name, res.requests / (res.ms / 1000));
          record('4 interception keep-alive', 'p50 ms', 'lower', t.name, percentile(res.latenciesMs, 0.5));
          if (pid) record('4 interception keep-alive', 'proxy CPU µs/req', 'lower', t.name, (cpu * 1000) / res.requests);
          console.log(`4 ${t.name}: ${(res.requests / (res.ms / 1000)).toFixed(0)} req/s`);
        }
      }
      const ttfb = new Map<string, number[]>();
      const add = (k: string, v: number): void => void ttfb.set(k, [...(ttfb.get(k) ?? []), v]);
      for (const ip of extraIps) {
        const d: Dest = { host: ip, port: origin.https };
        add('direct', (await oneShot(undefined, d, '/1k', ca.certPem)).ttfbMs);
        for (const t of icpt.filter((x) => x.port)) add(`${t.name} new`, (await oneShot(t.port, d, '/1k', caOf(t))).ttfbMs);
        for (const t of icpt.filter((x) => x.port)) add(`${t.name} cached`, (await oneShot(t.port, d, '/1k', caOf(t))).ttfbMs);
      }
      const d50 = percentile(ttfb.get('direct') ?? [], 0.5);
      record('4 interception TTFB, new connection', 'p50 ms', 'lower', 'direct', d50);
      for (const t of icpt.filter((x) => x.port)) {
        for (const kind of ['new', 'cached']) {
          const list = ttfb.get(`${t.name} ${kind}`) ?? [];
          record(`4 interception TTFB, ${kind} host`, 'p50 ms', 'lower', t.name, percentile(list, 0.5));
          record(`4 interception TTFB, ${kind} host`, 'added p50 ms', 'lower', t.name, percentile(list, 0.5) - d50);
          record(`4 interception TTFB, ${kind} host`, 'p99 ms', 'lower', t.name, percentile(list, 0.99));
        }
      }
    }

    // 5. Interception with body scanning: POSTs of 1 MiB JSON.
    if (TESTS.has(5) && icpt.length > 1) {
      const log = generateCiLog({ bytes: MiB, seed: 5 }).text.toString('utf8').split('\n');
      const json = Buffer.from(JSON.stringify({ job: 'bench', lines: log }));
      const head = Buffer.from(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${origin.https}\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`);
      const dest: Dest = { host: '127.0.0.1', port: origin.https };
      for (let r = 0; r < P.repeats; r++) {
        for (const t of rotate(icpt, r)) {
          const pid = t.server?.pid;
          const cpu0 = pid ? cpuMs(pid) : 0;
          const res = await keepAliveLoad(async () => startTls(await openTunnel(t.port, dest), dest, caOf(t)), () => [head, json], 2, P.loadMs, 100_000);
          const cpu = pid ? cpuMs(pid) - cpu0 : 0;
          const mbps = (res.requests * json.length) / 1e6 / (res.ms / 1000);
          record('5 interception, 1 MiB JSON POSTs', 'MB/s', 'higher', t.name, mbps);
          if (pid) record('5 interception, 1 MiB JSON POSTs', 'proxy CPU ms/MiB', 'lower', t.name, cpu / ((res.requests * json.length) / MiB));
          if (pid && cpu > 0) record('5 interception, 1 MiB JSON POSTs', 'MB/s per core (CPU time)', 'higher', t.name, (res.requests * json.length) / 1e6 / (cpu / 1000));
          console.log(`5 ${t.name}: ${mbps.toFixed(1)} MB/s (${res.requests} POSTs, ${res.errors} errors)`);
        }
      }
    }

    // 6. Log ingest.
    const ckp = targets.find((t) => t.name === 'chokepoint');
    if (TESTS.has(6) && ckp?.server && ingestPort) {
      const text = generateCiLog({ bytes: P.ingestBytes, seed: 6 }).text;
      // One untimed pass first: a new engine scans at a fraction of its speed until RE2 has
      // built its DFA states (bench/warmup.ts), and a proxy serving a fleet is past that.
      const warm = await postBody(ingestPort, '/v1/logs', { authorization: `Bearer ${ingestToken}`, 'content-type': 'text/plain', 'x-chokepoint-pool': 'bench', 'x-chokepoint-job': 'bench-warm-up' }, text, MiB);
      if (warm !== 200) throw new Error(`ingest answered ${warm}`);
      for (let r = 0; r < P.repeats; r++) {
        const cpu0 = cpuMs(ckp.server.pid);
        const t0 = performance.now();
        const status = await postBody(ingestPort, '/v1/logs', { authorization: `Bearer ${ingestToken}`, 'content-type': 'text/plain', 'x-chokepoint-pool': 'bench', 'x-chokepoint-job': `bench-${r}` }, text, MiB);
        const ms = performance.now() - t0;
        const cpu = cpuMs(ckp.server.pid) - cpu0;
        if (status !== 200) throw new Error(`ingest answered ${status}`);
        record('6 log ingest', 'MB/s', 'higher', 'chokepoint', text.length / 1e6 / (ms / 1000));
        record('6 log ingest', 'MB/s per core (CPU time)', 'higher', 'chokepoint', text.length / 1e6 / (cpu / 1000));
        console.log(`6 chokepoint ingest: ${(text.length / 1e6 / (ms / 1000)).toFixed(1)} MB/s`);
      }
    }

    // 7b/c. Memory with open tunnels and during a streamed upload (plain HTTP, absolute URI).
    if (TESTS.has(7)) {
      for (const t of proxies.filter((x) => x.name !== 'chokepoint-w2')) {
        const pid = t.server?.pid as number;
        const sockets = await openIdleTunnels(t.port as number, { host: '127.0.0.1', port: origin.http }, P.tunnels, 90_000);
        await sleep(1000);
        record(`7 memory: ${P.tunnels} open tunnels`, 'MiB RSS', 'lower', t.name, treeRss(pid) / MiB);
        record(`7 memory: ${P.tunnels} open tunnels`, 'tunnels open', 'higher', t.name, sockets.length, true);
        console.log(`7 ${t.name}: ${sockets.length} tunnels, ${(treeRss(pid) / MiB).toFixed(0)} MiB`);
        for (const s of sockets) s.destroy();
        await sleep(2000);
      }
      const chunk = generateCiLog({ bytes: MiB, seed: 7 }).text;
      // The upload goes to a sink that reads the whole body before it answers (nginx's
      // `return` answers at once and the proxies then cut the upload short).
      const sink = http.createServer((req, res) => {
        let n = 0;
        req.on('data', (b: Buffer) => (n += b.length));
        req.once('end', () => res.end(`${n}\n`));
      });
      await new Promise<void>((r) => sink.listen(sinkPort, '127.0.0.1', r));
      try {
      for (const t of proxies.filter((x) => x.name !== 'chokepoint-w2')) {
        const pid = t.server?.pid as number;
        const before = treeRss(pid);
        let peak = before;
        const timer = setInterval(() => (peak = Math.max(peak, treeRss(pid))), 50);
        const t0 = performance.now();
        let status = 0;
        try {
          status = await postRepeated(t.port as number, `http://127.0.0.1:${sinkPort}/upload`, chunk, P.uploadBytes);
        } catch (err) {
          console.warn(`${t.name}: upload failed: ${(err as Error).message}`);
          notes.push(`${t.name}: the ${P.uploadBytes / MiB} MiB upload failed (${(err as Error).message}).`);
        } finally {
          clearInterval(timer);
        }
        const secs = (performance.now() - t0) / 1000;
        if (status !== 200) {
          if (status !== 0) notes.push(`${t.name}: the ${P.uploadBytes / MiB} MiB upload was answered ${status}.`);
          continue;
        }
        record(`7 memory: ${P.uploadBytes / MiB} MiB streamed upload`, 'MiB RSS added (peak)', 'lower', t.name, (peak - before) / MiB);
        record(`7 memory: ${P.uploadBytes / MiB} MiB streamed upload`, 'MB/s', 'higher', t.name, P.uploadBytes / 1e6 / secs, true);
        console.log(`7 ${t.name}: upload peak +${((peak - before) / MiB).toFixed(1)} MiB at ${(P.uploadBytes / 1e6 / secs).toFixed(0)} MB/s`);
      }
      } finally {
        sink.closeAllConnections();
        sink.close();
      }
    }

    // ---- report ----
    const table = { header: ['proxy', 'test', 'value: median (min–max)', 'unit', 'vs best peer', 'issue #19 target'], rows: tableRows(), align: ['left', 'right', 'right', 'right', 'right', 'left'] as const };
    console.log('\n' + formatTable(table));
    const targetList = targetLines(verdicts());
    console.log('\nIssue #19 targets (bench/targets.ts):');
    for (const t of targetList) console.log(`  ${t}`);
    for (const n of noteLines()) console.log(`note: ${n}`);
    if (baseCli) {
      console.log(`\nchokepoint (this tree) against ${BASE} (${BASELINE}), same run:`);
      console.log(formatTable({ header: ['test', 'unit', 'chokepoint', BASE, 'ratio', 'better'], rows: baselineRows() }));
    }
    const versions = {
      squid: versionOf('squid', ['-v'], /Version (\S+)/),
      tinyproxy: versionOf('tinyproxy', ['-v'], /tinyproxy (\S+)/),
      mitmproxy: versionOf('mitmdump', ['--version'], /Mitmproxy: (\S+)/),
      nginx: versionOf('nginx', ['-v'], /nginx\/(\S+)/),
      wrk: versionOf('wrk', ['-v'], /wrk (?:debian\/)?(\S+)/),
      curl: versionOf('curl', ['--version'], /curl (\S+)/),
    };
    const m = machine();
    const cmd = `npm run bench${QUICK ? ' -- --quick' : ''}`;
    console.log(`\n${describeMachine(m, { ...versions, ...packageVersions(['pino']) })}\nCommand: ${cmd}`);
    if (!flag('--no-docs') && !ONLY && !option('--tests') && !CPU_PROF && !BASELINE) {
      const body = [
        `Command: \`${cmd}\` (generated ${new Date().toISOString().slice(0, 10)}). Loopback only; origin: nginx ${versions.nginx} (1 worker, /1k, /big ${P.bulkBytes / MiB} MiB, /upload discards the body) over HTTP and HTTPS; the streamed upload of test 7 goes to a Node server in the harness that reads the whole body before it answers. \`chokepoint-w2\` idle RSS is the primary and its 2 workers.`,
        `Peers with minimal configs (bench/peers/configs.ts): squid ${versions.squid} (\`-N\`, one process, no cache, no access log), tinyproxy ${versions.tinyproxy}, mitmdump ${versions.mitmproxy} (regular mode; \`--ignore-hosts '.*'\` for tests 1–3 and 7, intercepting for 4–5). Chokepoint: the built CLI, one enforce pool, access log at info to /dev/null; \`chokepoint-w2\` is the same with \`workers: 2\`.`,
        `${P.repeats} interleaved repeats (proxy order rotated each round); values are median (min–max) over repeats; test 3 and the TTFB rows are percentiles over ${P.newConn} and ${P.ttfbHosts} interleaved samples; test 6 starts with one untimed ingest of the same text (a new engine warms up first: bench/warmup.ts). "vs best peer" is the value divided by the best of squid, tinyproxy and mitmproxy for that row (read it with the unit's direction). CPU is user+system time of the proxy's process tree from /proc/<pid>/stat over the measurement; RSS is the tree's VmRSS. The load generators (wrk ${versions.wrk}, curl ${versions.curl}, Node clients in bench/peers/load.ts) share the 2 cores with the proxy, so req/s is bounded by the machine; CPU per request is not.`,
        '',
        markdownTable(table),
        '',
        'Issue #19 targets (bench/targets.ts), judged on the medians above:',
        '',
        ...targetList.map((t) => `- ${t}`),
        '',
        ...noteLines().map((n) => `- ${n}`),
        '',
        `Machine: ${describeMachine(m, packageVersions(['pino']))}.`,
      ].join('\n');
      writeSection(join(root, 'docs/benchmarks.md'), 'Side by side: proxies', body, '# Benchmarks\n');
      console.log('wrote docs/benchmarks.md (Side by side: proxies)');
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

function noteLines(): string[] {
  return [...[...closes].map((n) => `${n} closed the client connection after every response in test 1 (no keep-alive to clients): its figure is a new connection per request.`), ...notes];
}

function label(t: Target, icpt: readonly Target[]): string {
  return icpt.includes(t) ? `${t.name} (intercepting)` : t.name;
}

function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** POST `body` to 127.0.0.1:port in `chunk`-sized writes; resolves with the status once the response ends. */
function postBody(port: number, path: string, headers: http.OutgoingHttpHeaders, body: Buffer, chunk: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-length': body.length } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.setTimeout(300_000, () => req.destroy(new Error('timeout')));
    let off = 0;
    const write = (): void => {
      while (off < body.length) {
        const part = body.subarray(off, off + chunk);
        off += part.length;
        if (!req.write(part)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

/** POST `total` bytes (repeating `chunk`) through a proxy to an absolute URI; resolves with the status. */
function postRepeated(proxyPort: number, url: string, chunk: Buffer, total: number): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    let sentAll = false;
    const req = http.request({ host: '127.0.0.1', port: proxyPort, path: url, method: 'POST', headers: { host: u.host, 'content-type': 'text/plain', 'content-length': total } }, (res) => {
      res.resume();
      res.once('end', () => (sentAll ? resolve(res.statusCode ?? 0) : reject(new Error(`answered ${res.statusCode} before the body was sent`))));
    });
    req.once('finish', () => (sentAll = true));
    req.once('error', reject);
    // Bounded: a proxy that buffers the whole body may take long; it is reported, not waited for.
    req.setTimeout(120_000, () => req.destroy(new Error('no progress for 120 s')));
    const deadline = setTimeout(() => req.destroy(new Error('not done after 240 s')), 240_000);
    req.once('close', () => clearTimeout(deadline));
    let sent = 0;
    const write = (): void => {
      while (sent < total) {
        const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += part.length;
        if (!req.write(part)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

let stopping = false;
const onSignal = (): void => {
  if (stopping) return;
  stopping = true;
  void stopAll().then(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

main().catch(async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exitCode = 1;
});
