// Boring protocols done right: keep-alive reuse, WebSocket upgrades, chunked bodies,
// per-pool tunnel limits, IPv6 literals, and the file watcher's reload.
import http from 'node:http';
import type { Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocketServer } from 'ws';
import { openTunnel, rawRequest } from './helpers/clients.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

let origin: Origin;
let wsServer: WebSocketServer;
let wsPort: number;
let proxy: TestProxy;

const yaml = (maxTunnels: number): string => `
groups:
  local: [127.0.0.1/32:*]
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    maxTunnels: ${maxTunnels}
    allow: ["@local", "ws.test:*", "origin.test:*"]
`;

beforeAll(async () => {
  origin = await startHttpOrigin();
  wsServer = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wsServer.once('listening', () => resolve()));
  wsPort = (wsServer.address() as { port: number }).port;
  wsServer.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo:${String(data)}`)));
  proxy = await startTestProxy(yaml(2), { resolve: fakeResolver({ 'ws.test': ['127.0.0.1'], 'origin.test': ['127.0.0.1'] }) });
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
  await new Promise<void>((resolve) => wsServer.close(() => resolve()));
});

describe('plain HTTP', () => {
  test('keep-alive: several requests on one client connection, each logged once', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: proxy.port, path: `http://origin.test:${origin.port}/ka/${i}`, agent, headers: { host: `origin.test:${origin.port}` } },
          (res) => {
            sockets.add(res.socket);
            let out = '';
            res.on('data', (c: Buffer) => (out += c.toString()));
            res.on('end', () => resolve(out));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(body).toContain(`/ka/${i}`);
    }
    expect(sockets.size).toBe(1);
    agent.destroy();
    for (let i = 0; i < 3; i++) await proxy.waitForLine((l) => l.path === `/ka/${i}`);
    expect(proxy.egress().filter((l) => String(l.path).startsWith('/ka/'))).toHaveLength(3);
  });

  test('a chunked request body arrives whole and the byte counts are logged', async () => {
    const payload = 'x'.repeat(100_000);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: proxy.port, method: 'POST', path: `http://origin.test:${origin.port}/upload`, headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write(payload.slice(i * 10_000, (i + 1) * 10_000));
      req.end();
    });
    expect(status).toBe(200);
    expect(origin.received.at(-1)?.body.length).toBe(payload.length);
    const line = await proxy.waitForLine((l) => l.path === '/upload');
    expect(line.bytesUp).toBe(payload.length);
    expect(Number(line.bytesDown)).toBeGreaterThan(0);
  });

  test('an absolute URI wins over a Host header that names another host', async () => {
    const reply = await rawRequest(
      proxy.port,
      `GET http://origin.test:${origin.port}/hosts HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`,
    );
    expect(reply).toContain('200');
    expect(origin.received.at(-1)?.headers.host).toBe(`origin.test:${origin.port}`);
  });

  test('an IPv6 literal that is not allowlisted is refused as such', async () => {
    const reply = await rawRequest(proxy.port, 'GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 403/);
    expect(reply).toContain('x-chokepoint-reason: not-allowlisted');
  });
});

describe('WebSocket', () => {
  test('an upgrade through the proxy carries frames both ways and is logged as websocket', async () => {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: proxy.port,
        path: `http://ws.test:${wsPort}/socket`,
        headers: {
          host: `ws.test:${wsPort}`,
          upgrade: 'websocket',
          connection: 'Upgrade',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.on('upgrade', (res, s) => (res.statusCode === 101 ? resolve(s) : reject(new Error(String(res.statusCode)))));
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    // One masked text frame from the client; the server echoes it unmasked.
    const payload = Buffer.from('hello');
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
    const frame = await new Promise<Buffer>((resolve) => socket.once('data', (d: Buffer) => resolve(d)));
    expect(frame[0]).toBe(0x81);
    expect(frame.subarray(2, 2 + (frame[1] as number)).toString()).toBe('echo:hello');
    socket.destroy();
    const line = await proxy.waitForLine((l) => l.kind === 'websocket' && l.path === '/socket');
    expect(line).toMatchObject({ decision: 'allow', status: 101, host: 'ws.test' });
  });
});

describe('tunnel limits', () => {
  test('a pool at its tunnel limit gets 429 too-many-tunnels, and a slot frees when a tunnel closes', async () => {
    const open = await Promise.all([openTunnel(proxy.port, `origin.test:${origin.port}`), openTunnel(proxy.port, `origin.test:${origin.port}`)]);
    expect(open.map((t) => t.status)).toEqual([200, 200]);
    const third = await openTunnel(proxy.port, `origin.test:${origin.port}`);
    expect(third.status).toBe(429);
    expect(third.head).toContain('X-Chokepoint-Reason: too-many-tunnels');
    third.socket.destroy();

    open[0]?.socket.destroy();
    await proxy.waitForLine((l) => l.kind === 'connect' && l.status === 200);
    const again = await openTunnel(proxy.port, `origin.test:${origin.port}`);
    expect(again.status).toBe(200);
    again.socket.destroy();
    open[1]?.socket.destroy();
  });
});

describe('reload by file change', () => {
  test('saving the config file takes effect without a signal', async () => {
    const tighter = yaml(2).replace('allow: ["@local", "ws.test:*", "origin.test:*"]', 'allow: ["ws.test:*"]');
    expect(tighter).not.toBe(yaml(2));
    writeFileSync(proxy.configPath, `listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\nstateDir: ${proxy.dir}/state\n${tighter}`);
    const deadline = Date.now() + 5000;
    let reason = '';
    while (Date.now() < deadline) {
      const t = await openTunnel(proxy.port, `origin.test:${origin.port}`);
      t.socket.destroy();
      reason = t.head;
      if (t.status === 403) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(reason).toContain('X-Chokepoint-Reason: not-allowlisted');
    expect(proxy.lines().some((l) => l.msg === 'config reloaded')).toBe(true);
  });
});
