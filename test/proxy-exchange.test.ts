// One owner of the exchange (issue #14), as a user sees it in the access log and on the
// wire: an audited exchange that then fails upstream still says why the policy audited it
// (`policyReason`), over plain HTTP, a CONNECT tunnel, an intercepted HTTP/1.1 request
// and an HTTP/2 stream; and a refusal reads the same (status, X-Chokepoint-Reason, body)
// whether it was written on a raw socket, on an HTTP response or on an HTTP/2 stream.
// Loopback only: the "gone" destination is a port the test bound and let go.
import { readFileSync } from 'node:fs';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { curl, openTunnel, rawRequest, writeCa } from './helpers/clients.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

const AUDIT_TOKEN = 'audit-token-0123456789';
const ENFORCE_TOKEN = 'enforce-token-0123456789';
const auth = (user: string, token: string): string => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

let proxy: TestProxy;
let origin: Origin;
let caPem: string;
let caFile: string;
/** A loopback port nothing listens on (bound, then closed): connecting is refused. */
let gonePort: number;
/** A loopback TCP origin that resets every connection once it has read from it. */
let resetter: net.Server;
let resetPort: number;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  gonePort = await freePort();
  resetter = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.resetAndDestroy());
  });
  await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
  resetPort = (resetter.address() as AddressInfo).port;
  origin = await startHttpOrigin();
  proxy = await startTestProxy(
    `
tls:
  intercept: none
pools:
  - name: audited
    token: ${AUDIT_TOKEN}
    mode: audit
    allow: ["listed.test:443"]
    tls:
      intercept: ["intercepted.test"]
  - name: enforced
    token: ${ENFORCE_TOKEN}
    mode: enforce
    allow: ["intercepted.test:${gonePort}", "127.0.0.1/32:*"]
    tls:
      intercept: ["intercepted.test"]
`,
    { resolve: fakeResolver({ 'reset.test': ['127.0.0.1'], 'gone.test': ['127.0.0.1'], 'intercepted.test': ['127.0.0.1'], 'echo.test': ['127.0.0.1'] }) },
  );
  caPem = readFileSync(join(proxy.dir, 'state', 'ca.pem'), 'utf8');
  caFile = writeCa(proxy.dir, caPem);
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
  await new Promise((r) => resetter?.close(r));
});

/** The reply of a raw request, read until the proxy closes: status, headers (lower case), body. */
function parseRaw(text: string): { status: number; headers: Record<string, string>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) };
}

/** What a user reads of a refusal: the same, however it was written. */
function refusalSeen(r: { status: number; headers: Record<string, string | string[] | undefined>; body: string }): Record<string, unknown> {
  return {
    status: r.status,
    reason: r.headers['x-chokepoint-reason'],
    contentType: r.headers['content-type'],
    challenge: r.headers['proxy-authenticate'],
    body: r.body,
  };
}

/** An HTTP/2 session to `host:port` through a tunnel of the given pool, trusting our CA. */
async function h2Through(host: string, port: number, proxyAuth: string): Promise<ClientHttp2Session> {
  const { socket, status } = await openTunnel(proxy.port, `${host}:${port}`, { 'Proxy-Authorization': proxyAuth });
  expect(status).toBe(200);
  const t = tls.connect({ socket, servername: host, ca: caPem, ALPNProtocols: ['h2'] });
  await new Promise<void>((resolve, reject) => {
    t.once('secureConnect', resolve);
    t.once('error', reject);
  });
  const session = http2.connect(`https://${host}:${port}`, { createConnection: () => t });
  session.on('error', () => undefined);
  return session;
}

function h2Get(session: ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve) => {
    const req = session.request({ ':method': 'GET', ...headers });
    let head: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('close', () => resolve({ status: Number(head[':status'] ?? 0), headers: head, body: Buffer.concat(chunks).toString('utf8') }));
    req.end();
  });
}

describe('an audited exchange that fails upstream keeps its policy reason', () => {
  test('plain HTTP: the line says upstream-refused and still not-allowlisted', async () => {
    const r = await curl(['-x', proxy.url, '-U', `audited:${AUDIT_TOKEN}`, `http://gone.test:${gonePort}/build`]);
    expect(r.status).toBe(502);
    expect(r.headers['x-chokepoint-reason']).toBe('upstream-refused');
    const line = await proxy.waitForLine((l) => l.kind === 'http' && l.host === 'gone.test');
    expect(line).toMatchObject({ pool: 'audited', decision: 'audit', reason: 'upstream-refused', policyReason: 'not-allowlisted', status: 502 });
  });

  test('CONNECT tunnel: refused by the destination, the line keeps the policy reason', async () => {
    const t = await openTunnel(proxy.port, `gone.test:${gonePort}`, { 'Proxy-Authorization': auth('audited', AUDIT_TOKEN) });
    expect(t.status).toBe(502);
    t.socket.destroy();
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.host === 'gone.test');
    expect(line).toMatchObject({ decision: 'audit', reason: 'upstream-refused', policyReason: 'not-allowlisted', status: 502 });
  });

  test('an established audited tunnel the destination resets: upstream-reset, and still the policy reason', async () => {
    const t = await openTunnel(proxy.port, `reset.test:${resetPort}`, { 'Proxy-Authorization': auth('audited', AUDIT_TOKEN) });
    expect(t.status).toBe(200);
    t.socket.on('error', () => undefined);
    t.socket.resume();
    t.socket.write('hello\n');
    await new Promise((r) => t.socket.once('close', r));
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.host === 'reset.test');
    expect(line).toMatchObject({ decision: 'audit', reason: 'upstream-reset', policyReason: 'not-allowlisted', status: 200 });
  });

  test('an intercepted HTTP/1.1 request and an HTTP/2 stream inside an audited tunnel keep it too', async () => {
    const r = await curl(['-x', proxy.url, '-U', `audited:${AUDIT_TOKEN}`, '--cacert', caFile, '--http1.1', `https://intercepted.test:${gonePort}/h1`]);
    expect(r.status).toBe(502);
    const session = await h2Through('intercepted.test', gonePort, auth('audited', AUDIT_TOKEN));
    const s = await h2Get(session, { ':path': '/h2', ':authority': `intercepted.test:${gonePort}` });
    session.close();
    expect(s.status).toBe(502);
    const h1 = await proxy.waitForLine((l) => l.kind === 'intercept' && l.path === '/h1');
    const h2 = await proxy.waitForLine((l) => l.kind === 'intercept' && l.path === '/h2');
    for (const line of [h1, h2]) expect(line).toMatchObject({ pool: 'audited', decision: 'audit', reason: 'upstream-refused', policyReason: 'not-allowlisted', status: 502 });
    expect(h2.httpVersion).toBe('2');
  });

  test('an audited request that succeeds has the policy reason as its reason; an allowed one has none', async () => {
    const audited = await curl(['-x', proxy.url, '-U', `audited:${AUDIT_TOKEN}`, `http://echo.test:${origin.port}/ok`]);
    expect(audited.status).toBe(200);
    const allowed = await curl(['-x', proxy.url, '-U', `enforced:${ENFORCE_TOKEN}`, `http://127.0.0.1:${origin.port}/ok`]);
    expect(allowed.status).toBe(200);
    const a = await proxy.waitForLine((l) => l.host === 'echo.test' && l.path === '/ok');
    expect(a).toMatchObject({ decision: 'audit', reason: 'not-allowlisted', policyReason: 'not-allowlisted' });
    const b = await proxy.waitForLine((l) => l.host === '127.0.0.1' && l.path === '/ok');
    expect(b.decision).toBe('allow');
    expect(b.reason).toBeUndefined();
    expect(b.policyReason).toBeUndefined();
  });
});

describe('a refusal reads the same however it is written', () => {
  test('403 over a raw socket (CONNECT) and over HTTP: same status, X-Chokepoint-Reason and body', async () => {
    const overHttp = parseRaw(
      await rawRequest(proxy.port, `GET http://nowhere.test/x HTTP/1.1\r\nHost: nowhere.test\r\nProxy-Authorization: ${auth('enforced', ENFORCE_TOKEN)}\r\nConnection: close\r\n\r\n`),
    );
    const overSocket = parseRaw(
      await rawRequest(proxy.port, `CONNECT nowhere.test:80 HTTP/1.1\r\nHost: nowhere.test:80\r\nProxy-Authorization: ${auth('enforced', ENFORCE_TOKEN)}\r\n\r\n`),
    );
    expect(refusalSeen(overHttp)).toEqual({ status: 403, reason: 'not-allowlisted', contentType: 'text/plain; charset=utf-8', challenge: undefined, body: 'chokepoint: nowhere.test refused: not-allowlisted\n' });
    expect(refusalSeen(overSocket)).toEqual(refusalSeen(overHttp));
    expect(Number(overSocket.headers['content-length'])).toBe(Buffer.byteLength(overSocket.body));
  });

  test('407 over a raw socket and over HTTP: the same challenge', async () => {
    const overHttp = parseRaw(await rawRequest(proxy.port, 'GET http://nowhere.test/x HTTP/1.1\r\nHost: nowhere.test\r\nConnection: close\r\n\r\n'));
    const overSocket = parseRaw(await rawRequest(proxy.port, 'CONNECT nowhere.test:80 HTTP/1.1\r\nHost: nowhere.test:80\r\n\r\n'));
    expect(refusalSeen(overHttp)).toMatchObject({ status: 407, reason: 'unauthenticated', challenge: 'Basic realm="chokepoint"', body: 'chokepoint: nowhere.test refused: unauthenticated\n' });
    expect(refusalSeen(overSocket)).toEqual(refusalSeen(overHttp));
  });

  test('host-mismatch inside an intercepted tunnel: HTTP/1.1 and an HTTP/2 stream read alike', async () => {
    const h1 = await curl(['-x', proxy.url, '-U', `enforced:${ENFORCE_TOKEN}`, '--cacert', caFile, '--http1.1', '-H', 'Host: elsewhere.test', `https://intercepted.test:${gonePort}/m`]);
    const session = await h2Through('intercepted.test', gonePort, auth('enforced', ENFORCE_TOKEN));
    const h2 = await h2Get(session, { ':path': '/m', ':authority': 'elsewhere.test' });
    session.close();
    expect(refusalSeen(h1)).toMatchObject({ status: 403, reason: 'host-mismatch', body: 'chokepoint: intercepted.test refused: host-mismatch\n' });
    expect(refusalSeen(h2)).toEqual(refusalSeen(h1));
    await proxy.waitForLine((l) => l.reason === 'host-mismatch' && l.httpVersion === '2');
    await proxy.waitForLine((l) => l.reason === 'host-mismatch' && l.httpVersion === undefined);
    const lines = proxy.egress().filter((l) => l.reason === 'host-mismatch');
    expect(lines.map((l) => [l.decision, l.status])).toEqual([
      ['deny', 403],
      ['deny', 403],
    ]);
  });
});
