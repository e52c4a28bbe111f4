// `npm run bench:dns [-- --quick] [-- --no-write]`
//
// The DNS listener (issue #16): answers per second per core, cached and uncached, and the
// latency it adds over asking the upstream directly. Two Chokepoints run as the built CLI
// (dist/, built if absent), one with dns.cacheTtl 30s (every query after the first is a
// cache hit), one with 0s (every query is forwarded); the upstream is a DNS server in this
// process on loopback, and so is the load generator.
//
// - Throughput: 64 queries kept outstanding over 4 UDP sockets for a few seconds, names
//   cycled over 100; answers per second of Chokepoint's own CPU time (user + system from
//   /proc, so the figure holds on a machine others load: one CPU-second is one core busy
//   for a second). The wall-clock rate is printed beside it.
// - Latency: one query at a time, direct to the upstream, via the cached and via the
//   uncached Chokepoint, interleaved; p50 and p99, and the difference to direct.
// Rounds repeat (median, min–max). Writes the `## DNS listener` section of
// docs/benchmarks.md unless --no-write or --quick.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import dnsPacket, { type Answer } from 'dns-packet';
import { startUpstream, type Upstream } from '../test/helpers/dns.js';
import { cpuMs } from './lib/proc.js';
import { describeMachine, machine, packageVersions } from './lib/machine.js';
import { writeSection } from './lib/markdown.js';
import { formatStats, stats, type Stats } from './lib/stats.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = !argv.includes('--no-write') && !QUICK;
const P = QUICK ? { rounds: 2, loadMs: 1500, latencyQueries: 400 } : { rounds: 3, loadMs: 5000, latencyQueries: 2000 };
const NAMES = 100;
const WINDOW = 64;
const SOCKETS = 4;
const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'bin', 'chokepoint.js');

const zone: Record<string, Answer[]> = {};
const names = Array.from({ length: NAMES }, (_, i) => `host${i}.bench.example.com`);
names.forEach((n, i) => (zone[n] = [{ type: 'A', name: n, ttl: 3600, data: `104.16.${i >> 8}.${i & 255}` }]));

interface Running {
  child: ChildProcess;
  port: number;
  dir: string;
}

async function startChokepoint(upstreamPort: number, cacheTtl: string): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-bench-dns-'));
  const configPath = join(dir, 'chokepoint.yaml');
  writeFileSync(
    configPath,
    `listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
stateDir: ${join(dir, 'state')}
dns:
  listen: 127.0.0.1:0
  servers: [127.0.0.1:${upstreamPort}]
  cacheTtl: ${cacheTtl}
  rateLimit: { perSecond: 0 }
pools:
  - name: bench
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["*.bench.example.com"]
`,
  );
  const child = spawn(process.execPath, [CLI, 'start', '--config', configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((done, fail) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => fail(new Error('chokepoint did not start')), 15_000);
    rl.on('line', (line) => {
      if (!line.includes('chokepoint started')) return;
      clearTimeout(timer);
      rl.close(); // the access log (a line per query, written as in production) is dropped unread from here on
      const m = /"dns":"[^"]*:(\d+)"/.exec(line);
      if (m) done(Number(m[1]));
      else fail(new Error(`no dns address in: ${line}`));
    });
  });
  child.stdout?.resume();
  return { child, port, dir };
}

async function stop(r: Running): Promise<void> {
  if (r.child.exitCode === null) {
    const exited = new Promise((done) => r.child.once('close', done));
    r.child.kill('SIGTERM');
    await exited;
  }
  rmSync(r.dir, { recursive: true, force: true });
}

/** A UDP client with its own socket: send a query, get the reply (or undefined after 1 s). */
class Client {
  private readonly socket = dgram.createSocket('udp4');
  private readonly waiting = new Map<number, (ok: boolean) => void>();
  private nextId = 1;
  private readonly queries = names.map((n) => dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: n }] }));

  constructor() {
    this.socket.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      const w = this.waiting.get(id);
      if (w) {
        this.waiting.delete(id);
        w(msg.length > 12 && (msg.readUInt16BE(2) & 0xf) === 0 && msg.readUInt16BE(6) > 0);
      }
    });
  }

  ask(port: number, nameIndex: number): Promise<boolean> {
    const id = this.nextId;
    this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
    const q = Buffer.from(this.queries[nameIndex % NAMES] as Buffer);
    q.writeUInt16BE(id, 0);
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        done(false);
      }, 1000);
      this.waiting.set(id, (ok) => {
        clearTimeout(timer);
        done(ok);
      });
      this.socket.send(q, port, '127.0.0.1');
    });
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Answers for `ms` with WINDOW queries outstanding (WINDOW / SOCKETS per socket): each
 * answer sends the next query at once, from the answer's callback (no promise or timer per
 * query, so the generator stays cheaper than what it measures). A socket silent for a
 * second has its lost queries counted and sent again.
 */
async function load(port: number, pid: number, ms: number): Promise<{ answered: number; failed: number; wallMs: number; cpuMs: number }> {
  const queries = names.map((n, i) => dnsPacket.encode({ type: 'query', id: i, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: n }] }));
  const perSocket = WINDOW / SOCKETS;
  let answered = 0;
  let failed = 0;
  let n = 0;
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: SOCKETS }, () => {
      const socket = dgram.createSocket('udp4');
      let inFlight = 0;
      let lastSeen = performance.now();
      const send = (): void => {
        inFlight++;
        socket.send(queries[n++ % NAMES] as Buffer, port, '127.0.0.1');
      };
      return new Promise<void>((done) => {
        const finish = (): void => {
          clearInterval(watch);
          socket.close();
          done();
        };
        const watch = setInterval(() => {
          const now = performance.now();
          if (now > end + 1000) return finish();
          if (now - lastSeen > 1000 && now < end) {
            failed += inFlight;
            inFlight = 0;
            lastSeen = now;
            for (let i = 0; i < perSocket; i++) send();
          }
        }, 250);
        socket.on('message', (msg) => {
          inFlight--;
          lastSeen = performance.now();
          if (msg.length > 12 && (msg.readUInt16BE(2) & 0xf) === 0 && msg.readUInt16BE(6) > 0) answered++;
          else failed++;
          if (lastSeen < end) send();
          else if (inFlight === 0) finish();
        });
        for (let i = 0; i < perSocket; i++) send();
      });
    }),
  );
  return { answered, failed, wallMs: performance.now() - t0, cpuMs: cpuMs(pid) - cpu0 };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** One query at a time to each target in turn; microseconds per answer, sorted, per target. */
async function latencies(ports: number[], client: Client, count: number): Promise<number[][]> {
  const out = ports.map(() => [] as number[]);
  for (let i = 0; i < count; i++) {
    for (let t = 0; t < ports.length; t++) {
      const t0 = process.hrtime.bigint();
      const ok = await client.ask(ports[t] as number, i);
      if (ok) (out[t] as number[]).push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }
  return out.map((a) => a.sort((x, y) => x - y));
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const loadBefore = loadavg()[0]?.toFixed(2) ?? '?';
  const upstream: Upstream = await startUpstream(zone);
  const cached = await startChokepoint(upstream.port, '30s');
  const uncached = await startChokepoint(upstream.port, '0s');
  const latencyClient = new Client();
  const rows: Record<string, { perCore: number[]; wall: number[]; failed: number[] }> = { cached: { perCore: [], wall: [], failed: [] }, uncached: { perCore: [], wall: [], failed: [] } };
  const lat: Record<'direct' | 'cached' | 'uncached', { p50: number[]; p99: number[] }> = { direct: { p50: [], p99: [] }, cached: { p50: [], p99: [] }, uncached: { p50: [], p99: [] } };
  try {
    // Warm up: every name once through each (fills the cache, lets V8 optimise).
    for (let i = 0; i < NAMES * 3; i++) {
      await latencyClient.ask(cached.port, i);
      await latencyClient.ask(uncached.port, i);
    }
    for (let round = 0; round < P.rounds; round++) {
      for (const [label, r] of [['cached', cached], ['uncached', uncached]] as const) {
        const res = await load(r.port, r.child.pid as number, P.loadMs);
        rows[label]?.perCore.push(res.answered / (res.cpuMs / 1000));
        rows[label]?.wall.push(res.answered / (res.wallMs / 1000));
        rows[label]?.failed.push(res.failed);
        console.log(`round ${round + 1} ${label}: ${res.answered} answered (${res.failed} lost) in ${res.wallMs.toFixed(0)} ms wall, ${res.cpuMs.toFixed(0)} ms chokepoint CPU`);
      }
      const [direct, viaCached, viaUncached] = await latencies([upstream.port, cached.port, uncached.port], latencyClient, P.latencyQueries);
      for (const [label, sorted] of [['direct', direct], ['cached', viaCached], ['uncached', viaUncached]] as const) {
        lat[label].p50.push(percentile(sorted as number[], 50));
        lat[label].p99.push(percentile(sorted as number[], 99));
      }
    }
  } finally {
    latencyClient.close();
    await stop(cached);
    await stop(uncached);
    await upstream.close();
  }
  const loadAfter = loadavg()[0]?.toFixed(2) ?? '?';

  const s = (a: number[]): Stats => stats(a);
  const added = (label: 'cached' | 'uncached', p: 'p50' | 'p99'): Stats => s(lat[label][p].map((v, i) => v - (lat.direct[p][i] as number)));
  const table = [
    '| path | answers/s per core (Chokepoint CPU) | answers/s wall clock | lost (1 s timeout) |',
    '| :--- | ---: | ---: | ---: |',
    ...(['cached', 'uncached'] as const).map((k) => `| ${k} | ${formatStats(s(rows[k]?.perCore ?? []), 0)} | ${formatStats(s(rows[k]?.wall ?? []), 0)} | ${formatStats(s(rows[k]?.failed ?? []), 0)} |`),
    '',
    '| one query at a time | p50 µs | p99 µs | added p50 µs | added p99 µs |',
    '| :--- | ---: | ---: | ---: | ---: |',
    `| direct to the upstream | ${formatStats(s(lat.direct.p50), 0)} | ${formatStats(s(lat.direct.p99), 0)} | | |`,
    ...(['cached', 'uncached'] as const).map(
      (k) => `| via Chokepoint, ${k} | ${formatStats(s(lat[k].p50), 0)} | ${formatStats(s(lat[k].p99), 0)} | ${formatStats(added(k, 'p50'), 0)} | ${formatStats(added(k, 'p99'), 0)} |`,
    ),
  ].join('\n');
  const cachedPerCore = s(rows.cached?.perCore ?? []).median;
  const addedP50 = added('cached', 'p50').median;
  const verdicts = [
    `- cached answers per second per core: ${cachedPerCore.toFixed(0)} (target >= 20,000): ${cachedPerCore >= 20_000 ? 'met' : 'NOT met'}`,
    `- added latency at p50, cached: ${(addedP50 / 1000).toFixed(3)} ms (target < 1 ms): ${addedP50 < 1000 ? 'met' : 'NOT met'}`,
    `- added latency at p50, uncached: ${(added('uncached', 'p50').median / 1000).toFixed(3)} ms`,
  ].join('\n');
  const m = machine();
  const versions = packageVersions(['dns-packet', 'lru-cache']);
  const command = `npm run bench:dns${QUICK ? ' -- --quick' : ''}`;
  console.log(`\n${table}\n\n${verdicts}\n\nmachine: ${describeMachine(m, versions)}; load average ${loadBefore} before, ${loadAfter} after\ncommand: ${command}`);
  if (WRITE) {
    const body = [
      `The DNS listener (\`dns.listen\`), UDP, on loopback: the built CLI with one pool (enforce, \`*.bench.example.com\`), rate limit off, answering ${NAMES} names from an upstream DNS server in the benchmark's own process (which also generates the load). "cached": \`dns.cacheTtl: 30s\`, every timed query is a cache hit; "uncached": \`dns.cacheTtl: 0s\`, every query is forwarded to the upstream. Each Chokepoint is one process (one core at most).`,
      '',
      `Throughput: ${WINDOW} queries kept outstanding over ${SOCKETS} sockets for ${P.loadMs / 1000} s; answers per second of Chokepoint's own CPU time (user + system, from /proc), so the figure stands for one busy core whatever else runs; wall-clock rate beside it. Latency: one query at a time, direct to the upstream and via each Chokepoint, interleaved, ${P.latencyQueries} each per round; "added" is via minus direct, per round. ${P.rounds} rounds, median (min–max).`,
      '',
      table,
      '',
      verdicts,
      '',
      `The machine is shared: other engineers' builds and tests ran during the measurement (load average below), and the load generator and the upstream share its 2 cores with Chokepoint; per-core figures use Chokepoint's CPU time for that reason, and latencies carry the noise.`,
      '',
      `Machine: ${describeMachine(m, versions)}; load average (1 min) ${loadBefore} before the run, ${loadAfter} after.`,
      '',
      `Command: \`${command}\` (generated ${new Date().toISOString().slice(0, 10)}).`,
    ].join('\n');
    writeSection(join(ROOT, 'docs/benchmarks.md'), 'DNS listener', body, '# Benchmarks');
  }
}

await main();
