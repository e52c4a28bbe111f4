// `chokepoint check-config` and the DNS listener (issue #16): a pool without `sources`
// cannot own DNS queries (a query carries no credentials), so with dns.listen set the
// command warns about it and still exits 0; without dns.listen, or with sources, it is quiet.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';

const CLI = join(import.meta.dirname, '..', 'dist', 'bin', 'chokepoint.js');

function checkConfig(body: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const path = join(mkdtempSync(join(tmpdir(), 'chokepoint-dnscheck-')), 'chokepoint.yaml');
  writeFileSync(path, body);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'check-config', path], { env: { ...process.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const pools = `pools:
  - name: by-token
    token: t0ken-for-tests-0123
    allow: [api.github.com]
  - name: by-source
    sources: [10.8.0.0/16]
    allow: [api.github.com]
`;

describe('check-config with dns.listen', () => {
  test('a pool with no sources is named, the one with sources is not, and the file is still valid', async () => {
    const r = await checkConfig(`dns:\n  listen: 127.0.0.1:5353\n${pools}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid');
    const lines = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /no sources/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('by-token');
    expect(lines[0]).toContain('dns.listen');
  });

  test('without dns.listen nothing is said about sources', async () => {
    const r = await checkConfig(pools);
    expect(r.code).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/no sources/);
  });
});
