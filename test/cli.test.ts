// The `chokepoint` command as an operator runs it: a child process of the built CLI
// (`npm test` builds first).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, test } from 'vitest';
import { runCli, spawnCli, startedLine, type CliChild } from './helpers/cli.js';
import { createTestCa } from './helpers/certs.js';
import { openTunnel } from './helpers/clients.js';
import { startHttpOrigin, startHttpsOrigin } from './helpers/origin.js';

const run = runCli;

const children: CliChild[] = [];
afterEach(async () => {
  // Every proxy a test started is stopped, and fails the test if it printed a runtime warning.
  for (const c of children.splice(0)) await c.stop();
});

/** Start `chokepoint start --config path`; resolves with its "chokepoint started" line. */
async function startCli(path: string): Promise<{ cli: CliChild; started: Record<string, unknown>; port: number }> {
  const cli = spawnCli(['start', '--config', path]);
  children.push(cli);
  const started = await startedLine(cli);
  return { cli, started, port: Number(String(started.listen).split(':').pop()) };
}

function tempConfig(body: string): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-cli-'));
  const path = join(dir, 'chokepoint.yaml');
  writeFileSync(path, body.replaceAll('STATE', join(dir, 'state')));
  return { dir, path };
}

describe('usage', () => {
  test('--help lists the commands and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['start', 'check-config', 'policy suggest', 'scan']) expect(r.stdout).toContain(c);
  });

  test('an unknown command or option exits 2 with a one-line reason', async () => {
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const badOption = await run(['start', '--bogus']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr.trim().split('\n')).toHaveLength(1);
    const noFile = await run(['check-config']);
    expect(noFile.code).toBe(2);
  });
});

describe('check-config', () => {
  test('the reference config is valid once its environment variables are set', async () => {
    const ref = join(import.meta.dirname, '..', 'docs', 'examples', 'chokepoint.yaml');
    const r = await run(['check-config', ref], { BUILDERS_TOKEN: 'b-token-0123456789', CHOKEPOINT_INGEST_TOKEN: 'i-token-0123456789', CHOKEPOINT_CANARY: 'canary-0123456789' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('builders enforce');
  });

  test('an invalid file exits 2 listing every problem with key path and line', async () => {
    const { path } = tempConfig('listen: nowhere\npools:\n  - name: a\n    sources: [10.0.0.0/8]\n    allow: ["x.*.com"]\n    mode: sometimes\n');
    const r = await run(['check-config', path], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path}:1: listen`);
    expect(r.stderr).toContain(`${path}:5: pools[0].allow[0]`);
    expect(r.stderr).toContain(`${path}:6: pools[0].mode`);
  });

  test('an unset variable without a default is named', async () => {
    const { path } = tempConfig('pools:\n  - name: a\n    token: ${NOT_SET_ANYWHERE_42}\n');
    const r = await run(['check-config', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('NOT_SET_ANYWHERE_42');
    expect(r.stderr).toContain(':3:');
  });
});

describe('start', () => {
  test('SIGTERM drains: new connections are refused, an open tunnel finishes, exit code 0', async () => {
    const origin = await startHttpOrigin();
    const { path } = tempConfig(`listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
stateDir: STATE
timeouts:
  shutdown: 10s
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: [127.0.0.1/32:${origin.port}]
`);
    const { cli, port } = await startCli(path);
    const child = cli.child;

    const tunnel = await openTunnel(port, `127.0.0.1:${origin.port}`);
    expect(tunnel.status).toBe(200);
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve('accepted');
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    // The open tunnel still carries a request...
    tunnel.socket.write(`GET /during-drain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const reply = await new Promise<string>((resolve) => {
      let out = '';
      tunnel.socket.on('data', (c: Buffer) => (out += c.toString()));
      tunnel.socket.on('close', () => resolve(out));
    });
    expect(reply).toContain('/during-drain');
    // ...and once it is done, the process exits 0 well before the deadline.
    expect(await exited).toBe(0);
    expect(origin.received.map((r) => r.url)).toContain('/during-drain');
    await origin.close();
  });

  test('intercepting a destination named by IP address prints no runtime warning (no IP as TLS ServerName, DEP0123)', async () => {
    const upstreamCa = createTestCa('Upstream CA');
    const origin = await startHttpsOrigin(upstreamCa.issue([], ['127.0.0.1']));
    const { dir, path } = tempConfig('');
    const upstreamCaFile = join(dir, 'upstream-ca.pem');
    writeFileSync(upstreamCaFile, upstreamCa.certPem);
    writeFileSync(
      path,
      `listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
stateDir: ${join(dir, 'state')}
tls:
  upstreamCAs: [${upstreamCaFile}]
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: [127.0.0.1/32:${origin.port}]
    tls:
      intercept: all
`,
    );
    const { cli, port } = await startCli(path);
    const proxyCa = readFileSync(join(dir, 'state', 'ca.pem'), 'utf8');
    const { socket } = await openTunnel(port, `127.0.0.1:${origin.port}`);
    const t = tls.connect({ socket, ca: proxyCa, servername: '' , checkServerIdentity: () => undefined });
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', resolve);
      t.once('error', reject);
    });
    t.write('GET /by-ip HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const reply = await new Promise<string>((resolve) => {
      let out = '';
      t.on('data', (c: Buffer) => (out += c.toString()));
      t.on('close', () => resolve(out));
    });
    expect(reply).toContain('HTTP/1.1 200');
    expect(origin.received.map((r) => r.url)).toEqual(['/by-ip']);
    children.splice(children.indexOf(cli), 1);
    const code = await cli.stop('SIGTERM');
    expect(code).toBe(0);
    expect(cli.stderr()).not.toContain('DEP0123');
    await origin.close();
  });
});
