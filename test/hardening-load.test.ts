// Load, slow clients and upstream faults, bounded in count and time, on loopback: slowloris
// is cut at the header timeout without starving others, idle tunnels hit the per-pool
// limit (429) while the proxy keeps serving, every upstream fault gets its status and
// reason, many faulty requests leave no socket behind, and a slow reader on either side
// makes the proxy stop reading instead of buffering.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Engine } from '../detectors/index.js';
import { defaultRules } from '../detectors/rules/index.js';
import { createTestCa, type TestCa } from './helpers/certs.js';
import { basicAuth, curl, openTunnel, rawRequest, writeCa } from './helpers/clients.js';
import { closedPort, startHttpOrigin, startHttpsOrigin, startSilentServer, type Origin } from './helpers/origin.js';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';

const OPENER = basicAuth('opener', 'opener-token-0123456789');

let origin: Origin;
let tlsOrigin: Origin;
let untrusted: Origin;
let silent: { port: number; close(): Promise<void> };
let refusedPort: number;
let upstreamCa: TestCa;
/** Faulty upstreams: each path is one way to fail. */
let faulty: net.Server;
let faultyPort: number;
/** An upstream that writes a large body as fast as the reader takes it, counting what it pushed. */
let bulk: http.Server;
let bulkPort: number;
let bulkPushed = 0;
/** A TCP sink that accepts and holds connections (idle tunnels), or reads slowly. */
let sink: net.Server;
let sinkPort: number;
const sinkSockets = new Set<net.Socket>();
let faults: TestProxy; // short timeouts
let load: TestProxy; // long idle, short header timeout

const BULK_BYTES = 256 * 1024 * 1024;

async function resolve(host: string): Promise<string[]> {
  if (host === 'slowdns.test') return new Promise<string[]>(() => undefined); // never answers
  if (host === 'nx.test') throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  return ['127.0.0.1'];
}

function startFaulty(): Promise<void> {
  faulty = net.createServer((socket) => {
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (c: Buffer) => {
      if (head.includes('\r\n\r\n')) return;
      head += c.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const path = head.split(' ')[1] ?? '';
      if (path.endsWith('/reset-before')) socket.resetAndDestroy();
      else if (path.endsWith('/reset-mid')) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
        setTimeout(() => socket.resetAndDestroy(), 50);
      } else if (path.endsWith('/slow-body')) {
        // Slow but alive: a byte every 200 ms, well inside the idle timeout.
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n');
        let n = 0;
        const timer = setInterval(() => {
          socket.write('abcde'[n] as string);
          if (++n === 5) {
            clearInterval(timer);
            socket.end();
          }
        }, 200);
        socket.once('close', () => clearInterval(timer));
      } else if (path.endsWith('/too-slow')) {
        // A byte of status line, then nothing for longer than the idle timeout.
        socket.write('H');
      } else if (path.endsWith('/garbage')) {
        socket.end('this is not http\r\n\r\n');
      }
    });
  });
  return new Promise((r) =>
    faulty.listen(0, '127.0.0.1', () => {
      faultyPort = (faulty.address() as net.AddressInfo).port;
      r();
    }),
  );
}

beforeAll(async () => {
  upstreamCa = createTestCa('Load Upstream CA');
  origin = await startHttpOrigin();
  tlsOrigin = await startHttpsOrigin(upstreamCa.issue(['tls.test']));
  untrusted = await startHttpsOrigin(createTestCa('Untrusted CA').issue(['untrusted.test']));
  silent = await startSilentServer();
  refusedPort = await closedPort();
  await startFaulty();
  bulk = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': BULK_BYTES });
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    let sent = 0;
    const pump = (): void => {
      while (sent < BULK_BYTES) {
        sent += chunk.length;
        bulkPushed += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => (sent = BULK_BYTES));
    pump();
  });
  await new Promise<void>((r) => bulk.listen(0, '127.0.0.1', r));
  bulkPort = (bulk.address() as net.AddressInfo).port;
  sink = net.createServer((s) => {
    sinkSockets.add(s);
    s.on('error', () => undefined);
    s.once('close', () => sinkSockets.delete(s));
    s.pause(); // never reads: a slow upstream
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkPort = (sink.address() as net.AddressInfo).port;

  const caFile = writeCa((await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/chokepoint-load-`), upstreamCa.certPem);
  const pools = (maxTunnels: number): string => `
pools:
  - name: opener
    token: opener-token-0123456789
    mode: enforce
    allow: ["127.0.0.1/32:*", "tls.test:*", "untrusted.test:*", "faulty.test:*"]
    tls:
      intercept: all
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    maxTunnels: ${maxTunnels}
    allow: ["127.0.0.1/32:*", "origin.test:*", "faulty.test:*", "nx.test:*", "slowdns.test:*", "bulk.test:*", "sink.test:*"]
`;
  faults = await startTestProxy(
    `
timeouts: { headers: 2s, connect: 1s, idle: 1s }
dns: { timeout: 300ms }
tls: { upstreamCAs: [${caFile}] }
${pools(10000)}`,
    { resolve },
  );
  load = await startTestProxy(
    `
timeouts: { headers: 1s, connect: 2s, idle: 2m }
scan: { maxBufferBytes: 1MiB, oversize: stream }
${pools(1000)}`,
    { resolve },
  );
});

afterAll(async () => {
  for (const s of sinkSockets) s.destroy();
  await Promise.all([faults?.close(), load?.close()]);
  await Promise.all([origin?.close(), tlsOrigin?.close(), untrusted?.close(), silent?.close()]);
  bulk.closeAllConnections();
  await Promise.all([new Promise((r) => faulty.close(r)), new Promise((r) => bulk.close(r)), new Promise((r) => sink.close(r))]);
});

const fdCount = (): number => readdirSync('/proc/self/fd').length;

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('slowloris', () => {
  test('1,000 clients sending headers a byte at a time are cut at the header timeout with 408, while a normal request is served', async () => {
    const N = 1000;
    const replies: string[] = new Array<string>(N).fill('');
    let closed = 0;
    const head = `GET http://origin.test:${origin.port}/slow HTTP/1.1\r\nHost: origin.test\r\nX-Padding: ${'p'.repeat(200)}\r\n\r\n`;
    const sockets: net.Socket[] = [];
    for (let i = 0; i < N; i++) {
      const s = net.connect(load.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('data', (c: Buffer) => (replies[i] += c.toString('latin1')));
      s.once('close', () => closed++);
      sockets.push(s);
    }
    await Promise.all(sockets.map((s) => new Promise((r) => (s.connecting ? s.once('connect', r) : r(undefined)))));
    let offset = 0;
    const drip = setInterval(() => {
      const byte = head[offset % head.length] as string;
      offset++;
      for (const s of sockets) if (!s.destroyed) s.write(byte);
    }, 100);
    try {
      // While they are all connected and dripping:
      const normal = await curl(['-x', load.url, `http://origin.test:${origin.port}/while-slowloris`]);
      expect(normal.status).toBe(200);
      expect(closed).toBeLessThan(N);
      // Every slow client is cut (bounded wait: header timeout 1s, checked at least every second).
      await until(() => closed === N, 8000);
    } finally {
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    }
    expect(closed).toBe(N);
    const timedOut = replies.filter((r) => r.startsWith('HTTP/1.1 408')).length;
    expect(timedOut).toBe(N);
    expect(origin.received.filter((r) => r.url === '/slow')).toHaveLength(0);
    const line = await load.waitForLine((l) => l.status === 408);
    expect(line.reason).toBe('bad-request');
  }, 30_000);
});

describe('idle tunnels', () => {
  test('1,000 idle tunnels fill the pool: the next gets 429 too-many-tunnels, the proxy keeps serving, and a closed tunnel frees its slot', async () => {
    const N = 1000;
    const tunnels = await Promise.all(Array.from({ length: N }, () => openTunnel(load.port, `sink.test:${sinkPort}`)));
    try {
      expect(tunnels.filter((t) => t.status === 200)).toHaveLength(N);
      expect(load.app.proxy.activeTunnels('ci')).toBe(N);
      const over = await openTunnel(load.port, `sink.test:${sinkPort}`);
      expect(over.status).toBe(429);
      expect(over.head).toContain('X-Chokepoint-Reason: too-many-tunnels');
      over.socket.destroy();
      // Still serving plain HTTP and another pool's tunnels.
      const r = await curl(['-x', load.url, `http://origin.test:${origin.port}/with-idle-tunnels`]);
      expect(r.status).toBe(200);
      const other = await openTunnel(load.port, `127.0.0.1:${sinkPort}`, { 'Proxy-Authorization': OPENER });
      expect(other.status).toBe(200);
      other.socket.destroy();
      // A closed tunnel frees its slot.
      tunnels[0]?.socket.destroy();
      await until(() => load.app.proxy.activeTunnels('ci') < N, 5000);
      const again = await openTunnel(load.port, `sink.test:${sinkPort}`);
      expect(again.status).toBe(200);
      again.socket.destroy();
    } finally {
      for (const t of tunnels) t.socket.destroy();
    }
    await until(() => load.app.proxy.activeTunnels('ci') === 0, 5000);
    expect(load.app.proxy.activeTunnels('ci')).toBe(0);
    await load.waitForLine((l) => l.reason === 'too-many-tunnels' && l.status === 429);
  }, 30_000);
});

describe('upstream faults: each gets its status and reason', () => {
  const get = (path: string, host = 'faulty.test', port = (): number => faultyPort): Promise<Awaited<ReturnType<typeof curl>>> =>
    curl(['-x', faults.url, `http://${host}:${port()}${path}`]);

  test('refused: 502 upstream-refused (HTTP and CONNECT)', async () => {
    const r = await curl(['-x', faults.url, `http://127.0.0.1:${refusedPort}/`]);
    expect([r.status, r.headers['x-chokepoint-reason']]).toEqual([502, 'upstream-refused']);
    const t = await openTunnel(faults.port, `127.0.0.1:${refusedPort}`);
    t.socket.destroy();
    expect(t.status).toBe(502);
    expect(t.head).toContain('upstream-refused');
  });

  test('reset before answering: 502 upstream-reset', async () => {
    const r = await get('/reset-before');
    expect([r.status, r.headers['x-chokepoint-reason']]).toEqual([502, 'upstream-reset']);
  });

  test('reset mid-response: the client sees the response cut, not completed', async () => {
    const r = await get('/reset-mid');
    expect(r.status).toBe(200);
    expect(r.exitCode).not.toBe(0); // curl: transfer closed with outstanding data
    expect(r.body.length).toBeLessThan(100000);
    await faults.waitForLine((l) => l.host === 'faulty.test' && l.path === '/reset-mid');
  });

  test('never answering: 504 upstream-timeout (HTTP), and a CONNECT to it is cut at the idle timeout', async () => {
    const r = await curl(['-x', faults.url, `http://127.0.0.1:${silent.port}/`]);
    expect([r.status, r.headers['x-chokepoint-reason']]).toEqual([504, 'upstream-timeout']);
    const t = await openTunnel(faults.port, `127.0.0.1:${silent.port}`);
    expect(t.status).toBe(200);
    await new Promise((r2) => t.socket.once('close', r2));
  });

  test('a byte every 200 ms is slow, not dead: served whole; stalling past the idle timeout: 504', async () => {
    const slow = await get('/slow-body');
    expect(slow.status).toBe(200);
    expect(slow.body).toBe('abcde');
    const stalled = await get('/too-slow');
    expect([stalled.status, stalled.headers['x-chokepoint-reason']]).toEqual([504, 'upstream-timeout']);
  });

  test('an upstream that does not speak HTTP: 502', async () => {
    const r = await get('/garbage');
    expect(r.status).toBe(502);
    expect(r.headers['x-chokepoint-reason']).toMatch(/^upstream-/);
  });

  test('TLS handshake failure (intercepted): untrusted certificate and a plain-HTTP upstream are 502 upstream-tls-error', async () => {
    const caPem = readFileSync(`${faults.dir}/state/ca.pem`, 'utf8');
    for (const [host, port] of [
      ['untrusted.test', untrusted.port],
      ['faulty.test', origin.port], // plain HTTP where TLS was expected
    ] as const) {
      const { socket, status } = await openTunnel(faults.port, `${host}:${port}`, { 'Proxy-Authorization': OPENER });
      expect(status).toBe(200);
      const t = tls.connect({ socket, servername: host, ca: caPem });
      await new Promise<void>((r, j) => {
        t.once('secureConnect', () => r());
        t.once('error', j);
      });
      const reply = await new Promise<string>((r) => {
        let out = '';
        t.on('data', (c: Buffer) => (out += c.toString()));
        t.on('close', () => r(out));
        t.write(`GET /tls-fail HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      });
      expect(reply.startsWith('HTTP/1.1 502')).toBe(true);
      expect(reply).toContain('upstream-tls-error');
    }
  });

  test('DNS failure: 502 dns-failure; DNS timeout: 504 dns-timeout (HTTP and CONNECT)', async () => {
    const nx = await curl(['-x', faults.url, 'http://nx.test/']);
    expect([nx.status, nx.headers['x-chokepoint-reason']]).toEqual([502, 'dns-failure']);
    const slow = await curl(['-x', faults.url, 'http://slowdns.test/']);
    expect([slow.status, slow.headers['x-chokepoint-reason']]).toEqual([504, 'dns-timeout']);
    const t = await openTunnel(faults.port, 'slowdns.test:443');
    t.socket.destroy();
    expect(t.status).toBe(504);
    expect(t.head).toContain('dns-timeout');
    await faults.waitForLine((l) => l.reason === 'dns-timeout' && l.kind === 'connect');
  });

  test('500 faulty requests leave no socket or file descriptor behind', async () => {
    const kinds = [
      `GET http://127.0.0.1:${refusedPort}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET http://faulty.test:${faultyPort}/reset-before HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET http://faulty.test:${faultyPort}/reset-mid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET http://faulty.test:${faultyPort}/garbage HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `GET http://nx.test/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      `CONNECT 127.0.0.1:${refusedPort} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `CONNECT nx.test:443 HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET http://faulty.test:${faultyPort}/reset-before HTTP/1.1\r\nHost: x\r\nProxy-Authorization: ${OPENER}\r\nConnection: close\r\n\r\n`,
    ];
    const round = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => rawRequest(faults.port, kinds[(i + j) % kinds.length] as string, 3000)));
      }
    };
    await round(100); // warm up pools, caches and lazy allocations
    await new Promise((r) => setTimeout(r, 200));
    const before = fdCount();
    await round(500);
    await until(() => fdCount() <= before + 10, 5000);
    expect(fdCount()).toBeLessThanOrEqual(before + 10);
  }, 60_000);
});

describe('backpressure', () => {
  /** Wait until a counter stops moving (the pipeline is full), bounded. */
  async function stalled(read: () => number): Promise<number> {
    let last = -1;
    for (let i = 0; i < 100 && read() !== last; i++) {
      last = read();
      await new Promise((r) => setTimeout(r, 100));
    }
    return read();
  }

  test('a fast upstream and a client that does not read: the proxy stops reading the upstream (HTTP)', async () => {
    bulkPushed = 0;
    const socket = net.connect(load.port, '127.0.0.1');
    socket.write(`GET http://bulk.test:${bulkPort}/big HTTP/1.1\r\nHost: bulk.test\r\nConnection: close\r\n\r\n`);
    socket.pause();
    const pushed = await stalled(() => bulkPushed);
    // Kernel buffers on loopback hold some megabytes; the proxy holds little. Without
    // backpressure the whole 256 MiB would have been pulled from the upstream.
    expect(pushed).toBeLessThan(BULK_BYTES / 4);
    // Reading resumes the flow, and everything arrives.
    let received = 0;
    socket.on('data', (c: Buffer) => (received += c.length));
    socket.resume();
    await new Promise((r) => socket.once('close', r));
    expect(received).toBeGreaterThan(BULK_BYTES);
  }, 60_000);

  test('the same through a CONNECT tunnel', async () => {
    bulkPushed = 0;
    const t = await openTunnel(load.port, `bulk.test:${bulkPort}`);
    expect(t.status).toBe(200);
    t.socket.write(`GET /big HTTP/1.1\r\nHost: bulk.test\r\nConnection: close\r\n\r\n`);
    t.socket.pause();
    const pushed = await stalled(() => bulkPushed);
    expect(pushed).toBeLessThan(BULK_BYTES / 4);
    t.socket.destroy();
  }, 60_000);

  test("bytes a tunnel's client has not taken yet are never overwritten by another tunnel's (no cross-tunnel data)", async () => {
    const SIZE = 16 * 1024 * 1024;
    /** A TCP server that speaks first: SIZE bytes of one letter, then closes. */
    const filler = async (letter: string): Promise<net.Server> => {
      const server = net.createServer((s) => {
        s.on('error', () => undefined);
        s.end(Buffer.alloc(SIZE, letter));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return server;
    };
    const [a, b] = await Promise.all([filler('a'), filler('b')]);
    const portOf = (srv: net.Server): number => (srv.address() as net.AddressInfo).port;
    const proxy = await startTestProxy(`
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["127.0.0.1/32:${portOf(a)}", "127.0.0.1/32:${portOf(b)}"]
`);
    /** Everything a tunnel delivers: its length, and how many bytes are not `letter`. */
    const drain = (socket: net.Socket, letter: number): Promise<{ bytes: number; foreign: number }> =>
      new Promise((resolve) => {
        let bytes = 0;
        let foreign = 0;
        socket.on('data', (c: Buffer) => {
          bytes += c.length;
          for (const x of c) if (x !== letter) foreign++;
        });
        socket.once('close', () => resolve({ bytes, foreign }));
      });
    try {
      // Tunnel A's client stops reading: its bytes queue in the proxy while B streams.
      const ta = await openTunnel(proxy.port, `127.0.0.1:${portOf(a)}`);
      ta.socket.pause();
      await stalled(() => ta.socket.readableLength);
      const tb = await openTunnel(proxy.port, `127.0.0.1:${portOf(b)}`);
      const drainingB = drain(tb.socket, 0x62);
      tb.socket.resume();
      const gotB = await drainingB;
      const gotA = drain(ta.socket, 0x61);
      ta.socket.resume();
      expect(gotB).toEqual({ bytes: SIZE, foreign: 0 });
      expect(await gotA).toEqual({ bytes: SIZE, foreign: 0 });
    } finally {
      await proxy.close();
      a.close();
      b.close();
    }
  }, 60_000);

  test('a fast client and an upstream that does not read: the proxy stops reading the client (tunnel and streamed upload)', async () => {
    const pushInto = async (socket: net.Socket): Promise<number> => {
      let accepted = 0;
      const chunk = Buffer.alloc(256 * 1024, 0x62);
      let stop = false;
      const pump = (): void => {
        while (!stop && accepted < BULK_BYTES) {
          accepted += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
      const n = await stalled(() => accepted);
      stop = true;
      socket.destroy();
      return n;
    };
    const t = await openTunnel(load.port, `sink.test:${sinkPort}`);
    expect(t.status).toBe(200);
    expect(await pushInto(t.socket)).toBeLessThan(BULK_BYTES / 4);

    const upload = net.connect(load.port, '127.0.0.1');
    upload.on('error', () => undefined);
    upload.write(`POST http://sink.test:${sinkPort}/up HTTP/1.1\r\nHost: sink.test\r\nContent-Length: ${BULK_BYTES}\r\n\r\n`);
    expect(await pushInto(upload)).toBeLessThan(BULK_BYTES / 4);
  }, 60_000);
});

describe('never leaks', () => {
  test('everything both proxies logged scans clean with our own detectors', () => {
    const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 9) });
    for (const p of [faults, load]) {
      expect(engine.scan(Buffer.from(p.rawLog())).map((f) => f.ruleId)).toEqual([]);
      for (const line of p.lines()) expect(JSON.stringify(line)).not.toContain('    at ');
    }
  });
});
