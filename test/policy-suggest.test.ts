// `chokepoint policy suggest`: access-log lines in, a per-pool allowlist out. The pure
// function first, then the CLI in a child process.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { parseConfig, parseEntry } from '../config/full.js';
import { compilePool, decide } from '../proxy/decide/policy.js';
import { FOLD_THRESHOLD, foldableParent, suggestPolicy } from '../proxy/decide/suggest.js';
import { normalizeHost, parseAddress } from '../proxy/decide/target.js';

interface Line {
  pool?: string;
  host?: string;
  port?: number;
  decision?: string;
  reason?: string;
  policyReason?: string;
  status?: number;
  address?: string;
  time?: string;
  msg?: string;
}

/** One access-log line as the proxy writes it (pino JSON, `msg: 'egress'`, ISO time). */
function logLine(fields: Line): string {
  return JSON.stringify({
    level: 'info',
    time: '2024-05-01T10:00:00.000Z',
    pool: 'builders',
    client: '10.1.2.3',
    kind: 'connect',
    method: 'CONNECT',
    port: 443,
    address: '140.82.112.6',
    decision: 'allow',
    destination: 'unlisted',
    status: 200,
    bytesUp: 100,
    bytesDown: 200,
    durationMs: 12,
    findings: 0,
    msg: 'egress',
    ...fields,
  });
}

interface SuggestedDoc {
  pools: Array<{ name: string; allow: string[] }>;
}

function suggest(lines: string[], pools?: string[]): { yaml: string; doc: SuggestedDoc; allow: (pool: string) => string[] } {
  const { yaml } = suggestPolicy(lines, pools ? { pools } : {});
  const doc = parse(yaml) as SuggestedDoc;
  return { yaml, doc, allow: (pool) => doc.pools.find((p) => p.name === pool)?.allow ?? [] };
}

/** The YAML line that carries an entry (to read its trailing comment). */
function lineOf(yaml: string, entry: string): string {
  return yaml.split('\n').find((l) => l.trimStart().startsWith(`- ${entry}`) || l.trimStart().startsWith(`- "${entry}"`)) ?? '';
}

describe('policy suggest (pure)', () => {
  test('lists what each pool reached, skipping denied lines and lines without a host', () => {
    const { doc, allow } = suggest([
      logLine({ host: 'api.github.com' }),
      logLine({ host: 'registry.npmjs.org', decision: 'audit', reason: 'not-allowlisted' }),
      logLine({ host: 'paste.example.net', decision: 'deny', reason: 'not-allowlisted' }),
      logLine({ host: undefined }),
      logLine({ pool: 'sandbox', host: 'pypi.org' }),
      JSON.stringify({ level: 'info', time: '2024-05-01T10:00:00.000Z', msg: 'config reloaded', host: 'not-an-egress.example' }),
    ]);
    expect(doc.pools.map((p) => p.name)).toEqual(['builders', 'sandbox']);
    expect(allow('builders')).toEqual(['api.github.com', 'registry.npmjs.org']);
    expect(allow('sandbox')).toEqual(['pypi.org']);
  });

  test('default ports 80 and 443 give a bare host; other ports are written out', () => {
    const { allow } = suggest([
      logLine({ host: 'api.github.com', port: 443 }),
      logLine({ host: 'api.github.com', port: 80 }),
      logLine({ host: 'db.example.com', port: 5432 }),
      logLine({ host: 'db.example.com', port: 5433 }),
    ]);
    expect(allow('builders')).toEqual(['db.example.com:5432', 'db.example.com:5433', 'api.github.com']);
  });

  test('IP literals become /32 and /128 entries (IPv6 in brackets)', () => {
    const { allow } = suggest([
      logLine({ host: '10.20.1.5', port: 5432, decision: 'audit', reason: 'private-address' }),
      logLine({ host: '2606:4700::1111', port: 443 }),
      logLine({ host: '[2606:4700::1111]', port: 8443 }),
      logLine({ host: '8.8.8.8', port: 53 }),
    ]);
    expect(allow('builders')).toEqual(['8.8.8.8/32:53', '10.20.1.5/32:5432', '[2606:4700::1111]/128', '[2606:4700::1111]/128:8443']);
  });

  test('entries reached at a private address carry a comment; the others do not', () => {
    const { yaml } = suggest([
      logLine({ host: '10.20.1.5', port: 5432, decision: 'audit', reason: 'private-address' }),
      logLine({ host: 'db.internal', port: 5432, address: '10.20.9.9', decision: 'audit', reason: 'private-address' }),
      logLine({ host: 'api.github.com' }),
    ]);
    expect(lineOf(yaml, '10.20.1.5/32:5432')).toContain('# private address: this IP entry lifts the default denial');
    // A host entry cannot lift the denial: the comment names the IP entry that would.
    expect(lineOf(yaml, 'db.internal:5432')).toContain('10.20.9.9/32:5432');
    expect(lineOf(yaml, 'api.github.com')).not.toContain('#');
  });

  test('an audited line whose upstream then failed still counts its policy reason (policyReason)', () => {
    const { yaml } = suggest([logLine({ host: 'db.internal', port: 5432, decision: 'audit', reason: 'upstream-refused', policyReason: 'private-address', status: 502 })]);
    expect(lineOf(yaml, 'db.internal:5432')).toContain('private address');
  });

  test(`${FOLD_THRESHOLD} sibling hosts fold into a wildcard that also covers deeper hosts; fewer do not`, () => {
    const { allow } = suggest([
      logLine({ host: 'a.cdn.example.com' }),
      logLine({ host: 'b.cdn.example.com' }),
      logLine({ host: 'c.cdn.example.com' }),
      logLine({ host: 'x.y.cdn.example.com' }),
      logLine({ host: 'cdn.example.com' }), // the apex: not covered by `*.`
      logLine({ host: 'one.other.example.org' }),
      logLine({ host: 'two.other.example.org' }),
    ]);
    expect(allow('builders')).toEqual(['cdn.example.com', '*.cdn.example.com', 'one.other.example.org', 'two.other.example.org']);
  });

  test('folding counts distinct hosts, not requests, and keeps ports apart', () => {
    const { allow } = suggest([
      ...Array.from({ length: 5 }, () => logLine({ host: 'a.cdn.example.com' })),
      logLine({ host: 'b.cdn.example.com' }),
      logLine({ host: 'p.svc.example.com', port: 8443 }),
      logLine({ host: 'q.svc.example.com', port: 8443 }),
      logLine({ host: 'r.svc.example.com', port: 8443 }),
      logLine({ host: 's.svc.example.com', port: 443 }),
    ]);
    expect(allow('builders')).toEqual(['a.cdn.example.com', 'b.cdn.example.com', '*.svc.example.com:8443', 's.svc.example.com']);
  });

  test('never folds into a one-label parent, a country-code suffix or shared hosting', () => {
    const { allow } = suggest(
      ['a.com', 'b.com', 'c.com', 'a.co.uk', 'b.co.uk', 'c.co.uk', 'x.github.io', 'y.github.io', 'z.github.io'].map((host) => logLine({ host })),
    );
    expect(allow('builders').filter((e) => e.startsWith('*'))).toEqual([]);
    expect(allow('builders')).toHaveLength(9);
    expect(foldableParent('com')).toBe(false);
    expect(foldableParent('example.com')).toBe(true);
  });

  test('normalises hosts so case and trailing dots land on one entry', () => {
    const { allow } = suggest([logLine({ host: 'API.GitHub.com.' }), logLine({ host: 'api.github.com' })]);
    expect(allow('builders')).toEqual(['api.github.com']);
  });

  test('--pool keeps only the named pools', () => {
    const { doc } = suggest([logLine({ host: 'a.example.com' }), logLine({ pool: 'sandbox', host: 'b.example.com' })], ['sandbox']);
    expect(doc.pools).toEqual([{ name: 'sandbox', allow: ['b.example.com'] }]);
  });

  test('the header counts lines read and non-JSON lines and gives the time range; per pool, requests per entry', () => {
    const { yaml, suggestion } = suggestPolicy([
        logLine({ host: 'api.github.com', time: '2024-05-03T08:00:00.000Z' }),
        logLine({ host: 'api.github.com', time: '2024-05-01T09:00:00.000Z' }),
        logLine({ host: 'pypi.org', time: '2024-05-02T00:00:00.000Z' }),
        'Tue May 1 starting proxy',
        '',
        '{"truncated":',
    ]);
    expect(suggestion.stats).toMatchObject({ lines: 5, notJson: 2, egress: 3, used: 3 });
    expect(yaml).toContain('# 5 lines read: 3 egress, 3 reached, 2 not JSON (skipped)');
    expect(yaml).toContain('# time range: 2024-05-01T09:00:00.000Z to 2024-05-03T08:00:00.000Z');
    expect(yaml).toMatch(/# builders: 3 requests to 2 entries\n\s+#\s+2 {2}api\.github\.com\n\s+#\s+1 {2}pypi\.org/);
  });

  test('no egress lines: an empty, valid document', () => {
    const { doc } = suggest(['not json at all']);
    expect(doc).toEqual({ pools: [] });
  });

  test('property: every entry parses, and the suggested allowlist in enforce mode admits everything that was reached', () => {
    // Not `xn--…`: an A-label must be valid punycode (`xn--0` is not), and the proxy refuses
    // such a name before it reaches anything, so no access log line holds one.
    const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}[a-z0-9]$/).filter((l) => !l.startsWith('xn--'));
    const host = fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.constantFrom('example.com', 'cdn.example.net', 'example.org', 'io')).map(([ls, d]) => `${ls.join('.')}.${d}`);
    const ip = fc.oneof(fc.ipV4(), fc.ipV6());
    const port = fc.oneof(fc.constant(443), fc.constant(80), fc.integer({ min: 1, max: 65535 }));
    const request = fc.record({ pool: fc.constantFrom('builders', 'sandbox'), host: fc.oneof(host, host, ip), port, decision: fc.constantFrom('allow', 'audit') });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 40 }), (requests) => {
        const { doc } = suggest(requests.map((r) => logLine({ ...r, address: '140.82.112.6' })));
        const config = parseConfig(
          `pools:\n${doc.pools.map((p) => `  - name: ${p.name}\n    sources: [192.0.2.0/24]\n    mode: enforce\n    allow: ${JSON.stringify(p.allow)}\n`).join('')}`,
          'suggested.yaml',
          {},
        );
        for (const p of doc.pools) for (const e of p.allow) expect(parseEntry(e).kind).not.toBe('group');
        const policies = new Map(config.pools.map((p) => [p.name, compilePool(p, config.groups)]));
        for (const r of requests) {
          const norm = normalizeHost(r.host.includes(':') ? `[${r.host}]` : r.host);
          const policy = policies.get(r.pool);
          if (!norm || !policy) throw new Error(`lost ${r.host} of ${r.pool}`);
          const addresses = norm.ip ? [norm.ip] : [parseAddress('140.82.112.6')].filter((a) => a !== undefined);
          const verdict = decide({ pool: policy, target: { ...norm, port: r.port }, addresses });
          expect(verdict === 'resolve' ? 'resolve' : verdict.verdict, `${r.host}:${r.port}`).toBe('allow');
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('chokepoint policy suggest (CLI)', () => {
  const run = promisify(execFile);
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-suggest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function cli(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = run('npx', ['tsx', 'bin/chokepoint.ts', ...args], { cwd: process.cwd(), timeout: 20_000 });
    if (input !== undefined) child.child.stdin?.end(input);
    else child.child.stdin?.end();
    try {
      const { stdout, stderr } = await child;
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  const log = [
    logLine({ host: 'a.cdn.example.com' }),
    logLine({ host: 'b.cdn.example.com' }),
    logLine({ host: 'c.cdn.example.com' }),
    logLine({ host: 'db.example.com', port: 5432, decision: 'audit', reason: 'not-allowlisted' }),
    logLine({ host: 'paste.example.net', decision: 'deny', reason: 'not-allowlisted' }),
    'chokepoint started (not JSON)',
  ].join('\n');

  test('reads a file, prints YAML in the config shape, counts non-JSON lines on stderr', async () => {
    const file = join(dir, 'access.log');
    writeFileSync(file, log + '\n');
    const { code, stdout, stderr } = await cli(['policy', 'suggest', file]);
    expect(code).toBe(0);
    expect(parse(stdout)).toEqual({ pools: [{ name: 'builders', allow: ['*.cdn.example.com', 'db.example.com:5432'] }] });
    expect(stderr).toContain('skipped 1 line that is not JSON');
  });

  test("reads standard input with '-' and when no file is given; .gz files are decompressed", async () => {
    const gz = join(dir, 'access.log.gz');
    writeFileSync(gz, gzipSync(log));
    for (const args of [['-'], [], [gz]]) {
      const { code, stdout } = await cli(['policy', 'suggest', ...args], log);
      expect(code, args.join(' ')).toBe(0);
      expect((parse(stdout) as SuggestedDoc).pools[0]?.allow).toEqual(['*.cdn.example.com', 'db.example.com:5432']);
    }
  });

  test('an unreadable file exits 2 with a one-line reason and prints no YAML', async () => {
    const { code, stdout, stderr } = await cli(['policy', 'suggest', join(dir, 'missing.log')]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('missing.log');
  });

  test('an unknown policy subcommand exits 2', async () => {
    const { code, stderr } = await cli(['policy', 'foo']);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain("'foo'");
  });
});
