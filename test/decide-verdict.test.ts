// The content verdict of an exchange, without sockets: findings judged by where they
// are going, the pool's mode and secrets.action, and scan errors under scan.onError.
import { describe, expect, test } from 'vitest';
import { bodyVerdict, findingsVerdict, judgeFindings } from '../proxy/decide/verdict.js';
import type { Finding } from '../detectors/index.js';

function finding(ruleId: string, destinations: string[], known?: 'secret' | 'canary'): Finding {
  return {
    ruleId,
    title: ruleId,
    severity: 'high',
    offset: 0,
    length: 40,
    line: 1,
    column: 1,
    redacted: 'ghp_…(40)',
    fingerprint: '0123456789abcdef',
    destinations,
    ...(known ? { known } : {}),
  };
}

const github = finding('github-pat-classic', ['api.github.com', '*.githubusercontent.com']);
const enforceBlock = { mode: 'enforce', secrets: { action: 'block' } } as const;
const enforceAlert = { mode: 'enforce', secrets: { action: 'alert' } } as const;
const auditBlock = { mode: 'audit', secrets: { action: 'block' } } as const;

describe('judgeFindings + findingsVerdict', () => {
  test('a GitHub token bound for api.github.com is credential use: the exchange passes', () => {
    const judged = judgeFindings([github], 'header', 'api.github.com', enforceBlock, 'authorization');
    expect(judged[0]?.judgement).toEqual({ verdict: 'credential-use', action: 'none' });
    expect(judged[0]?.header).toBe('authorization');
    expect(findingsVerdict(judged, enforceBlock)).toEqual({ kind: 'pass' });
  });

  test('the same token to a paste site is refused in a blocking enforce pool, naming the finding', () => {
    const judged = judgeFindings([github], 'body', 'paste.example', enforceBlock);
    expect(judged[0]?.judgement).toEqual({ verdict: 'exfiltration', action: 'block' });
    expect(findingsVerdict(judged, enforceBlock)).toEqual({ kind: 'refuse', reason: 'secret-exfiltration', finding: github });
  });

  test('with secrets.action alert it is alerted and passes', () => {
    const judged = judgeFindings([github], 'body', 'paste.example', enforceAlert);
    expect(judged[0]?.judgement.action).toBe('alert');
    expect(findingsVerdict(judged, enforceAlert)).toEqual({ kind: 'pass' });
  });

  test('an audit pool never refuses: it alerts and records audit with the reason', () => {
    const judged = judgeFindings([github], 'url', 'paste.example', auditBlock);
    expect(judged[0]?.judgement).toEqual({ verdict: 'exfiltration', action: 'alert' });
    expect(findingsVerdict(judged, auditBlock)).toEqual({ kind: 'audit', reason: 'secret-exfiltration' });
  });

  test('a canary belongs nowhere, not even to a host its rule names', () => {
    const canary = finding('canary', ['api.github.com'], 'canary');
    expect(findingsVerdict(judgeFindings([canary], 'body', 'api.github.com', enforceBlock), enforceBlock).kind).toBe('refuse');
  });

  test('no findings: pass', () => {
    expect(findingsVerdict([], enforceBlock)).toEqual({ kind: 'pass' });
  });
});

describe('bodyVerdict', () => {
  test('findings decide before scan errors', () => {
    const judged = judgeFindings([github], 'body', 'paste.example', enforceBlock);
    expect(bodyVerdict(judged, 1, 'allow', enforceBlock)).toEqual({ kind: 'refuse', reason: 'secret-exfiltration', finding: github });
  });

  test('a scan error refuses in an enforce pool by default, passes with onError allow', () => {
    expect(bodyVerdict([], 1, undefined, enforceBlock)).toEqual({ kind: 'refuse', reason: 'scan-error' });
    expect(bodyVerdict([], 1, 'allow', enforceBlock)).toEqual({ kind: 'pass' });
    expect(bodyVerdict([], 0, 'block', enforceBlock)).toEqual({ kind: 'pass' });
  });

  test('an audit pool passes scan errors by default, and records audit when onError says block', () => {
    expect(bodyVerdict([], 1, undefined, auditBlock)).toEqual({ kind: 'pass' });
    expect(bodyVerdict([], 1, 'block', auditBlock)).toEqual({ kind: 'audit', reason: 'scan-error' });
  });
});
