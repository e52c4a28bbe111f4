// `npm run bench:dns [-- --quick] [-- --no-write] [-- --baseline DIR] [-- --cpu-prof DIR]`
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
//
// --baseline DIR: also run the built CLI of another tree (a checkout of an older commit
//   with `npm run build` done, node_modules linked) as `@base`, its Chokepoints started
//   beside ours and measured in the same rounds, interleaved: old and new side by side on
//   the same machine and moment, with the ratio printed. The section written then carries
//   both (the baseline's commit named).
// --cpu-prof DIR: run our cached Chokepoint under `node --cpu-prof`, the profile written
//   to DIR when it stops (it drains and exits on SIGTERM).
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import dnsPacket, { type Answer } from 'dns-packet';
import { startUpstream, type Upstream } from '../test/helpers/dns.js';
import { startCli, stopCli, type RunningCli } from './lib/cli.js';
import { cpuMs } from './lib/proc.js';
import { describeMachine, machine, packageVersions } from './lib/machine.js';
import { writeSection } from './lib/markdown.js';
import { formatStats, stats, type Stats } from './lib/stats.js';

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = argv.includes('--quick');
const BASELINE = option('--baseline');
const CPU_PROF = option('--cpu-prof');
const WRITE = !argv.includes('--no-write') && !QUICK && !CPU_PROF;
const P = QUICK ? { rounds: 2, loadMs: 1500, latencyQueries: 400 } : { rounds: 3, loadMs: 5000, latencyQueries: 2000 };
const NAMES = 100;
const WINDOW = 64;
const SOCKETS = 4;
const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'bin', 'chokepoint.js');

const zone: Record<string, Answer[]> = {};
const names = Array.from({ length: NAMES }, (_, i) => `host${i}.bench.example.com`);
names.forEach((n, i) => (zone[n] = [{ type: 'A', name: n, ttl: 3600, data: `104.16.${i >> 8}.${i & 255}` }]));

type Running = RunningCli;

function startChokepoint(cli: string, upstreamPort: number, cacheTtl: string, nodeArgs: string[] = []): Promise<Running> {
  return startCli(
    cli,
    (dir) => `listen: 127.0.0.1:0
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
    'dns',
    nodeArgs,
  );
}

const stop = stopCli;

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

/** The commit a tree is at (for the baseline's label), or `?`. */
function commitOf(dir: string): string {
  const r = spawnSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '?';
}

type Path = 'cached' | 'uncached';
/** One Chokepoint measured: ours or the baseline's, cached or uncached. */
interface Target {
  label: string;
  path: Path;
  base: boolean;
  running: Running;
  perCore: number[];
  wall: number[];
  failed: number[];
  p50: number[];
  p99: number[];
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const baseCli = BASELINE ? join(resolve(BASELINE), 'dist', 'bin', 'chokepoint.js') : undefined;
  if (baseCli && !existsSync(baseCli)) throw new Error(`--baseline: ${baseCli} does not exist (run npm run build in ${BASELINE})`);
  const baseCommit = BASELINE ? commitOf(resolve(BASELINE)) : '';
  const profArgs = CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', resolve(CPU_PROF)] : [];
  const loadBefore = loadavg()[0]?.toFixed(2) ?? '?';
  const upstream: Upstream = await startUpstream(zone);
  const targets: Target[] = [];
  const add = async (label: string, path: Path, base: boolean, cli: string, nodeArgs: string[] = []): Promise<void> => {
    const running = await startChokepoint(cli, upstream.port, path === 'cached' ? '30s' : '0s', nodeArgs);
    targets.push({ label, path, base, running, perCore: [], wall: [], failed: [], p50: [], p99: [] });
  };
  const direct = { p50: [] as number[], p99: [] as number[] };
  const latencyClient = new Client();
  try {
    await add('cached', 'cached', false, CLI, profArgs);
    if (baseCli) await add('cached @base', 'cached', true, baseCli);
    await add('uncached', 'uncached', false, CLI);
    if (baseCli) await add('uncached @base', 'uncached', true, baseCli);
    // Warm up: every name a few times through each (fills the cache, lets V8 optimise).
    for (let i = 0; i < NAMES * 3; i++) for (const t of targets) await latencyClient.ask(t.running.port, i);
    for (let round = 0; round < P.rounds; round++) {
      // Ours and the baseline's in turn; who goes first alternates by round.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const res = await load(t.running.port, t.running.child.pid as number, P.loadMs);
        t.perCore.push(res.answered / (res.cpuMs / 1000));
        t.wall.push(res.answered / (res.wallMs / 1000));
        t.failed.push(res.failed);
        console.log(`round ${round + 1} ${t.label}: ${res.answered} answered (${res.failed} lost) in ${res.wallMs.toFixed(0)} ms wall, ${res.cpuMs.toFixed(0)} ms chokepoint CPU`);
      }
      const [d, ...via] = await latencies([upstream.port, ...targets.map((t) => t.running.port)], latencyClient, P.latencyQueries);
      direct.p50.push(percentile(d as number[], 50));
      direct.p99.push(percentile(d as number[], 99));
      targets.forEach((t, k) => {
        t.p50.push(percentile(via[k] as number[], 50));
        t.p99.push(percentile(via[k] as number[], 99));
      });
    }
  } finally {
    latencyClient.close();
    for (const t of targets) await stop(t.running);
    await upstream.close();
  }
  const loadAfter = loadavg()[0]?.toFixed(2) ?? '?';

  const s = (a: number[]): Stats => stats(a);
  const added = (t: Target, p: 'p50' | 'p99'): Stats => s(t[p].map((v, i) => v - (direct[p][i] as number)));
  const baseOf = (t: Target): Target | undefined => targets.find((b) => b.base && b.path === t.path);
  const ratio = (t: Target): string => {
    const b = baseOf(t);
    return !t.base && b ? `${(s(t.perCore).median / s(b.perCore).median).toFixed(2)}x` : '';
  };
  const table = [
    `| path | answers/s per core (Chokepoint CPU) | answers/s wall clock | lost (1 s timeout) |${baseCli ? ' per core vs @base |' : ''}`,
    `| :--- | ---: | ---: | ---: |${baseCli ? ' ---: |' : ''}`,
    ...targets.map((t) => `| ${t.label} | ${formatStats(s(t.perCore), 0)} | ${formatStats(s(t.wall), 0)} | ${formatStats(s(t.failed), 0)} |${baseCli ? ` ${ratio(t)} |` : ''}`),
    '',
    '| one query at a time | p50 µs | p99 µs | added p50 µs | added p99 µs |',
    '| :--- | ---: | ---: | ---: | ---: |',
    `| direct to the upstream | ${formatStats(s(direct.p50), 0)} | ${formatStats(s(direct.p99), 0)} | | |`,
    ...targets.map((t) => `| via Chokepoint, ${t.label} | ${formatStats(s(t.p50), 0)} | ${formatStats(s(t.p99), 0)} | ${formatStats(added(t, 'p50'), 0)} | ${formatStats(added(t, 'p99'), 0)} |`),
  ].join('\n');
  const ours = (path: Path): Target => targets.find((t) => !t.base && t.path === path) as Target;
  const cachedPerCore = s(ours('cached').perCore).median;
  const addedP50 = added(ours('cached'), 'p50').median;
  const verdicts = [
    `- cached answers per second per core: ${cachedPerCore.toFixed(0)} (target >= 20,000): ${cachedPerCore >= 20_000 ? 'met' : 'NOT met'}`,
    `- added latency at p50, cached: ${(addedP50 / 1000).toFixed(3)} ms (target < 1 ms): ${addedP50 < 1000 ? 'met' : 'NOT met'}`,
    `- added latency at p50, uncached: ${(added(ours('uncached'), 'p50').median / 1000).toFixed(3)} ms`,
  ].join('\n');
  const m = machine();
  const versions = packageVersions(['dns-packet', 'lru-cache']);
  const command = `npm run bench:dns${QUICK ? ' -- --quick' : ''}${baseCli ? `${QUICK ? '' : ' --'} --baseline DIR` : ''}`;
  const baseNote = baseCli ? `\n\`@base\`: the built CLI of commit ${baseCommit} (a checkout in DIR with \`npm run build\`), run in the same rounds, interleaved with ours (order alternating by round).` : '';
  console.log(`\n${table}\n\n${verdicts}\n${baseNote}\nmachine: ${describeMachine(m, versions)}; load average ${loadBefore} before, ${loadAfter} after\ncommand: ${command}`);
  if (WRITE) {
    const body = [
      `The DNS listener (\`dns.listen\`), UDP, on loopback: the built CLI with one pool (enforce, \`*.bench.example.com\`), rate limit off, the DNS name reader on (the default: every query name is read for secrets and tunnelling), the access log written to a pipe the benchmark drains, answering ${NAMES} names from an upstream DNS server in the benchmark's own process (which also generates the load). "cached": \`dns.cacheTtl: 30s\`, every timed query is a cache hit; "uncached": \`dns.cacheTtl: 0s\`, every query is forwarded to the upstream. Each Chokepoint is one process (one core at most).`,
      '',
      `Throughput: ${WINDOW} queries kept outstanding over ${SOCKETS} sockets for ${P.loadMs / 1000} s; answers per second of Chokepoint's own CPU time (user + system, from /proc), so the figure stands for one busy core whatever else runs; wall-clock rate beside it. Latency: one query at a time, direct to the upstream and via each Chokepoint, interleaved, ${P.latencyQueries} each per round; "added" is via minus direct, per round. ${P.rounds} rounds, median (min–max).${baseNote ? `\n${baseNote}` : ''}`,
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
