// The door, driven by real clients: curl (with -x and through HTTP(S)_PROXY) and undici's
// ProxyAgent, against HTTP and HTTPS origins on loopback, through a real Chokepoint.
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetch, ProxyAgent } from 'undici';
import { createTestCa, type TestCa } from './helpers/certs.js';
import { basicAuth, curl, openTunnel, writeCa } from './helpers/clients.js';
import { closedPort, startHttpOrigin, startHttpsOrigin, startSilentServer, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

const TOKEN = 'builders-token-for-tests-0123';
const AUTH_SECRET = 'origin-bearer-value-should-not-be-logged';
const COOKIE_SECRET = 'session=cookie-value-should-not-be-logged';

let ca: TestCa;
let httpOrigin: Origin;
let httpsOrigin: Origin;
let silent: { port: number; close(): Promise<void> };
let refusedPort: number;
let proxy: TestProxy;
let caFile: string;

// Names the test resolver knows: origin.test and api.test are the local origins (allowlisted
// by name *and* lifted from the private-address default by the @origin CIDR entries),
// internal.test is an allowlisted name that resolves into a private range nothing lifts.
function configYaml(extraAllow = ''): string {
  return `
timeouts:
  idle: 1s
  connect: 1s
groups:
  origin:
    - 127.0.0.1/32:${httpOrigin.port}
    - 127.0.0.1/32:${httpsOrigin.port}
    - 127.0.0.1/32:${silent.port}
    - 127.0.0.1/32:${refusedPort}
pools:
  - name: builders
    token: \${BUILDERS_TOKEN}
    mode: enforce
    allow:
      - "@origin"
      - origin.test:${httpOrigin.port}
      - origin.test:${httpsOrigin.port}
      - other.test:${httpsOrigin.port}
      - internal.test:${httpOrigin.port}
      - silent.test:${silent.port}
      - refused.test:${refusedPort}
      ${extraAllow}
    deny:
      - blocked.test
    secrets:
      action: block   # the pool's own Proxy-Authorization is never mistaken for an outgoing secret
  - name: sandbox
    sources: [127.0.0.0/8]
    mode: audit
    allow: [origin.test:${httpOrigin.port}]
`;
}

beforeAll(async () => {
  ca = createTestCa();
  const leaf = ca.issue(['origin.test', 'other.test', 'localhost'], ['127.0.0.1']);
  httpOrigin = await startHttpOrigin();
  httpsOrigin = await startHttpsOrigin(leaf);
  silent = await startSilentServer();
  refusedPort = await closedPort();
  proxy = await startTestProxy(configYaml(), {
    env: { BUILDERS_TOKEN: TOKEN },
    resolve: fakeResolver({
      'origin.test': ['127.0.0.1'],
      'other.test': ['127.0.0.1'],
      'silent.test': ['127.0.0.1'],
      'refused.test': ['127.0.0.1'],
      'internal.test': ['10.1.2.3'],
      'unlisted.test': ['93.184.216.34'], // never connected to: refused before
      'audited.test': ['127.0.0.1'],
    }),
  });
  caFile = writeCa(proxy.dir, ca.certPem);
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([httpOrigin?.close(), httpsOrigin?.close(), silent?.close()]);
});

const creds = (): string => `builders:${TOKEN}`;

describe('plain HTTP', () => {
  test('an allowlisted request is forwarded; the origin never sees Proxy-Authorization or hop-by-hop headers', async () => {
    const r = await curl([
      '-x',
      proxy.url,
      '-U',
      creds(),
      '-H',
      'Connection: keep-alive, X-Hop',
      '-H',
      'X-Hop: drop-me',
      '-H',
      'X-Kept: yes',
      `http://origin.test:${httpOrigin.port}/build?step=1`,
    ]);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/build?step=1');
    expect(seen.headers.host).toBe(`origin.test:${httpOrigin.port}`);
    expect(seen.headers['x-kept']).toBe('yes');
    expect(seen.headers).not.toHaveProperty('proxy-authorization');
    expect(seen.headers).not.toHaveProperty('x-hop');
    expect(seen.headers).not.toHaveProperty('proxy-connection');
  });

  test('an unlisted name gets 403 not-allowlisted even when it does not resolve', async () => {
    // The pool has IP entries, so unlisted names are looked up; a failed lookup must not
    // turn a policy refusal into a gateway error.
    const r = await curl(['-x', proxy.url, '-U', creds(), 'http://pastebin.test/']);
    expect(r.status).toBe(403);
    expect(r.headers['x-chokepoint-reason']).toBe('not-allowlisted');
  });

  test('an unlisted destination gets 403 with the reason, and never reaches an origin', async () => {
    const before = httpOrigin.received.length;
    const r = await curl(['-x', proxy.url, '-U', creds(), `http://unlisted.test:${httpOrigin.port}/`]);
    expect(r.status).toBe(403);
    expect(r.headers['x-chokepoint-reason']).toBe('not-allowlisted');
    expect(r.body).toContain('unlisted.test');
    expect(httpOrigin.received.length).toBe(before);
  });

  test('a denylisted host gets 403 denylisted', async () => {
    const r = await curl(['-x', proxy.url, '-U', creds(), 'http://blocked.test/']);
    expect(r.status).toBe(403);
    expect(r.headers['x-chokepoint-reason']).toBe('denylisted');
  });

  test('an allowlisted name that resolves to a private address is refused', async () => {
    const r = await curl(['-x', proxy.url, '-U', creds(), `http://internal.test:${httpOrigin.port}/`]);
    expect(r.status).toBe(403);
    expect(r.headers['x-chokepoint-reason']).toBe('private-address');
  });

  test('the audit pool lets a would-be-denied request through and records why', async () => {
    const before = httpOrigin.received.length;
    // No credentials: the client is identified by its loopback source address.
    const r = await curl(['-x', proxy.url, `http://audited.test:${httpOrigin.port}/audited`]);
    expect(r.status).toBe(200);
    expect(httpOrigin.received.length).toBe(before + 1);
    const line = await proxy.waitForLine((l) => l.path === '/audited');
    expect(line).toMatchObject({ pool: 'sandbox', decision: 'audit', reason: 'not-allowlisted', kind: 'http', host: 'audited.test' });
  });

  test('wrong credentials get 407, even from an address the source-identified pool accepts', async () => {
    const r = await curl(['-x', proxy.url, '-U', 'builders:wrong-token', `http://origin.test:${httpOrigin.port}/`]);
    expect(r.status).toBe(407);
    expect(r.headers['proxy-authenticate']).toContain('Basic');
    expect(r.headers['x-chokepoint-reason']).toBe('unauthenticated');
    const unknownPool = await curl(['-x', proxy.url, '-U', `nosuchpool:${TOKEN}`, `http://origin.test:${httpOrigin.port}/`]);
    expect(unknownPool.status).toBe(407);
  });

  test('HTTP_PROXY in the environment with credentials in the proxy URL', async () => {
    const r = await curl([`http://origin.test:${httpOrigin.port}/env`], { http_proxy: `http://${creds()}@127.0.0.1:${proxy.port}` });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ url: '/env' });
  });

  test('upstream refused is 502 and an upstream that never answers is 504', async () => {
    const refused = await curl(['-x', proxy.url, '-U', creds(), `http://refused.test:${refusedPort}/`]);
    expect(refused.status).toBe(502);
    expect(refused.headers['x-chokepoint-reason']).toBe('upstream-refused');
    const timeout = await curl(['-x', proxy.url, '-U', creds(), `http://silent.test:${silent.port}/`]);
    expect(timeout.status).toBe(504);
    expect(timeout.headers['x-chokepoint-reason']).toBe('upstream-timeout');
  });

  test('a name that does not resolve is 502 dns-failure', async () => {
    const r = await curl(['-x', proxy.url, `http://nxdomain.test:${httpOrigin.port}/`]);
    expect(r.status).toBe(502);
    expect(r.headers['x-chokepoint-reason']).toBe('dns-failure');
  });
});

describe('CONNECT tunnels', () => {
  test('curl through HTTPS_PROXY reaches an allowlisted HTTPS origin end to end', async () => {
    const r = await curl(['--cacert', caFile, `https://origin.test:${httpsOrigin.port}/tls`], {
      https_proxy: `http://${creds()}@127.0.0.1:${proxy.port}`,
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ url: '/tls' });
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.sni === 'origin.test');
    expect(line).toMatchObject({ pool: 'builders', decision: 'allow', host: 'origin.test', port: httpsOrigin.port, address: '127.0.0.1' });
  });

  test('curl -x to an unlisted host gets 403 on CONNECT', async () => {
    const r = await curl(['-x', proxy.url, '-U', creds(), '--cacert', caFile, `https://unlisted.test:${httpsOrigin.port}/`]);
    expect(r.status).toBe(403);
    expect(r.headers['x-chokepoint-reason']).toBe('not-allowlisted');
  });

  test('undici ProxyAgent fetches through the proxy, and gets 407 without its token', async () => {
    const agent = new ProxyAgent({ uri: proxy.url, token: basicAuth('builders', TOKEN), requestTls: { ca: ca.certPem } });
    const ok = await fetch(`https://origin.test:${httpsOrigin.port}/undici`, { dispatcher: agent });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { url: string }).url).toBe('/undici');
    await agent.close();

    const noToken = new ProxyAgent({ uri: proxy.url, token: basicAuth('builders', 'nope'), requestTls: { ca: ca.certPem } });
    await expect(fetch(`https://origin.test:${httpsOrigin.port}/`, { dispatcher: noToken })).rejects.toThrow();
    await noToken.close();
  });

  test('a ClientHello naming another host than the CONNECT is cut as sni-mismatch', async () => {
    const { socket, status } = await openTunnel(proxy.port, `origin.test:${httpsOrigin.port}`, { 'Proxy-Authorization': basicAuth('builders', TOKEN) });
    expect(status).toBe(200);
    // other.test is allowlisted too and the origin's certificate covers it: only the proxy can refuse.
    const outcome = await new Promise<string>((resolve) => {
      const t = tls.connect({ socket, servername: 'other.test', ca: ca.certPem });
      t.once('secureConnect', () => resolve('connected'));
      t.once('error', () => resolve('refused'));
      t.once('close', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
    const line = await proxy.waitForLine((l) => l.reason === 'sni-mismatch');
    expect(line).toMatchObject({ kind: 'connect', host: 'origin.test', sni: 'other.test', decision: 'deny' });
  });

  test('CONNECT to a port the entry does not allow is refused', async () => {
    const { status, head, socket } = await openTunnel(proxy.port, 'origin.test:22', { 'Proxy-Authorization': basicAuth('builders', TOKEN) });
    socket.destroy();
    expect(status).toBe(403);
    expect(head).toContain('X-Chokepoint-Reason: port-not-allowed');
  });
});

describe('reload', () => {
  test('a good config takes effect for new connections while an open tunnel keeps working; a bad one changes nothing', async () => {
    const auth = { 'Proxy-Authorization': basicAuth('builders', TOKEN) };
    const { socket, status } = await openTunnel(proxy.port, `origin.test:${httpsOrigin.port}`, auth);
    expect(status).toBe(200);
    const t = tls.connect({ socket, servername: 'origin.test', ca: ca.certPem });
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', resolve);
      t.once('error', reject);
    });
    const get = (path: string): Promise<string> =>
      new Promise((resolve) => {
        let out = '';
        const onData = (c: Buffer): void => {
          out += c.toString();
          if (out.includes('}')) {
            t.off('data', onData);
            resolve(out);
          }
        };
        t.on('data', onData);
        t.write(`GET ${path} HTTP/1.1\r\nHost: origin.test\r\n\r\n`);
      });
    expect(await get('/before')).toContain('/before');

    // New config: origin.test is now denied for the builders pool.
    const denied = configYaml().replace('    deny:\n      - blocked.test', '    deny:\n      - blocked.test\n      - origin.test');
    expect(await proxy.rewrite(denied)).toBe(true);
    expect(await get('/after-reload')).toContain('/after-reload'); // the open tunnel keeps going
    const fresh = await curl(['-x', proxy.url, '-U', creds(), `http://origin.test:${httpOrigin.port}/`]);
    expect(fresh.headers['x-chokepoint-reason']).toBe('denylisted');

    // A broken file is rejected, logged, and the running config stays.
    expect(await proxy.rewrite('pools: [{ name: broken, mode: sideways }]')).toBe(false);
    const still = await curl(['-x', proxy.url, '-U', creds(), `http://origin.test:${httpOrigin.port}/`]);
    expect(still.headers['x-chokepoint-reason']).toBe('denylisted');
    expect(proxy.lines().some((l) => l.level === 'error' && String(l.msg).includes('reload rejected'))).toBe(true);

    // Back to the original config for the tests that follow.
    expect(await proxy.rewrite(configYaml())).toBe(true);
    t.destroy();
  });
});

describe('the access log', () => {
  test('one line per request with the documented fields, and no credential ever written', async () => {
    const r = await curl([
      '-x',
      proxy.url,
      '-U',
      creds(),
      '-H',
      `Authorization: Bearer ${AUTH_SECRET}`,
      '-H',
      `Cookie: ${COOKIE_SECRET}`,
      `http://origin.test:${httpOrigin.port}/logged?token=query-should-not-be-logged`,
    ]);
    expect(r.status).toBe(200);
    const line = await proxy.waitForLine((l) => l.path === '/logged');
    for (const field of ['time', 'pool', 'client', 'kind', 'method', 'host', 'port', 'address', 'decision', 'status', 'bytesUp', 'bytesDown', 'durationMs']) {
      expect(line).toHaveProperty(field);
    }
    const raw = proxy.rawLog();
    expect(raw).not.toContain(AUTH_SECRET);
    expect(raw).not.toContain('cookie-value-should-not-be-logged');
    expect(raw).not.toContain(TOKEN);
    expect(raw).not.toContain(Buffer.from(`builders:${TOKEN}`).toString('base64'));
    expect(raw).not.toContain('query-should-not-be-logged');
  });
});
