// `chokepoint ca init|show|env|install` as an operator runs it: a child process of the CLI from
// source (tsx), so it does not depend on a fresh build.
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { requireFile, requireTool } from './helpers/tools.js';

const ROOT = join(import.meta.dirname, '..');
const ENTRY = join(ROOT, 'bin', 'chokepoint.ts');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function ca(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, ENTRY, 'ca', ...args], { cwd, env: { ...process.env, NODE_NO_WARNINGS: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'chokepoint-ca-cli-'));
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** A config file whose stateDir is `stateDir`. */
function config(dir: string, stateDir: string, extra = ''): string {
  const path = join(dir, 'chokepoint.yaml');
  writeFileSync(
    path,
    [`stateDir: ${JSON.stringify(stateDir)}`, 'pools:', '  - name: ci', '    sources: [127.0.0.0/8]', '    mode: audit', extra].join('\n'),
  );
  return path;
}

/** Every output of a run: no part of the private key may appear in it. */
function expectNoKey(results: Result[], keyPem: string): void {
  const body = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
  expect(body.length).toBeGreaterThan(10);
  for (const r of results) {
    const out = r.stdout + r.stderr;
    expect(out).not.toContain('PRIVATE KEY');
    for (const line of body) expect(out).not.toContain(line);
  }
}

describe('chokepoint ca', () => {
  test('init, refuse to overwrite, --force, show and env: the whole cycle with a config', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const cfg = config(dir, stateDir);
    const results: Result[] = [];

    const init = await ca(['init', '--config', cfg, '--days', '30'], dir);
    results.push(init);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    const certPath = join(stateDir, 'ca.pem');
    const keyPath = join(stateDir, 'ca-key.pem');
    expect(mode(stateDir)).toBe(0o700);
    expect(mode(certPath)).toBe(0o644);
    expect(mode(keyPath)).toBe(0o600);
    const certPem = readFileSync(certPath, 'utf8');
    const x509 = new X509Certificate(certPem);
    expect(x509.ca).toBe(true);
    expect((Date.parse(x509.validTo) - Date.now()) / 86_400_000).toBeCloseTo(30, 0);
    expect(init.stdout).toContain(certPath);
    expect(init.stdout).toContain(keyPath);
    expect(init.stdout).toContain(`SHA256 Fingerprint=${x509.fingerprint256}`);

    const again = await ca(['init', '--config', cfg], dir);
    results.push(again);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('--force');
    expect(readFileSync(certPath, 'utf8')).toBe(certPem); // untouched

    const show = await ca(['show', '--config', cfg], dir);
    results.push(show);
    expect(show.code).toBe(0);
    expect(show.stdout).toBe(`${certPem.trimEnd()}\nSHA256 Fingerprint=${x509.fingerprint256}\n`);

    const env = await ca(['env', '--config', cfg], dir);
    results.push(env);
    expect(env.code).toBe(0);
    const names = ['SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'GIT_SSL_CAINFO', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'npm_config_cafile'];
    expect(env.stdout.trim().split('\n')).toEqual(expect.arrayContaining(names.map((n) => `export ${n}='${certPath}'`)));
    // Plus pip, cargo, AWS, gcloud, Deno, gRPC, wget's WGETRC and Java's JAVA_TOOL_OPTIONS (checked below).
    expect(env.stdout.trim().split('\n')).toHaveLength(14);

    const forced = await ca(['init', '--config', cfg, '--force'], dir);
    results.push(forced);
    expect(forced.code).toBe(0);
    const replaced = readFileSync(certPath, 'utf8');
    expect(replaced).not.toBe(certPem);
    expect(mode(keyPath)).toBe(0o600);

    expectNoKey(results, readFileSync(keyPath, 'utf8'));
  });

  test('without --config: the default state dir ./.chokepoint; --out writes elsewhere', async () => {
    const dir = tempDir();
    const init = await ca(['init'], dir);
    expect(init.code).toBe(0);
    expect(mode(join(dir, '.chokepoint'))).toBe(0o700);
    expect(mode(join(dir, '.chokepoint', 'ca-key.pem'))).toBe(0o600);

    const out = join(dir, 'elsewhere', 'ca');
    const other = await ca(['init', '--out', out], dir);
    expect(other.code).toBe(0);
    expect(mode(out)).toBe(0o700);
    expect(mode(join(out, 'ca.pem'))).toBe(0o644);
    expect(mode(join(out, 'ca-key.pem'))).toBe(0o600);
    expect(readFileSync(join(out, 'ca.pem'), 'utf8')).not.toBe(readFileSync(join(dir, '.chokepoint', 'ca.pem'), 'utf8'));

    const show = await ca(['show'], dir);
    expect(show.stdout).toContain(readFileSync(join(dir, '.chokepoint', 'ca.pem'), 'utf8').trimEnd());
    expectNoKey([init, other, show], readFileSync(join(out, 'ca-key.pem'), 'utf8'));
    expectNoKey([init, other, show], readFileSync(join(dir, '.chokepoint', 'ca-key.pem'), 'utf8'));
  });

  test('show and env with no CA: exit 2 and the way to make one', async () => {
    const dir = tempDir();
    const cfg = config(dir, join(dir, 'state'));
    for (const sub of ['show', 'env']) {
      const r = await ca([sub, '--config', cfg], dir);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim()).toBe('chokepoint: no CA yet: run chokepoint ca init or start with interception on');
    }
    expect(existsSync(join(dir, 'state'))).toBe(false);
  });

  test('env --bundle writes the system CAs plus ours and points the replacing variables at it', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const cfg = config(dir, stateDir);
    expect((await ca(['init', '--config', cfg], dir)).code).toBe(0);
    const bundle = join(dir, "it's a bundle.pem");
    const r = await ca(['env', '--config', cfg, '--bundle', bundle], dir);
    expect(r.code).toBe(0);
    const ours = readFileSync(join(stateDir, 'ca.pem'), 'utf8');
    const written = readFileSync(bundle, 'utf8');
    expect(written.endsWith(ours)).toBe(true);
    expect(mode(bundle)).toBe(0o644);
    // The system CAs come first (a missing bundle fails naming ca-certificates, never skips).
    expect(written.startsWith(readFileSync(requireFile('/etc/ssl/certs/ca-certificates.crt'), 'utf8').trimEnd())).toBe(true);
    const quoted = `'${dir}/it'\\''s a bundle.pem'`;
    const lines = r.stdout.trim().split('\n');
    for (const n of ['SSL_CERT_FILE', 'GIT_SSL_CAINFO', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'npm_config_cafile']) expect(lines).toContain(`export ${n}=${quoted}`);
    // NODE_EXTRA_CA_CERTS adds to Node's store: our CA alone is enough.
    expect(lines).toContain(`export NODE_EXTRA_CA_CERTS='${join(stateDir, 'ca.pem')}'`);

    // The quoting survives a real shell.
    const sh = await new Promise<string>((resolve) => {
      const child = spawn('sh', ['-c', `${r.stdout}\nprintf %s "$SSL_CERT_FILE"`]);
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', () => resolve(out));
    });
    expect(sh).toBe(bundle);
  });

  test('env and show follow tls.ca cert paths; a PEM-only tls.ca needs --bundle for env', async () => {
    const dir = tempDir();
    const caDir = join(dir, 'own');
    expect((await ca(['init', '--out', caDir], dir)).code).toBe(0);
    const cert = join(caDir, 'ca.pem');
    const key = join(caDir, 'ca-key.pem');
    const withPaths = config(dir, join(dir, 'state'), `tls:\n  ca:\n    cert: ${JSON.stringify(cert)}\n    key: ${JSON.stringify(key)}`);
    const env = await ca(['env', '--config', withPaths], dir);
    expect(env.code).toBe(0);
    expect(env.stdout).toContain(`export SSL_CERT_FILE='${cert}'`);
    const show = await ca(['show', '--config', withPaths], dir);
    expect(show.stdout).toContain(readFileSync(cert, 'utf8').trimEnd());

    const pemDir = tempDir();
    const withPem = config(pemDir, join(pemDir, 'state'), 'tls:\n  ca:\n    certPem: ${CA_CERT}\n    keyPem: ${CA_KEY}');
    const pemEnv = await new Promise<Result>((resolve) => {
      const child = spawn(process.execPath, ['--import', TSX, ENTRY, 'ca', 'env', '--config', withPem], {
        cwd: pemDir,
        env: { ...process.env, NODE_NO_WARNINGS: '1', CA_CERT: readFileSync(cert, 'utf8'), CA_KEY: readFileSync(key, 'utf8') },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(pemEnv.code).toBe(2);
    expect(pemEnv.stderr).toContain('--bundle');
    expectNoKey([env, show, pemEnv], readFileSync(key, 'utf8'));
  });

  test('init refuses a state dir others can read, and bad arguments are one-line usage errors', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const cfg = config(dir, stateDir);
    // A state dir others can read: the proxy would refuse it, so init says so now.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(stateDir);
    chmodSync(stateDir, 0o755);
    const open = await ca(['init', '--config', cfg], dir);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('chmod 700');
    expect(existsSync(join(stateDir, 'ca-key.pem'))).toBe(false);

    for (const args of [[], ['frobnicate'], ['init', '--days', 'ten'], ['init', '--days', '0'], ['show', '--force'], ['env', 'extra']]) {
      const r = await ca(args, dir);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const help = await ca(['--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('REPLACE');
  });
});

describe('chokepoint ca env: every client convention, in every shell form', () => {
  const ALL = [
    'SSL_CERT_FILE', 'GIT_SSL_CAINFO', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'npm_config_cafile', 'PIP_CERT', 'CARGO_HTTP_CAINFO',
    'AWS_CA_BUNDLE', 'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE', 'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH', 'NODE_EXTRA_CA_CERTS', 'DENO_CERT', 'WGETRC', 'JAVA_TOOL_OPTIONS',
  ];

  test('a variable the CA does not need (a pool token) may be unset; one it needs is named, with why', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const cfg = config(dir, stateDir, '    token: ${CHOKEPOINT_TEST_UNSET_TOKEN}');
    expect((await ca(['init', '--config', cfg], dir, { CHOKEPOINT_TEST_UNSET_TOKEN: '' })).code).toBe(0);
    for (const sub of ['env', 'show']) {
      const r = await ca([sub, '--config', cfg], dir);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const needs = join(dir, 'needs.yaml');
    writeFileSync(needs, 'stateDir: ${CHOKEPOINT_TEST_UNSET_STATE}\npools:\n  - name: ci\n    token: ${CHOKEPOINT_TEST_UNSET_TOKEN}\n');
    const r = await ca(['env', '--config', needs], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs.yaml:1: stateDir: environment variable CHOKEPOINT_TEST_UNSET_STATE is not set');
    expect(r.stderr).toContain('it is needed to find the CA');
    expect(r.stderr).not.toContain('CHOKEPOINT_TEST_UNSET_TOKEN');
  });

  test('sh (evaluated by a real shell), fish, powershell, github-actions and json carry the same variables', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const cfg = config(dir, stateDir);
    expect((await ca(['init', '--config', cfg], dir)).code).toBe(0);
    const cert = join(stateDir, 'ca.pem');
    const json = await ca(['env', '--config', cfg, '--format', 'json'], dir);
    expect(json.code).toBe(0);
    const vars = JSON.parse(json.stdout) as Record<string, string>;
    expect(Object.keys(vars).sort()).toEqual([...ALL].sort());
    for (const v of ALL.filter((n) => n !== 'WGETRC' && n !== 'JAVA_TOOL_OPTIONS')) expect(vars[v], v).toBe(cert);
    // wget reads a wgetrc, Java a truststore (Java's own CAs plus ours).
    expect(readFileSync(vars.WGETRC as string, 'utf8')).toContain(`ca_certificate = ${cert}`);
    const store = /-Djavax\.net\.ssl\.trustStore=(\S+)/.exec(vars.JAVA_TOOL_OPTIONS as string)?.[1] as string;
    const listing = execFileSync(requireTool('keytool'), ['-list', '-keystore', store, '-storetype', 'PKCS12', '-storepass', 'changeit'], { encoding: 'utf8' });
    expect(listing).toContain('chokepoint-ca');
    expect(Number(/contains (\d+) entr/.exec(listing)?.[1])).toBeGreaterThan(10); // the system's CAs too

    const sh = await ca(['env', '--config', cfg], dir);
    const shVars = execFileSync('sh', ['-c', `${sh.stdout}\nfor v in ${ALL.join(' ')}; do eval "printf '%s=%s\\n' $v \\"\\$$v\\""; done`], { encoding: 'utf8' });
    expect(Object.fromEntries(shVars.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))).toEqual(vars);

    const gha = await ca(['env', '--config', cfg, '--shell', 'github-actions'], dir);
    expect(Object.fromEntries(gha.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))).toEqual(vars);
    const fish = await ca(['env', '--config', cfg, '--shell', 'fish'], dir);
    expect(fish.stdout).toContain(`set -gx SSL_CERT_FILE '${cert}'`);
    const ps = await ca(['env', '--config', cfg, '--shell', 'powershell'], dir);
    expect(ps.stdout).toContain(`$env:JAVA_TOOL_OPTIONS = '${vars.JAVA_TOOL_OPTIONS}'`);
    for (const out of [fish, ps]) expect(out.stdout.trim().split('\n')).toHaveLength(ALL.length);

    for (const bad of [['--shell', 'tcsh'], ['--format', 'yaml'], ['--format', 'json', '--shell', 'fish']]) {
      const r = await ca(['env', '--config', cfg, ...bad], dir);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

/** What the system trust store is: every name in /etc/ssl/certs with its link target, and the bundle. */
function trustSnapshot(): string {
  const dir = '/etc/ssl/certs';
  const names = readdirSync(dir).sort().map((n) => (lstatSync(join(dir, n)).isSymbolicLink() ? `${n} -> ${readlinkSync(join(dir, n))}` : n));
  return [...names, readFileSync(join(dir, 'ca-certificates.crt'), 'utf8')].join('\n');
}

describe('chokepoint ca install (for real, on this Debian machine, as root)', () => {
  test('adds the CA to the system trust store, idempotently, and --uninstall leaves the machine as it was', async () => {
    requireTool('update-ca-certificates');
    expect(process.getuid?.(), 'ca install changes the system trust store: the test runs as root (as .ci/run does)').toBe(0);
    const dir = tempDir();
    const cfg = config(dir, join(dir, 'state'));
    expect((await ca(['init', '--config', cfg], dir)).code).toBe(0);
    const pem = readFileSync(join(dir, 'state', 'ca.pem'), 'utf8');
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('\n');
    const before = trustSnapshot();
    expect(before).not.toContain(body);
    const file = '/usr/local/share/ca-certificates/chokepoint-ca.crt';
    try {
      const first = await ca(['install', '--config', cfg], dir);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toBe(`added the CA to the Debian/Ubuntu/Alpine trust store: ${file}\nran update-ca-certificates\n`);
      expect(readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8')).toContain(body);
      // openssl, with only the system store, now trusts it.
      const verify = execFileSync(requireTool('openssl'), ['verify', '-CApath', '/etc/ssl/certs', join(dir, 'state', 'ca.pem')], { encoding: 'utf8' });
      expect(verify.trim()).toMatch(/: OK$/);
      const again = await ca(['install', '--config', cfg], dir);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('already in the Debian/Ubuntu/Alpine trust store');
      expect(again.stdout).toContain('nothing changed');
    } finally {
      const removed = await ca(['install', '--uninstall'], dir);
      expect(removed.code).toBe(0);
      expect(removed.stdout).toBe(`removed ${file} from the Debian/Ubuntu/Alpine trust store\nran update-ca-certificates --fresh\n`);
    }
    expect(trustSnapshot()).toBe(before);
    const twice = await ca(['install', '--uninstall'], dir);
    expect(twice.stdout).toContain('not in the Debian/Ubuntu/Alpine trust store');
  }, 120_000);
});
