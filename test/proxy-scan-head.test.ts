// The whole-head memory in front of the per-line ones (issue #19): a request head seen clean
// before costs one hash. What a user must never notice: a secret anywhere in a head is
// reported on every request that carries it, and the scanned-byte counts do not change.
import { describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import { Engine, type RuleSpec } from '../detectors/index.js';
import { headerBytes } from '../proxy/wire/exchange-judge.js';
import { scanHeadCached } from '../proxy/wire/scan-cache.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const rng = createRng(1919);
const githubPat: RuleSpec = {
  id: 'github-pat', title: 'GitHub token', severity: 'high', regex: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b',
  keywords: ['ghp_'], validator: 'github-crc32', examples: { positive: [], negative: [] },
};
function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return `ghp_${body}${tokenChecksum(body)}`;
}
const key = Buffer.alloc(32, 9);
const engine = (): Engine => new Engine({ rules: [githubPat], fingerprintKey: key });
const clean = { host: 'registry.npmjs.org', 'user-agent': 'npm/10.8.2 node/v20.18.0', accept: ['application/json', 'text/plain'] };

describe('the whole-head memory of the request scan', () => {
  test('a clean head asked again reads the same byte counts, with no findings', () => {
    const e = engine();
    const first = scanHeadCached(e, '/left-pad?x=ü', clean);
    const second = scanHeadCached(e, '/left-pad?x=ü', clean);
    expect(second).toEqual(first);
    expect(first).toEqual({ url: [], headers: [], headerBytes: headerBytes(clean), urlBytes: Buffer.byteLength('/left-pad?x=ü') });
  });

  test('a token added to a remembered head, in a header or in the target, is reported every time', () => {
    const e = engine();
    scanHeadCached(e, '/pkg', clean);
    const tok = ghToken();
    for (let i = 0; i < 3; i++) {
      expect(scanHeadCached(e, '/pkg', { ...clean, authorization: `token ${tok}` }).headers.map((f) => [f.header, f.ruleId])).toEqual([['authorization', 'github-pat']]);
      expect(scanHeadCached(e, `/pkg?t=${tok}`, clean).url.map((f) => f.ruleId)).toEqual(['github-pat']);
      // The same text moved between target and lines, or between values, is another head.
      expect(scanHeadCached(e, '/pkg', { ...clean, accept: ['application/json', `text/plain ${tok}`] }).headers.map((f) => f.header)).toEqual(['accept']);
    }
  });

  test('a head found clean under one rule set is scanned again under the next (a reload adds a known secret)', () => {
    const value = 'deploy-key-3be91f0c77aa';
    const headers = { ...clean, 'x-deploy': value };
    expect(scanHeadCached(engine(), '/hook', headers).headers).toEqual([]);
    const after = new Engine({ rules: [githubPat], fingerprintKey: key, knownSecrets: [{ name: 'DEPLOY_KEY', value, kind: 'secret' }] });
    expect(scanHeadCached(after, '/hook', headers).headers.map((f) => f.ruleId)).toEqual(['known-secret']);
  });
});
