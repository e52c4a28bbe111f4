// `chokepoint start`, once it listens, tells a person at a terminal the next steps on
// stderr: the proxy URL to export, the CA to trust (and `chokepoint ca env`), the admin
// URL, the DNS address; with stderr not a terminal only the JSON log line says it
// (issue #18). The text is tested as values in, text out; the CLI (dist/, built by
// `npm run build`, the pretest step) with pipes and under a pty made by util-linux's `script`.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { startBanner, type BannerInfo } from '../bin/start-banner.js';
import { assertNoRuntimeWarning, CLI, spawnCli, startedLine } from './helpers/cli.js';
import { requireTool } from './helpers/tools.js';

const base: BannerInfo = {
  proxy: { address: '127.0.0.1', port: 3128 },
  admin: { address: '127.0.0.1', port: 9464 },
  intercepts: false,
  pools: [{ name: 'default', mode: 'audit', byToken: false }],
};

describe('the start banner', () => {
  test('the default config: the proxy URL to export and the admin URLs; no CA, no DNS', () => {
    const text = startBanner(base);
    expect(text).toContain('export HTTPS_PROXY=http://127.0.0.1:3128 HTTP_PROXY=http://127.0.0.1:3128\n');
    expect(text).toContain('http://127.0.0.1:9464/metrics');
    expect(text).toContain('http://127.0.0.1:9464/healthz');
    expect(text).toContain('pools: default (audit)');
    expect(text).not.toMatch(/\bCA\b|ca env|DNS/);
  });

  test('interception: where the CA is and the ca env / ca install commands, with the config file', () => {
    const text = startBanner({ ...base, intercepts: true, caCertPath: '/var/lib/chokepoint/ca.pem', configPath: '/etc/chokepoint/my config.yaml' });
    expect(text).toContain('the runners must trust the CA /var/lib/chokepoint/ca.pem');
    expect(text).toContain(`eval "$(chokepoint ca env --config '/etc/chokepoint/my config.yaml')"`);
    expect(text).toContain(`chokepoint ca install --config '/etc/chokepoint/my config.yaml'`);
    // A CA inline in the config has no file: ca env --bundle writes one.
    expect(startBanner({ ...base, intercepts: true })).toMatch(/inline in the config.*\n.*ca env --bundle/);
  });

  test('DNS, ingest, IPv6 in brackets, all-interfaces binds, token pools (never a token), metrics token', () => {
    const text = startBanner({
      ...base,
      proxy: { address: '::', port: 3128 },
      admin: { address: '::1', port: 9464 },
      metricsToken: true,
      dns: { address: '127.0.0.1', port: 5353 },
      ingest: { address: '127.0.0.1', port: 8080 },
      pools: [
        { name: 'builders', mode: 'enforce', byToken: true },
        { name: 'lan', mode: 'audit', byToken: false },
      ],
    });
    expect(text).toContain('export HTTPS_PROXY=http://[::1]:3128 HTTP_PROXY=http://[::1]:3128');
    expect(text).toMatch(/every interface.*this host's address/);
    expect(text).toContain('http://builders:TOKEN@[::1]:3128');
    expect(text).toContain('http://[::1]:9464/metrics (Authorization: Bearer <admin.metricsToken>)');
    expect(text).toContain('DNS: 127.0.0.1:5353 (UDP and TCP)');
    expect(text).toContain('Log ingest: http://127.0.0.1:8080/v1/logs');
    // A cluster primary knows the DNS address as configured.
    const primary = startBanner({ ...base, dns: '0.0.0.0:53', workers: 2 });
    expect(primary).toContain('DNS: 0.0.0.0:53 (UDP and TCP)');
    expect(primary).toContain('listening on 127.0.0.1:3128, 2 workers;');
  });

  test('no admin listener (port 0): no admin line', () => {
    expect(startBanner({ ...base, admin: { address: '', port: 0 } })).not.toContain('/metrics');
  });
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A config that intercepts, with a DNS listener and a token pool; everything on port 0. */
function tempConfig(): { dir: string; path: string; token: string } {
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-banner-'));
  dirs.push(dir);
  const path = join(dir, 'chokepoint.yaml');
  const token = `banner-${'t'.repeat(8)}-${process.pid}`;
  writeFileSync(
    path,
    [
      'listen: 127.0.0.1:0',
      'admin:',
      '  listen: 127.0.0.1:0',
      `stateDir: ${JSON.stringify(join(dir, 'state'))}`,
      'dns:',
      '  listen: 127.0.0.1:0',
      'tls:',
      '  intercept: all',
      'pools:',
      '  - name: ci',
      '    sources: [127.0.0.0/8]',
      '    mode: audit',
      '  - name: builders',
      `    token: ${token}`,
      '    mode: enforce',
      '',
    ].join('\n'),
  );
  return { dir, path, token };
}

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split(/\r?\n/)
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('chokepoint start', () => {
  test('stderr not a terminal: only the JSON "chokepoint started" line, no banner', async () => {
    const { path } = tempConfig();
    const cli = spawnCli(['start', '--config', path]);
    const started = await startedLine(cli);
    expect(String(started.listen)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await cli.stop('SIGTERM')).toBe(0);
    expect(cli.stderr()).toBe('');
    expect(cli.stdout()).not.toContain('HTTPS_PROXY');
  });

  test('stderr a terminal (a pty): the next steps in words, and each of them works', async () => {
    const script = requireTool('script');
    const { dir, path, token } = tempConfig();
    const command = `exec '${process.execPath}' '${CLI}' start --config '${path}'`;
    const child = spawn(script, ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const seen = new Promise<void>((resolve, reject) => {
      const look = (c: Buffer): void => {
        text += c.toString('utf8');
        if (jsonLines(text).some((l) => l.msg === 'chokepoint started') && text.includes('Ctrl-C')) resolve();
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      void closed.then(() => reject(new Error(`chokepoint start ended before it said it started:\n${text}`)));
    });
    // Bounded below the test's own timeout, so a missing banner fails with what was printed.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let metrics = 0;
    try {
      await seen;
      // The admin URL the banner names answers while the proxy runs.
      const url = /Metrics: (http:\/\/\S+\/metrics)/.exec(text)?.[1];
      if (url) metrics = (await fetch(url)).status;
    } finally {
      child.kill('SIGTERM'); // script ends the session, and the proxy with it
      await closed;
      clearTimeout(timer);
    }
    assertNoRuntimeWarning(text);
    const started = jsonLines(text).find((l) => l.msg === 'chokepoint started') ?? {};
    const listen = String(started.listen);
    const admin = String(started.admin);
    const dns = String(started.dns);
    expect(text).toContain(`export HTTPS_PROXY=http://${listen} HTTP_PROXY=http://${listen}`);
    expect(text).toContain(`http://builders:TOKEN@${listen}`);
    expect(text).not.toContain(token);
    const ca = join(dir, 'state', 'ca.pem');
    expect(text).toContain(`the runners must trust the CA ${ca}`);
    expect(readFileSync(ca, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(text).toContain(`eval "$(chokepoint ca env --config ${path})"`);
    expect(text).toContain(`Metrics: http://${admin}/metrics`);
    expect(metrics).toBe(200);
    expect(text).toContain(`DNS: ${dns} (UDP and TCP)`);
  });
});
