// HTTP/2 through TLS interception, end to end: curl --http2 and node's http2 client
// reach an h2 origin on loopback through Chokepoint; each stream is its own exchange
// (egress line), scanned like an HTTP/1.1 request (headers, body, trailers) and refused
// on its own stream while the others on the connection complete. An h2 client reaches
// an HTTP/1.1-only origin too. Cleartext h2 (Upgrade: h2c, prior knowledge) is refused
// with a reason, and a client that fails the intercepted handshake is logged as such.
import { mkdtempSync, readFileSync } from 'node:fs';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generators } from './corpus/gen/github.js';
import { createRng } from './corpus/rng.js';
import { createTestCa, type TestCa } from './helpers/certs.js';
import { basicAuth, curl, openTunnel, rawRequest, writeCa } from './helpers/clients.js';
import { startHttpsOrigin, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

const rng = createRng(1515);
const githubToken = (): string => {
  const make = generators['github-pat-classic'];
  if (!make) throw new Error('no generator for github-pat-classic');
  return make(rng);
};

interface H2Received {
  method: string;
  path: string;
  authority: string;
  headers: IncomingHttpHeaders;
  body: string;
  trailers: IncomingHttpHeaders;
}

/** An HTTP/2 origin (TLS, ALPN h2 only) that echoes what it received and answers with a trailer. */
async function startH2Origin(cert: { certPem: string; keyPem: string }): Promise<{ port: number; received: H2Received[]; close(): Promise<void> }> {
  const received: H2Received[] = [];
  const server = http2.createSecureServer({ cert: cert.certPem, key: cert.keyPem });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    let trailers: IncomingHttpHeaders = {};
    stream.on('trailers', (t: IncomingHttpHeaders) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      // node ends the readable side of a reset stream too: that request never completed.
      if (stream.aborted) return;
      const r: H2Received = {
        method: String(headers[':method']),
        path: String(headers[':path']),
        authority: String(headers[':authority']),
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
        trailers,
      };
      received.push(r);
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-origin': 'h2' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'x-served': 'yes' }));
      stream.end(JSON.stringify({ ...r, headers: undefined }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let upstreamCa: TestCa;
let h2origin: Awaited<ReturnType<typeof startH2Origin>>;
let h1origin: Origin;
let proxy: TestProxy;
let proxyCaPem: string;
let proxyCaFile: string;
const ENFORCE = basicAuth('enforce', 'enforce-token-0123456789');

beforeAll(async () => {
  upstreamCa = createTestCa('Upstream Test CA');
  const leaf = upstreamCa.issue(['h2.test', 'paste.test', 'other.test', 'h1.test']);
  h2origin = await startH2Origin(leaf);
  h1origin = await startHttpsOrigin(leaf);
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-h2-'));
  const upstreamCaFile = writeCa(dir, upstreamCa.certPem);
  const allow = `["h2.test:${h2origin.port}", "paste.test:${h2origin.port}", "other.test:${h2origin.port}", "h1.test:${h1origin.port}", "h2.test:${h1origin.port}", "127.0.0.1/32:*"]`;
  proxy = await startTestProxy(
    `
tls:
  intercept: none
  upstreamCAs: [${upstreamCaFile}]
scan:
  maxBufferBytes: 256KiB
  oversize: stream
limits:
  h2MaxConcurrentStreams: 64
pools:
  - name: enforce
    token: enforce-token-0123456789
    mode: enforce
    allow: ${allow}
    tls:
      intercept: all
    secrets:
      action: block
  - name: alerting
    token: alerting-token-0123456789
    mode: enforce
    allow: ${allow}
    tls:
      intercept: all
    secrets:
      action: alert
`,
    { resolve: fakeResolver({ 'h2.test': ['127.0.0.1'], 'paste.test': ['127.0.0.1'], 'other.test': ['127.0.0.1'], 'h1.test': ['127.0.0.1'] }) },
  );
  proxyCaPem = readFileSync(join(proxy.dir, 'state', 'ca.pem'), 'utf8');
  proxyCaFile = writeCa(proxy.dir, proxyCaPem);
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([h2origin?.close(), h1origin?.close()]);
});

/** An HTTP/2 session to `host:port` through an enforce-pool tunnel, trusting our CA. */
async function h2Through(host: string, port: number, auth = ENFORCE): Promise<ClientHttp2Session> {
  const { socket, status } = await openTunnel(proxy.port, `${host}:${port}`, { 'Proxy-Authorization': auth });
  expect(status).toBe(200);
  const t = tls.connect({ socket, servername: host, ca: proxyCaPem, ALPNProtocols: ['h2'] });
  await new Promise<void>((resolve, reject) => {
    t.once('secureConnect', resolve);
    t.once('error', reject);
  });
  expect(t.alpnProtocol).toBe('h2');
  const session = http2.connect(`https://${host}:${port}`, { createConnection: () => t });
  session.on('error', () => undefined);
  return session;
}

interface H2Result {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  trailers: IncomingHttpHeaders;
  /** Set when the stream was reset instead of answered. */
  rstCode?: number;
}

function h2Request(
  session: ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string | Buffer,
  trailers?: http2.OutgoingHttpHeaders,
): Promise<H2Result> {
  return new Promise((resolve) => {
    const req = session.request(headers, trailers ? { waitForTrailers: true } : {});
    if (trailers) req.once('wantTrailers', () => req.sendTrailers(trailers));
    let head: IncomingHttpHeaders = {};
    let tr: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (head = h));
    req.on('trailers', (t) => (tr = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('close', () => {
      const status = Number(head[':status'] ?? 0);
      resolve({ status, headers: head, body: Buffer.concat(chunks).toString('utf8'), trailers: tr, ...(status === 0 ? { rstCode: req.rstCode } : {}) });
    });
    req.end(body);
  });
}

describe('HTTP/2 through interception', () => {
  test('curl --http2 trusting our CA speaks h2 end to end; the stream has its own egress line', async () => {
    const r = await curl([
      '--http2',
      '-x',
      proxy.url,
      '--proxy-user',
      'enforce:enforce-token-0123456789',
      '--cacert',
      proxyCaFile,
      '-H',
      'X-Custom: kept',
      '--data-binary',
      'hello over h2',
      `https://h2.test:${h2origin.port}/echo?x=1`,
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.status).toBe(200);
    expect(r.headers['x-origin']).toBe('h2');
    // curl -i prints the response trailers after the body.
    expect(r.body).toContain('x-served: yes');
    const seen = JSON.parse(r.body.slice(0, r.body.lastIndexOf('}') + 1)) as H2Received;
    expect(seen).toMatchObject({ method: 'POST', path: '/echo?x=1', authority: `h2.test:${h2origin.port}`, body: 'hello over h2' });
    const line = await proxy.waitForLine((l) => l.kind === 'intercept' && l.path === '/echo' && l.httpVersion === '2');
    expect(line).toMatchObject({ method: 'POST', host: 'h2.test', port: h2origin.port, status: 200, decision: 'allow', findings: 0 });
    expect(line.bytesUp).toBe('hello over h2'.length);
    expect(Number(line.bytesDown)).toBeGreaterThan(0);
  });

  test('64 concurrent streams on one connection all complete, each its own egress line, trailers relayed', async () => {
    const session = await h2Through('h2.test', h2origin.port);
    try {
      // The SETTINGS we announce are the configured bounds.
      await new Promise<void>((resolve) => (session.remoteSettings.maxConcurrentStreams === 64 ? resolve() : session.once('remoteSettings', () => resolve())));
      expect(session.remoteSettings.maxConcurrentStreams).toBe(64);
      expect(session.remoteSettings.maxHeaderListSize).toBe(16384);
      expect(session.remoteSettings.enablePush).toBe(false);
      const results = await Promise.all(
        Array.from({ length: 64 }, (_, i) => h2Request(session, { ':method': 'POST', ':path': `/many/${i}` }, `body ${i}`)),
      );
      for (const [i, r] of results.entries()) {
        expect(r.status).toBe(200);
        expect((JSON.parse(r.body) as H2Received).path).toBe(`/many/${i}`);
        expect(r.trailers['x-served']).toBe('yes');
      }
      await proxy.waitForLine((l) => l.path === '/many/63');
      const lines = proxy.egress().filter((l) => String(l.path).startsWith('/many/'));
      expect(lines).toHaveLength(64);
      expect(new Set(lines.map((l) => l.path)).size).toBe(64);
    } finally {
      session.close();
    }
  });

  test('a token in one stream is refused on that stream (403, reason) while the others on the connection complete', async () => {
    const session = await h2Through('paste.test', h2origin.port);
    const token = githubToken();
    try {
      const before = h2origin.received.length;
      const [a, blocked, b] = await Promise.all([
        h2Request(session, { ':method': 'POST', ':path': '/ok-a' }, 'fine'),
        h2Request(session, { ':method': 'POST', ':path': '/leak', 'content-type': 'application/json' }, JSON.stringify({ t: token })),
        h2Request(session, { ':method': 'GET', ':path': '/ok-b' }),
      ]);
      expect(blocked.status).toBe(403);
      expect(blocked.headers['x-chokepoint-reason']).toBe('secret-exfiltration');
      expect(blocked.headers['x-chokepoint-rule']).toBe('github-pat-classic');
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      // The connection goes on after the refusal.
      expect((await h2Request(session, { ':method': 'GET', ':path': '/after' })).status).toBe(200);
      const paths = h2origin.received.slice(before).map((r) => r.path);
      expect(paths).not.toContain('/leak');
      expect(JSON.stringify(h2origin.received)).not.toContain(token);
      const line = await proxy.waitForLine((l) => l.path === '/leak');
      expect(line).toMatchObject({ decision: 'deny', reason: 'secret-exfiltration', status: 403, findings: 1, httpVersion: '2' });
    } finally {
      session.close();
    }
  });

  test('a token in a header or in the request trailers is found and refused', async () => {
    const session = await h2Through('paste.test', h2origin.port);
    try {
      const inHeader = await h2Request(session, { ':method': 'GET', ':path': '/hdr', 'x-api-key': githubToken() });
      expect(inHeader.status).toBe(403);
      expect(inHeader.headers['x-chokepoint-reason']).toBe('secret-exfiltration');
      const inTrailer = await h2Request(session, { ':method': 'POST', ':path': '/trailer' }, 'body', { 'x-checksum': githubToken() });
      expect(inTrailer.status).toBe(403);
      expect(inTrailer.headers['x-chokepoint-reason']).toBe('secret-exfiltration');
      expect(h2origin.received.map((r) => r.path)).not.toContain('/trailer');
      // Clean trailers reach the origin.
      const clean = await h2Request(session, { ':method': 'POST', ':path': '/trailer-ok' }, 'body', { 'x-checksum': 'abc123' });
      expect(clean.status).toBe(200);
      expect(h2origin.received.find((r) => r.path === '/trailer-ok')?.trailers['x-checksum']).toBe('abc123');
    } finally {
      session.close();
    }
  });

  test('an oversize body streams with per-stream scanning: a token past the scan limit resets that stream only', async () => {
    const session = await h2Through('paste.test', h2origin.port);
    try {
      const big = Buffer.concat([Buffer.alloc(400 * 1024, 'a'), Buffer.from(` ${githubToken()} `), Buffer.alloc(1024, 'b')]);
      const [cut, ok] = await Promise.all([h2Request(session, { ':method': 'POST', ':path': '/big' }, big), h2Request(session, { ':method': 'GET', ':path': '/beside-big' })]);
      expect(ok.status).toBe(200);
      expect(cut.status === 403 || cut.rstCode !== undefined).toBe(true);
      expect(h2origin.received.map((r) => r.path)).not.toContain('/big');
      const line = await proxy.waitForLine((l) => l.path === '/big');
      expect(line).toMatchObject({ decision: 'deny', reason: 'secret-exfiltration' });
      expect(line.scanSkipped).toEqual(['oversize']);
    } finally {
      session.close();
    }
  });

  test(':authority naming another host than the tunnel is refused (host-mismatch), as Host is in HTTP/1.1', async () => {
    const session = await h2Through('h2.test', h2origin.port);
    try {
      const before = h2origin.received.length;
      const r = await h2Request(session, { ':method': 'GET', ':path': '/smuggled', ':authority': `other.test:${h2origin.port}` });
      expect(r.status).toBe(403);
      expect(r.headers['x-chokepoint-reason']).toBe('host-mismatch');
      expect(h2origin.received.length).toBe(before);
      expect((await h2Request(session, { ':method': 'GET', ':path': '/same-host' })).status).toBe(200);
    } finally {
      session.close();
    }
  });

  test('a GitLab trace PATCH over h2 is read as a CI log too (the log recognisers see h2 streams)', async () => {
    const session = await h2Through('h2.test', h2origin.port, basicAuth('alerting', 'alerting-token-0123456789'));
    const token = githubToken();
    try {
      const trace = Buffer.from(`Running job\nexport TOKEN=${token}\nDone\n`);
      const r = await h2Request(session, { ':method': 'PATCH', ':path': '/api/v4/jobs/9151/trace', 'content-range': `0-${trace.length - 1}`, 'content-type': 'text/plain' }, trace);
      expect(r.status).toBe(200);
      // The job ends (PUT with its state, also over h2): its stream is flushed.
      const end = await h2Request(session, { ':method': 'PUT', ':path': '/api/v4/jobs/9151', 'content-type': 'application/json' }, JSON.stringify({ token: 'x', state: 'success' }));
      expect(end.status).toBe(200);
      const deadline = Date.now() + 5000;
      const logFinding = (): Record<string, unknown> | undefined => proxy.lines().find((l) => l.msg === 'finding' && l.source === 'log' && l.job === '9151');
      while (!logFinding() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      expect(logFinding()).toMatchObject({ rule: 'github-pat-classic', kind: 'log', verdict: 'leak' });
    } finally {
      session.close();
    }
  });

  test('an h2 client reaches an origin that speaks only HTTP/1.1', async () => {
    const session = await h2Through('h1.test', h1origin.port);
    try {
      const r = await h2Request(session, { ':method': 'POST', ':path': '/from-h2', 'content-type': 'text/plain' }, 'to h1');
      expect(r.status).toBe(200);
      const seen = JSON.parse(r.body) as { method: string; url: string; headers: Record<string, string>; body: string };
      expect(seen).toMatchObject({ method: 'POST', url: '/from-h2', body: 'to h1' });
      expect(seen.headers.host).toBe(`h1.test:${h1origin.port}`);
    } finally {
      session.close();
    }
  });

  test('an HTTP/1.1 client in an intercepting tunnel still gets HTTP/1.1 (ALPN http/1.1)', async () => {
    const r = await curl(['--http1.1', '-x', proxy.url, '--proxy-user', 'enforce:enforce-token-0123456789', '--cacert', proxyCaFile, `https://h1.test:${h1origin.port}/plain`]);
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as { url: string }).url).toBe('/plain');
  });
});

describe('cleartext HTTP/2 is refused with a reason', () => {
  test('Upgrade: h2c on the plain-HTTP listener: 400 h2c-not-supported', async () => {
    const reply = await rawRequest(
      proxy.port,
      `GET http://h2.test:${h2origin.port}/ HTTP/1.1\r\nHost: h2.test\r\nProxy-Authorization: ${ENFORCE}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
    );
    expect(reply.startsWith('HTTP/1.1 400')).toBe(true);
    expect(reply).toContain('X-Chokepoint-Reason: h2c-not-supported');
    await proxy.waitForLine((l) => l.reason === 'h2c-not-supported');
  });

  test('an h2 prior-knowledge preface on the plain-HTTP listener: GOAWAY HTTP_1_1_REQUIRED with the reason', async () => {
    const reply = await rawRequest(proxy.port, Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    const bytes = Buffer.from(reply, 'latin1');
    // SETTINGS (type 4), then GOAWAY (type 7) with error code 0xd.
    expect(bytes[3]).toBe(4);
    expect(bytes[12]).toBe(7);
    expect(bytes.readUInt32BE(9 + 9 + 4)).toBe(0xd);
    expect(reply).toContain('h2-prior-knowledge-not-supported');
    const line = await proxy.waitForLine((l) => l.reason === 'h2-prior-knowledge-not-supported');
    expect(line).toMatchObject({ decision: 'deny', status: 400 });
  });

  test('curl --http2-prior-knowledge through the proxy is told why', async () => {
    const r = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${proxy.port}/`]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr + r.body).not.toContain('Chokepoint crashed');
  });
});

describe('a client that fails the intercepted handshake', () => {
  async function metric(name: string, labels: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  test('curl that does not trust our CA: the tunnel says client-tls-failed with the alert, and it is counted', async () => {
    const before = await metric('chokepoint_client_tls_failures_total', 'alert="unknown_ca"');
    const r = await curl(['-x', proxy.url, '--proxy-user', 'enforce:enforce-token-0123456789', `https://h2.test:${h2origin.port}/untrusted`]);
    expect(r.exitCode).toBe(60); // curl: peer certificate cannot be authenticated
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.reason === 'client-tls-failed' && l.tlsAlert === 'unknown_ca');
    expect(line).toMatchObject({ host: 'h2.test', intercepted: true });
    expect(await metric('chokepoint_client_tls_failures_total', 'alert="unknown_ca"')).toBe(before + 1);
  });

  test('a client offering no protocol we speak (ALPN): client-tls-failed, no_application_protocol', async () => {
    const { socket } = await openTunnel(proxy.port, `other.test:${h2origin.port}`, { 'Proxy-Authorization': ENFORCE });
    const t = tls.connect({ socket, servername: 'other.test', ca: proxyCaPem, ALPNProtocols: ['spdy/1'] });
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      t.once('error', resolve);
      t.once('secureConnect', () => resolve(undefined));
    });
    t.destroy();
    expect(err).toBeDefined();
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.host === 'other.test' && l.reason === 'client-tls-failed');
    expect(line.tlsAlert).toBe('no_application_protocol');
  });
});
