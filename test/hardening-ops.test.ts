// Operations under stress: hot reload while requests flow, draining, health and readiness,
// admin and metrics tokens, state-file permissions, failing closed on internal errors, and
// logs that never carry a credential.
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfigFile, parseConfig } from '../config/full.js';
import { Engine } from '../detectors/index.js';
import { defaultRules } from '../detectors/rules/index.js';
import { createLogger } from '../proxy/events/access-log.js';
import { startApp, type App } from '../proxy/app.js';
import type { PoolPolicy } from '../proxy/decide/policy.js';
import { generators } from './corpus/gen/github.js';
import { createRng } from './corpus/rng.js';
import { openTunnel, rawRequest } from './helpers/clients.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';

const ADMIN_TOKEN = 'admin-token-for-hardening-0123';
const METRICS_TOKEN = 'metrics-token-for-hardening-4567';
const PLANTED = 'ghp_' + 'Pl4ntedValueInABrokenConfigFile0123456';

let origin: Origin;
let slowOrigin: http.Server;
let slowPort: number;
/** A fast origin that counts the TCP connections it accepts. */
let counting: http.Server;
let countingPort: number;
let countingConnections = 0;
let proxy: TestProxy;
const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 3) });
const logs: string[] = [];

const yaml = (variant: number): string => `
timeouts: { idle: 5s, connect: 1s }
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["127.0.0.1/32:${origin.port}", "127.0.0.1/32:${slowPort}", "127.0.0.1/32:${countingPort}", "origin.test:${origin.port}", "count.test:${countingPort}", "variant-${variant}.test"]
    deny: [blocked.test]
`;

beforeAll(async () => {
  origin = await startHttpOrigin();
  slowOrigin = http.createServer((req, res) => {
    // Answers after 400 ms: a request in flight during a drain or a reload.
    setTimeout(() => res.end(`slow ${req.url ?? ''}`), 400);
  });
  await new Promise<void>((r) => slowOrigin.listen(0, '127.0.0.1', r));
  slowPort = (slowOrigin.address() as net.AddressInfo).port;
  counting = http.createServer((_req, res) => res.end('ok'));
  counting.on('connection', () => countingConnections++);
  await new Promise<void>((r) => counting.listen(0, '127.0.0.1', r));
  countingPort = (counting.address() as net.AddressInfo).port;
  proxy = await startTestProxy(yaml(0), {
    resolve: async (host) => {
      if (host === 'origin.test' || host === 'count.test') return ['127.0.0.1'];
      throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    },
  });
});

afterAll(async () => {
  if (proxy) logs.push(proxy.rawLog());
  await proxy?.close();
  await origin?.close();
  slowOrigin.closeAllConnections();
  counting.closeAllConnections();
  await Promise.all([new Promise((r) => slowOrigin.close(r)), new Promise((r) => counting.close(r))]);
});

/** One request through the proxy on a fresh connection; resolves with the status (0: failed). */
function request(port: number, url: string, agent?: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: url, ...(agent ? { agent } : { agent: false }) }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', () => resolve(0));
    });
    req.once('error', () => resolve(0));
    req.end();
  });
}

function admin(port: number, path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: token ? { authorization: `Bearer ${token}` } : {}, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
  });
}


describe('hot reload under traffic', () => {
  test('100 reloads while requests flow: no request fails because of a reload, and reloads do not open new upstream connections', async () => {
    const url = `http://count.test:${countingPort}/flow`;
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 2 });
    for (let i = 0; i < 4; i++) expect(await request(proxy.port, url, keepAlive)).toBe(200);
    const connectionsBefore = countingConnections;
    let stop = false;
    const statuses: number[] = [];
    const traffic = async (agent?: http.Agent): Promise<void> => {
      while (!stop) statuses.push(await request(proxy.port, url, agent));
    };
    const flows = [traffic(keepAlive), traffic(keepAlive), traffic()];
    let accepted = 0;
    for (let i = 1; i <= 100; i++) {
      if (await proxy.rewrite(yaml(i))) accepted++;
      // At least one request after every reload, besides the flows running across them.
      statuses.push(await request(proxy.port, url));
      if (i % 10 === 0) {
        // A broken file in between changes nothing.
        expect(await proxy.rewrite(`${yaml(i)}\n    mode: sideways\n`)).toBe(false);
        expect(await request(proxy.port, url)).toBe(200);
        expect(await request(proxy.port, 'http://blocked.test/')).toBe(403);
      }
    }
    stop = true;
    await Promise.all(flows);
    keepAlive.destroy();
    expect(accepted).toBe(100);
    expect(statuses.length).toBeGreaterThanOrEqual(100);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // The last config is the one in force: its variant host is allowed (by name; it does not resolve: 502, not 403).
    expect(await request(proxy.port, 'http://variant-100.test/')).toBe(502);
    expect(await request(proxy.port, 'http://variant-99.test/')).toBe(403);
    // Reloads with the same upstream settings keep the upstream keep-alive pool: the
    // origin sees a handful of connections, not one or more per reload.
    expect(countingConnections - connectionsBefore).toBeLessThan(30);
  }, 60_000);

  test('a rejected reload is logged without the values of the broken file', async () => {
    expect(await proxy.rewrite(`${yaml(0)}\n  - name: leaky\n    token: ${PLANTED}\n    mode: sideways\n`)).toBe(false);
    expect(proxy.lines().some((l) => l.level === 'error' && String(l.msg).includes('reload rejected'))).toBe(true);
    expect(proxy.rawLog()).not.toContain(PLANTED);
    expect(await proxy.rewrite(yaml(0))).toBe(true);
  });
});

describe('admin listener', () => {
  let tokened: App;
  let adminPort: number;
  let adminLog = '';
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chokepoint-admin-'));
    const path = join(dir, 'c.yaml');
    writeFileSync(
      path,
      `listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\n  token: \${ADMIN_TOKEN}\n  metricsToken: \${METRICS_TOKEN}\nstateDir: ${join(dir, 'state')}\npools: [{ name: p, sources: [127.0.0.0/8], mode: audit }]\n`,
    );
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => (adminLog += c.toString()));
    tokened = await startApp({ config: loadConfigFile(path, { ADMIN_TOKEN, METRICS_TOKEN }), configPath: path, env: { ADMIN_TOKEN, METRICS_TOKEN }, logger: createLogger({ destination: sink, level: 'debug' }) });
    adminPort = tokened.adminAddress.port;
  });
  afterAll(async () => {
    await tokened?.close(0);
    logs.push(adminLog);
  });

  test('health and readiness need the admin token when one is set: 401 without, 200 with', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const none = await admin(adminPort, path);
      expect(none.status).toBe(401);
      expect((await admin(adminPort, path, 'wrong-token')).status).toBe(401);
      expect((await admin(adminPort, path, METRICS_TOKEN)).status).toBe(401);
      const ok = await admin(adminPort, path, ADMIN_TOKEN);
      expect(ok.status).toBe(200);
    }
  });

  test('metrics need the metrics token when one is set: 401 without, 200 with', async () => {
    expect((await admin(adminPort, '/metrics')).status).toBe(401);
    expect((await admin(adminPort, '/metrics', ADMIN_TOKEN)).status).toBe(401);
    const ok = await admin(adminPort, '/metrics', METRICS_TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('# TYPE');
    expect(ok.body).not.toContain(METRICS_TOKEN);
  });

  test('the admin and proxy listeners bind loopback by default', () => {
    const config = parseConfig('pools: [{ name: p, sources: [127.0.0.0/8] }]', 'default.yaml', {});
    expect(config.admin.listen.startsWith('127.0.0.1:')).toBe(true);
    expect(config.listen.startsWith('127.0.0.1:')).toBe(true);
    expect(tokened.adminAddress.address).toBe('127.0.0.1');
  });

  test('the admin listener survives garbage and answers 404 to unknown paths', async () => {
    const reply = await rawRequest(adminPort, 'NOT HTTP\r\n\r\n', 1000);
    expect(reply === '' || reply.startsWith('HTTP/1.1 400')).toBe(true);
    expect((await admin(adminPort, '/nope', ADMIN_TOKEN)).status).toBe(404);
    expect((await admin(adminPort, '/healthz', ADMIN_TOKEN)).status).toBe(200);
  });
});

describe('state files', () => {
  async function start(stateDir: string, intercept: boolean): Promise<App> {
    const dir = mkdtempSync(join(tmpdir(), 'chokepoint-state-cfg-'));
    const path = join(dir, 'c.yaml');
    writeFileSync(
      path,
      `listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nstateDir: ${stateDir}\ntls: { intercept: ${intercept ? 'all' : 'none'} }\npools: [{ name: p, sources: [127.0.0.0/8], mode: audit }]\n`,
    );
    const sink = new PassThrough();
    sink.resume();
    return startApp({ config: loadConfigFile(path, {}), logger: createLogger({ destination: sink }) });
  }
  const mode = (p: string): number => statSync(p).mode & 0o777;

  test('the CA key and the fingerprint key are created 0600 in a 0700 directory', async () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), 'chokepoint-state-')), 'state');
    const app = await start(stateDir, true);
    await app.close(0);
    expect(mode(stateDir)).toBe(0o700);
    const files = readdirSync(stateDir);
    expect(files).toContain('fingerprint.key');
    expect(mode(join(stateDir, 'fingerprint.key'))).toBe(0o600);
    const keys = files.filter((f) => f.endsWith('.key') || f.includes('key'));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const f of keys) expect(mode(join(stateDir, f))).toBe(0o600);
    rmSync(stateDir, { recursive: true, force: true });
  });

  test.each([
    ['the state directory readable by others', (dir: string) => chmodSync(dir, 0o755), 'chmod 700'],
    ['the fingerprint key readable by others', (dir: string) => chmodSync(join(dir, 'fingerprint.key'), 0o644), 'chmod 600'],
    ['the fingerprint key readable by the group', (dir: string) => chmodSync(join(dir, 'fingerprint.key'), 0o640), 'chmod 600'],
    ['the CA key readable by others', (dir: string) => chmodSync(join(dir, readdirSync(dir).find((f) => f !== 'fingerprint.key' && f.includes('key')) ?? 'missing'), 0o644), 'chmod 600'],
  ])('%s: refused at start, naming the fix', async (_name, loosen, fix) => {
    const stateDir = join(mkdtempSync(join(tmpdir(), 'chokepoint-state-')), 'state');
    const app = await start(stateDir, true);
    await app.close(0);
    loosen(stateDir);
    await expect(start(stateDir, true)).rejects.toThrow(fix);
    rmSync(stateDir, { recursive: true, force: true });
  });
});

describe("the operator's rule files (scan.rules)", () => {
  test('a rule file whose examples fail stops the start, and a reload to one is refused with the running rules kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chokepoint-rules-'));
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(good, "rules:\n  - id: zeta-key\n    regex: 'zeta_[0-9a-f]{32}'\n    examples:\n      positive: ['ZETA=zeta_7f3a9c1e5b2d8046a1c9e3f7b5d20648']\n");
    writeFileSync(bad, "rules:\n  - id: zeta-key\n    regex: 'zeta_[0-9a-f]{32}'\n    examples:\n      negative: ['ZETA=zeta_7f3a9c1e5b2d8046a1c9e3f7b5d20648']\n");
    const pools = `pools:\n  - name: ci\n    sources: [127.0.0.0/8]\n    mode: audit\n    allow: ["127.0.0.1/32:${origin.port}"]\n`;
    await expect(startTestProxy(`scan: { rules: ["${bad}"] }\n${pools}`)).rejects.toThrow('bad.yaml: rule 1 (zeta-key): examples.negative[0] is found by this rule');
    const running = await startTestProxy(`scan: { rules: ["${good}"] }\n${pools}`);
    try {
      expect(await running.rewrite(`scan: { rules: ["${bad}"] }\n${pools}`)).toBe(false);
      expect(running.lines().find((l) => l.msg === 'config reload rejected; the running config stays')?.error).toContain('examples.negative[0]');
    } finally {
      logs.push(running.rawLog());
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('one fingerprint key for many replicas (scan.fingerprintKey)', () => {
  const FLEET_KEY = Buffer.alloc(32, 0x5a).toString('base64');
  const replicaYaml = (key?: string): string => `
${key ? `scan: { fingerprintKey: "${key}" }\n` : ''}pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: audit
    allow: ["127.0.0.1/32:${origin.port}"]
`;
  /** The fingerprint a replica logs for one token sent in a plain HTTP request target. */
  async function fingerprintSeenBy(replica: TestProxy, token: string): Promise<string> {
    await rawRequest(replica.port, `GET http://127.0.0.1:${origin.port}/upload?t=${token} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: close\r\n\r\n`);
    // The finding line is written when the exchange ends, with its egress line.
    await replica.waitForEgress(1);
    const finding = replica.lines().find((l) => l.msg === 'finding' && l.source === 'url');
    return finding?.fingerprint as string;
  }

  test('two replicas with their own state directories give one secret one fingerprint; without the key, two', async () => {
    const token = generators['github-pat-classic']?.(createRng(77)) ?? '';
    const a = await startTestProxy(replicaYaml(FLEET_KEY));
    const b = await startTestProxy(replicaYaml(FLEET_KEY));
    const c = await startTestProxy(replicaYaml());
    try {
      const fa = await fingerprintSeenBy(a, token);
      const fb = await fingerprintSeenBy(b, token);
      const fc = await fingerprintSeenBy(c, token);
      expect(fa).toMatch(/^[0-9a-f]{16}$/);
      expect(fb).toBe(fa);
      expect(fc).not.toBe(fa);
      // The shared key is not written to the state directory, nor to the log.
      expect(readdirSync(join(a.dir, 'state'))).not.toContain('fingerprint.key');
      for (const r of [a, b]) expect(r.rawLog()).not.toContain(FLEET_KEY);
    } finally {
      for (const r of [a, b, c]) logs.push(r.rawLog());
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  test('a key that is not base64 of 32 bytes is refused, naming the key and never echoing it', () => {
    for (const bad of ['c2hvcnQta2V5', 'not base64 at all, though long enough to pass a length check']) {
      let message = '';
      try {
        parseConfig(replicaYaml(bad), 'chokepoint.yaml', {});
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain('scan.fingerprintKey');
      expect(message).toContain('openssl rand -base64 32');
      expect(message).not.toContain(bad);
    }
  });
});

describe('fail closed', () => {
  let failing: TestProxy;
  let answer: () => unknown = () => ['127.0.0.1'];
  beforeAll(async () => {
    failing = await startTestProxy(
      `
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["127.0.0.1/32:${origin.port}", "origin.test:${origin.port}"]
  - name: watch
    token: watch-token-0123456789
    mode: audit
    allow: ["origin.test:${origin.port}"]
`,
      { resolve: async () => answer() as string[] },
    );
  });
  afterAll(async () => {
    if (failing) logs.push(failing.rawLog());
    await failing?.close();
  });

  test.each([
    ['a resolver that throws a non-Error', () => (answer = () => Promise.reject('not an error object'))],
    ['a resolver that answers objects instead of addresses', () => (answer = () => [{ toString: () => { throw new Error('boom'); } }])],
    ['a resolver that answers something that is not a list', () => (answer = () => 42)],
  ])('%s: the request is refused and never reaches the origin', async (_name, arrange) => {
    arrange();
    const before = origin.received.length;
    const reply = await rawRequest(failing.port, `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 2000);
    const status = Number(reply.slice(9, 12));
    expect(status).toBeGreaterThanOrEqual(500);
    expect(reply.toLowerCase()).toContain('x-chokepoint-reason: ');
    const tunnel = await openTunnel(failing.port, `origin.test:${origin.port}`);
    tunnel.socket.destroy();
    expect(tunnel.status).toBeGreaterThanOrEqual(500);
    expect(origin.received.length).toBe(before);
    answer = () => ['127.0.0.1'];
  });

  test('a pool whose policy throws while deciding: 500 internal-error for HTTP, CONNECT and WebSocket, in enforce and audit pools', async () => {
    const runtime = failing.app.proxy.gateContext().runtime;
    const exploding = new Proxy({} as PoolPolicy, {
      get() {
        throw 'policy exploded'; // not even an Error
      },
    });
    const saved = new Map<string, PoolPolicy>();
    for (const [name, pool] of runtime.pools) {
      saved.set(name, pool.policy);
      pool.policy = exploding;
    }
    try {
      const before = origin.received.length;
      const http1 = await rawRequest(failing.port, `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 2000);
      expect(http1.startsWith('HTTP/1.1 500')).toBe(true);
      expect(http1.toLowerCase()).toContain('x-chokepoint-reason: internal-error');
      const audit = await rawRequest(
        failing.port,
        `GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${Buffer.from('watch:watch-token-0123456789').toString('base64')}\r\nConnection: close\r\n\r\n`,
        2000,
      );
      expect(audit.startsWith('HTTP/1.1 500')).toBe(true);
      const tunnel = await openTunnel(failing.port, `origin.test:${origin.port}`);
      tunnel.socket.destroy();
      expect(tunnel.status).toBe(500);
      expect(tunnel.head).toContain('internal-error');
      const ws = await rawRequest(
        failing.port,
        `GET http://origin.test:${origin.port}/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
        2000,
      );
      expect(ws.startsWith('HTTP/1.1 500')).toBe(true);
      expect(origin.received.length).toBe(before);
      const line = await failing.waitForLine((l) => l.reason === 'internal-error' && l.kind === 'connect');
      expect(line).toMatchObject({ decision: 'deny', status: 500 });
    } finally {
      for (const [name, policy] of saved) {
        const pool = runtime.pools.get(name);
        if (pool) pool.policy = policy;
      }
    }
    // Nothing crashed: the same proxy serves again once the fault is gone.
    const ok = await rawRequest(failing.port, `GET http://origin.test:${origin.port}/recovered HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 2000);
    expect(ok.startsWith('HTTP/1.1 200')).toBe(true);
    // The errors are logged as refusals, with no stack trace and nothing of the request.
    for (const l of failing.lines()) expect(JSON.stringify(l)).not.toContain('    at ');
    expect(failing.rawLog()).not.toContain('watch-token-0123456789');
  });
});

describe('drain', () => {
  test('on close: readiness turns 503, new connections are refused, the request in flight finishes, an idle tunnel is cut at the deadline', async () => {
    const draining = await startTestProxy(
      `
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["127.0.0.1/32:${slowPort}", "127.0.0.1/32:${origin.port}"]
`,
    );
    try {
      expect((await admin(draining.adminPort, '/readyz')).status).toBe(200);
      const tunnel = await openTunnel(draining.port, `127.0.0.1:${origin.port}`);
      expect(tunnel.status).toBe(200);
      const tunnelClosed = new Promise((r) => tunnel.socket.once('close', r));
      const inFlight = request(draining.port, `http://127.0.0.1:${slowPort}/in-flight`);
      await new Promise((r) => setTimeout(r, 100)); // the request has reached the slow origin
      const closed = draining.app.close(1500);
      const ready = await admin(draining.adminPort, '/readyz');
      expect(ready.status).toBe(503);
      expect(await request(draining.port, `http://127.0.0.1:${origin.port}/new`)).toBe(0); // refused
      expect(await inFlight).toBe(200);
      await tunnelClosed; // cut at the deadline
      await closed;
      expect(draining.egress().some((l) => l.path === '/in-flight' && l.status === 200)).toBe(true);
    } finally {
      logs.push(draining.rawLog());
      await draining.close();
    }
  });
});

describe('never leaks', () => {
  test('nothing any of these proxies logged holds a credential (scanned with our own detectors)', () => {
    logs.push(proxy.rawLog());
    const all = logs.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(engine.scan(Buffer.from(all)).map((f) => f.ruleId)).toEqual([]);
    for (const secret of [ADMIN_TOKEN, METRICS_TOKEN, PLANTED]) expect(all).not.toContain(secret);
  });
});
