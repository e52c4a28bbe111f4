// The proxy remembers header lines and request targets it scanned and found clean, so a
// fleet's repeated User-Agent, Accept and package URLs are not rescanned on every request.
// What a user must never notice: a line with a secret is reported on every request that
// carries it, and a new rule set (a reload, new known secrets) sees every line afresh.
import { describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import { Engine, type RuleSpec } from '../detectors/index.js';
import { scanHeadersCached, scanUrlCached } from '../proxy/wire/http-exchange.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const rng = createRng(4242);
const ex = { positive: [], negative: [] };
const githubPat: RuleSpec = {
  id: 'github-pat', title: 'GitHub token', severity: 'high', regex: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b',
  keywords: ['ghp_'], validator: 'github-crc32', examples: ex,
};
function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return `ghp_${body}${tokenChecksum(body)}`;
}
const key = Buffer.alloc(32, 3);

describe('the clean-line memory of the header and URL scans', () => {
  test('a header carrying a token is reported on every request, not only the first', () => {
    const engine = new Engine({ rules: [githubPat], fingerprintKey: key });
    const headers = { 'user-agent': 'npm/10.8.2', authorization: `token ${ghToken()}` };
    for (let i = 0; i < 3; i++) {
      expect(scanHeadersCached(engine, headers).map((f) => [f.header, f.ruleId])).toEqual([['authorization', 'github-pat']]);
    }
  });

  test('a request target carrying a token is reported on every request', () => {
    const engine = new Engine({ rules: [githubPat], fingerprintKey: key });
    const path = `/upload?t=${ghToken()}`;
    for (let i = 0; i < 3; i++) expect(scanUrlCached(engine, path).map((f) => f.ruleId)).toEqual(['github-pat']);
  });

  test('a line found clean under one rule set is scanned again under the next (a reload adds a known secret)', () => {
    const value = 'deploy-key-7c1f9a2b44e0';
    const before = new Engine({ rules: [githubPat], fingerprintKey: key });
    expect(scanHeadersCached(before, { 'x-deploy': value })).toEqual([]);
    expect(scanUrlCached(before, `/hook/${value}`)).toEqual([]);
    const after = new Engine({ rules: [githubPat], fingerprintKey: key, knownSecrets: [{ name: 'DEPLOY_KEY', value, kind: 'secret' }] });
    expect(scanHeadersCached(after, { 'x-deploy': value }).map((f) => f.ruleId)).toEqual(['known-secret']);
    expect(scanUrlCached(after, `/hook/${value}`).map((f) => f.ruleId)).toEqual(['known-secret']);
  });

  test('the same value under another header name, or as one of several values, is its own line', () => {
    const engine = new Engine({ rules: [githubPat], fingerprintKey: key });
    const tok = ghToken();
    expect(scanHeadersCached(engine, { 'x-a': 'plain' })).toEqual([]);
    // A secret appended as a second value of a remembered header is still found.
    expect(scanHeadersCached(engine, { 'x-a': ['plain', `t ${tok}`] }).map((f) => f.ruleId)).toEqual(['github-pat']);
    expect(scanHeadersCached(engine, { 'x-b': `t ${tok}` }).map((f) => f.header)).toEqual(['x-b']);
  });
});
