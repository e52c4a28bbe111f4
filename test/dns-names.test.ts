// Reading DNS query names (issue #16): canaries and known secrets encoded in a name (hex,
// base32, base64url, split across labels), the detector rules on the decoded labels, and
// tunnelling (data-carrying labels, bursts of unique names, TXT/NULL for unlisted names),
// with cloud and CDN names that must not trip it. No secret in any finding.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import { DNS_TUNNEL_DEFAULTS, DnsNameReader, dataChars, parentDomain, type DnsQuery } from '../detectors/dns-names.js';
import { Engine, type Finding, type KnownSecret } from '../detectors/index.js';
import { defaultRules } from '../detectors/rules/index.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';
import { base32 } from './helpers/encode.js';

const base32lower = (data: Buffer): string => base32(data, { lower: true });

const KEY = Buffer.alloc(32, 9);
const rng = createRng(1616);
const canary = `cnry-${rng.chars(ALPHA_NUM, 24)}`;
const known = `sk-own-${rng.chars(ALPHA_NUM, 28)}`;
const secrets: KnownSecret[] = [
  { name: 'canary-1', value: canary, kind: 'canary' },
  { name: 'DEPLOY_KEY', value: known, kind: 'secret' },
];
const engine = new Engine({ rules: defaultRules, fingerprintKey: KEY, knownSecrets: secrets });

function reader(thresholds?: ConstructorParameters<typeof DnsNameReader>[0]['thresholds']): DnsNameReader {
  return new DnsNameReader({ engine, fingerprintKey: KEY, ...(thresholds ? { thresholds } : {}) });
}
const q = (qname: string, over: Partial<DnsQuery> = {}): DnsQuery => ({ pool: 'ci', qname, qtype: 'A', listed: false, nowMs: 1_000, ...over });

/** `fold -w N | paste -sd.`: labels of `width` characters. */
const fold = (text: string, width: number): string => text.match(new RegExp(`.{1,${width}}`, 'g'))!.join('.');

function githubToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return `ghp_${body}${tokenChecksum(body)}`;
}

/** No finding's text holds the value. */
function expectNoValue(findings: readonly Finding[], value: string): void {
  const text = JSON.stringify(findings);
  expect(text).not.toContain(value);
  expect(text).not.toContain(value.slice(6, 18));
}

const rules = (fs: readonly Finding[]): string[] => fs.map((f) => f.ruleId);

describe('secrets in a name', () => {
  test('a canary in base32 labels is a critical canary finding, decoded from base32', () => {
    const name = `${fold(base32lower(Buffer.from(canary)), 30)}.attacker.example`;
    const found = reader().read(q(name));
    const c = found.find((f) => f.ruleId === 'canary');
    expect(c).toMatchObject({ severity: 'critical', known: 'canary', decodedFrom: ['base32'] });
    expectNoValue(found, canary);
  });

  test('a canary in hex, base64url and as itself, at any position after a prefix label', () => {
    const hex = Buffer.from(canary).toString('hex');
    const b64 = Buffer.from(canary).toString('base64url');
    for (const [name, from] of [
      [`s7.${fold(hex, 40)}.x.attacker.example`, 'hex'],
      [`0a.${fold(b64, 20)}.attacker.example`, 'base64url'],
      [`${canary}.attacker.example`, undefined],
    ] as const) {
      const c = reader().read(q(name)).find((f) => f.ruleId === 'canary');
      expect(c, name).toBeDefined();
      expect(c!.severity).toBe('critical');
      if (from === undefined) expect(c!.decodedFrom).toBeUndefined();
      // A value whose base64 has no `+` or `/` reads the same in both alphabets: either name is right.
      else expect(c!.decodedFrom!.some((d) => d.startsWith(from === 'base64url' ? 'base64' : from))).toBe(true);
    }
  });

  test('a canary behind 1 to 7 bytes of other data in base32 still decodes (every alignment)', () => {
    for (let pad = 1; pad < 8; pad++) {
      const data = Buffer.concat([Buffer.from('x'.repeat(pad)), Buffer.from(canary)]);
      const name = `${fold(base32lower(data), 50)}.t.attacker.example`;
      expect(rules(reader().read(q(name))), `pad ${pad}`).toContain('canary');
    }
  });

  test('a known secret (not a canary) in base32 is a known-secret finding', () => {
    const name = `${fold(base32lower(Buffer.from(known)), 60)}.attacker.example`;
    const found = reader().read(q(name));
    expect(found.find((f) => f.ruleId === 'known-secret')).toMatchObject({ known: 'secret' });
    expectNoValue(found, known);
  });

  test('the detector rules run on the decoded labels: a GitHub token in a base32-encoded file', () => {
    const token = githubToken();
    const file = `[default]\nGITHUB_TOKEN=${token}\n`;
    // The issue's example: base32 < file | tr -d '=\n' | fold -w 60 | paste -sd.
    const name = `${fold(base32lower(Buffer.from(file)), 60)}.attacker.example`;
    const found = reader().read(q(name, { listed: true }));
    const gh = found.find((f) => f.ruleId.startsWith('github'));
    expect(gh).toBeDefined();
    expect(gh!.decodedFrom).toEqual(['base32']);
    expect(gh!.redacted.startsWith('ghp_')).toBe(true);
    expectNoValue(found, token);
  });

  test('after a reload with another engine, a new canary in a name already read is found', () => {
    const r = reader();
    const other = `cnry-${rng.chars(ALPHA_NUM, 24)}`;
    const name = `${fold(base32lower(Buffer.from(other)), 30)}.attacker.example`;
    expect(rules(r.read(q(name, { listed: true })))).not.toContain('canary');
    r.setEngine(new Engine({ rules: defaultRules, fingerprintKey: KEY, knownSecrets: [{ name: 'canary-2', value: other, kind: 'canary' }] }));
    expect(rules(r.read(q(name, { listed: true })))).toContain('canary');
  });

  test('the same name read twice gives the same findings (the scan is remembered, not lost)', () => {
    const r = reader();
    const name = `${fold(base32lower(Buffer.from(canary)), 30)}.attacker.example`;
    expect(rules(r.read(q(name, { listed: true })))).toEqual(rules(r.read(q(name, { listed: true }))));
  });
});

/** Names CI jobs look up every day: none is a tunnel. */
const CLOUD_NAMES = [
  'd1abc2defgh3ij.cloudfront.net',
  'd3k2h1x9z8q7w6.cloudfront.net',
  'abcdefgh.execute-api.us-east-1.amazonaws.com',
  'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
  'my-bucket-name.s3.us-east-1.amazonaws.com',
  'my-build-artifacts-2024.s3.dualstack.eu-central-1.amazonaws.com',
  'my-load-balancer-1234567890.us-west-2.elb.amazonaws.com',
  'internal-ci-services-alb-0123456789.eu-west-1.elb.amazonaws.com',
  'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6-1234567890.us-east-1.elb.amazonaws.com',
  'A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6.gr7.us-east-1.eks.amazonaws.com',
  '123456789012.dkr.ecr.us-east-1.amazonaws.com',
  'vpce-0a1b2c3d4e5f6a7b8-abcdefgh.s3.us-east-1.vpce.amazonaws.com',
  'abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws',
  'b7fk2mzq4r6t8v0x1c3e5g7h9j1l3n5p.lambda-url.eu-west-1.on.aws',
  'productionresultssa0.blob.core.windows.net',
  'mystorageaccount01.blob.core.windows.net',
  'myapp-abcdef123456.azurewebsites.net',
  'myaks-dns-a1b2c3d4.hcp.eastus.azmk8s.io',
  'nice-river-0a1b2c3d4.azurestaticapps.net',
  'myendpoint-a1b2c3d4e5f6g7h8.z01.azurefd.net',
  'storage.googleapis.com',
  'my-service-abcdefghij-uc.a.run.app',
  'us-central1-docker.pkg.dev',
  'my-project-123456.appspot.com',
  '0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com',
  '6ff5a4b0-1c2d-4e3f-8a9b-0c1d2e3f4a5b.cfargotunnel.com',
  '_a79865eb4cd1a6ab990a45779b4e0b96.example.com',
  'pipelines.actions.githubusercontent.com',
  'results-receiver.actions.githubusercontent.com',
  'production.cloudflare.docker.com',
  'registry-1.docker.io',
  'main.d1a2b3c4d5e6f7.amplifyapp.com',
  'a1b2c3d4e5f6g7-ats.iot.us-east-1.amazonaws.com',
  'abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com',
  'www.bbc.co.uk',
  'files.pythonhosted.org',
];

describe('tunnelling', () => {
  test.each(CLOUD_NAMES)('%s is no finding at all (listed or not)', (name) => {
    expect(reader().read(q(name))).toEqual([]);
    expect(reader().read(q(name, { listed: true }))).toEqual([]);
  });

  test('base32 and hex labels carrying data under one parent are dns-tunnel findings', () => {
    const data = Buffer.from(rng.chars(ALPHA_NUM, 90));
    for (const name of [
      `${fold(base32lower(data), 60)}.attacker.example`,
      `${fold(data.toString('hex'), 63)}.t.attacker.example`, // dnscat2-style hex
      `${fold(Buffer.from(rng.chars(ALPHA_NUM, 40)).toString('base64url'), 63)}.x.attacker.co.uk`,
      `${base32lower(data).slice(0, 52)}.attacker.example`, // one label over the data threshold
      `${fold(Buffer.from(`AWS_ACCESS_KEY_ID=AKIA${'X'.repeat(4)}${rng.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 12)}`).toString('hex'), 60)}.attacker.example`, // xxd -p of text: mostly digits
    ]) {
      const found = reader().read(q(name, { listed: true }));
      const t = found.find((f) => f.ruleId === 'dns-tunnel');
      expect(t, name).toMatchObject({ severity: 'high' });
      expect(JSON.stringify(t)).not.toContain(base32lower(data).slice(4, 16));
    }
  });

  test('one tunnel has one fingerprint, whatever data it carries; another parent has another', () => {
    const r = reader();
    const fp = (name: string): string | undefined => r.read(q(name)).find((f) => f.ruleId === 'dns-tunnel')?.fingerprint;
    const a = fp(`${base32lower(Buffer.from(rng.chars(ALPHA_NUM, 40)))}.attacker.example`);
    const b = fp(`${base32lower(Buffer.from(rng.chars(ALPHA_NUM, 40)))}.attacker.example`);
    const c = fp(`${base32lower(Buffer.from(rng.chars(ALPHA_NUM, 40)))}.other.example`);
    expect(a).toBeDefined();
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  test('data just under the threshold is no finding, at the threshold it is', () => {
    const t = DNS_TUNNEL_DEFAULTS.dataChars;
    // Hex of text: letters and digits alternate about every other character.
    const run = Buffer.from(rng.chars(ALPHA_NUM, 40)).toString('hex');
    expect(dataChars([run.slice(0, t)])).toBe(t);
    expect(rules(reader().read(q(`${run.slice(0, t - 1)}.attacker.example`)))).not.toContain('dns-tunnel');
    expect(rules(reader().read(q(`${run.slice(0, t)}.attacker.example`)))).toContain('dns-tunnel');
  });

  test('many unique names under one unlisted parent in a window: a burst, per pool', () => {
    const r = reader({ uniqueNames: 20, windowMs: 10_000 });
    const short = (i: number): string => `n${i}.tun.example`; // short labels: no shape to see
    for (let i = 0; i < 20; i++) expect(r.read(q(short(i), { nowMs: 1000 + i }))).toEqual([]);
    // The 21st unique name in the window trips; a repeated one does not.
    expect(rules(r.read(q(short(20), { nowMs: 1100 })))).toEqual(['dns-tunnel']);
    expect(r.read(q(short(3), { nowMs: 1100 }))).toEqual([]);
    // Another pool has its own count; a new window starts over.
    expect(r.read(q(short(21), { pool: 'other', nowMs: 1100 }))).toEqual([]);
    expect(r.read(q(short(22), { nowMs: 1000 + 10_000 }))).toEqual([]);
  });

  test('listed names never count toward a burst', () => {
    const r = reader({ uniqueNames: 5 });
    for (let i = 0; i < 50; i++) expect(r.read(q(`bucket${i}.s3.amazonaws.com`, { listed: true }))).toEqual([]);
  });

  test('memory is bounded: parents beyond trackedParents are forgotten, not kept', () => {
    const r = reader({ uniqueNames: 3, trackedParents: 4 });
    for (let p = 0; p < 1000; p++) for (let i = 0; i < 3; i++) r.read(q(`n${i}.p${p}.example`));
    // p0's count was forgotten: three more names under it are no burst.
    for (let i = 10; i < 13; i++) expect(r.read(q(`n${i}.p0.example`))).toEqual([]);
  });

  test('TXT and NULL queries for unlisted names are medium dns-tunnel findings; listed ones are not', () => {
    for (const qtype of ['TXT', 'NULL']) {
      expect(reader().read(q('status.attacker.example', { qtype }))).toMatchObject([{ ruleId: 'dns-tunnel', severity: 'medium' }]);
      expect(reader().read(q('status.attacker.example', { qtype, listed: true }))).toEqual([]);
    }
    expect(reader().read(q('status.attacker.example', { qtype: 'AAAA' }))).toEqual([]);
  });

  test('property: random hostnames made of words and short ids never trip the shape check', () => {
    const words = ['api', 'build', 'cache', 'ci', 'deploy', 'eu', 'west', 'prod', 'runner', 'artifacts', 'registry', 'mirror', 'github', 'node', 'us', 'east'];
    const word = fc.constantFrom(...words);
    const label = fc.oneof(
      fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join('-')),
      fc.tuple(word, fc.integer({ min: 0, max: 999_999 })).map(([w, n]) => `${w}${n}`),
      fc.stringMatching(/^[a-z0-9]{1,14}$/),
    );
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), fc.constantFrom('amazonaws.com', 'example.com', 'example.co.uk', 'cloudfront.net'), (ls, parent) => {
        const name = `${ls.join('.')}.${parent}`;
        expect(rules(reader().read(q(name, { listed: true })))).not.toContain('dns-tunnel');
      }),
      { numRuns: 300 },
    );
  });

  test('property: 40 or more bytes of encrypted-looking data sent as base32 or hex labels are a tunnel', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 40, max: 100 }), fc.constantFrom('hex', 'base32'), fc.integer({ min: 16, max: 63 }), (seed, n, enc, width) => {
        // What leaves after gzip or encryption: uniformly random bytes.
        const r = createRng(seed);
        const buf = Buffer.from(Array.from({ length: n }, () => r.int(256)));
        const text = enc === 'hex' ? buf.toString('hex') : base32lower(buf);
        const name = `${fold(text, width)}.attacker.example`;
        if (name.length > 253) return;
        expect(rules(reader().read(q(name)))).toContain('dns-tunnel');
      }),
      { numRuns: 300 },
    );
  });
});

describe('parent domains', () => {
  test('last two labels, three under a country-code second level', () => {
    expect(parentDomain('a.b.attacker.example'.split('.'))).toBe('attacker.example');
    expect(parentDomain('x.bbc.co.uk'.split('.'))).toBe('bbc.co.uk');
    expect(parentDomain(['localhost'])).toBe('localhost');
  });

  test('odd names are read, never a crash: empty, a trailing dot, non-ASCII bytes, 255 characters', () => {
    const r = reader();
    expect(r.read(q(''))).toEqual([]);
    expect(r.read(q('.'))).toEqual([]);
    expect(() => r.read(q('ex\u00e4mple.com'))).not.toThrow();
    expect(() => r.read(q(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`))).not.toThrow();
    expect(() => r.read(q('a..b'))).not.toThrow();
  });
});
