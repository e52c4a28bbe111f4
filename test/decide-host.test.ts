// A secret in the host name of a request or tunnel, without sockets: how a `host` finding
// is judged (never credential use, whatever the name), how the name is read (the DNS name
// reader's per-name reading, remembered) and how it is shown.
import { describe, expect, test, vi } from 'vitest';
import { DnsNameReader } from '../detectors/dns-names.js';
import { Engine, type Finding } from '../detectors/index.js';
import { redactedName } from '../detectors/redact.js';
import { defaultRules } from '../detectors/rules/index.js';
import { judge } from '../proxy/decide/judge.js';
import { asWritten } from '../proxy/decide/target.js';
import { findingsVerdict, judgeFindings } from '../proxy/decide/verdict.js';
import { generators } from './corpus/gen/github.js';
import { createRng } from './corpus/rng.js';
import { base32 } from './helpers/encode.js';

const github: Finding = {
  ruleId: 'github-pat-classic',
  title: 'GitHub personal access token',
  severity: 'high',
  offset: 0,
  length: 40,
  line: 1,
  column: 1,
  redacted: 'ghp_…(40)',
  fingerprint: '0123456789abcdef',
  destinations: ['api.github.com', '*.githubusercontent.com'],
};
const enforceBlock = { mode: 'enforce', secrets: { action: 'block' } } as const;
const enforceAlert = { mode: 'enforce', secrets: { action: 'alert' } } as const;
const auditBlock = { mode: 'audit', secrets: { action: 'block' } } as const;

describe('judging a secret in a host name', () => {
  test('is exfiltration wherever it goes, even to a host its credential belongs to', () => {
    // The same token in a header to api.github.com is credential use; in the name, it left in the lookup.
    expect(judge(github, 'header', 'api.github.com', enforceBlock)).toEqual({ verdict: 'credential-use', action: 'none' });
    expect(judge(github, 'host', 'api.github.com', enforceBlock)).toEqual({ verdict: 'exfiltration', action: 'block' });
    expect(judge(github, 'host', 'x.objects.githubusercontent.com', enforceAlert)).toEqual({ verdict: 'exfiltration', action: 'alert' });
  });

  test('a blocking enforce pool refuses it, naming the finding, even under a domain of its rule; an audit pool records audit', () => {
    const judged = judgeFindings([github], 'host', 'x.objects.githubusercontent.com', enforceBlock);
    expect(judged[0]?.source).toBe('host');
    expect(findingsVerdict(judged, enforceBlock)).toEqual({ kind: 'refuse', reason: 'secret-exfiltration', finding: github });
    const audited = judgeFindings([github], 'host', 'x.objects.githubusercontent.com', auditBlock);
    expect(audited[0]?.judgement).toEqual({ verdict: 'exfiltration', action: 'alert' });
    expect(findingsVerdict(audited, auditBlock)).toEqual({ kind: 'audit', reason: 'secret-exfiltration' });
    expect(findingsVerdict(judgeFindings([github], 'host', 'ghp-x.evil.test', enforceAlert), enforceAlert)).toEqual({ kind: 'pass' });
  });
});

describe('reading a host name', () => {
  const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 5) });
  const token = generators['github-pat-classic']?.(createRng(41)) ?? '';

  test('finds a token in a label, and in base32 of the labels, as the DNS listener does', () => {
    const names = new DnsNameReader({ engine, fingerprintKey: Buffer.alloc(32, 6) });
    expect(names.secretsIn(`${token}.evil.test`).map((f) => f.ruleId)).toEqual(['github-pat-classic']);
    // base32 < .env | tr -d '=\n' | tr A-Z a-z, in labels of 60.
    const b32 = base32(Buffer.from(`GITHUB_TOKEN=${token}\n`)).toLowerCase();
    const found = names.secretsIn(`${b32.slice(0, 60)}.${b32.slice(60)}.evil.test.`);
    expect(found.find((f) => f.ruleId === 'github-pat-classic')?.decodedFrom).toEqual(['base32']);
    for (const f of found) expect(JSON.stringify(f)).not.toContain(token);
    expect(names.secretsIn('registry.npmjs.org')).toEqual([]);
  });

  test('a name read before is not scanned again (a fleet repeats its hosts)', () => {
    const names = new DnsNameReader({ engine, fingerprintKey: Buffer.alloc(32, 6) });
    const scan = vi.spyOn(engine, 'scan');
    try {
      for (let i = 0; i < 5; i++) names.secretsIn('registry.npmjs.org');
      for (let i = 0; i < 5; i++) expect(names.secretsIn(`${token}.evil.test`)).toHaveLength(1);
      expect(scan).toHaveBeenCalledTimes(2);
    } finally {
      scan.mockRestore();
    }
  });

  test('the host is read as written when only its case differs from the target (base64url, checksums)', () => {
    expect(asWritten(`${token}.Evil.test.`, `${token.toLowerCase()}.evil.test`)).toBe(`${token}.Evil.test`);
    expect(asWritten('bücher.test', 'xn--bcher-kva.test')).toBe('xn--bcher-kva.test');
    expect(asWritten('other.test', 'evil.test')).toBe('evil.test');
  });
});

describe('showing a name that holds a secret', () => {
  test('its labels before the parent are redacted to their length', () => {
    expect(redactedName('ghp_0123456789.evil.test')).toBe('[redacted 14].evil.test');
    expect(redactedName('evil.test')).toBe('[redacted 9]');
  });

  test('none of it is shown when the parent itself holds a secret', () => {
    expect(redactedName('x.ghp_0123456789.test', (kept) => kept.startsWith('ghp_'))).toBe('[redacted 21]');
    expect(redactedName('ghp_0123456789.evil.test', (kept) => kept.startsWith('ghp_'))).toBe('[redacted 14].evil.test');
  });
});

