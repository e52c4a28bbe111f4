// The clients CI jobs really run, end to end through Chokepoint, in both modes:
//   tunnel     CONNECT piped untouched; the client trusts the origin's own (test) CA
//   intercept  TLS ended with Chokepoint's CA; the client trusts it through the variables
//              `chokepoint ca env` prints, the proxy trusts the origin's CA (tls.upstreamCAs)
// curl, wget, git (clone and push over smart HTTP to git http-backend, with credentials),
// npm install from a registry-shaped server, pip install of a wheel from a simple index,
// Python urllib and requests, Node fetch with undici's ProxyAgent and EnvHttpProxyAgent, a
// WebSocket client (ws), Java's HttpClient and Ruby's net/http. Every client is a child
// process with its own environment, so each reads its CA variable as it does in a job; in
// both modes the variables are what `chokepoint ca env` prints (tunnel mode: for a config
// whose CA is the origin's own), nothing else.
// Everything is on loopback: the proxy's resolver maps the *.test names to 127.0.0.1.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocketServer } from 'ws';
import { createTestCa } from './helpers/certs.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';
import { requireTool, TOOLS } from './helpers/tools.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'bin', 'chokepoint.js');
const PYTHON = '/usr/bin/python3'; // Debian's, with requests (a pyenv python3 on PATH may lack it)
const NAMES = ['curl.test', 'wget.test', 'urllib.test', 'requests.test', 'fetch.test', 'git.test', 'registry.test', 'ws.test', 'pypi.test', 'java.test', 'ruby.test'];
const POOLS = {
  tunnel: { token: 'tunnel-pool-token-0123' },
  intercept: { token: 'intercept-pool-token-0123' },
} as const;
type Mode = keyof typeof POOLS;
const CA_VARS = [
  'SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'GIT_SSL_CAINFO', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'npm_config_cafile', 'PIP_CERT', 'CARGO_HTTP_CAINFO',
  'AWS_CA_BUNDLE', 'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE', 'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH', 'DENO_CERT', 'WGETRC', 'JAVA_TOOL_OPTIONS',
];
/** What `ca env` points at a file of the CA (the rest: a wgetrc and a Java truststore). */
const FILE_VARS = CA_VARS.filter((v) => v !== 'WGETRC' && v !== 'JAVA_TOOL_OPTIONS');
const WHEEL = { name: 'chokepoint-tiny', module: 'chokepoint_tiny', version: '1.0.0' };
const GIT_USER = 'ci-bot';
const GIT_PASSWORD = 'git-test-password';
const PKG = { name: 'chokepoint-tiny', version: '1.0.0' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A child process with a deadline; never rejects. */
function run(cmd: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((done) => {
    execFile(cmd in TOOLS ? requireTool(cmd) : cmd, args, { env: options.env, cwd: options.cwd ?? ROOT, timeout: options.timeoutMs ?? 30_000, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

let work: string;
let home: string;
let originCaFile: string;
let origin: https.Server;
let originPort: number;
let wss: WebSocketServer;
let proxy: TestProxy;
/** `chokepoint ca env --format json`, per mode (tunnel: a config whose CA is the origin's). */
const caEnv: Record<Mode, Record<string, string>> = { tunnel: {}, intercept: {} };
let wheel: Buffer;
let wheelFile: string;
let repoRoot: string;
let tarball: Buffer;
const gitRequests: Array<{ method: string; path: string; user: string | undefined }> = [];
const registryRequests: string[] = [];

/** The environment every client starts from: ours without proxy, CA or npm settings. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const lower = k.toLowerCase();
    if (lower.endsWith('_proxy') || lower.startsWith('npm_') || lower.startsWith('git_') || CA_VARS.includes(k) || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', NO_COLOR: '1' };
}

/** The CA variables for a mode, exactly as `chokepoint ca env` gave them. */
function trustEnv(mode: Mode): Record<string, string> {
  return caEnv[mode];
}

function proxyUrl(mode: Mode): string {
  return `http://${mode}:${POOLS[mode].token}@127.0.0.1:${proxy.port}`;
}

function proxyEnv(mode: Mode): Record<string, string> {
  const url = proxyUrl(mode);
  return { http_proxy: url, https_proxy: url, HTTP_PROXY: url, HTTPS_PROXY: url };
}

function clientEnv(mode: Mode, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...baseEnv(), ...trustEnv(mode), ...proxyEnv(mode), ...extra };
}

/** The access log shows the request went the way the mode says: a tunnel, or opened. */
async function expectPath(mode: Mode, host: string, kind: 'intercept' | 'websocket' = 'intercept', path?: string): Promise<void> {
  if (mode === 'tunnel') {
    const line = await proxy.waitForLine((l) => l.kind === 'connect' && l.pool === 'tunnel' && l.host === host);
    expect(line).toMatchObject({ decision: 'allow', status: 200, sni: host });
    expect(proxy.egress().some((l) => l.host === host && l.pool === 'tunnel' && l.kind !== 'connect')).toBe(false);
  } else {
    const line = await proxy.waitForLine((l) => l.kind === kind && l.pool === 'intercept' && l.host === host && (path === undefined || l.path === path));
    expect(line).toMatchObject({ decision: 'allow' });
  }
}

// ---- the origin: one HTTPS server, routed by Host ----------------------------------------

function echo(req: IncomingMessage, res: ServerResponse, host: string): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify({ host, method: req.method, path: req.url, body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

function registry(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  registryRequests.push(`${req.method ?? ''} ${path}`);
  const base = `https://registry.test:${originPort}`;
  if (path === `/${PKG.name}`) {
    const packument = {
      name: PKG.name,
      'dist-tags': { latest: PKG.version },
      versions: {
        [PKG.version]: {
          name: PKG.name,
          version: PKG.version,
          main: 'index.js',
          dist: {
            tarball: `${base}/${PKG.name}/-/${PKG.name}-${PKG.version}.tgz`,
            shasum: createHash('sha1').update(tarball).digest('hex'),
            integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
          },
        },
      },
    };
    const body = JSON.stringify(packument);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return void res.end(body);
  }
  if (path === `/${PKG.name}/-/${PKG.name}-${PKG.version}.tgz`) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tarball.length });
    return void res.end(tarball);
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"error":"not found"}');
}

/** A PEP 503 "simple" index serving one wheel. */
function simpleIndex(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  registryRequests.push(`${req.method ?? ''} ${path}`);
  if (path === `/simple/${WHEEL.name}/`) {
    const sha = createHash('sha256').update(wheel).digest('hex');
    const body = `<!DOCTYPE html><html><body><a href="/packages/${wheelFile}#sha256=${sha}">${wheelFile}</a></body></html>\n`;
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body) });
    return void res.end(body);
  }
  if (path === `/packages/${wheelFile}`) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wheel.length });
    return void res.end(wheel);
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
}

/** git http-backend as a CGI program, behind Basic credentials. */
function gitBackend(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://git.test');
  const expected = `Basic ${Buffer.from(`${GIT_USER}:${GIT_PASSWORD}`).toString('base64')}`;
  const authorized = req.headers.authorization === expected;
  gitRequests.push({ method: req.method ?? '', path: url.pathname, user: authorized ? GIT_USER : undefined });
  if (!authorized) {
    req.resume();
    res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-length': 0 });
    return void res.end();
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: repoRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: home,
    REMOTE_USER: GIT_USER,
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    AUTH_TYPE: 'Basic',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
  };
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding'] !== undefined) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

  const child = spawn(requireTool('git'), ['http-backend'], { env, timeout: 30_000 });
  req.pipe(child.stdin);
  child.stdin.on('error', () => undefined);
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    const crlf = text.indexOf('\r\n\r\n');
    const lf = text.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
    if (end < 0) return;
    const sepLength = end === crlf ? 4 : 2;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of text.slice(0, end).split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
      else headers[name] = value;
    }
    headersDone = true;
    res.writeHead(status, headers);
    const rest = head.subarray(Buffer.byteLength(text.slice(0, end + sepLength), 'latin1'));
    if (rest.length > 0) res.write(rest);
  });
  child.on('close', () => {
    if (!headersDone) res.writeHead(502);
    res.end();
  });
  child.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
}

async function startOrigin(): Promise<void> {
  const ca = createTestCa('Origin Test CA');
  originCaFile = join(work, 'origin-ca.pem');
  writeFileSync(originCaFile, ca.certPem);
  const leaf = ca.issue(NAMES);
  origin = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (host === 'git.test') return gitBackend(req, res);
    if (host === 'registry.test') return registry(req, res);
    if (host === 'pypi.test') return simpleIndex(req, res);
    echo(req, res, host);
  });
  wss = new WebSocketServer({ noServer: true });
  origin.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data: Buffer) => ws.send(`echo from ${req.headers.host ?? ''}${req.url ?? ''}: ${data.toString('utf8')}`));
    });
  });
  await new Promise<void>((done) => origin.listen(0, '127.0.0.1', done));
  originPort = (origin.address() as AddressInfo).port;
}

// ---- fixtures: a bare repository and a package tarball ------------------------------------

async function git(args: string[], cwd: string): Promise<Run> {
  const r = await run('git', args, {
    cwd,
    env: { ...baseEnv(), GIT_AUTHOR_NAME: 'CI', GIT_AUTHOR_EMAIL: 'ci@example.invalid', GIT_COMMITTER_NAME: 'CI', GIT_COMMITTER_EMAIL: 'ci@example.invalid' },
  });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

async function makeRepository(): Promise<void> {
  repoRoot = join(work, 'repos');
  mkdirSync(repoRoot);
  const bare = join(repoRoot, 'project.git');
  await git(['init', '-q', '--bare', '-b', 'main', bare], work);
  await git(['config', 'http.receivepack', 'true'], bare);
  const seed = join(work, 'seed');
  await git(['init', '-q', '-b', 'main', seed], work);
  writeFileSync(join(seed, 'README.md'), '# project\n');
  await git(['add', 'README.md'], seed);
  await git(['commit', '-q', '-m', 'first'], seed);
  await git(['push', '-q', bare, 'main'], seed);
}

async function makeTarball(): Promise<void> {
  const src = join(work, 'pkg-src');
  mkdirSync(src);
  writeFileSync(join(src, 'package.json'), JSON.stringify({ ...PKG, main: 'index.js', license: 'MIT', description: 'tiny' }));
  writeFileSync(join(src, 'index.js'), "module.exports = 'tiny package through chokepoint';\n");
  const r = await run('npm', ['pack', '--pack-destination', work, '--loglevel=error', '--json'], { cwd: src, env: { ...baseEnv(), npm_config_cache: join(work, 'npm-pack-cache') } });
  if (r.code !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  tarball = readFileSync(join(work, `${PKG.name}-${PKG.version}.tgz`));
}

/** A tiny pure-Python wheel, built by Python's zipfile (a wheel is a zip with dist-info). */
async function makeWheel(): Promise<void> {
  wheelFile = `${WHEEL.module}-${WHEEL.version}-py3-none-any.whl`;
  const out = join(work, wheelFile);
  const script = [
    'import base64, hashlib, sys, zipfile',
    'name, module, version, out = sys.argv[1:5]',
    'info = f"{module}-{version}.dist-info"',
    'files = {',
    '  f"{module}/__init__.py": "GREETING = \'tiny wheel through chokepoint\'\\n",',
    '  f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",',
    '  f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: chokepoint-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",',
    '}',
    'record = []',
    'with zipfile.ZipFile(out, "w") as z:',
    '  for path, text in files.items():',
    '    data = text.encode()',
    '    z.writestr(path, data)',
    '    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()',
    '    record.append(f"{path},sha256={digest},{len(data)}")',
    '  record.append(f"{info}/RECORD,,")',
    '  z.writestr(f"{info}/RECORD", "\\n".join(record) + "\\n")',
  ].join('\n');
  const r = await run(PYTHON, ['-c', script, WHEEL.name, WHEEL.module, WHEEL.version, out], { env: baseEnv() });
  if (r.code !== 0) throw new Error(`building the wheel failed: ${r.stderr}`);
  wheel = readFileSync(out);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'chokepoint-clients-'));
  home = join(work, 'home');
  mkdirSync(home);
  writeFileSync(join(home, '.npmrc'), '');
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test builds it first)`);
  await startOrigin();
  await Promise.all([makeRepository(), makeTarball(), makeWheel()]);

  const allow = `["*.test:${originPort}", "127.0.0.1/32:${originPort}"]`;
  proxy = await startTestProxy(
    `
tls:
  intercept: none
  upstreamCAs: [${originCaFile}]
pools:
  - name: tunnel
    token: ${POOLS.tunnel.token}
    mode: enforce
    allow: ${allow}
  - name: intercept
    token: ${POOLS.intercept.token}
    mode: enforce
    allow: ${allow}
    tls:
      intercept: all
`,
    { resolve: fakeResolver(Object.fromEntries(NAMES.map((n) => [n, ['127.0.0.1']]))) },
  );

  // The operator's way to make every client trust the CA: `chokepoint ca env --config FILE`.
  // Tunnel mode: the same command for a config whose CA is the origin's own (the wgetrc and
  // Java truststore it writes then hold that CA).
  const tunnelConfig = join(work, 'origin-ca.yaml');
  writeFileSync(tunnelConfig, `stateDir: ${JSON.stringify(join(work, 'unused-state'))}\ntls:\n  ca:\n    cert: ${JSON.stringify(originCaFile)}\n`);
  for (const [mode, config] of [['intercept', proxy.configPath], ['tunnel', tunnelConfig]] as const) {
    const r = await run(process.execPath, [CLI, 'ca', 'env', '--config', config, '--format', 'json'], { env: baseEnv() });
    if (r.code !== 0) throw new Error(`chokepoint ca env failed (${r.code}): ${r.stderr}`);
    caEnv[mode] = JSON.parse(r.stdout) as Record<string, string>;
  }
});

afterAll(async () => {
  await proxy?.close();
  for (const client of wss?.clients ?? []) client.terminate();
  wss?.close();
  if (origin) {
    origin.closeAllConnections();
    await new Promise<void>((done) => origin.close(() => done()));
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

test('chokepoint ca env names every client convention, all pointing at the CA in the state directory', () => {
  const vars = caEnv.intercept;
  expect(Object.keys(vars).sort()).toEqual([...CA_VARS].sort());
  const caPath = join(proxy.dir, 'state', 'ca.pem');
  for (const name of FILE_VARS) expect(vars[name]).toBe(caPath);
  expect(readFileSync(vars.WGETRC as string, 'utf8')).toContain(`ca_certificate = ${caPath}`);
  expect(vars.JAVA_TOOL_OPTIONS).toContain(`-Djavax.net.ssl.trustStore=${join(proxy.dir, 'state', 'chokepoint-truststore.p12')}`);
  expect(readFileSync(caPath, 'utf8')).toContain('BEGIN CERTIFICATE');
});

describe.each(['tunnel', 'intercept'] as const)('%s mode', (mode) => {
  const url = (host: string, path: string): string => `https://${host}:${originPort}${path}`;

  test('curl (https_proxy, CURL_CA_BUNDLE / SSL_CERT_FILE)', async () => {
    const r = await run('curl', ['-sS', '--fail', '--max-time', '20', url('curl.test', `/curl-${mode}`)], { env: clientEnv(mode) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ host: 'curl.test', method: 'GET', path: `/curl-${mode}` });
    await expectPath(mode, 'curl.test', 'intercept', `/curl-${mode}`);
  });

  if (mode === 'intercept') {
    test("the origin's own CA is not enough here: the certificate curl sees is Chokepoint's", async () => {
      const env = { ...baseEnv(), ...proxyEnv(mode), SSL_CERT_FILE: originCaFile, CURL_CA_BUNDLE: originCaFile };
      const r = await run('curl', ['-sS', '--fail', '--max-time', '20', url('curl.test', '/origin-ca-only')], { env });
      expect(r.code).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
    });
  }

  test('wget (https_proxy, WGETRC with ca_certificate)', async () => {
    const r = await run('wget', ['-q', '-O', '-', '--timeout=20', '--tries=1', url('wget.test', `/wget-${mode}`)], { env: clientEnv(mode) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ host: 'wget.test', path: `/wget-${mode}` });
    await expectPath(mode, 'wget.test', 'intercept', `/wget-${mode}`);
  });

  test('Python urllib.request (HTTPS_PROXY, SSL_CERT_FILE)', async () => {
    const script = 'import sys, urllib.request\nwith urllib.request.urlopen(sys.argv[1], data=b"from urllib", timeout=20) as r:\n    print(r.status)\n    print(r.read().decode())\n';
    const r = await run(PYTHON, ['-c', script, url('urllib.test', `/urllib-${mode}`)], { env: clientEnv(mode) });
    expect(r.code, r.stderr).toBe(0);
    const [status, body = ''] = r.stdout.split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(body)).toMatchObject({ host: 'urllib.test', method: 'POST', path: `/urllib-${mode}`, body: 'from urllib' });
    await expectPath(mode, 'urllib.test', 'intercept', `/urllib-${mode}`);
  });

  test('Python requests (HTTPS_PROXY, REQUESTS_CA_BUNDLE)', async () => {
    const script = 'import sys, requests\nr = requests.get(sys.argv[1], timeout=20)\nr.raise_for_status()\nprint(r.text)\n';
    const env = clientEnv(mode);
    delete env.SSL_CERT_FILE; // requests reads REQUESTS_CA_BUNDLE, not SSL_CERT_FILE
    const r = await run(PYTHON, ['-c', script, url('requests.test', `/requests-${mode}`)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ host: 'requests.test', path: `/requests-${mode}` });
    await expectPath(mode, 'requests.test', 'intercept', `/requests-${mode}`);
  });

  test("Node fetch through undici's ProxyAgent and EnvHttpProxyAgent (NODE_EXTRA_CA_CERTS)", async () => {
    const script = [
      "import { fetch, ProxyAgent, EnvHttpProxyAgent } from 'undici';",
      'const out = [];',
      'for (const [dispatcher, path] of [[new ProxyAgent(process.env.HTTPS_PROXY), "/proxy-agent"], [new EnvHttpProxyAgent(), "/env-agent"]]) {',
      '  const r = await fetch(process.argv[1] + path, { dispatcher });',
      '  out.push({ status: r.status, body: await r.json() });',
      '  await dispatcher.close();',
      '}',
      'console.log(JSON.stringify(out));',
    ].join('\n');
    const r = await run(process.execPath, ['--input-type=module', '-e', script, url('fetch.test', `/fetch-${mode}`)], { env: clientEnv(mode) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { status: 200, body: expect.objectContaining({ host: 'fetch.test', path: `/fetch-${mode}/proxy-agent` }) },
      { status: 200, body: expect.objectContaining({ host: 'fetch.test', path: `/fetch-${mode}/env-agent` }) },
    ]);
    await expectPath(mode, 'fetch.test', 'intercept', `/fetch-${mode}/env-agent`);
  });

  test('WebSocket (ws) over a CONNECT tunnel (NODE_EXTRA_CA_CERTS)', async () => {
    const script = [
      "import http from 'node:http';",
      "import tls from 'node:tls';",
      "import WebSocket from 'ws';",
      'const target = new URL(process.argv[1]);',
      'const proxy = new URL(process.env.HTTPS_PROXY);',
      "const auth = 'Basic ' + Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64');",
      "const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: target.host, headers: { host: target.host, 'proxy-authorization': auth } });",
      "req.on('error', (e) => { console.error(e.message); process.exit(2); });",
      "req.on('connect', (res, socket) => {",
      "  if (res.statusCode !== 200) { console.error('CONNECT ' + res.statusCode); process.exit(2); }",
      '  const ws = new WebSocket(target, { createConnection: () => tls.connect({ socket, servername: target.hostname }) });',
      "  ws.on('open', () => ws.send('hello over websocket'));",
      "  ws.on('message', (m) => { console.log(String(m)); ws.close(); });",
      "  ws.on('close', () => process.exit(0));",
      "  ws.on('error', (e) => { console.error(e.message); process.exit(3); });",
      '});',
      'req.end();',
    ].join('\n');
    const r = await run(process.execPath, ['--input-type=module', '-e', script, `wss://ws.test:${originPort}/ws-${mode}`], { env: clientEnv(mode) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`echo from ws.test:${originPort}/ws-${mode}: hello over websocket`);
    await expectPath(mode, 'ws.test', 'websocket', `/ws-${mode}`);
  });

  test('git clone (https_proxy) and push (http.proxy) over smart HTTP with credentials (GIT_SSL_CAINFO)', async () => {
    const before = gitRequests.length;
    const dir = join(work, `clone-${mode}`);
    const remote = `https://${GIT_USER}:${GIT_PASSWORD}@git.test:${originPort}/project.git`;
    const env = clientEnv(mode, { GIT_AUTHOR_NAME: 'CI', GIT_AUTHOR_EMAIL: 'ci@example.invalid', GIT_COMMITTER_NAME: 'CI', GIT_COMMITTER_EMAIL: 'ci@example.invalid' });
    delete env.SSL_CERT_FILE; // git reads GIT_SSL_CAINFO
    const clone = await run('git', ['clone', '-q', remote, dir], { env, cwd: work });
    expect(clone.code, clone.stderr).toBe(0);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toBe('# project\n');

    writeFileSync(join(dir, `${mode}.txt`), `pushed through chokepoint in ${mode} mode\n`);
    expect((await run('git', ['add', `${mode}.txt`], { env, cwd: dir })).code).toBe(0);
    expect((await run('git', ['commit', '-q', '-m', `from ${mode}`], { env, cwd: dir })).code).toBe(0);
    // The push names the proxy in git's own config, with no proxy variables at all.
    const noProxyVars = Object.fromEntries(Object.entries(env).filter(([k]) => !k.toLowerCase().endsWith('_proxy')));
    const push = await run('git', ['-c', `http.proxy=${proxyUrl(mode)}`, 'push', '-q', 'origin', `HEAD:refs/heads/${mode}`], { env: noProxyVars, cwd: dir });
    expect(push.code, push.stderr).toBe(0);

    const local = (await run('git', ['rev-parse', 'HEAD'], { env, cwd: dir })).stdout.trim();
    const pushed = (await git(['rev-parse', `refs/heads/${mode}`], join(repoRoot, 'project.git'))).stdout.trim();
    expect(pushed).toBe(local);
    const seen = gitRequests.slice(before);
    expect(seen.some((r) => r.path === '/project.git/git-upload-pack' && r.user === GIT_USER)).toBe(true);
    expect(seen.some((r) => r.method === 'POST' && r.path === '/project.git/git-receive-pack' && r.user === GIT_USER)).toBe(true);
    await expectPath(mode, 'git.test', 'intercept', '/project.git/git-receive-pack');
  });

  test('pip install of a wheel from a simple index over HTTPS (HTTPS_PROXY, PIP_CERT)', async () => {
    const before = registryRequests.length;
    const target = join(work, `pip-${mode}`);
    const env = clientEnv(mode, { PIP_BREAK_SYSTEM_PACKAGES: '1', PIP_NO_CACHE_DIR: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' });
    // pip reads PIP_CERT (its vendored requests would also take these two: not here)
    delete env.REQUESTS_CA_BUNDLE;
    delete env.CURL_CA_BUNDLE;
    const r = await run(PYTHON, ['-m', 'pip', 'install', '--no-deps', '--retries', '0', '--timeout', '20', '--index-url', `https://pypi.test:${originPort}/simple/`, '--target', target, WHEEL.name], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readFileSync(join(target, WHEEL.module, '__init__.py'), 'utf8')).toContain('tiny wheel through chokepoint');
    expect(registryRequests.slice(before)).toEqual([`GET /simple/${WHEEL.name}/`, `GET /packages/${wheelFile}`]);
    await expectPath(mode, 'pypi.test', 'intercept', `/packages/${wheelFile}`);
  });

  test("Java's HttpClient (a ProxySelector with credentials, JAVA_TOOL_OPTIONS truststore)", async () => {
    const source = join(work, `Fetch${mode}.java`);
    writeFileSync(
      source,
      [
        'import java.net.*; import java.net.http.*;',
        `public class Fetch${mode} {`,
        '  public static void main(String[] args) throws Exception {',
        '    URI proxy = URI.create(System.getenv("HTTPS_PROXY"));',
        '    String[] user = proxy.getUserInfo().split(":", 2);',
        '    HttpClient client = HttpClient.newBuilder()',
        '      .proxy(ProxySelector.of(new InetSocketAddress(proxy.getHost(), proxy.getPort())))',
        '      .authenticator(new Authenticator() { protected PasswordAuthentication getPasswordAuthentication() { return new PasswordAuthentication(user[0], user[1].toCharArray()); } })',
        '      .build();',
        '    HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(args[0])).build(), HttpResponse.BodyHandlers.ofString());',
        '    System.out.println(r.statusCode());',
        '    System.out.println(r.body());',
        '  }',
        '}',
      ].join('\n'),
    );
    // Basic proxy credentials over CONNECT are off by default in the JDK; a job turns them on.
    const r = await run(requireTool('java'), ['-Djdk.http.auth.tunneling.disabledSchemes=', source, url('java.test', `/java-${mode}`)], { env: clientEnv(mode), timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const [status, body = ''] = r.stdout.split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(body)).toMatchObject({ host: 'java.test', path: `/java-${mode}` });
    await expectPath(mode, 'java.test', 'intercept', `/java-${mode}`);
  });

  test("Ruby's net/http (https_proxy, SSL_CERT_FILE)", async () => {
    const script = 'require "net/http"\nuri = URI(ARGV[0])\nr = Net::HTTP.start(uri.host, uri.port, use_ssl: true) { |h| h.get(uri.path) }\nputs r.code\nputs r.body\n';
    const r = await run(requireTool('ruby'), ['-e', script, url('ruby.test', `/ruby-${mode}`)], { env: clientEnv(mode) });
    expect(r.code, r.stderr).toBe(0);
    const [status, body = ''] = r.stdout.split('\n');
    expect(status).toBe('200');
    expect(JSON.parse(body)).toMatchObject({ host: 'ruby.test', path: `/ruby-${mode}` });
    await expectPath(mode, 'ruby.test', 'intercept', `/ruby-${mode}`);
  });

  test('npm install from a registry (--proxy/--https-proxy, npm_config_cafile)', async () => {
    const before = registryRequests.length;
    const project = join(work, `npm-${mode}`);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `consumer-${mode}`, version: '1.0.0', private: true }));
    const env = clientEnv(mode, { npm_config_userconfig: join(home, '.npmrc') });
    delete env.SSL_CERT_FILE; // npm reads its cafile setting
    const proxyArg = proxyUrl(mode);
    const r = await run(
      'npm',
      ['install', PKG.name, '--registry', `https://registry.test:${originPort}/`, '--proxy', proxyArg, '--https-proxy', proxyArg, '--cache', join(work, `npm-cache-${mode}`), '--prefer-online', '--fetch-retries=0', '--no-audit', '--no-fund', '--no-update-notifier', '--loglevel=error'],
      { env, cwd: project, timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const installed = JSON.parse(readFileSync(join(project, 'node_modules', PKG.name, 'package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(PKG.version);
    expect(readdirSync(join(project, 'node_modules', PKG.name))).toContain('index.js');
    expect(registryRequests.slice(before)).toEqual(expect.arrayContaining([`GET /${PKG.name}`, `GET /${PKG.name}/-/${PKG.name}-${PKG.version}.tgz`]));
    await expectPath(mode, 'registry.test', 'intercept', `/${PKG.name}/-/${PKG.name}-${PKG.version}.tgz`);
  });
});
