// TLS interception and in-flight scanning, end to end: curl and undici trust Chokepoint's
// CA, reach HTTPS origins on loopback through it, and planted credentials are found,
// judged by their destination, and blocked (enforce) or recorded (audit).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetch, ProxyAgent } from 'undici';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';
import { createTestCa, type TestCa } from './helpers/certs.js';
import { basicAuth, curl, openTunnel, writeCa } from './helpers/clients.js';
import { startHttpsOrigin, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

const rng = createRng(4242);
const githubToken = (): string => {
  const make = generators['github-pat-classic'];
  if (!make) throw new Error('no generator for github-pat-classic');
  return make(rng);
};

let upstreamCa: TestCa;
let rogueCa: TestCa;
let origin: Origin;
let rogue: Origin;
let proxy: TestProxy;
let proxyCaPem: string;
let proxyCaFile: string;
let upstreamCaFile: string;

const ENFORCE = basicAuth('enforce', 'enforce-token-0123456789');
const AUDIT = basicAuth('audit', 'audit-token-0123456789');

beforeAll(async () => {
  upstreamCa = createTestCa('Upstream Test CA');
  rogueCa = createTestCa('Rogue CA');
  origin = await startHttpsOrigin(upstreamCa.issue(['origin.test', 'api.github.com', 'pinned.test', 'paste.test'], ['127.0.0.1']));
  rogue = await startHttpsOrigin(rogueCa.issue(['rogue.test']));
  const dir = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'chokepoint-up-'));
  upstreamCaFile = writeCa(dir, upstreamCa.certPem);
  const allow = `["origin.test:${origin.port}", "api.github.com:${origin.port}", "pinned.test:${origin.port}", "paste.test:${origin.port}", "rogue.test:${rogue.port}", "127.0.0.1/32:*"]`;
  proxy = await startTestProxy(
    `
tls:
  intercept: none
  upstreamCAs: [${upstreamCaFile}]
scan:
  maxBufferBytes: 1MiB
  oversize: stream
pools:
  - name: enforce
    token: enforce-token-0123456789
    mode: enforce
    allow: ${allow}
    tls:
      intercept: all
      bypass: [pinned.test]
    secrets:
      action: block
  - name: audit
    token: audit-token-0123456789
    mode: audit
    allow: ${allow}
    tls:
      intercept: all
    secrets:
      action: block
`,
    {
      resolve: fakeResolver({
        'origin.test': ['127.0.0.1'],
        'api.github.com': ['127.0.0.1'],
        'pinned.test': ['127.0.0.1'],
        'paste.test': ['127.0.0.1'],
        'rogue.test': ['127.0.0.1'],
      }),
    },
  );
  proxyCaPem = readFileSync(join(proxy.dir, 'state', 'ca.pem'), 'utf8');
  proxyCaFile = writeCa(proxy.dir, proxyCaPem);
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([origin?.close(), rogue?.close()]);
});

/** A TLS connection through an enforce-pool tunnel to `host` (the origin's port), intercepted by the proxy. */
async function interceptedTls(host: string): Promise<tls.TLSSocket> {
  const { socket } = await openTunnel(proxy.port, `${host}:${origin.port}`, { 'Proxy-Authorization': ENFORCE });
  const t = tls.connect({ socket, servername: host, ca: proxyCaPem });
  await new Promise<void>((resolve, reject) => {
    t.once('secureConnect', resolve);
    t.once('error', reject);
  });
  return t;
}

/** Everything read from `t` up to the end of the first response head. */
function responseHead(t: tls.TLSSocket): Promise<string> {
  return new Promise<string>((resolve) => {
    let out = '';
    t.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\r\n\r\n')) resolve(out);
    });
  });
}

function agent(auth: string): ProxyAgent {
  return new ProxyAgent({ uri: proxy.url, token: auth, requestTls: { ca: proxyCaPem } });
}

async function post(auth: string, url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; reason: string | null; rule: string | null; text: string }> {
  const a = agent(auth);
  try {
    const r = await fetch(url, { method: 'POST', body, headers, dispatcher: a });
    return { status: r.status, reason: r.headers.get('x-chokepoint-reason'), rule: r.headers.get('x-chokepoint-rule'), text: await r.text() };
  } finally {
    await a.close();
  }
}

describe('interception', () => {
  test('curl trusting our CA reaches the origin; the origin sees the request unchanged', async () => {
    const before = origin.received.length;
    const r = await curl([
      '-x',
      proxy.url,
      '--proxy-user',
      'enforce:enforce-token-0123456789',
      '--cacert',
      proxyCaFile,
      '-H',
      'X-Custom: kept',
      '--data-binary',
      'plain body bytes',
      `https://origin.test:${origin.port}/intercepted?x=1`,
    ]);
    expect(r.status).toBe(200);
    expect(origin.received.length).toBe(before + 1);
    const seen = origin.received.at(-1);
    expect(seen).toMatchObject({ method: 'POST', url: '/intercepted?x=1', body: 'plain body bytes' });
    expect(seen?.headers['x-custom']).toBe('kept');
    expect(seen?.headers).not.toHaveProperty('proxy-authorization');
    const line = await proxy.waitForLine((l) => l.kind === 'intercept' && l.path === '/intercepted');
    expect(line).toMatchObject({ pool: 'enforce', decision: 'allow', status: 200, host: 'origin.test' });
  });

  test('a destination named by IP address is opened and verified by its IP, never sending the IP as TLS server name (no DEP0123 warning)', async () => {
    // The helper fails this test on any runtime warning the proxy prints, DEP0123 included.
    const r = await curl(['-x', proxy.url, '--proxy-user', 'enforce:enforce-token-0123456789', '--cacert', proxyCaFile, `https://127.0.0.1:${origin.port}/by-ip`]);
    expect(r.status).toBe(200);
    expect(origin.received.at(-1)).toMatchObject({ url: '/by-ip' });
    const line = await proxy.waitForLine((l) => l.kind === 'intercept' && l.path === '/by-ip');
    expect(line).toMatchObject({ pool: 'enforce', decision: 'allow', status: 200, host: '127.0.0.1' });
  });

  test('the certificate the client sees is ours, for the host it asked for, offering h2 first, then http/1.1 (issue #15)', async () => {
    const { socket, status } = await openTunnel(proxy.port, `origin.test:${origin.port}`, { 'Proxy-Authorization': ENFORCE });
    expect(status).toBe(200);
    const t = tls.connect({ socket, servername: 'origin.test', ca: proxyCaPem, ALPNProtocols: ['h2', 'http/1.1'] });
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', resolve);
      t.once('error', reject);
    });
    const cert = t.getPeerX509Certificate();
    expect(cert?.subjectAltName).toContain('DNS:origin.test');
    expect(t.alpnProtocol).toBe('h2');
    t.destroy();
  });

  test('gzip and chunked bodies arrive byte for byte', async () => {
    const json = JSON.stringify({ hello: 'world', n: 42 });
    const gz = gzipSync(json);
    const r = await post(ENFORCE, `https://origin.test:${origin.port}/gzip`, gz, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
    expect(r.status).toBe(200);
    const seen = origin.received.at(-1);
    expect(seen?.headers['content-encoding']).toBe('gzip');
    expect(Number(seen?.headers['content-length'])).toBe(gz.length);
  });

  test('a bypass host is tunnelled, not opened: the client sees the origin certificate', async () => {
    const r = await curl(['-x', proxy.url, '--proxy-user', 'enforce:enforce-token-0123456789', '--cacert', upstreamCaFile, `https://pinned.test:${origin.port}/pinned`]);
    expect(r.status).toBe(200);
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.host === 'pinned.test');
    expect(line.intercepted).toBeUndefined();
  });

  test('an upstream certificate that fails verification is 502 upstream-tls-error', async () => {
    const r = await curl(['-x', proxy.url, '--proxy-user', 'enforce:enforce-token-0123456789', '--cacert', proxyCaFile, `https://rogue.test:${rogue.port}/`]);
    expect(r.status).toBe(502);
    expect(r.headers['x-chokepoint-reason']).toBe('upstream-tls-error');
    expect(rogue.received).toHaveLength(0);
  });

  test('inside an opened tunnel the listener rules still hold: two Host headers are 400, never forwarded', async () => {
    const before = origin.received.length;
    const t = await interceptedTls('origin.test');
    t.write(`GET /dup HTTP/1.1\r\nHost: origin.test:${origin.port}\r\nHost: paste.test\r\n\r\n`);
    const reply = await responseHead(t);
    t.destroy();
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(origin.received.length).toBe(before);
  });

  test('100 concurrent connections to one new host make one certificate', async () => {
    const issuer = proxy.app.issuer;
    if (!issuer) throw new Error('interception is on: there must be an issuer');
    const before = issuer.stats.issued;
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const { socket } = await openTunnel(proxy.port, `paste.test:${origin.port}`, { 'Proxy-Authorization': ENFORCE });
        return new Promise<boolean>((resolve) => {
          const t = tls.connect({ socket, servername: 'paste.test', ca: proxyCaPem });
          t.once('secureConnect', () => {
            t.destroy();
            resolve(true);
          });
          t.once('error', () => resolve(false));
        });
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(issuer.stats.issued - before).toBe(1);
  });
});

describe('credentials on their way out', () => {
  const cases: Array<[string, (token: string) => { path: string; body: string | Buffer; headers: Record<string, string> }]> = [
    ['query string', (t) => ({ path: `/q?access_token=${t}`, body: '', headers: {} })],
    ['JSON body', (t) => ({ path: '/json', body: JSON.stringify({ token: t, note: 'ci' }), headers: { 'content-type': 'application/json' } })],
    ['form body', (t) => ({ path: '/form', body: `user=ci&token=${encodeURIComponent(t)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })],
    [
      'multipart upload',
      (t) => ({
        path: '/upload',
        body: `--XyZ\r\nContent-Disposition: form-data; name="file"; filename="env.txt"\r\nContent-Type: text/plain\r\n\r\nGITHUB_TOKEN=${t}\r\n--XyZ--\r\n`,
        headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
      }),
    ],
    ['gzip body', (t) => ({ path: '/gz', body: gzipSync(`export GITHUB_TOKEN=${t}\n`), headers: { 'content-encoding': 'gzip', 'content-type': 'text/plain' } })],
    ['base64 inside JSON', (t) => ({ path: '/b64', body: JSON.stringify({ blob: Buffer.from(`token: ${t}\n`).toString('base64') }), headers: { 'content-type': 'application/json' } })],
  ];

  test.each(cases)('%s to a paste site: blocked in enforce, the origin receives nothing', async (_name, make) => {
    const token = githubToken();
    const { path, body, headers } = make(token);
    const before = origin.received.length;
    const r = await post(ENFORCE, `https://paste.test:${origin.port}${path}`, body, headers);
    expect(r.status).toBe(403);
    expect(r.reason).toBe('secret-exfiltration');
    expect(r.rule).toBe('github-pat-classic');
    expect(r.text).not.toContain(token);
    expect(origin.received.length).toBe(before);
    const finding = proxy.lines().find((l) => l.msg === 'finding' && l.verdict === 'exfiltration' && l.host === 'paste.test' && l.action === 'block');
    expect(finding).toMatchObject({ rule: 'github-pat-classic', pool: 'enforce' });
  });

  test.each(cases)('%s in audit mode: forwarded whole, recorded as audit', async (_name, make) => {
    const token = githubToken();
    const { path, body, headers } = make(token);
    const before = origin.received.length;
    const r = await post(AUDIT, `https://paste.test:${origin.port}${path}`, body, headers);
    expect(r.status).toBe(200);
    expect(origin.received.length).toBe(before + 1);
    const line = await proxy.waitForLine((l) => l.kind === 'intercept' && l.pool === 'audit' && l.path === path.split('?')[0] && Number(l.findings) > 0);
    expect(line).toMatchObject({ decision: 'audit', reason: 'secret-exfiltration' });
  });

  test('an Authorization header to the wrong host is blocked before any byte leaves', async () => {
    const before = origin.received.length;
    const a = agent(ENFORCE);
    const r = await fetch(`https://paste.test:${origin.port}/h`, { headers: { authorization: `token ${githubToken()}` }, dispatcher: a });
    await a.close();
    expect(r.status).toBe(403);
    expect(origin.received.length).toBe(before);
  });

  test('a GitHub token to a host bound to GitHub is credential use; to another allowed host, exfiltration', async () => {
    const token = githubToken();
    const a = agent(ENFORCE);
    const ok = await fetch(`https://api.github.com:${origin.port}/user`, { headers: { authorization: `token ${token}` }, dispatcher: a });
    expect(ok.status).toBe(200);
    const bad = await fetch(`https://origin.test:${origin.port}/user`, { headers: { authorization: `token ${token}` }, dispatcher: a });
    expect(bad.status).toBe(403);
    await a.close();
    const findings = proxy.lines().filter((l) => l.msg === 'finding' && l.rule === 'github-pat-classic' && l.source === 'header');
    expect(findings.find((l) => l.host === 'api.github.com')).toMatchObject({ verdict: 'credential-use', action: 'none' });
    expect(findings.find((l) => l.host === 'origin.test')).toMatchObject({ verdict: 'exfiltration', action: 'block' });
  });

  test('a token split across chunk boundaries of a streamed body is found once', async () => {
    const token = githubToken();
    const before = origin.received.length;
    const findingsBefore = proxy.lines().filter((l) => l.msg === 'finding').length;
    const t = await interceptedTls('paste.test');
    const text = `line one\nGITHUB_TOKEN=${token}\nline three\n`;
    const cut = text.indexOf(token) + 10;
    const chunk = (s: string): string => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    t.write(`POST /split HTTP/1.1\r\nHost: paste.test:${origin.port}\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n`);
    t.write(chunk(text.slice(0, cut)));
    await new Promise((r) => setTimeout(r, 50));
    t.write(chunk(text.slice(cut)) + '0\r\n\r\n');
    const reply = await responseHead(t);
    t.destroy();
    expect(reply).toMatch(/^HTTP\/1\.1 403/);
    expect(origin.received.length).toBe(before);
    const findings = proxy.lines().filter((l) => l.msg === 'finding').slice(findingsBefore);
    expect(findings.filter((l) => l.rule === 'github-pat-classic')).toHaveLength(1);
  });
});

describe('bounded memory', () => {
  // What the proxy holds, not the test process's RSS (which a loaded machine's garbage
  // collector moves by tens of MB; the RSS figure is `npm run bench`'s test 7): the bytes
  // the client has sent that the origin has not yet received stay a few socket buffers'
  // worth, and the scan buffer never holds more than scan.maxBufferBytes.
  test('a 200 MiB upload in stream mode is forwarded whole without holding it', async () => {
    const size = 200 * 1024 * 1024;
    const maxBuffer = 1024 * 1024;
    let sent = 0;
    let received = 0;
    let inFlight = 0; // peak of sent - received, seen at the sink
    let heldForScan = 0; // peak of the proxy's scan-buffer accounting
    const running: { proxy?: TestProxy } = {}; // the sink samples the proxy made below
    // A sink origin: counts bytes, keeps none.
    const leaf = upstreamCa.issue(['sink.test']);
    const sink = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
      req.on('data', (c: Buffer) => {
        received += c.length;
        inFlight = Math.max(inFlight, sent - received);
        heldForScan = Math.max(heldForScan, running.proxy?.app.proxy.bufferedBytes ?? 0);
      });
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const port = (sink.address() as { port: number }).port;
    const base = `pools:
  - name: enforce
    token: enforce-token-0123456789
    mode: enforce
    allow: ["sink.test:${port}", "127.0.0.1/32:${port}"]
    tls: { intercept: all }
    secrets: { action: block }
tls:
  upstreamCAs: [${upstreamCaFile}]
scan:
  maxBufferBytes: ${maxBuffer}
  oversize: stream
`;
    const big = await startTestProxy(base, { resolve: fakeResolver({ 'sink.test': ['127.0.0.1'] }) });
    running.proxy = big;
    try {
      const ca = readFileSync(join(big.dir, 'state', 'ca.pem'), 'utf8');
      const { socket } = await openTunnel(big.port, `sink.test:${port}`, { 'Proxy-Authorization': ENFORCE });
      const t = tls.connect({ socket, servername: 'sink.test', ca });
      await new Promise<void>((resolve, reject) => {
        t.once('secureConnect', resolve);
        t.once('error', reject);
      });
      const reply = responseHead(t);
      t.write(`POST /upload HTTP/1.1\r\nHost: sink.test:${port}\r\nContent-Type: text/plain\r\nContent-Length: ${size}\r\n\r\n`);
      const chunk = Buffer.alloc(256 * 1024, 'a');
      while (sent < size) {
        sent += chunk.length;
        // Sent once the TLS socket has taken it; wait for it to drain, as a streaming client does.
        if (!t.write(chunk)) await new Promise((r) => t.once('drain', r));
        heldForScan = Math.max(heldForScan, big.app.proxy.bufferedBytes);
      }
      const head = await reply;
      t.destroy();
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      expect(received).toBe(size);
      const MiB = 1024 * 1024;
      console.log(`200 MiB streamed upload: at most ${(inFlight / MiB).toFixed(1)} MiB in flight, ${(heldForScan / MiB).toFixed(2)} MiB held for scanning`);
      // Holding the body would put all 200 MiB in flight; socket buffers on loopback are a few MiB.
      expect(inFlight).toBeLessThan(64 * MiB);
      expect(heldForScan).toBeLessThanOrEqual(maxBuffer);
      const line = big.lines().find((l) => l.msg === 'egress' && l.path === '/upload');
      expect(line).toMatchObject({ decision: 'allow', status: 200 });
    } finally {
      await big.close();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
    }
  }, 120_000);
});

describe('never written down', () => {
  test('everything the proxy logged during these tests, scanned with its own detectors, holds no secret', async () => {
    const { Engine } = await import('../detectors/index.js');
    const { defaultRules } = await import('../detectors/rules/index.js');
    const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 7) });
    const log = proxy.rawLog();
    expect(proxy.lines().filter((l) => l.msg === 'finding').length).toBeGreaterThan(10);
    const found = engine.scan(Buffer.from(log, 'utf8'));
    expect(found.map((f) => `${f.ruleId} at line ${f.line}`)).toEqual([]);
  });
});
