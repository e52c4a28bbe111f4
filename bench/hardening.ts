// Memory and descriptor budgets of the proxy under load, measured in a child process that
// runs nothing but Chokepoint (clients, origins and faulty upstreams live in this one):
//
//   1. RSS and heap with N idle CONNECT tunnels open (default 5,000).
//   2. File descriptors and heap before and after M requests to faulty upstreams
//      (default 10,000: refused, reset before and during the response, garbage, no answer,
//      DNS failure; plain HTTP and CONNECT).
//
//   npx tsx bench/hardening.ts [--tunnels N] [--faulty M]
//
// Prints the figures (docs/operations.md quotes them). Loopback only; it stops by itself.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { loadConfigFile } from '../config/full.js';
import { createLogger } from '../proxy/events/access-log.js';
import { startApp } from '../proxy/app.js';
import { describeMachine, machine } from './lib/machine.js';

interface Sample {
  rss: number;
  heapUsed: number;
  fds: number;
  tunnels: number;
}

type ToChild = { cmd: 'sample' } | { cmd: 'stop' } | { cmd: 'reload'; count: number };
type FromChild = { ready: number } | { sample: Sample } | { reloadMs: number[] };

const MiB = 1024 * 1024;
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

// ---- the child: only the proxy ----
async function serve(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-bench-hard-'));
  const path = join(dir, 'c.yaml');
  writeFileSync(
    path,
    `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
stateDir: ${join(dir, 'state')}
timeouts: { connect: 1s, idle: 10m, headers: 5s }
dns: { timeout: 300ms }
limits: { maxTunnelsPerPool: 20000 }
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["127.0.0.1/32:*", "faulty.test:*", "nx.test:*"]
`,
  );
  const sink = new PassThrough();
  sink.resume(); // the access log is produced (as in production) and dropped
  const app = await startApp({
    config: loadConfigFile(path, {}),
    configPath: path,
    env: {},
    logger: createLogger({ destination: sink }),
    resolve: async (host) => {
      if (host === 'nx.test') throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
      return ['127.0.0.1'];
    },
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (m: ToChild) => {
    if (m.cmd === 'reload') {
      void (async () => {
        const reloadMs: number[] = [];
        for (let i = 0; i < m.count; i++) {
          const t0 = performance.now();
          await app.reload();
          reloadMs.push(performance.now() - t0);
        }
        process.send?.({ reloadMs } satisfies FromChild);
      })();
      return;
    }
    if (m.cmd === 'stop') {
      void app.close(0).then(() => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      });
      return;
    }
    gc?.();
    gc?.();
    const mem = process.memoryUsage();
    const sample: Sample = { rss: mem.rss, heapUsed: mem.heapUsed, fds: readdirSync('/proc/self/fd').length, tunnels: app.proxy.activeTunnels('ci') };
    process.send?.({ sample } satisfies FromChild);
  });
  process.send?.({ ready: app.proxyAddress.port } satisfies FromChild);
}

// ---- the parent: clients, origins, faults ----
function ask(child: ChildProcess): Promise<Sample> {
  return new Promise((resolve) => {
    const on = (m: FromChild): void => {
      if ('sample' in m) {
        child.off('message', on);
        resolve(m.sample);
      }
    };
    child.on('message', on);
    child.send({ cmd: 'sample' } satisfies ToChild);
  });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

function openTunnel(port: number, authority: string): Promise<{ socket: net.Socket; status: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    socket.on('error', () => resolve({ socket, status: 0 }));
    socket.on('data', function onData(c: Buffer) {
      buf += c.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve({ socket, status: Number(buf.slice(9, 12)) });
    });
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}

function exchange(port: number, data: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (c: Buffer) => (out += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Number(out.slice(9, 12)) || 0);
    });
    socket.write(data);
  });
}

const mib = (n: number): string => (n / MiB).toFixed(1);

async function main(): Promise<void> {
  const TUNNELS = arg('--tunnels', 5000);
  const FAULTY = arg('--faulty', 10000);

  // Upstreams: a sink that holds tunnels open, and one that fails in every way.
  const held = new Set<net.Socket>();
  const sink = net.createServer((s) => {
    held.add(s);
    s.on('error', () => undefined);
    s.once('close', () => held.delete(s));
  });
  const sinkPort = await listen(sink);
  const faulty = net.createServer((s) => {
    held.add(s);
    s.on('error', () => undefined);
    s.once('close', () => held.delete(s));
    s.once('data', (c: Buffer) => {
      const path = c.toString('latin1').split(' ')[1] ?? '';
      if (path.endsWith('/reset')) s.resetAndDestroy();
      else if (path.endsWith('/reset-mid')) {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nxxxx');
        setImmediate(() => s.resetAndDestroy());
      } else if (path.endsWith('/garbage')) s.end('not http\r\n\r\n');
      else if (path.endsWith('/silent')) setTimeout(() => s.destroy(), 200); // no answer, then gone
    });
  });
  const faultyPort = await listen(faulty);
  const closed = net.createServer();
  const refusedPort = await listen(closed);
  await new Promise((r) => closed.close(r));

  const child = fork(import.meta.filename, ['serve'], { execArgv: [...process.execArgv, '--expose-gc'] });
  const port = await new Promise<number>((resolve) => child.on('message', (m: FromChild) => 'ready' in m && resolve(m.ready)));

  // Warm up: a few tunnels and requests so that lazy allocations are not counted.
  for (let i = 0; i < 20; i++) (await openTunnel(port, `127.0.0.1:${sinkPort}`)).socket.destroy();
  await new Promise((r) => setTimeout(r, 300));
  const idle0 = await ask(child);

  const tunnels: net.Socket[] = [];
  let ok = 0;
  for (let i = 0; i < TUNNELS; i += 500) {
    const batch = await Promise.all(Array.from({ length: Math.min(500, TUNNELS - i) }, () => openTunnel(port, `127.0.0.1:${sinkPort}`)));
    for (const t of batch) {
      tunnels.push(t.socket);
      if (t.status === 200) ok++;
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  const idle1 = await ask(child);
  for (const s of tunnels) s.destroy();
  while ((await ask(child)).tunnels > 0) await new Promise((r) => setTimeout(r, 100));

  // Faulty upstreams.
  const kinds = [
    `GET http://127.0.0.1:${refusedPort}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET http://faulty.test:${faultyPort}/reset HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET http://faulty.test:${faultyPort}/reset-mid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET http://faulty.test:${faultyPort}/garbage HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET http://faulty.test:${faultyPort}/silent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `GET http://nx.test/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    `CONNECT 127.0.0.1:${refusedPort} HTTP/1.1\r\nHost: x\r\n\r\n`,
    `CONNECT nx.test:443 HTTP/1.1\r\nHost: x\r\n\r\n`,
  ];
  const run = async (count: number): Promise<Map<number, number>> => {
    const statuses = new Map<number, number>();
    for (let i = 0; i < count; i += 200) {
      const batch = await Promise.all(Array.from({ length: Math.min(200, count - i) }, (_, j) => exchange(port, kinds[(i + j) % kinds.length] as string)));
      for (const s of batch) statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    return statuses;
  };
  await run(400); // warm-up
  await new Promise((r) => setTimeout(r, 500));
  const fault0 = await ask(child);
  const started = performance.now();
  const statuses = await run(FAULTY);
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const fault1 = await ask(child);

  // Reload cost: each reload compiles the rules and the policy on the event loop.
  const reloadMs = await new Promise<number[]>((resolve) => {
    child.on('message', (m: FromChild) => 'reloadMs' in m && resolve(m.reloadMs));
    child.send({ cmd: 'reload', count: 20 } satisfies ToChild);
  });
  reloadMs.sort((a, b) => a - b);

  child.send({ cmd: 'stop' } satisfies ToChild);
  await new Promise((r) => child.once('exit', r));
  for (const s of held) s.destroy();
  await Promise.all([new Promise((r) => sink.close(r)), new Promise((r) => faulty.close(r))]);

  console.log(`machine: ${describeMachine(machine(), {})}`);
  console.log('');
  console.log(`idle tunnels: ${ok} of ${TUNNELS} established`);
  console.log(`  RSS   ${mib(idle0.rss)} MiB -> ${mib(idle1.rss)} MiB  (+${mib(idle1.rss - idle0.rss)} MiB, ${((idle1.rss - idle0.rss) / Math.max(1, ok) / 1024).toFixed(1)} KiB per tunnel)`);
  console.log(`  heap  ${mib(idle0.heapUsed)} MiB -> ${mib(idle1.heapUsed)} MiB  (+${((idle1.heapUsed - idle0.heapUsed) / Math.max(1, ok) / 1024).toFixed(1)} KiB per tunnel)`);
  console.log(`  fds   ${idle0.fds} -> ${idle1.fds}`);
  console.log('');
  console.log(`faulty upstream requests: ${FAULTY} in ${seconds.toFixed(1)} s; statuses ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}x${n}`).join(' ')}`);
  console.log(`  fds   ${fault0.fds} -> ${fault1.fds}  (${fault1.fds - fault0.fds >= 0 ? '+' : ''}${fault1.fds - fault0.fds})`);
  console.log(`  heap  ${mib(fault0.heapUsed)} MiB -> ${mib(fault1.heapUsed)} MiB  (${fault1.heapUsed - fault0.heapUsed >= 0 ? '+' : ''}${mib(fault1.heapUsed - fault0.heapUsed)} MiB)`);
  console.log(`  RSS   ${mib(fault0.rss)} MiB -> ${mib(fault1.rss)} MiB`);
  console.log('');
  console.log(`reload (20, one after another): median ${(reloadMs[10] ?? 0).toFixed(0)} ms, max ${(reloadMs.at(-1) ?? 0).toFixed(0)} ms`);
}

if (process.argv[2] === 'serve') await serve();
else await main();
