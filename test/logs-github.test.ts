// GitHub Actions live console: a `ws` client sends JSON batches over a WebSocket inside an
// intercepted tunnel (CONNECT, TLS with the proxy's CA); a secret in a line is found, with
// the step's own line number. The origin receives the messages unchanged.
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';
import { createTestCa } from './helpers/certs.js';
import { basicAuth, openTunnel, writeCa } from './helpers/clients.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

let server: https.Server;
let wss: WebSocketServer;
let port: number;
let proxy: TestProxy;
let proxyCa: string;
const received: string[] = [];

const make = generators['github-pat-classic'];
if (!make) throw new Error('no generator for github-pat-classic');
const token = make(createRng(616));

beforeAll(async () => {
  const upstreamCa = createTestCa('Upstream Test CA');
  const leaf = upstreamCa.issue(['results.test']);
  server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data: Buffer) => received.push(data.toString('utf8'))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  const caFile = writeCa(mkdtempSync(join(tmpdir(), 'chokepoint-up-')), upstreamCa.certPem);
  proxy = await startTestProxy(
    `
tls:
  intercept: all
  upstreamCAs: [${caFile}]
pools:
  - name: runners
    token: runners-token-0123456789
    mode: enforce
    allow: ["results.test:${port}", "127.0.0.1/32:${port}"]
`,
    { resolve: fakeResolver({ 'results.test': ['127.0.0.1'] }) },
  );
  proxyCa = readFileSync(join(proxy.dir, 'state', 'ca.pem'), 'utf8');
});

afterAll(async () => {
  await proxy?.close();
  wss?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function connect(path: string): Promise<WebSocket> {
  const { socket, status } = await openTunnel(proxy.port, `results.test:${port}`, { 'Proxy-Authorization': basicAuth('runners', 'runners-token-0123456789') });
  expect(status).toBe(200);
  const secure = tls.connect({ socket, servername: 'results.test', ca: proxyCa });
  const ws = new WebSocket(`wss://results.test:${port}${path}`, { createConnection: () => secure, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

test('a secret in a batch line sent over an intercepted WebSocket is found at its step line', async () => {
  const ws = await connect('/_apis/distributedtask/hubs/Actions/plans/p-1/jobs/job-77/feed');
  const step = '5f1c2a3e-0000-4000-8000-000000000001';
  const batches = [
    { count: 3, value: ['##[group]Run env', '\x1b[36;1menv\x1b[0m', 'HOME=/home/runner'], stepId: step, startLine: 1 },
    { count: 2, value: ['PATH=/usr/bin', `GH_PAT=${token}`], stepId: step, startLine: 4 },
    { count: 1, value: ['##[endgroup]'], stepId: step, startLine: 6 },
  ];
  // The second batch goes out as several text frames (a fragmented message).
  ws.send(JSON.stringify(batches[0]));
  const text = JSON.stringify(batches[1]);
  const third = Math.ceil(text.length / 3);
  ws.send(text.slice(0, third), { fin: false });
  ws.send(text.slice(third, 2 * third), { fin: false });
  ws.send(text.slice(2 * third), { fin: true });
  ws.send(JSON.stringify(batches[2]));
  await new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });

  const deadline = Date.now() + 5000;
  const found = (): Array<Record<string, unknown>> => proxy.lines().filter((l) => l.msg === 'finding' && l.source === 'log');
  while (found().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(found()).toHaveLength(1);
  expect(found()[0]).toMatchObject({ rule: 'github-pat-classic', job: 'job-77', line: 5, verdict: 'leak', kind: 'log', pool: 'runners' });
  expect(proxy.rawLog()).not.toContain(token);
  expect(received).toEqual(batches.map((b) => JSON.stringify(b)));
});
