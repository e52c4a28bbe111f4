// WebSocket messages through interception are scanned and judged (#15): a `ws` client
// opens a WebSocket inside an intercepted tunnel to a loopback `ws` server on a host not
// bound to GitHub. A GitHub token in a message (whole, fragmented, compressed, or split
// across two messages) is found; with secrets.action block the origin never receives that
// message and the client is closed with 1008; with alert it is forwarded and recorded.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';
import { createTestCa } from './helpers/certs.js';
import { basicAuth, openTunnel, writeCa } from './helpers/clients.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

let server: https.Server;
let wss: WebSocketServer;
let port: number;
let plain: http.Server;
let plainWss: WebSocketServer;
let plainPort: number;
let proxyCa: string;
const received: string[] = [];
const proxies: TestProxy[] = [];

const make = generators['github-pat-classic'];
if (!make) throw new Error('no generator for github-pat-classic');
const token = make(createRng(1515));

beforeAll(async () => {
  const upstreamCa = createTestCa('Upstream Test CA');
  const leaf = upstreamCa.issue(['chat.test']);
  server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem });
  wss = new WebSocketServer({ server, perMessageDeflate: true });
  wss.on('connection', (ws) => ws.on('message', (data: Buffer) => received.push(data.toString('utf8'))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  plain = http.createServer();
  plainWss = new WebSocketServer({ server: plain });
  plainWss.on('connection', (ws) => ws.on('message', (data: Buffer) => received.push(data.toString('utf8'))));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  plainPort = (plain.address() as AddressInfo).port;
  const caFile = writeCa(mkdtempSync(join(tmpdir(), 'chokepoint-up-')), upstreamCa.certPem);
  for (const action of ['block', 'alert']) {
    proxies.push(
      await startTestProxy(
        `
tls:
  intercept: all
  upstreamCAs: [${caFile}]
pools:
  - name: runners
    token: runners-token-0123456789
    mode: enforce
    allow: ["chat.test:${port}", "127.0.0.1/32:${port}", "chat.test:${plainPort}", "127.0.0.1/32:${plainPort}"]
    secrets:
      action: ${action}
`,
        { resolve: fakeResolver({ 'chat.test': ['127.0.0.1'] }) },
      ),
    );
  }
  proxyCa = readFileSync(join(proxies[0]?.dir ?? '', 'state', 'ca.pem'), 'utf8');
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  wss?.close();
  plainWss?.close();
  plain?.closeAllConnections();
  await new Promise<void>((resolve) => plain.close(() => resolve()));
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function connect(proxy: TestProxy, deflate: boolean): Promise<WebSocket> {
  const { socket, status } = await openTunnel(proxy.port, `chat.test:${port}`, { 'Proxy-Authorization': basicAuth('runners', 'runners-token-0123456789') });
  expect(status).toBe(200);
  const ca = readFileSync(join(proxy.dir, 'state', 'ca.pem'), 'utf8');
  const secure = tls.connect({ socket, servername: 'chat.test', ca });
  const ws = new WebSocket(`wss://chat.test:${port}/socket`, { createConnection: () => secure, perMessageDeflate: deflate ? { threshold: 0 } : false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}

/** Wait (bounded) until the origin has `n` messages starting with `tag`. */
async function originGot(tag: string, n: number): Promise<string[]> {
  const deadline = Date.now() + 5000;
  const mine = (): string[] => received.filter((m) => m.startsWith(tag));
  while (mine().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return mine();
}

async function egressLine(proxy: TestProxy): Promise<Record<string, unknown> | undefined> {
  const deadline = Date.now() + 5000;
  const find = (): Record<string, unknown> | undefined => proxy.lines().filter((l) => l.msg === 'egress' && l.kind === 'websocket').at(-1);
  while (!find() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return find();
}

describe('block pool', () => {
  test.each([
    ['whole text message', false, false],
    ['fragmented message', false, true],
    ['compressed (permessage-deflate) fragmented message', true, true],
  ])('%s with a GitHub token: the origin never gets it, the client gets 1008, the egress line counts the finding', async (_name, deflate, fragmented) => {
    const proxy = proxies[0] as TestProxy;
    const before = proxy.lines().filter((l) => l.msg === 'egress' && l.kind === 'websocket').length;
    const tag = `b-${String(deflate)}-${String(fragmented)}:`;
    const ws = await connect(proxy, deflate);
    const code = closed(ws);
    ws.send(`${tag} hello`);
    expect(await originGot(tag, 1)).toEqual([`${tag} hello`]);
    const text = `${tag} export GITHUB_TOKEN=${token} # done`;
    if (fragmented) {
      ws.send(text.slice(0, 20), { fin: false });
      ws.send(text.slice(20, 40), { fin: false });
      ws.send(text.slice(40), { fin: true });
    } else ws.send(text);
    expect(await code).toBe(1008);
    expect(received.filter((m) => m.startsWith(tag))).toEqual([`${tag} hello`]);
    const deadline = Date.now() + 5000;
    while (proxy.lines().filter((l) => l.msg === 'egress' && l.kind === 'websocket').length <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const line = await egressLine(proxy);
    expect(line).toMatchObject({ kind: 'websocket', host: 'chat.test', decision: 'deny', reason: 'secret-exfiltration' });
    expect(Number(line?.findings)).toBeGreaterThanOrEqual(1);
    const finding = proxy.lines().filter((l) => l.msg === 'finding' && l.source === 'websocket').at(-1);
    expect(finding).toMatchObject({ rule: 'github-pat-classic', verdict: 'exfiltration', action: 'block', kind: 'websocket' });
    expect(proxy.rawLog()).not.toContain(token.slice(8));
  });

  test('a token split across two messages is found; the second message never reaches the origin', async () => {
    const proxy = proxies[0] as TestProxy;
    const tag = 'split:';
    const ws = await connect(proxy, true);
    const code = closed(ws);
    const cut = 20;
    ws.send(`${tag} ${token.slice(0, cut)}`);
    expect(await originGot(tag, 1)).toEqual([`${tag} ${token.slice(0, cut)}`]);
    ws.send(token.slice(cut));
    expect(await code).toBe(1008);
    expect(received.filter((m) => m === token.slice(cut))).toEqual([]);
  });
});

describe('alert pool', () => {
  test('the message is forwarded and the finding recorded; server-to-client messages still arrive', async () => {
    const proxy = proxies[1] as TestProxy;
    const tag = 'alert:';
    wss.once('connection', (peer) => peer.send('welcome'));
    const ws = await connect(proxy, true);
    const welcome = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString('utf8'))));
    ws.send(`${tag} ${token}`);
    expect(await originGot(tag, 1)).toEqual([`${tag} ${token}`]);
    expect(await welcome).toBe('welcome');
    const code = closed(ws);
    ws.close(1000);
    expect(await code).toBe(1000);
    const line = await egressLine(proxy);
    expect(line).toMatchObject({ kind: 'websocket', decision: 'allow' });
    expect(Number(line?.findings)).toBe(1);
    const finding = proxy.lines().find((l) => l.msg === 'finding' && l.source === 'websocket');
    expect(finding).toMatchObject({ rule: 'github-pat-classic', action: 'alert', verdict: 'exfiltration' });
  });
});

/** A masked client frame (FIN set) carrying `text`, as a browser or the ws client sends it. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x5a, 0x17, 0xc3, 0x08]);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  const len = payload.length < 126 ? Buffer.from([0x80 | payload.length]) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([Buffer.from([0x81]), len, mask, masked]);
}

/** A WebSocket handshake by absolute URI through the proxy: the upgraded socket, or the refusal. */
function plainUpgrade(proxy: TestProxy, path: string): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: proxy.port,
      path: `http://chat.test:${plainPort}${path}`,
      headers: {
        host: `chat.test:${plainPort}`,
        'proxy-authorization': basicAuth('runners', 'runners-token-0123456789'),
        upgrade: 'websocket',
        connection: 'Upgrade',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'Y2hva2Vwb2ludCB0ZXN0IQ==',
      },
    });
    req.on('upgrade', (res, s) => (res.statusCode === 101 ? resolve(s) : reject(new Error(String(res.statusCode)))));
    req.on('response', (res) => reject(new Error(`refused: ${String(res.statusCode)} ${String(res.headers['x-chokepoint-reason'])}`)));
    req.on('error', reject);
    req.end();
  });
}

describe('plain HTTP (no interception)', () => {
  test('a token in the handshake URL is refused before the upstream is opened', async () => {
    const proxy = proxies[0] as TestProxy;
    const connections = plainWss.clients.size;
    await expect(plainUpgrade(proxy, `/feed?access_token=${token}`)).rejects.toThrow('refused: 403 secret-exfiltration');
    expect(plainWss.clients.size).toBe(connections);
    expect(proxy.rawLog()).not.toContain(token.slice(8));
  });

  test('a WebSocket by absolute URI has its messages read too: a token is stopped with 1008, a clean message goes through', async () => {
    const proxy = proxies[0] as TestProxy;
    const socket = await plainUpgrade(proxy, '/plain');
    const fromProxy: Buffer[] = [];
    socket.on('data', (d: Buffer) => fromProxy.push(d));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(clientFrame('plain: hello'));
    expect(await originGot('plain:', 1)).toEqual(['plain: hello']);
    socket.write(clientFrame(`plain: ${token}`));
    await ended;
    const all = Buffer.concat(fromProxy);
    // The proxy's close frame: opcode 8, status 1008 (policy violation).
    const at = all.indexOf(Buffer.from([0x88]));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(all.readUInt16BE(at + 2)).toBe(1008);
    expect(received.filter((m) => m.startsWith('plain:'))).toEqual(['plain: hello']);
    const line = await egressLine(proxy);
    expect(line).toMatchObject({ kind: 'websocket', host: 'chat.test', path: '/plain', decision: 'deny', reason: 'secret-exfiltration', status: 101 });
  });
});
