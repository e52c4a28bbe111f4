// Hostile clients: malformed requests, request smuggling, policy evasion and a fuzz run,
// thrown at a real Chokepoint on loopback. Each gets a clear status (with its
// X-Chokepoint-Reason and an access log line), nothing reaches an origin it should not,
// nothing crashes, and nothing Chokepoint logged contains a credential.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { domainToASCII } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Engine } from '../detectors/index.js';
import { defaultRules } from '../detectors/rules/index.js';
import { generators } from './corpus/gen/github.js';
import { createRng } from './corpus/rng.js';
import { createTestCa, type TestCa } from './helpers/certs.js';
import { basicAuth, curl, openTunnel, rawRequest, writeCa } from './helpers/clients.js';
import { startHttpOrigin, startHttpsOrigin, type Origin } from './helpers/origin.js';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';

const STRICT = basicAuth('strict', 'strict-token-0123456789');
const INTERCEPT = basicAuth('opener', 'opener-token-0123456789');
// A credential-shaped value planted in requests: it must never come back out in a log line.
const PLANTED = 'ghp_' + 'R4nd0mTokenValueForHardening0123456789';
/** A token the detectors find (valid checksum), for where a log shows the text it was in. */
const FOUND = generators['github-pat-classic']?.(createRng(19)) ?? '';

let origin: Origin;
let tlsOrigin: Origin;
let upstreamCa: TestCa;
let redirector: http.Server;
let redirectPort: number;
let proxy: TestProxy;
let rebindCalls = 0;

/** Odd lookups of rebind.test answer loopback (lifted by the CIDR entry), even ones a private address nothing lifts. */
async function resolve(host: string): Promise<string[]> {
  switch (host) {
    case 'origin.test':
    case 'tls.test':
    case 'other.test':
    case 'denied-sni.test':
    case 'redirect.test':
      return ['127.0.0.1'];
    case 'rebind.test':
      rebindCalls++;
      return rebindCalls % 2 === 1 ? ['127.0.0.1'] : ['10.255.255.1'];
    case 'internal.test':
      return ['10.1.2.3'];
    case 'split.test':
      return ['127.0.0.1', '10.1.2.3'];
    default:
      throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  }
}

beforeAll(async () => {
  upstreamCa = createTestCa('Hardening Upstream CA');
  origin = await startHttpOrigin();
  tlsOrigin = await startHttpsOrigin(upstreamCa.issue(['tls.test', 'other.test', 'denied-sni.test']));
  // An allowed origin that redirects to a denied one.
  redirector = http.createServer((_req, res) => {
    res.writeHead(302, { location: 'http://blocked.test/stolen', 'content-length': '0' });
    res.end();
  });
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
  redirectPort = (redirector.address() as net.AddressInfo).port;
  const dir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/chokepoint-hard-`);
  const caFile = writeCa(dir, upstreamCa.certPem);
  proxy = await startTestProxy(
    `
timeouts:
  headers: 2s
  connect: 1s
  idle: 3s
limits:
  maxHeaderBytes: 8KiB
tls:
  upstreamCAs: [${caFile}]
groups:
  origin:
    - 127.0.0.1/32:${origin.port}
    - 127.0.0.1/32:${tlsOrigin.port}
    - 127.0.0.1/32:${redirectPort}
pools:
  - name: opener
    token: opener-token-0123456789
    mode: enforce
    allow: ["@origin", "tls.test:${tlsOrigin.port}", "other.test:${tlsOrigin.port}"]
    deny: [denied-sni.test]
    tls:
      intercept: all
  - name: strict
    token: strict-token-0123456789
    mode: enforce
    allow: ["origin.test:${origin.port}", "xn--bcher-kva.test"]
    deny: [blocked.test]
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow:
      - "@origin"
      - origin.test:${origin.port}
      - rebind.test:${origin.port}
      - internal.test:${origin.port}
      - split.test:${origin.port}
      - tls.test:${tlsOrigin.port}
      - other.test:${tlsOrigin.port}
      - denied-sni.test:${tlsOrigin.port}
      - redirect.test:${redirectPort}
    deny: [blocked.test]
`,
    { resolve },
  );
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
  await tlsOrigin?.close();
  await new Promise<void>((r) => redirector.close(() => r()));
});

interface Reply {
  status: number;
  reason: string | undefined;
  text: string;
}

function parseReply(text: string): Reply {
  const status = text.startsWith('HTTP/1.1 ') ? Number(text.slice(9, 12)) : 0;
  let reason: string | undefined;
  const end = text.indexOf('\r\n\r\n');
  for (const line of text.slice(0, end < 0 ? text.length : end).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && line.slice(0, i).toLowerCase() === 'x-chokepoint-reason') reason = line.slice(i + 1).trim();
  }
  return { status, reason, text };
}

/**
 * Send raw bytes and collect the reply until the proxy closes, or (when the first response
 * is whole and the connection stays open) a moment after it, to see anything behind it.
 */
function firstResponse(data: string | Buffer, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    let out = '';
    let settle: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      clearTimeout(settle);
      socket.destroy();
      resolve(out);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (c: Buffer) => {
      out += c.toString('latin1');
      const end = out.indexOf('\r\n\r\n');
      if (end < 0 || settle) return;
      const length = parseContentLength(out.slice(0, end));
      if (length !== undefined && Buffer.byteLength(out, 'latin1') >= end + 4 + length) settle = setTimeout(done, 50);
    });
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.write(data);
  });
}

function parseContentLength(head: string): number | undefined {
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && line.slice(0, i).toLowerCase() === 'content-length') return Number(line.slice(i + 1).trim());
  }
  return undefined;
}

/** Send raw bytes; `@@O@@` stands for the origin's authority and `@@P@@` for its port (tables are built before the origin starts). */
async function raw(data: string | Buffer, timeoutMs = 2000): Promise<Reply> {
  const bytes = typeof data === 'string' ? data.replaceAll('@@O@@', o()).replaceAll('@@P@@', String(origin.port)) : data;
  return parseReply(await firstResponse(bytes, timeoutMs));
}

const o = (): string => `origin.test:${origin.port}`;
const connectTo = (authority: string, extra = ''): string => `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${extra}\r\n`;

/** The proxy still answers a well-formed request correctly. */
async function stillServes(): Promise<void> {
  const r = await raw(`GET http://${o()}/alive HTTP/1.1\r\nHost: ${o()}\r\nConnection: close\r\n\r\n`);
  expect(r.status).toBe(200);
  expect(r.text).toContain('"url":"/alive"');
}

/** Wait for an access log line for a refusal with this status (and reason when given). */
async function logged(status: number, reason?: string): Promise<void> {
  const line = await proxy.waitForLine((l) => l.status === status && (reason === undefined || l.reason === reason));
  expect(line.msg).toBe('egress');
}

describe('malformed requests get a clear 4xx and a log line', () => {
  test.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['a request line with too many parts', `GET http://@@O@@/ HTTP/1.1 extra\r\nHost: x\r\n\r\n`],
    ['an unknown HTTP version', `GET http://@@O@@/ HTTP/7.3\r\nHost: x\r\n\r\n`],
    ['origin-form (not a proxy request)', `GET / HTTP/1.1\r\nHost: @@O@@\r\n\r\n`],
    ['an https absolute URI (must use CONNECT)', `GET https://@@O@@/ HTTP/1.1\r\nHost: @@O@@\r\n\r\n`],
    ['an invalid header name', `GET http://@@O@@/ HTTP/1.1\r\nHost: @@O@@\r\nBad Header: x\r\n\r\n`],
    ['a control character in a header name', `GET http://@@O@@/ HTTP/1.1\r\nHost: @@O@@\r\nX-\x01: x\r\n\r\n`],
    ['a NUL in a header value', `GET http://@@O@@/ HTTP/1.1\r\nHost: @@O@@\r\nX-A: a\x00b\r\n\r\n`],
    ['a header line without a colon', `GET http://@@O@@/ HTTP/1.1\r\nHost: @@O@@\r\nnocolon\r\n\r\n`],
    ['user-info in the absolute URI', `GET http://user:pw@@@O@@/ HTTP/1.1\r\nHost: @@O@@\r\n\r\n`],
    ['a percent-encoded host', `GET http://origin%2etest:@@P@@/ HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['port 0 in the absolute URI', `GET http://origin.test:0/ HTTP/1.1\r\nHost: x\r\n\r\n`],
    ['port 99999 in the absolute URI', `GET http://origin.test:99999/ HTTP/1.1\r\nHost: x\r\n\r\n`],
  ])('%s: 400, never forwarded', async (_name, request) => {
    const before = origin.received.length;
    const r = await raw(request);
    expect(r.status).toBe(400);
    expect(origin.received.length).toBe(before);
    await logged(400);
  });

  test.each([
    ['a host without a port', 'origin.test'],
    ['port 0', 'origin.test:0'],
    ['port 99999', 'origin.test:99999'],
    ['a signed port', 'origin.test:+443'],
    ['user-info', 'user:pw@origin.test:443'],
    ['IPv6 without brackets', '::1:443'],
    ['an unclosed IPv6 bracket', '[::1:443'],
    ['a percent-encoded host', 'origin%2etest:443'],
    ['a space in the host', 'origin test:443'],
    ['a path after the authority', 'origin.test:443/x'],
    ['an empty host', ':443'],
  ])('CONNECT with %s: 400 bad-request', async (_name, authority) => {
    const r = await raw(connectTo(authority));
    expect(r.status).toBe(400);
    expect(r.text).not.toContain('200 Connection Established');
    await logged(400);
  });

  test('CONNECT with a NUL byte in the host: 400', async () => {
    const r = await raw(Buffer.from(connectTo('origin.test\x00.evil:443'), 'latin1'));
    expect(r.status).toBe(400);
  });

  test('headers over limits.maxHeaderBytes get 431; very many small headers too', async () => {
    const big = await raw(`GET http://${o()}/ HTTP/1.1\r\nHost: ${o()}\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
    expect(big.status).toBe(431);
    const lines = Array.from({ length: 2500 }, (_, i) => `X-${i}: 1`).join('\r\n');
    const many = await raw(`GET http://${o()}/ HTTP/1.1\r\nHost: ${o()}\r\n${lines}\r\n\r\n`);
    expect(many.status).toBe(431);
    await logged(431);
  });

  test('more header lines than the proxy keeps get 431, never a silently truncated request', async () => {
    // Within maxHeaderBytes (8 KiB) but more lines than are parsed (limits: 1000 per request).
    const before = origin.received.length;
    const lines = Array.from({ length: 1100 }, () => 'a:').join('\r\n');
    const r = await raw(`GET http://${o()}/ HTTP/1.1\r\nHost: ${o()}\r\n${lines}\r\n\r\n`);
    expect(r.status).toBe(431);
    expect(origin.received.length).toBe(before);
  });

  test('two Host headers: 400, never forwarded', async () => {
    const before = origin.received.length;
    const r = await raw(`GET http://${o()}/ HTTP/1.1\r\nHost: ${o()}\r\nHost: blocked.test\r\n\r\n`);
    expect(r.status).toBe(400);
    expect(r.reason).toBe('bad-request');
    expect(origin.received.length).toBe(before);
    const c = await raw(`CONNECT ${o()} HTTP/1.1\r\nHost: ${o()}\r\nHost: blocked.test\r\n\r\n`);
    expect(c.status).toBe(400);
  });

  test('an absolute URI is what is judged: a Host header naming another host neither opens nor closes the door', async () => {
    // Allowed URI, denied Host: forwarded to the URI's host, with the Host the URI names.
    const ok = await raw(`GET http://${o()}/uri-wins HTTP/1.1\r\nHost: blocked.test\r\nConnection: close\r\n\r\n`);
    expect(ok.status).toBe(200);
    const seen = origin.received.at(-1);
    expect(seen?.url).toBe('/uri-wins');
    expect(seen?.headers.host).toBe(o());
    // Denied URI, allowed Host: refused.
    const before = origin.received.length;
    const denied = await raw(`GET http://blocked.test/ HTTP/1.1\r\nHost: ${o()}\r\n\r\n`);
    expect(denied.status).toBe(403);
    expect(denied.reason).toBe('denylisted');
    expect(origin.received.length).toBe(before);
  });
});

test('Connection naming Host or Content-Length does not strip them from what is forwarded', async () => {
  const r = await raw(`POST http://${o()}/conn-host HTTP/1.1\r\nHost: ${o()}\r\nConnection: close, host, content-length\r\nContent-Length: 3\r\n\r\nabc`);
  expect(r.status).toBe(200);
  const seen = origin.received.at(-1);
  expect(seen?.url).toBe('/conn-host');
  expect(seen?.headers.host).toBe(o());
  expect(seen?.body).toBe('abc');
});

describe('request smuggling is refused with 400 and never forwarded', () => {
  const post = (headers: string, body: string): string => `POST http://@@O@@/smuggle HTTP/1.1\r\nHost: @@O@@\r\n${headers}\r\n${body}`;
  const smuggled = `GET http://@@O@@/smuggled HTTP/1.1\r\nHost: @@O@@\r\n\r\n`;

  test.each([
    ['Content-Length with Transfer-Encoding', post('Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${smuggled}`)],
    ['two different Content-Lengths', post('Content-Length: 0\r\nContent-Length: 60\r\n', smuggled)],
    ['two equal Content-Lengths', post('Content-Length: 3\r\nContent-Length: 3\r\n', 'abc')],
    ['a Content-Length list', post('Content-Length: 3, 3\r\n', 'abc')],
    ['a signed Content-Length', post('Content-Length: +3\r\n', 'abc')],
    ['Transfer-Encoding: xchunked', post('Transfer-Encoding: xchunked\r\n', `0\r\n\r\n${smuggled}`)],
    ['Transfer-Encoding: chunked, identity', post('Transfer-Encoding: chunked, identity\r\n', `0\r\n\r\n${smuggled}`)],
    ['Transfer-Encoding with a space before the colon', post('Transfer-Encoding : chunked\r\n', `0\r\n\r\n${smuggled}`)],
    ['Transfer-Encoding with a vertical tab', post('Transfer-Encoding:\x0bchunked\r\n', `0\r\n\r\n${smuggled}`)],
    ['a folded Transfer-Encoding', post('Transfer-Encoding:\r\n chunked\r\n', `0\r\n\r\n${smuggled}`)],
    ['bare LF line endings', `POST http://@@O@@/smuggle HTTP/1.1\nHost: @@O@@\nContent-Length: 3\n\nabc`],
    ['a bare LF inside the headers', post('X-A: 1\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${smuggled}`)],
    ['a chunk size that overflows', post('Transfer-Encoding: chunked\r\n', `fffffffffffffffffffff\r\nabc\r\n0\r\n\r\n`)],
    ['a chunk size with junk', post('Transfer-Encoding: chunked\r\n', `3x\r\nabc\r\n0\r\n\r\n`)],
    ['a chunk without its CRLF', post('Transfer-Encoding: chunked\r\n', `3\r\nabcXX0\r\n\r\n`)],
  ])('%s', async (_name, request) => {
    const before = origin.received.length;
    const r = await raw(request);
    expect(r.status).toBe(400);
    // Exactly one answer: nothing smuggled behind it was served.
    expect(r.text.split('HTTP/1.1 ').length - 1).toBe(1);
    expect(origin.received.length).toBe(before);
    await logged(400, 'bad-request');
  });

  test('a proxy that refused a smuggling attempt still serves', stillServes);
});

describe('policy evasion', () => {
  test.each([
    ['decimal', '2130706433'],
    ['octal', '0177.0.0.1'],
    ['hex short form', '0x7f.1'],
    ['hex dotted', '0x7f.0x0.0x0.0x1'],
    ['IPv4-mapped IPv6', '[::ffff:127.0.0.1]'],
    ['IPv4-mapped IPv6 in hex', '[::ffff:7f00:1]'],
  ])('%s forms of 127.0.0.1 are judged as 127.0.0.1', async (_name, host) => {
    // The strict pool allows origin.test by name only: the loopback address it would reach is refused.
    const before = origin.received.length;
    const r = await raw(`GET http://${host}:${origin.port}/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: ${STRICT}\r\n\r\n`);
    expect(r.status).toBe(403);
    expect(origin.received.length).toBe(before);
    const c = await raw(connectTo(`${host}:${origin.port}`, `Proxy-Authorization: ${STRICT}\r\n`));
    expect(c.status).toBe(403);
    const line = await proxy.waitForLine((l) => l.pool === 'strict' && l.kind === 'connect' && l.status === 403 && l.host === '127.0.0.1');
    expect(line.decision).toBe('deny');
    // ...and in a pool that allows 127.0.0.1 on this port, the same forms reach it.
    const ok = await raw(`GET http://${host}:${origin.port}/numeric HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(ok.status).toBe(200);
  });

  test.each([['blocked.test.'], ['BLOCKED.test'], ['Blocked.Test.'], ['blocked.test..']])('%s is refused (deny by name survives case and trailing dots)', async (host) => {
    const r = await raw(connectTo(`${host}:443`, `Proxy-Authorization: ${STRICT}\r\n`));
    expect([400, 403]).toContain(r.status);
    const h = await raw(`GET http://${host}/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: ${STRICT}\r\n\r\n`);
    expect([400, 403]).toContain(h.status);
  });

  test('an allowed name in another case with a trailing dot is the same allowed name', async () => {
    const r = await raw(`GET http://ORIGIN.Test.:${origin.port}/case HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(200);
    const line = await proxy.waitForLine((l) => l.path === '/case');
    expect(line.host).toBe('origin.test');
  });

  test('IDN homographs of an allowed name are other names', async () => {
    // Cyrillic о (U+043E) in place of the Latin o of origin.test.
    const homograph = '\u043erigin.test';
    const puny = domainToASCII(homograph);
    expect(puny).not.toBe('origin.test');
    const before = origin.received.length;
    const r = await raw(connectTo(`${puny}:${origin.port}`, `Proxy-Authorization: ${STRICT}\r\n`));
    expect(r.status).toBe(403);
    expect(r.reason).toBe('not-allowlisted');
    const utf8 = await raw(Buffer.from(connectTo(`${homograph}:${origin.port}`, `Proxy-Authorization: ${STRICT}\r\n`), 'utf8'));
    expect([400, 403]).toContain(utf8.status);
    expect(origin.received.length).toBe(before);
    // The allowlisted IDN (bücher) is matched in its punycode form, as is a homograph of it that differs.
    const lookalike = domainToASCII('b\u00fccher.test'.replace('c', '\u0441')); // Cyrillic с
    const l = await raw(connectTo(`${lookalike}:443`, `Proxy-Authorization: ${STRICT}\r\n`));
    expect(l.status).toBe(403);
  });

  test('an allowlisted name resolving to a private address is refused; so is one with any private address in its answer', async () => {
    const before = origin.received.length;
    const a = await raw(connectTo(`internal.test:${origin.port}`));
    expect(a.status).toBe(403);
    expect(a.reason).toBe('private-address');
    const b = await raw(`GET http://split.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(b.status).toBe(403);
    expect(b.reason).toBe('private-address');
    expect(origin.received.length).toBe(before);
  });

  test('a name whose answer changes between lookups: one lookup per request, and the proxy connects to what it checked', async () => {
    // rebind.test answers 127.0.0.1 (allowed by CIDR) then 10.255.255.1 (refused), alternately.
    // A second lookup before connecting would get the refused (unreachable) address.
    for (let i = 0; i < 3; i++) {
      const callsBefore = rebindCalls;
      const first = await raw(`GET http://rebind.test:${origin.port}/rebind-${i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(first.status).toBe(200);
      expect(rebindCalls).toBe(callsBefore + 1);
      expect(origin.received.at(-1)?.url).toBe(`/rebind-${i}`);
      const second = await raw(`GET http://rebind.test:${origin.port}/rebind-second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect(second.status).toBe(403);
      expect(second.reason).toBe('private-address');
      expect(rebindCalls).toBe(callsBefore + 2);
    }
    // The same through a tunnel: the CONNECT is checked once and connected to the checked address.
    const callsBefore = rebindCalls;
    const t = await openTunnel(proxy.port, `rebind.test:${origin.port}`);
    expect(t.status).toBe(200);
    const reply = await new Promise<string>((resolve) => {
      let out = '';
      t.socket.on('data', (c: Buffer) => (out += c.toString()));
      t.socket.on('close', () => resolve(out));
      t.socket.write(`GET /through-tunnel HTTP/1.1\r\nHost: rebind.test\r\nConnection: close\r\n\r\n`);
    });
    expect(reply).toContain('/through-tunnel');
    expect(rebindCalls).toBe(callsBefore + 1);
    expect(origin.received.at(-1)?.url).toBe('/through-tunnel');
  });

  test('CONNECT to an allowed host with the SNI of a denied one is cut (sni-mismatch)', async () => {
    const { socket, status } = await openTunnel(proxy.port, `tls.test:${tlsOrigin.port}`);
    expect(status).toBe(200);
    const outcome = await new Promise<string>((resolve) => {
      const t = tls.connect({ socket, servername: 'blocked.test', ca: upstreamCa.certPem, rejectUnauthorized: false });
      t.once('secureConnect', () => resolve('connected'));
      t.once('error', () => resolve('refused'));
      t.once('close', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
    const line = await proxy.waitForLine((l) => l.reason === 'sni-mismatch' && l.sni === 'blocked.test');
    expect(line).toMatchObject({ kind: 'connect', host: 'tls.test', decision: 'deny' });
  });

  test('an intercepted request with the Host of a denied host gets 403 host-mismatch', async () => {
    const caPem = (await import('node:fs')).readFileSync(`${proxy.dir}/state/ca.pem`, 'utf8');
    const { socket, status } = await openTunnel(proxy.port, `tls.test:${tlsOrigin.port}`, { 'Proxy-Authorization': INTERCEPT });
    expect(status).toBe(200);
    const t = tls.connect({ socket, servername: 'tls.test', ca: caPem });
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', () => resolve());
      t.once('error', reject);
    });
    const before = tlsOrigin.received.length;
    const reply = await new Promise<string>((resolve) => {
      let out = '';
      t.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\r\n\r\n') && out.includes('host-mismatch')) resolve(out);
      });
      t.on('close', () => resolve(out));
      t.write(`GET /inside HTTP/1.1\r\nHost: denied-sni.test\r\n\r\n`);
    });
    t.destroy();
    expect(parseReply(reply).status).toBe(403);
    expect(parseReply(reply).reason).toBe('host-mismatch');
    expect(tlsOrigin.received.length).toBe(before);
  });

  test('a redirect from an allowed host to a denied one: the 302 passes, the next request is judged on its own', async () => {
    const r = await curl(['-x', proxy.url, '-L', `http://redirect.test:${redirectPort}/start`]);
    expect(r.status).toBe(403);
    expect(r.headers['x-chokepoint-reason']).toBe('denylisted');
    const hop = await proxy.waitForLine((l) => l.host === 'redirect.test' && l.status === 302);
    expect(hop.decision).toBe('allow');
    const next = await proxy.waitForLine((l) => l.host === 'blocked.test' && l.path === '/stolen');
    expect(next).toMatchObject({ status: 403, decision: 'deny', reason: 'denylisted' });
  });
});

describe('fuzz', () => {
  const token = fc.constantFrom('GET', 'POST', 'CONNECT', 'HEAD', 'OPTIONS', 'PUT', 'G\x00T', '');
  const hosts = fc.constantFrom(
    'origin.test',
    '127.0.0.1',
    '2130706433',
    '[::1]',
    '[::ffff:127.0.0.1]',
    'blocked.test',
    '::1',
    'a%00b',
    'x@y',
    '',
    'ünï.test',
    '0x7f.1',
  );
  const port = fc.oneof(fc.integer({ min: -1, max: 70000 }).map(String), fc.constantFrom('', 'abc', '443', '0x50', '99999999999'));
  const authority = fc.tuple(hosts, port, fc.boolean()).map(([h, p, withPort]) => (withPort ? `${h}:${p}` : h));
  const target = fc.oneof(
    authority,
    authority.map((a) => `http://${a}/`),
    fc.tuple(authority, fc.string({ maxLength: 20 })).map(([a, s]) => `http://${a}/${s}`),
    fc.string({ maxLength: 40 }),
  );
  const headerName = fc.oneof(fc.constantFrom('Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Proxy-Authorization', 'Upgrade', 'Expect', 'X-A'), fc.string({ maxLength: 12 }));
  const headerValue = fc.oneof(fc.constantFrom('chunked', '0', '5', '-1', 'close', 'websocket', '100-continue', STRICT, `Bearer ${PLANTED}`), fc.string({ maxLength: 30 }));
  const eol = fc.constantFrom('\r\n', '\n', '\r');
  const head = fc
    .tuple(token, target, fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'http/1.1', ''), fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }), eol, fc.string({ maxLength: 30 }))
    .map(([m, t, v, hs, nl, body]) => `${m} ${t} ${v}${nl}${hs.map(([n, val]) => `${n}: ${val}`).join(nl)}${nl}${nl}${body}`);

  test('generated request heads and CONNECT targets never take the proxy down', async () => {
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(head, { minLength: 1, maxLength: 8 }), async (heads) => {
        const replies = await Promise.all(heads.map((h) => rawRequest(proxy.port, h, 400)));
        for (const reply of replies) {
          // Whatever comes back is HTTP/1.1 (or nothing, when the client's bytes never made a request).
          if (reply.length > 0) {
            expect(reply.startsWith('HTTP/1.1 ')).toBe(true);
            answered++;
          }
        }
      }),
      { numRuns: 60, seed: 8 },
    );
    expect(answered).toBeGreaterThan(0);
    await stillServes();
    const t = await openTunnel(proxy.port, `origin.test:${origin.port}`);
    expect(t.status).toBe(200);
    t.socket.destroy();
  }, 60_000);
});

describe('never leaks', () => {
  test('credentials sent in requests never appear in the log, and the log scans clean with our own detectors', async () => {
    await raw(`GET http://${o()}/?token=${PLANTED} HTTP/1.1\r\nHost: ${o()}\r\nAuthorization: Bearer ${PLANTED}\r\nConnection: close\r\n\r\n`);
    // In the path itself (the egress line shows the path: with the finding's preview in its place).
    await raw(`GET http://${o()}/repos/${FOUND}/contents HTTP/1.1\r\nHost: ${o()}\r\nConnection: close\r\n\r\n`);
    await raw(`POST http://${o()}/ HTTP/1.1\r\nHost: ${o()}\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\nX-Secret: ${PLANTED}\r\n\r\n`);
    await raw(`GET http://${o()}/ HTTP/1.1\r\nHost: ${o()}\r\nX-Secret: ${PLANTED}\r\nBad Header: ${PLANTED}\r\n\r\n`);
    await raw(`GET http://${o()}/ HTTP/1.1\r\nProxy-Authorization: ${STRICT}\r\nX-Big: ${PLANTED.repeat(300)}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    const log = proxy.rawLog();
    expect(log).not.toContain(PLANTED);
    expect(FOUND).toMatch(/^ghp_/);
    expect(log).not.toContain(FOUND);
    expect(proxy.egress().map((l) => l.path)).toContainEqual(expect.stringMatching(/^\/repos\/\[ghp_…\(40\)\]\/contents$/));
    expect(log).not.toContain('strict-token-0123456789');
    expect(log).not.toContain(STRICT.slice(6));
    const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 7) });
    const findings = engine.scan(Buffer.from(log));
    expect(findings.map((f) => f.ruleId)).toEqual([]);
    // Every line is JSON, and no line carries a stack trace or header values.
    for (const line of proxy.lines()) {
      expect(JSON.stringify(line)).not.toContain('    at ');
      expect(line).not.toHaveProperty('headers');
    }
  });
});
