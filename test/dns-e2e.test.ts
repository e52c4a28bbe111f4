// End to end (issue #16): Debian's `dig` asks a running `chokepoint start` (the built CLI)
// over UDP and TCP; Chokepoint forwards to an upstream DNS server this test starts on
// loopback. What a runner's resolver sees, and what the access log and /metrics say.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Answer } from 'dns-packet';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { spawnCli, type CliChild } from './helpers/cli.js';
import { startUpstream, udpExchange, type Upstream } from './helpers/dns.js';
import { requireTool } from './helpers/tools.js';
import { base32 } from './helpers/encode.js';

const canary = `cpcanary${randomBytes(8).toString('hex')}`;

const zone: Record<string, Answer[]> = {
  'builds.example.com': [{ type: 'A', name: 'builds.example.com', ttl: 120, data: '93.184.216.34' }],
  'rebind.example.com': [{ type: 'A', name: 'rebind.example.com', ttl: 120, data: '169.254.169.254' }],
  'big.example.com': Array.from({ length: 12 }, (_, i) => ({ type: 'TXT', name: 'big.example.com', ttl: 120, data: `chunk-${i}-${'y'.repeat(60)}` }) as Answer),
  'unlisted.example.net': [{ type: 'A', name: 'unlisted.example.net', ttl: 120, data: '104.16.3.3' }],
};

let upstream: Upstream;
let cli: CliChild;
let dir: string;
let dnsPort = 0;
let adminPort = 0;
const lines: Array<Record<string, unknown>> = [];

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function dig(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(requireTool('dig'), ['-p', String(dnsPort), '@127.0.0.1', '+tries=1', '+time=3', ...args], { encoding: 'utf8', timeout: 15_000 }, (_err, stdout, stderr) => resolve(stdout + stderr));
  });
}

const status = (out: string): string | undefined => /status: ([A-Z]+)/.exec(out)?.[1];
const answerLines = (out: string): string[] => {
  const section = out.split(';; ANSWER SECTION:\n')[1]?.split('\n\n')[0] ?? '';
  return section.split('\n').filter((l) => l.trim() !== '');
};

beforeAll(async () => {
  requireTool('dig');
  upstream = await startUpstream(zone);
  dir = mkdtempSync(join(tmpdir(), 'chokepoint-dns-e2e-'));
  const configPath = join(dir, 'chokepoint.yaml');
  writeFileSync(
    configPath,
    `listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
stateDir: ${join(dir, 'state')}
dns:
  listen: 127.0.0.1:0
  servers: [127.0.0.1:${upstream.port}]
scan:
  canaries: [${canary}]
pools:
  - name: ci
    sources: [127.0.0.1/32]
    mode: enforce
    allow: ["*.example.com"]
  - name: audit
    sources: [127.0.0.2/32]
    mode: audit
    allow: []
`,
  );
  cli = spawnCli(['start', '--config', configPath]);
  if (!cli.child.stdout) throw new Error('no stdout');
  createInterface({ input: cli.child.stdout }).on('line', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const started = await until('chokepoint to start', () => lines.find((l) => l.msg === 'chokepoint started')).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${cli.stderr()}`);
  });
  dnsPort = Number(String(started.dns).split(':').pop());
  adminPort = Number(String(started.admin).split(':').pop());
}, 30_000);

afterAll(async () => {
  // Fails the file on any runtime warning the proxy printed.
  if (cli) expect(await cli.stop('SIGTERM')).toBe(0);
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const dnsLine = (match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> =>
  until('the DNS line', () => lines.find((l) => l.msg === 'egress' && l.kind === 'dns' && match(l)), 5_000);

test('dig over UDP and TCP: allowed, denied, audit, rebinding stripped, truncation to TCP, garbage, a canary in a name', async () => {
  // Allowed, over UDP and over TCP.
  for (const transport of [[], ['+tcp']]) {
    const out = await dig([...transport, 'builds.example.com', 'A']);
    expect(status(out), out).toBe('NOERROR');
    expect(answerLines(out).join('\n')).toContain('93.184.216.34');
  }
  expect((await dnsLine((l) => l.host === 'builds.example.com' && l.protocol === 'tcp')).decision).toBe('allow');

  // Denied in the enforce pool: NXDOMAIN, with the Extended DNS Error "Blocked", never forwarded.
  const denied = await dig(['exfil.attacker.example.org', 'TXT']);
  expect(status(denied), denied).toBe('NXDOMAIN');
  expect(denied).toMatch(/EDE: 15 \(Blocked\)/);
  expect(upstream.queries.some((q) => q.startsWith('exfil.attacker.example.org'))).toBe(false);
  // A TXT lookup of an unlisted name is also a sign of tunnelling: a dns-tunnel finding, and the
  // line keeps only the registrable parent of the name.
  expect(await dnsLine((l) => l.host === '[redacted 14].example.org')).toMatchObject({ pool: 'ci', decision: 'deny', reason: 'not-allowlisted', qtype: 'TXT', rcode: 'NXDOMAIN', findings: 1 });
  expect(lines.find((l) => l.msg === 'finding' && l.rule === 'dns-tunnel')).toMatchObject({ pool: 'ci', source: 'dns', severity: 'medium' });

  // The audit pool (another loopback source) is answered and recorded as audit.
  const audited = await dig(['-b', '127.0.0.2', 'unlisted.example.net', 'A']);
  expect(status(audited), audited).toBe('NOERROR');
  expect(await dnsLine((l) => l.host === 'unlisted.example.net')).toMatchObject({ pool: 'audit', decision: 'audit', reason: 'not-allowlisted' });

  // A public name answering with the metadata address: stripped, NXDOMAIN.
  const rebind = await dig(['+tcp', 'rebind.example.com', 'A']);
  expect(status(rebind), rebind).toBe('NXDOMAIN');
  expect(answerLines(rebind)).toEqual([]);

  // Too big for 512 bytes of UDP: dig sees TC and retries over TCP by itself.
  const big = await dig(['+noedns', 'big.example.com', 'TXT']);
  expect(big).toMatch(/Truncated, retrying in TCP mode/);
  expect(status(big), big).toBe('NOERROR');
  expect(answerLines(big)).toHaveLength(12);

  // Garbage first; the listener answers the next query.
  await udpExchange(dnsPort, randomBytes(200), 300);
  await udpExchange(dnsPort, Buffer.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]), 300);
  expect(status(await dig(['builds.example.com']))).toBe('NOERROR');

  // A canary in a name: a finding with source dns; the name is not written down.
  await dig([`${canary}.builds.example.com`, 'A']);
  const found = await until('the finding', () => lines.find((l) => l.msg === 'finding' && l.source === 'dns' && l.rule !== 'dns-tunnel'));
  expect(found).toMatchObject({ known: 'canary', pool: 'ci', kind: 'dns' });
  expect(JSON.stringify(lines)).not.toContain(canary);

  const metrics = await new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: adminPort, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  expect(metrics).toMatch(/chokepoint_dns_queries_total\{pool="ci",decision="deny",qtype="TXT"\} 1/);
  expect(metrics).toMatch(/chokepoint_dns_queries_total\{pool="audit",decision="audit",qtype="A"\} 1/);
  expect(metrics).toMatch(/chokepoint_secret_findings_total\{pool="ci",source="dns",rule="canary"[^}]*\} 1/);
  expect(metrics).toContain('chokepoint_dns_upstream_duration_seconds_count');
}, 60_000);

test('the name reader of the started proxy: a canary in base32 or base64url labels is found, case as dig sent it', async () => {
  const b32 = base32(Buffer.from(canary)).toLowerCase();
  const b64url = Buffer.from(`x${canary}`).toString('base64url');
  expect(b64url).toMatch(/[A-Z]/); // a lower-cased name would no longer decode to the canary
  const isCanary = (l: Record<string, unknown>): boolean => l.msg === 'finding' && l.source === 'dns' && l.known === 'canary';
  const before = lines.filter(isCanary).length;
  await dig([`${b32}.builds.example.com`, 'A']);
  await dig([`${b64url}.builds.example.com`, 'A']);
  const found = await until('two more findings', () => {
    const all = lines.filter(isCanary);
    return all.length >= before + 2 ? all.slice(before) : undefined;
  });
  for (const f of found) expect(f).toMatchObject({ known: 'canary', pool: 'ci', kind: 'dns' });
  expect(JSON.stringify(lines)).not.toContain(b32);
  expect(JSON.stringify(lines)).not.toContain(b64url);
}, 30_000);

