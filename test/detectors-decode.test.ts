// Decoding before scanning, as the proxy and `chokepoint scan` see it: a secret is
// found whatever Content-Encoding and Content-Type wrap it, split across chunks it is
// found once, and bad or hostile encodings become errors (not crashes, not OOMs).
// Secrets are synthetic and made at test time; a small stand-in rule set keeps these
// tests independent of the shipped rule pack.
import { generateKeyPairSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import {
  createContentScanner,
  scanContent,
  scanHeaders,
  scanUrl,
  supportedEncodings,
  type ContentFinding,
  type ContentScanResult,
} from '../detectors/decode.js';
import { Base64Extractor, JsonUnescaper, readsAsText } from '../detectors/decode-transforms.js';
import { Engine, type RuleSpec } from '../detectors/index.js';
import { utf8SafeEnd } from '../detectors/utf8.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const rng = createRng(1103);
const ex = { positive: [], negative: [] };
const rules: RuleSpec[] = [
  {
    id: 'github-pat', title: 'GitHub token', severity: 'high', regex: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b',
    keywords: ['ghp_'], validator: 'github-crc32', examples: ex,
  },
  {
    // A token alphabet with `+` and `/`, which JSON encoders may write as `\u002b` and `\/`.
    id: 'acme-key', title: 'Acme key', severity: 'medium', regex: 'acme_[A-Za-z0-9+/]{32}', keywords: ['acme_'], examples: ex,
  },
  {
    id: 'private-key', title: 'Private key', severity: 'critical', maxLength: 8192, validator: 'pem-private-key',
    regex: '-----BEGIN (?:RSA |EC |)PRIVATE KEY-----[A-Za-z0-9+/=\\s]+-----END (?:RSA |EC |)PRIVATE KEY-----',
    keywords: ['-----BEGIN'], examples: ex,
  },
];
const engine = new Engine({ rules, fingerprintKey: Buffer.alloc(32, 9) });

function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return `ghp_${body}${tokenChecksum(body)}`;
}
function acmeKey(): string {
  // At least one `+` and one `/`, so that escaping them matters.
  return `acme_${rng.chars(ALPHA_NUM, 10)}+${rng.chars(ALPHA_NUM, 10)}/${rng.chars(ALPHA_NUM, 10)}`;
}
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

/** The result, after checking it never carries the secret. */
function clean(result: ContentScanResult, ...secrets: string[]): ContentScanResult {
  const text = JSON.stringify(result);
  for (const s of secrets) expect(text.includes(s)).toBe(false);
  return result;
}
const summary = (fs: readonly ContentFinding[]): Array<{ rule: string; from: string[] | undefined }> =>
  fs.map((f) => ({ rule: f.ruleId, from: f.decodedFrom }));

async function scanBody(body: Buffer, meta: { contentEncoding?: string; contentType?: string }, secret: string): Promise<ContentScanResult> {
  return clean(await scanContent(engine, body, meta), secret);
}

describe('Content-Encoding', () => {
  const tok = ghToken();
  const plain = Buffer.from(`{"note":"build 17","deploy_token":"${tok}"}\n`);

  test('an identity body is scanned as sent', async () => {
    const r = await scanBody(plain, { contentEncoding: 'identity' }, tok);
    expect(summary(r.findings)).toEqual([{ rule: 'github-pat', from: undefined }]);
    expect(r.findings[0]?.offset).toBe(plain.indexOf('ghp_'));
    expect(r).toMatchObject({ errors: [], truncated: false, scannedBytes: plain.length });
  });

  test.each([
    ['gzip', zlib.gzipSync(plain), ['gzip']],
    ['x-gzip', zlib.gzipSync(plain), ['gzip']],
    ['deflate', zlib.deflateSync(plain), ['deflate']],
    ['Deflate', zlib.deflateRawSync(plain), ['deflate']],
    ['br', zlib.brotliCompressSync(plain), ['br']],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(plain)), ['br', 'gzip']],
    ['deflate,gzip', zlib.gzipSync(zlib.deflateSync(plain)), ['gzip', 'deflate']],
  ])('%s: the decoded body is scanned, offsets in the decoded bytes', async (encoding, body, chain) => {
    const r = await scanBody(body, { contentEncoding: encoding }, tok);
    expect(summary(r.findings)).toEqual([{ rule: 'github-pat', from: chain }]);
    expect(r.findings[0]?.offset).toBe(plain.indexOf('ghp_'));
    expect(r).toMatchObject({ errors: [], truncated: false, scannedBytes: plain.length });
  });

  test('zstd is decoded where the runtime has it, and is an unknown encoding where it does not', async () => {
    const zstd = (zlib as unknown as Record<string, unknown>)['zstdCompressSync'] as ((b: Buffer) => Buffer) | undefined;
    if (supportedEncodings().includes('zstd') && zstd) {
      const r = await scanBody(zstd(plain), { contentEncoding: 'zstd' }, tok);
      expect(summary(r.findings)).toEqual([{ rule: 'github-pat', from: ['zstd'] }]);
    } else {
      const r = await scanBody(Buffer.from('(28 b5 2f fd) not really zstd'), { contentEncoding: 'zstd' }, tok);
      expect(r.errors.map((e) => e.code)).toEqual(['unknown-encoding']);
      expect(r.truncated).toBe(true);
    }
  });

  test('an unknown encoding is an error, and the bytes are still scanned as sent', async () => {
    const r = await scanBody(plain, { contentEncoding: 'compress' }, tok);
    expect(r.errors).toMatchObject([{ code: 'unknown-encoding', encoding: 'compress' }]);
    expect(r.truncated).toBe(true);
    expect(summary(r.findings)).toEqual([{ rule: 'github-pat', from: undefined }]);
  });

  test('garbage labelled gzip is undecodable-encoding; a plain body labelled gzip is still scanned', async () => {
    const garbage = await scanBody(Buffer.from('this is not gzip at all, not even close'), { contentEncoding: 'gzip' }, tok);
    expect(garbage.errors.map((e) => e.code)).toEqual(['undecodable-encoding']);
    expect(garbage.truncated).toBe(true);
    expect(garbage.findings).toEqual([]);

    const mislabelled = await scanBody(plain, { contentEncoding: 'gzip' }, tok);
    expect(mislabelled.errors.map((e) => e.code)).toEqual(['undecodable-encoding']);
    expect(summary(mislabelled.findings)).toEqual([{ rule: 'github-pat', from: undefined }]);
  });

  test('a truncated gzip body is undecodable, what decoded before the cut is scanned', async () => {
    const big = Buffer.concat([plain, Buffer.from('x'.repeat(100_000))]);
    const gz = zlib.gzipSync(big);
    const r = await scanBody(gz.subarray(0, gz.length - 20), { contentEncoding: 'gzip' }, tok);
    expect(r.errors.map((e) => e.code)).toEqual(['undecodable-encoding']);
    expect(summary(r.findings)).toEqual([{ rule: 'github-pat', from: ['gzip'] }]);
  });

  test('a gzip bomb (1 GiB of zeros) stops at the limit with decoded-too-large, memory stays bounded', async () => {
    // Built as a stream: 1 GiB of zeros is never in memory, its gzip is about 1 MiB.
    const gz = zlib.createGzip({ level: 1 });
    const parts: Buffer[] = [];
    gz.on('data', (d: Buffer) => parts.push(d));
    const zeros = Buffer.alloc(1024 * 1024);
    gz.write(plain);
    for (let i = 0; i < 1024; i++) {
      if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
    }
    await new Promise((r) => gz.end(r));
    const bomb = Buffer.concat(parts);
    expect(bomb.length).toBeLessThan(8 * 1024 * 1024);

    const before = process.memoryUsage();
    const limit = 16 * 1024 * 1024;
    const r = await scanBody(bomb, { contentEncoding: 'gzip' }, tok);
    const rLimited = clean(await scanContent(engine, bomb, { contentEncoding: 'gzip' }, { maxDecodedBytes: limit }), tok);
    const after = process.memoryUsage();
    for (const res of [r, rLimited]) {
      expect(res.errors.map((e) => e.code)).toEqual(['decoded-too-large']);
      expect(res.truncated).toBe(true);
      // What came before the zeros was scanned.
      expect(summary(res.findings)).toEqual([{ rule: 'github-pat', from: ['gzip'] }]);
    }
    expect(r.scannedBytes).toBe(64 * 1024 * 1024);
    expect(rLimited.scannedBytes).toBe(limit);
    // Decoding it whole would take 1 GiB.
    expect(after.rss + after.arrayBuffers - (before.rss + before.arrayBuffers)).toBeLessThan(512 * 1024 * 1024);
  });
});

describe('Content-Type', () => {
  test('form bodies are URL-decoded and rescanned', async () => {
    const tok = ghToken();
    const body = Buffer.from(`note=hello+world&token=${tok.replace('_', '%5F')}&x=1`);
    const r = await scanBody(body, { contentType: 'application/x-www-form-urlencoded; charset=utf-8' }, tok);
    expect(summary(r.findings)).toEqual([{ rule: 'github-pat', from: ['url'] }]);
  });

  test('JSON escapes are undone: a PEM key written with \\n, a token with \\u002b and \\/', async () => {
    const pem = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey;
    const key = acmeKey();
    const escaped = key.replaceAll('+', '\\u002b').replaceAll('/', '\\/');
    const body = Buffer.from(`{"private_key": ${JSON.stringify(pem)}, "acme": "${escaped}"}`);
    expect(body.includes(key)).toBe(false);
    const r = await scanBody(body, { contentType: 'application/json' }, key);
    expect(JSON.stringify(r).includes(pem.split('\n')[1] as string)).toBe(false);
    expect(summary(r.findings).sort((a, b) => a.rule.localeCompare(b.rule))).toEqual([
      { rule: 'acme-key', from: ['json'] },
      { rule: 'private-key', from: ['json'] },
    ]);
    // Also for vendor JSON types.
    const v = await scanBody(body, { contentType: 'application/vnd.api+json' }, key);
    expect(v.findings).toHaveLength(2);
  });

  test('a JSON body whose token needs no unescaping reports it once, from the raw pass', async () => {
    const tok = ghToken();
    const r = await scanBody(Buffer.from(JSON.stringify({ a: tok, b: 'x\\y' })), { contentType: 'application/json' }, tok);
    expect(summary(r.findings)).toEqual([{ rule: 'github-pat', from: undefined }]);
  });

  test('base64 and base64url blobs are decoded and rescanned, in JSON too', async () => {
    const tok = ghToken();
    const json = Buffer.from(JSON.stringify({ config: b64(`GITHUB_TOKEN=${tok}\nOTHER=1\n`) }));
    const r = await scanBody(json, { contentType: 'application/json' }, tok);
    expect(summary(r.findings)).toEqual([{ rule: 'github-pat', from: ['json', 'base64'] }]);
    // Offsets are in the decoded blob.
    expect(r.findings[0]?.offset).toBe('GITHUB_TOKEN='.length);

    const url64 = Buffer.from(`token?>>${tok}??`).toString('base64url');
    expect(url64).toMatch(/[-_]/);
    const text = Buffer.from(`line one\nvalue: ${url64}\n`);
    const t = await scanBody(text, { contentType: 'text/plain' }, tok);
    expect(summary(t.findings)).toEqual([{ rule: 'github-pat', from: ['base64'] }]);
    expect(t.findings[0]?.encodedAt).toEqual({ offset: text.indexOf(url64), line: 2, column: 8 });
  });

  test('base64 that does not decode to text is not rescanned, short runs are not decoded', async () => {
    const tok = ghToken();
    // Binary with the token inside: decoding it yields mostly unprintable bytes.
    const binary = Buffer.concat([Buffer.alloc(200, 0xfe), Buffer.from(tok)]);
    const r = await scanBody(Buffer.from(`blob=${b64(binary)}`), { contentType: 'text/plain' }, tok);
    expect(r.findings).toEqual([]);
    expect(r.errors).toEqual([]);
  });

  test('nested base64 is expanded up to the depth limit and no further', async () => {
    const tok = ghToken();
    let layered = `GITHUB_TOKEN=${tok}`;
    for (let i = 0; i < 3; i++) layered = `data: ${b64(layered)}`;
    const three = await scanBody(Buffer.from(layered), { contentType: 'text/plain' }, tok);
    expect(summary(three.findings)).toEqual([{ rule: 'github-pat', from: ['base64', 'base64', 'base64'] }]);
    expect(three.errors).toEqual([]);

    const four = await scanBody(Buffer.from(`data: ${b64(layered)}`), { contentType: 'text/plain' }, tok);
    expect(four.findings).toEqual([]);
    expect(four.errors.map((e) => e.code)).toEqual(['depth-limit']);

    const shallow = clean(await scanContent(engine, Buffer.from(layered), { contentType: 'text/plain' }, { maxDepth: 2 }), tok);
    expect(shallow.findings).toEqual([]);
    expect(shallow.errors.map((e) => e.code)).toEqual(['depth-limit']);
  });

  test('a secret seen raw is not reported again from its base64 form', async () => {
    const tok = ghToken();
    const body = Buffer.from(`a=${tok}\nb=${b64(`token ${tok} here`)}\n`);
    const r = await scanBody(body, { contentType: 'text/plain' }, tok);
    expect(summary(r.findings)).toEqual([{ rule: 'github-pat', from: undefined }]);
  });

  test('multipart/form-data: each part, base64 parts decoded, JSON parts unescaped', async () => {
    const [t1, t2] = [ghToken(), ghToken()];
    const key = acmeKey();
    const boundary = '----chokepoint7MA4YWxkTrZu0gW';
    const body = Buffer.from(
      [
        `--${boundary}`,
        'Content-Disposition: form-data; name="comment"',
        '',
        `plain part ${t1}`,
        `--${boundary}`,
        'Content-Disposition: form-data; name="file"; filename="env.txt"',
        'Content-Type: text/plain',
        'Content-Transfer-Encoding: base64',
        '',
        b64(`GH=${t2}\n`).replace(/(.{20})/g, '$1\r\n'),
        `--${boundary}`,
        'Content-Disposition: form-data; name="meta"',
        'Content-Type: application/json',
        '',
        `{"k": "${key.replaceAll('+', '\\u002b')}"}`,
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    );
    const r = await scanBody(body, { contentType: `multipart/form-data; boundary="${boundary}"` }, t1);
    clean(r, t2, key);
    expect(summary(r.findings)).toEqual([
      { rule: 'github-pat', from: undefined },
      { rule: 'github-pat', from: ['multipart', 'base64'] },
      { rule: 'acme-key', from: ['multipart', 'json'] },
    ]);
  });
});

describe('streaming', () => {
  test('a secret split across writes is found once, gzip or not, in any chunking', async () => {
    const tok = ghToken();
    const text = Buffer.from(`${'log line\n'.repeat(500)}export GITHUB_TOKEN=${tok}\n${'more\n'.repeat(500)}`);
    for (const [encoding, body] of [
      [undefined, text],
      ['gzip', zlib.gzipSync(text)],
    ] as const) {
      for (const size of [1, 7, 4096]) {
        const seen: ContentFinding[] = [];
        const s = createContentScanner(engine, encoding ? { contentEncoding: encoding } : {}, { onFinding: (f) => seen.push(f) });
        for (let i = 0; i < body.length; i += size) s.write(body.subarray(i, i + size));
        const r = clean(await s.end(), tok);
        expect(r.findings).toHaveLength(1);
        expect(seen).toEqual(r.findings);
        expect(r.findings[0]?.offset).toBe(text.indexOf('ghp_'));
      }
    }
  });

  test('a finding is reported while the body is still being written', () => {
    const tok = ghToken();
    const seen: ContentFinding[] = [];
    const s = createContentScanner(engine, { contentType: 'text/plain' }, { onFinding: (f) => seen.push(f) });
    s.write(Buffer.from(`Authorization: token ${tok}\n`));
    s.write(Buffer.alloc(64 * 1024, 0x20));
    expect(seen.map((f) => f.ruleId)).toEqual(['github-pat']);
    return s.end();
  });

  test('a gzip bomb written in chunks ends with decoded-too-large', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024));
    const s = createContentScanner(engine, { contentEncoding: 'gzip' }, { limits: { maxDecodedBytes: 1024 * 1024 } });
    for (let i = 0; i < bomb.length; i += 1000) s.write(bomb.subarray(i, i + 1000));
    const r = await s.end();
    expect(r.errors.map((e) => e.code)).toEqual(['decoded-too-large']);
    expect(r.scannedBytes).toBe(1024 * 1024);
  });
});

describe('URLs and headers', () => {
  test('scanUrl finds a secret as sent and percent-encoded', () => {
    const tok = ghToken();
    const raw = scanUrl(engine, `/upload?token=${tok}&x=1`);
    expect(summary(raw)).toEqual([{ rule: 'github-pat', from: undefined }]);
    expect(raw[0]?.offset).toBe('/upload?token='.length);
    const enc = scanUrl(engine, `/upload?token=${tok.replace('_', '%5f')}`);
    expect(summary(enc)).toEqual([{ rule: 'github-pat', from: ['url'] }]);
    const key = acmeKey();
    const plus = scanUrl(engine, `/cb?k=${encodeURIComponent(key)}`);
    expect(summary(plus)).toEqual([{ rule: 'acme-key', from: ['url'] }]);
    expect(JSON.stringify([raw, enc, plus]).includes(tok)).toBe(false);
    expect(scanUrl(engine, '/plain/path?q=hello+world')).toEqual([]);
  });

  test('scanHeaders names the header, offsets are in the value, Basic credentials are decoded', () => {
    const [t1, t2] = [ghToken(), ghToken()];
    const found = scanHeaders(engine, {
      'user-agent': 'curl/8.5.0',
      authorization: `Basic ${b64(`x-access-token:${t1}`)}`,
      'x-deploy': [`v1`, `token ${t2}`],
      cookie: undefined,
    });
    expect(found.map((f) => ({ header: f.header, rule: f.ruleId, from: f.decodedFrom }))).toEqual([
      { header: 'authorization', rule: 'github-pat', from: ['base64'] },
      { header: 'x-deploy', rule: 'github-pat', from: undefined },
    ]);
    expect(found[1]?.offset).toBe('token '.length);
    expect(found[1]?.column).toBe('token '.length + 1);
    const text = JSON.stringify(found);
    expect(text.includes(t1) || text.includes(t2)).toBe(false);
  });
});

describe('the decoders on their own: any chunking gives what one whole write gives', () => {
  const B64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_';
  /** Text with words, separators, line feeds, long lines, and base64 of printable text. */
  const textArb = fc
    .array(
      fc.oneof(
        fc.string({ unit: fc.constantFrom(...B64_CHARS), minLength: 1, maxLength: 30 }),
        fc.constantFrom(' ', '\n', '=', '.', ': ', '"', '\r\n'),
        fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 12, maxLength: 90 }).map((s) => Buffer.from(s).toString('base64url')),
      ),
      { maxLength: 60 },
    )
    .map((parts) => Buffer.from(parts.join(''), 'latin1'));
  const cutsArb = fc.array(fc.nat(), { maxLength: 8 });
  const split = (buf: Buffer, cuts: number[]): Buffer[] => {
    const at = [...new Set(cuts.map((c) => (buf.length === 0 ? 0 : c % buf.length)))].sort((a, b) => a - b);
    const out: Buffer[] = [];
    let last = 0;
    for (const c of at) {
      out.push(buf.subarray(last, c));
      last = c;
    }
    out.push(buf.subarray(last));
    return out;
  };
  const blobs = (chunks: Buffer[], minChars: number): string[] => {
    const out: string[] = [];
    const x = new Base64Extractor({ minChars, maxChars: 1 << 20, onBlob: (d, at) => out.push(`${at.offset}:${at.line}:${at.column}:${d.toString('hex')}`) });
    for (const c of chunks) x.write(c);
    x.end();
    return out;
  };
  /** What the extractor must report: every maximal run of >= minChars base64 characters that decodes to text. */
  const expectedBlobs = (text: Buffer, minChars: number): string[] => {
    const out: string[] = [];
    const s = text.toString('latin1');
    for (const m of s.matchAll(new RegExp(`[A-Za-z0-9+/_-]{${minChars},}`, 'g'))) {
      const run = m[0];
      const decoded = Buffer.from(run.slice(0, run.length - (run.length % 4 === 1 ? 1 : 0)), 'base64');
      if (run.length >= 512 && !readsAsText(Buffer.from(run.slice(0, 512), 'base64'))) continue;
      if (!readsAsText(decoded)) continue;
      const before = s.slice(0, m.index);
      const line = before.split('\n').length;
      const column = m.index - (before.lastIndexOf('\n') + 1) + 1;
      out.push(`${m.index}:${line}:${column}:${decoded.toString('hex')}`);
    }
    return out;
  };

  test('Base64Extractor finds every readable run, at the same place, however the text is cut', () => {
    fc.assert(
      fc.property(textArb, cutsArb, fc.integer({ min: 1, max: 24 }), (text, cuts, minChars) => {
        const expected = expectedBlobs(text, minChars);
        expect(blobs([text], minChars)).toEqual(expected);
        expect(blobs(split(text, cuts), minChars)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  test('a base64 run that ends a write and one that begins the next, with a separator between, stay two runs', () => {
    // 21 bytes each: 28 base64 characters, no `=` padding to end the run.
    const a = Buffer.from('first secret text her').toString('base64');
    const b = Buffer.from('second secret text to').toString('base64');
    const found = blobs([Buffer.from(`x ${a}`), Buffer.from(` ${b} y`)], 20).map((s) => Buffer.from(s.split(':')[3] as string, 'hex').toString());
    expect(found).toEqual(['first secret text her', 'second secret text to']);
  });

  test('readsAsText: at least 90% printable ASCII, tab, CR, LF or bytes of valid UTF-8, as counted byte by byte', () => {
    const reference = (buf: Buffer): boolean => {
      if (buf.length === 0) return false;
      const end = utf8SafeEnd(buf, 0, buf.length);
      const utf8 = isUtf8(buf.subarray(0, end));
      let ok = 0;
      for (let i = 0; i < end; i++) {
        const b = buf[i] as number;
        if ((b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x80 && utf8)) ok++;
      }
      return ok / buf.length >= 0.9;
    };
    const piece = fc.oneof(
      fc.string({ maxLength: 30 }).map((t) => Buffer.from(t, 'utf8')),
      fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)),
      // Overlong forms, surrogates and stray continuation bytes: only the strict check refuses them.
      fc.constantFrom(...[[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x82]].map((b) => Buffer.from(b))),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const buf = Buffer.concat(pieces);
        expect(readsAsText(buf)).toBe(reference(buf));
      }),
      { numRuns: 2000 },
    );
  });

  test('JsonUnescaper decodes as JSON.parse does, in any chunking', () => {
    const unescape = (chunks: Buffer[]): string => {
      const parts: Buffer[] = [];
      const u = new JsonUnescaper({ write: (b) => parts.push(Buffer.from(b)), end: () => undefined });
      for (const c of chunks) u.write(c);
      u.end();
      return Buffer.concat(parts).toString('utf8');
    };
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), cutsArb, (value, cuts) => {
        // JSON.stringify escapes quotes, backslashes and control characters; \u escapes
        // for the rest (lone surrogates too) come from the replacer below.
        const encoded = JSON.stringify(value).slice(1, -1).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
        const wire = Buffer.from(encoded, 'latin1');
        // Lone surrogates cannot survive a trip through UTF-8: they become U+FFFD, as in the decoder.
        const expected = Buffer.from(value, 'utf8').toString('utf8');
        expect(unescape([wire])).toBe(expected);
        expect(unescape(split(wire, cuts))).toBe(expected);
      }),
      { numRuns: 400 },
    );
  });
});
