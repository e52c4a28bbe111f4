// `npm run bench:websocket [-- --quick] [-- --no-write] [-- --baseline DIR]`
//
// WebSocket message scanning (issue #15): megabytes of client messages per second per core
// that Chokepoint reads (unmasks, scans, judges) and forwards, next to the same bytes
// through a CONNECT tunnel of the same Chokepoint, which pipes them unread (the baseline,
// run side by side in every round).
//
// - Chokepoint is the built CLI (dist/, built if absent), one pool, secrets.action alert,
//   one process. The origin is a `ws` server in this process on loopback; so is the client,
//   which writes pre-masked frames of CI-log-like text (a secret planted about every
//   64 KiB, so findings are made and judged as in production) as fast as the socket takes
//   them, on 4 connections at once, for a few seconds.
// - The figure: bytes the origin received per second of Chokepoint's CPU time (user +
//   system from /proc): one CPU-second is one core busy for a second, so the figure holds
//   on a machine others load. The wall-clock rate is printed beside it.
// - `--baseline DIR`: also reads the same frames through the Chokepoint of another tree (a git
//   worktree of an older commit, built), interleaved in the same rounds, and prints new / old.
// - Plain HTTP (an absolute-URI upgrade): the TLS of an intercepted tunnel costs the same
//   for every channel and is measured by the interception benches; this one isolates the
//   message reading.
// - `CHOKEPOINT_PROF=DIR` writes a CPU profile of each Chokepoint there; `CHOKEPOINT_NODE_ARGS`
//   passes more flags to its node (`--trace-gc`, `--perf-basic-prof`, ...); `WS_SIZES=1024,16384`
//   measures those message sizes only (bytes, comma-separated).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { WebSocketServer } from 'ws';
import { generateCiLog } from './lib/cilog.js';
import { describeMachine, machine, packageVersions } from './lib/machine.js';
import { writeSection } from './lib/markdown.js';
import { startCli, stopCli, type RunningCli } from './lib/cli.js';
import { cpuMs } from './lib/proc.js';
import { formatStats, stats } from './lib/stats.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = !argv.includes('--no-write') && !QUICK;
const P = QUICK ? { rounds: 2, loadMs: 1500 } : { rounds: 3, loadMs: 5000 };
const WARM_MS = QUICK ? 1500 : 3000;
const CONNECTIONS = 4;
const SIZES = process.env.WS_SIZES ? process.env.WS_SIZES.split(',').map(Number) : [1024, 16 * 1024, 256 * 1024];
const TARGET_MB_PER_CORE = 100;
const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'bin', 'chokepoint.js');
const BASELINE = argv.includes('--baseline') ? resolve(argv[argv.indexOf('--baseline') + 1] ?? '') : undefined;

/** Masked binary frames of `size` bytes each, cut from CI-log-like text (binary: a cut may split a UTF-8 sequence, which a text frame may not). */
function frames(size: number, count: number): Buffer[] {
  const text = generateCiLog({ bytes: size * count + 1, seed: 0x5eb }).text;
  const mask = Buffer.from([0x3c, 0xa5, 0x0f, 0x96]);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const payload = text.subarray(i * size, (i + 1) * size);
    let header: Buffer;
    if (size < 126) header = Buffer.from([0x82, 0x80 | size]);
    else if (size < 65536) header = Buffer.from([0x82, 0x80 | 126, size >> 8, size & 0xff]);
    else {
      header = Buffer.alloc(10);
      header[0] = 0x82;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(size), 2);
    }
    const masked = Buffer.allocUnsafe(size);
    for (let k = 0; k < size; k++) masked[k] = (payload[k] as number) ^ (mask[k & 3] as number);
    out.push(Buffer.concat([header, mask, masked]));
  }
  return out;
}

interface Origin {
  port: number;
  received: () => number;
  close: () => Promise<void>;
}

async function startOrigin(): Promise<Origin> {
  const server = http.createServer();
  // perMessageDeflate off: the client sends uncompressed frames.
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 1 << 30 });
  let bytes = 0;
  wss.on('connection', (ws) => ws.on('message', (data: Buffer) => (bytes += data.length)));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => bytes,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

function startChokepoint(originPort: number, cli = CLI): Promise<RunningCli> {
  return startCli(
    cli,
    (dir) => `listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
stateDir: ${join(dir, 'state')}
scan:
  maxBufferBytes: 1MiB
pools:
  - name: bench
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["127.0.0.1/32:${originPort}"]
    secrets:
      action: alert
`,
    'listen',
    [
      ...(process.env.CHOKEPOINT_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.CHOKEPOINT_PROF}`] : []),
      ...(process.env.CHOKEPOINT_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? []),
    ],
  );
}

const HANDSHAKE_HEADERS = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: YmVuY2ggY2hva2Vwb2ludA==\r\n';

/** Read up to the end of an HTTP head; resolves with the head, rejects on anything but `status`. */
function readHead(socket: Socket, status: number): Promise<void> {
  return new Promise((done, fail) => {
    let got = '';
    const onData = (c: Buffer): void => {
      got += c.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (got.startsWith(`HTTP/1.1 ${status}`)) done();
      else fail(new Error(`expected ${status}, got: ${got.slice(0, end)}`));
    };
    socket.on('data', onData);
  });
}

/** A WebSocket through the proxy: read (absolute-URI upgrade) or piped (inside a CONNECT tunnel). */
async function openSocket(proxyPort: number, originPort: number, how: 'read' | 'tunnel'): Promise<Socket> {
  const socket = net.connect(proxyPort, '127.0.0.1');
  await new Promise<void>((done, fail) => socket.once('connect', done).once('error', fail));
  const origin = `127.0.0.1:${originPort}`;
  if (how === 'tunnel') {
    socket.write(`CONNECT ${origin} HTTP/1.1\r\nHost: ${origin}\r\n\r\n`);
    await readHead(socket, 200);
    socket.write(`GET /bench HTTP/1.1\r\nHost: ${origin}\r\n${HANDSHAKE_HEADERS}\r\n`);
  } else {
    socket.write(`GET http://${origin}/bench HTTP/1.1\r\nHost: ${origin}\r\n${HANDSHAKE_HEADERS}\r\n`);
  }
  await readHead(socket, 101);
  socket.resume(); // server-to-client: nothing but what we ignore
  return socket;
}

/** Write frames on every socket as fast as they drain, for `ms`; bytes the origin got, wall and proxy CPU time. */
async function load(sockets: Socket[], batch: Buffer[], origin: Origin, pid: number, ms: number): Promise<{ bytes: number; wallMs: number; cpuMs: number }> {
  const before = origin.received();
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const deadline = t0 + ms;
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((done) => {
          let i = 0;
          const pump = (): void => {
            while (performance.now() < deadline) {
              const ok = s.write(batch[i++ % batch.length] as Buffer);
              if (!ok) return void s.once('drain', pump);
            }
            done();
          };
          pump();
        }),
    ),
  );
  // Let what is in flight arrive, then count.
  let last = -1;
  while (origin.received() !== last) {
    last = origin.received();
    await new Promise((r) => setTimeout(r, 100));
  }
  const wallMs = performance.now() - t0;
  return { bytes: origin.received() - before, wallMs, cpuMs: cpuMs(pid) - cpu0 };
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const loadBefore = loadavg()[0]?.toFixed(2) ?? '?';
  const origin = await startOrigin();
  const proxy = await startChokepoint(origin.port);
  const base = BASELINE === undefined ? undefined : await startChokepoint(origin.port, join(BASELINE, 'dist', 'bin', 'chokepoint.js'));
  const rows: Array<{ size: number; read: number[]; tunnel: number[]; base: number[]; readWall: number[]; tunnelWall: number[] }> = [];
  try {
    // One untimed load through each Chokepoint first: a fresh process compiles its hot
    // paths and fills the regex engines' state caches over its first seconds of scanning
    // (the first timed round read 10-20 % lower without this).
    const warm = frames(16 * 1024, 256);
    for (const target of base === undefined ? [proxy] : [proxy, base]) {
      const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => openSocket(target.port, origin.port, 'read')));
      await load(sockets, warm, origin, target.child.pid as number, WARM_MS);
      for (const s of sockets) s.destroy();
    }
    console.log(`warm-up: ${WARM_MS / 1000} s of 16 KiB messages through each Chokepoint, untimed`);
    for (const size of SIZES) {
      console.log(`preparing ${size} B frames`);
      const batch = frames(size, Math.max(4, Math.ceil((4 * 1024 * 1024) / size)));
      const row = { size, read: [] as number[], tunnel: [] as number[], base: [] as number[], readWall: [] as number[], tunnelWall: [] as number[] };
      for (let round = 0; round < P.rounds; round++) {
        for (const how of base === undefined ? (['read', 'tunnel'] as const) : (['read', 'tunnel', 'base'] as const)) {
          const target = how === 'base' && base !== undefined ? base : proxy;
          const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => openSocket(target.port, origin.port, how === 'base' ? 'read' : how)));
          console.log(`${how}: ${CONNECTIONS} connections open`);
          const r = await load(sockets, batch, origin, target.child.pid as number, P.loadMs);
          for (const s of sockets) s.destroy();
          const perCore = r.bytes / 1e6 / (r.cpuMs / 1000);
          row[how].push(perCore);
          if (how !== 'base') row[how === 'read' ? 'readWall' : 'tunnelWall'].push(r.bytes / 1e6 / (r.wallMs / 1000));
          console.log(`${size} B messages, round ${round + 1}, ${how}: ${(r.bytes / 1e6).toFixed(1)} MB in ${r.wallMs.toFixed(0)} ms wall, ${r.cpuMs.toFixed(0)} ms chokepoint CPU: ${perCore.toFixed(1)} MB/s per core`);
        }
      }
      rows.push(row);
    }
  } finally {
    await stopCli(proxy);
    if (base !== undefined) await stopCli(base);
    await origin.close();
  }
  const loadAfter = loadavg()[0]?.toFixed(2) ?? '?';
  const kib = (n: number): string => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);
  const baseCols = base === undefined ? '' : ` read and scanned by ${BASELINE}: MB/s per core | new / baseline |`;
  const table = [
    `| message size | read and scanned: MB/s per core | same bytes piped (CONNECT tunnel): MB/s per core | ratio | read: MB/s wall clock | piped: MB/s wall clock |${baseCols}`,
    `| :--- | ---: | ---: | ---: | ---: | ---: |${base === undefined ? '' : ' ---: | ---: |'}`,
    ...rows.map((r) => {
      const ratio = stats(r.read).median / stats(r.tunnel).median;
      const vsBase = base === undefined ? '' : ` ${formatStats(stats(r.base))} | ${(stats(r.read).median / stats(r.base).median).toFixed(2)} |`;
      return `| ${kib(r.size)} | ${formatStats(stats(r.read))} | ${formatStats(stats(r.tunnel))} | ${ratio.toFixed(2)} | ${formatStats(stats(r.readWall))} | ${formatStats(stats(r.tunnelWall))} |${vsBase}`;
    }),
  ].join('\n');
  const verdicts = rows
    .map((r) => {
      const m = stats(r.read).median;
      return `- ${kib(r.size)} messages: ${m.toFixed(1)} MB/s per core read and scanned (target >= ${TARGET_MB_PER_CORE}): ${m >= TARGET_MB_PER_CORE ? 'met' : 'NOT met'}`;
    })
    .join('\n');
  const m = machine();
  const versions = packageVersions(['ws', 're2']);
  const command = `npm run bench:websocket${QUICK || BASELINE !== undefined ? ' --' : ''}${QUICK ? ' --quick' : ''}${BASELINE !== undefined ? ` --baseline ${BASELINE}` : ''}`;
  console.log(`\n${table}\n\n${verdicts}\n\nmachine: ${describeMachine(m, versions)}; load average ${loadBefore} before, ${loadAfter} after\ncommand: ${command}`);
  if (WRITE) {
    const body = [
      `Client-to-server WebSocket messages read by Chokepoint (unmasked, scanned by the stream scanner, judged; \`secrets.action: alert\`, so planted secrets are found and forwarded) next to the same frames through a CONNECT tunnel of the same Chokepoint, piped unread, in the same rounds. The built CLI, one process; plain HTTP (absolute-URI upgrade), so TLS is not in the figure. CI-log-like text with a secret about every 64 KiB, ${CONNECTIONS} connections writing as fast as the socket drains for ${P.loadMs / 1000} s; a \`ws\` server in the benchmark's process is the origin. Megabytes the origin received per second of Chokepoint's CPU time (user + system from /proc, all its threads); ${WARM_MS / 1000} s of untimed load through each Chokepoint first, then ${P.rounds} rounds, median (min–max).`,
      '',
      table,
      '',
      verdicts,
      '',
      `Machine: ${describeMachine(m, versions)}; load average (1 min) ${loadBefore} before the run, ${loadAfter} after (the machine is shared; the client and origin share its 2 cores with Chokepoint, hence per-core figures from Chokepoint's own CPU time).`,
      '',
      `Command: \`${command}\` (generated ${new Date().toISOString().slice(0, 10)}).`,
    ].join('\n');
    writeSection(join(ROOT, 'docs/benchmarks.md'), 'WebSocket message scanning', body, '# Benchmarks');
  }
}

await main();
