// Precision across rules: a value with a checksummed provider prefix that fails its
// checksum is no finding under any rule (generic ones included), and published
// documentation values (AWS, Azurite, Google) are never findings. Values are built at runtime.
import { describe, expect, test } from 'vitest';
import { checkedPrefixes, isFailedLookalike } from '../detectors/checked-prefixes.js';
import { tokenChecksum } from '../detectors/checksum.js';
import { Engine, type RuleSpec } from '../detectors/index.js';
import { defaultRules } from '../detectors/rules/index.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const KEY = Buffer.alloc(32, 3);
const rng = createRng(1717);
const ex = { positive: [], negative: [] };
const body = (): string => rng.chars(ALPHA_NUM, 30);
/** A well-formed token and the same token with its last checksum character changed. */
function pair(prefix: string): { good: string; bad: string } {
  const b = body();
  const sum = tokenChecksum(b);
  const last = sum.endsWith('A') ? 'B' : 'A';
  return { good: `${prefix}${b}${sum}`, bad: `${prefix}${b}${sum.slice(0, 5)}${last}` };
}
const ids = (e: Engine, text: string): string[] => e.scan(Buffer.from(text)).map((f) => f.ruleId);

const githubPat: RuleSpec = {
  id: 'github-pat', title: 'GitHub', severity: 'high', regex: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b', keywords: ['ghp_'],
  validator: 'github-crc32', examples: ex,
};
const generic: RuleSpec = {
  id: 'generic-token', title: 'generic', severity: 'medium', generic: true,
  regex: '(?i)token\\s*=\\s*([A-Za-z0-9_]{20,100})', secretGroup: 1, keywords: ['token'], examples: ex,
};

describe('checksummed prefixes under every rule', () => {
  test('the table comes from the rules that declare a prefixed validator', () => {
    expect(checkedPrefixes([generic]).map((c) => c.prefix)).toEqual([]);
    expect(checkedPrefixes([githubPat, generic]).map((c) => c.prefix).sort()).toEqual(['gho_', 'ghp_', 'ghr_', 'ghs_', 'ghu_']);
    const table = checkedPrefixes(defaultRules);
    for (const p of ['ghp_', 'npm_']) expect(table.some((c) => c.prefix === p)).toBe(true);
    const { good, bad } = pair('ghp_');
    expect(isFailedLookalike(table, good)).toBe(false);
    expect(isFailedLookalike(table, bad)).toBe(true);
    expect(isFailedLookalike(table, 'token_without_prefix_1234')).toBe(false);
  });

  test('a generic rule no longer reports a ghp_ value with a wrong checksum', () => {
    const { good, bad } = pair('ghp_');
    const onlyGeneric = new Engine({ rules: [generic], fingerprintKey: KEY });
    // Without a checksummed rule in the pack there is nothing to check against: the generic rule reports.
    expect(ids(onlyGeneric, `token = ${bad}`)).toEqual(['generic-token']);
    const both = new Engine({ rules: [githubPat, generic], fingerprintKey: KEY });
    expect(ids(both, `token = ${bad}`)).toEqual([]);
    expect(ids(both, `token = ${good}`)).toEqual(['github-pat']);
  });

  test('the shipped pack: bad ghp_ and npm_ values are no finding in any context, good ones are', () => {
    const engine = new Engine({ rules: defaultRules, fingerprintKey: KEY });
    for (const prefix of ['ghp_', 'gho_', 'npm_']) {
      const { good, bad } = pair(prefix);
      for (const line of [
        `GITHUB_TOKEN=${bad}`, `token: "${bad}"`, `//registry.npmjs.org/:_authToken=${bad}`,
        `export API_TOKEN='${bad}'`, `Authorization: Bearer ${bad}`,
      ]) {
        expect(ids(engine, `${line}\n`), `${prefix} look-alike in ${line.slice(0, 12)}`).toEqual([]);
      }
      expect(ids(engine, `//registry.npmjs.org/:_authToken=${good}\n`).length).toBeGreaterThan(0);
    }
  });
});

describe('published documentation values', () => {
  const engine = new Engine({ rules: defaultRules, fingerprintKey: KEY });
  test('the AWS example key pair is no finding', () => {
    const text = 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n';
    expect(ids(engine, text)).toEqual([]);
  });
  test('the Azurite emulator account key is no finding, a random account key is', () => {
    const azurite = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
    const conn = (k: string): string =>
      `DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=${k};EndpointSuffix=core.windows.net\n`;
    expect(ids(engine, conn(azurite))).toEqual([]);
    const random = Buffer.from(rng.chars(ALPHA_NUM, 64)).toString('base64').slice(0, 86) + '==';
    expect(ids(engine, conn(random)).length).toBeGreaterThan(0);
  });
  test("Google's published example API key is no finding, a random Google API key is", () => {
    const charts = "google.charts.load('current', { packages: ['geochart'], mapsApiKey: 'AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY' });\n";
    expect(ids(engine, charts)).toEqual([]);
    const random = `AIza${rng.chars(ALPHA_NUM, 35)}`;
    expect(ids(engine, `mapsApiKey: '${random}'\n`).length).toBeGreaterThan(0);
  });
});
