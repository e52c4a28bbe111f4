// The streaming scanner reports exactly what a whole-input scan reports, whatever
// the chunking (one byte at a time, chunks splitting UTF-8 sequences, keywords and
// secrets), with absolute offsets, lines and columns, and bounded memory.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import { Engine, type Finding, type RuleSpec } from '../detectors/index.js';
import { ALPHA_NUM, BASE64URL, createRng } from './corpus/rng.js';

const rng = createRng(7);
const ex = { positive: [], negative: [] };
const rules: RuleSpec[] = [
  {
    id: 'github-pat', title: 'GitHub token', severity: 'high', regex: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b',
    keywords: ['ghp_', 'ghs_'], validator: 'github-crc32', examples: ex,
  },
  {
    id: 'generic-secret', title: 'Secret assignment', severity: 'medium', generic: true, entropy: 3,
    regex: '(?i)(?:token|secret|password)[A-Za-z_]*\\s*[=:]\\s*["\']?([^\\s"\']{8,100})', secretGroup: 1,
    keywords: ['token', 'secret', 'password'], examples: ex,
  },
  {
    id: 'private-key', title: 'Private key', severity: 'critical', maxLength: 8192, validator: 'pem-private-key',
    regex: '-----BEGIN (?:RSA |EC |)PRIVATE KEY-----[A-Za-z0-9+/=\\s]+-----END (?:RSA |EC |)PRIVATE KEY-----',
    keywords: ['-----BEGIN'], examples: ex,
  },
  {
    id: 'pypi-token', title: 'PyPI token', severity: 'high', maxLength: 300,
    regex: 'pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,220}', keywords: ['pypi-AgEIcHlwaS5vcmc'], examples: ex,
  },
  {
    // `://` is found with Buffer.indexOf, `amqp` by the alternation: both hit streams interleave.
    id: 'url-password', title: 'Password in a URL', severity: 'high', generic: true, secretGroup: 1,
    regex: '[a-z]{2,10}://[^\\s:@/]{1,32}:([^\\s:@/]{6,64})@[a-z0-9.-]+', keywords: ['://', 'amqp'], examples: ex,
  },
];
const canary = 'canary-Hq7Zm2Kx9Pw4';
const engine = new Engine({
  rules, fingerprintKey: Buffer.alloc(32, 3), knownSecrets: [{ name: 'BAIT', value: canary, kind: 'canary' }],
});

function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return `ghp_${body}${tokenChecksum(body)}`;
}

const rsa4096 = generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }) as string;

/** Secrets planted in generated inputs; each yields at least one finding. */
const planted = [
  ghToken(), ghToken(), ghToken(),
  `password=${rng.chars(ALPHA_NUM, 20)}`,
  `client_secret: "${rng.chars(ALPHA_NUM, 32)}"`,
  rsa4096, ec,
  `pypi-AgEIcHlwaS5vcmc${rng.chars(BASE64URL, 180)}`,
  canary,
  Buffer.from(`user:${canary}`).toString('base64'),
  `https://ci:${rng.chars(ALPHA_NUM, 16)}@repo.internal.net`,
  `amqp://app:${rng.chars(ALPHA_NUM, 20)}@mq.internal.net`,
];
/** Filler: log text, multi-byte characters, line breaks, lone keywords that match nothing. */
const filler = [
  ' ', '\n', '\r\n', ' ok ', ' é ', ' € ', ' 𝄞 ', ' 日本語 ', '\n##[group]Run npm ci\n', ' token: ', ' secret ',
  ' ghp_ ', ' -----BEGIN ', ' password= ', ' \t', '\nStep 3/9 : RUN make build\n', ' pypi-AgEIcHlwaS5vcmc ',
  ' :// ', ' https://registry.npmjs.org/pkg ', ' amqp ', '://',
];

/** Pieces are drawn as indices, so a failing case prints numbers, never secret-shaped values. */
const pieces = [...filler, ...planted.map((s) => ` ${s}\n`)];
const isPlanted = (i: number): boolean => i >= filler.length;
const piece = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: filler.length - 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: filler.length, max: pieces.length - 1 }) },
);

function streamScan(input: Buffer, sizes: readonly number[]): Finding[] {
  const s = engine.stream();
  const out: Finding[] = [];
  let at = 0;
  for (let i = 0; at < input.length; i++) {
    const n = sizes[i % sizes.length] as number;
    out.push(...s.write(input.subarray(at, at + n)));
    at += n;
  }
  out.push(...s.end());
  return out;
}

/** What identifies a finding for the comparison (order included). */
const shape = (fs: Finding[]): unknown[] => fs.map((f) => [f.ruleId, f.offset, f.length, f.line, f.column, f.fingerprint, f.redacted]);

describe('stream findings equal whole-input findings', () => {
  test('for random inputs with planted secrets and random chunkings (property)', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 }),
        (picked, sizes) => {
          const input = Buffer.from(picked.map((i) => pieces[i]).join(''));
          const whole = engine.scan(input);
          const plantedCount = picked.filter(isPlanted).length;
          expect(whole.length).toBeGreaterThanOrEqual(plantedCount);
          expect(shape(streamScan(input, sizes))).toEqual(shape(whole));
        },
      ),
      { numRuns: 200, seed: 20240611 },
    );
  });

  test('indexOf literals (`://`) next to alternation hits, at every chunk size up to 64', () => {
    const url = `https://ci:${rng.chars(ALPHA_NUM, 16)}@repo.internal.net`;
    const input = Buffer.from(`x ${url} ghp_ secret ${url}\nghp_ ${url} pypi-AgEIcHlwaS5vcmc ${url}ghp_\n`);
    const whole = engine.scan(input);
    expect(whole.filter((f) => f.ruleId === 'url-password')).toHaveLength(4);
    for (let n = 1; n <= 64; n++) expect(shape(streamScan(input, [n]))).toEqual(shape(whole));
  });

  test('chunks fed and settled in groups (feed, then one settle) report what whole-input scan reports (property)', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
        (picked, sizes, groups) => {
          const input = Buffer.from(picked.map((i) => pieces[i]).join(''));
          const s = engine.stream();
          const found: Finding[] = [];
          let at = 0;
          for (let i = 0, fed = 0; at < input.length; i++) {
            const n = sizes[i % sizes.length] as number;
            s.feed(input.subarray(at, at + n));
            at += n;
            // Nothing is scanned until a settle: a feed reports nothing.
            if (++fed >= (groups[i % groups.length] as number)) {
              found.push(...s.settle());
              fed = 0;
            }
          }
          found.push(...s.end());
          expect(shape(found)).toEqual(shape(engine.scan(input)));
        },
      ),
      { numRuns: 200, seed: 20261207 },
    );
    // Settled as write() settles it: a token near the end waits for more bytes (or end, or flush).
    const text = Buffer.from(`export GH=${ghToken()}\n${'step ok\n'.repeat(2000)}`);
    const [fed, written] = [engine.stream(), engine.stream()];
    fed.feed(text.subarray(0, 40));
    fed.feed(text.subarray(40));
    const settled = fed.settle();
    expect(settled.map((f) => f.ruleId)).toEqual(['github-pat']);
    expect(shape(settled)).toEqual(shape([...written.write(text.subarray(0, 40)), ...written.write(text.subarray(40))]));
    expect(fed.settle()).toEqual([]);
  });

  test('one byte at a time, through a 4096-bit RSA key and multi-byte text', () => {
    const input = Buffer.from(`é€𝄞 line\n${' 日本 '.repeat(50)}\n${rsa4096}\ntoken = ${ghToken()} €\n${canary}\n`);
    const whole = engine.scan(input);
    expect(whole.map((f) => f.ruleId)).toEqual(['private-key', 'github-pat', 'canary']);
    expect(shape(streamScan(input, [1]))).toEqual(shape(whole));
  });

  test('lines and columns stay right far into a stream', () => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) lines.push(`2024-06-11T10:00:00Z step ${i} ok`);
    const tok = ghToken();
    lines[4321] = `   é GITHUB_TOKEN=${tok}`;
    const input = Buffer.from(lines.join('\n'));
    const fs = streamScan(input, [4093]);
    expect(fs).toHaveLength(1);
    expect(fs[0]?.line).toBe(4322);
    expect(fs[0]?.column).toBe(Buffer.byteLength('   é GITHUB_TOKEN=') + 1);
  });
});

/** Like streamScan, flushing after the chunks whose index is in `flushAt` (mod the list). */
function flushedScan(input: Buffer, sizes: readonly number[], flushAt: ReadonlySet<number>): { found: Finding[]; points: number[] } {
  const s = engine.stream();
  const found: Finding[] = [];
  const points: number[] = [];
  let at = 0;
  for (let i = 0; at < input.length; i++) {
    const n = sizes[i % sizes.length] as number;
    found.push(...s.write(input.subarray(at, at + n)));
    at = Math.min(input.length, at + n);
    if (flushAt.has(i % 16)) {
      found.push(...s.flush());
      points.push(at);
    }
  }
  found.push(...s.end());
  return { found, points };
}

const key = (f: Finding): string => JSON.stringify([f.ruleId, f.offset, f.length, f.line, f.column, f.fingerprint, f.redacted]);

describe('idle flushes (flush(): what end() would report now, each finding once)', () => {
  test('with flushes at random points, a stream reports every whole-input finding once, and nothing no prefix scan reports (property)', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { maxLength: 8 }),
        (picked, sizes, flushAt) => {
          const input = Buffer.from(picked.map((i) => pieces[i]).join(''));
          const whole = engine.scan(input).map(key);
          const { found, points } = flushedScan(input, sizes, new Set(flushAt));
          const reported = found.map(key);
          // never the same finding twice
          expect(new Set(reported).size).toBe(reported.length);
          // every finding of the whole input
          for (const k of whole) expect(reported).toContain(k);
          // and anything else is what a scan of the input up to a flush point reports
          const extra = reported.filter((k) => !whole.includes(k));
          if (extra.length > 0) {
            const prefixes = new Set(points.flatMap((p) => engine.scan(input.subarray(0, p)).map(key)));
            for (const k of extra) expect(prefixes.has(k)).toBe(true);
          }
          // flushing where a line ends (nothing half-written) changes nothing
          const lineEnds = new Set<number>();
          for (let i = 0; i < input.length; i++) if (input[i] === 0x0a) lineEnds.add(i + 1);
          if (points.every((p) => lineEnds.has(p) || p === input.length)) expect(reported).toEqual(whole);
        },
      ),
      { numRuns: 200, seed: 20261206 },
    );
  });

  test('after each flush, everything a scan of the input so far reports has been reported (property)', () => {
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 30 }),
        // Small writes too: a flush then comes at every distance from a keyword.
        fc.array(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 400 })), { minLength: 1, maxLength: 12 }),
        (picked, sizes) => {
          const input = Buffer.from(picked.map((i) => pieces[i]).join(''));
          const s = engine.stream();
          const reported = new Set<string>();
          for (let at = 0, i = 0; at < input.length; i++) {
            const n = sizes[i % sizes.length] as number;
            for (const f of [...s.write(input.subarray(at, at + n)), ...s.flush()]) reported.add(key(f));
            at = Math.min(input.length, at + n);
            for (const f of engine.scan(input.subarray(0, at))) expect(reported).toContain(key(f));
          }
        },
      ),
      { numRuns: 200, seed: 20261207 },
    );
  });

  test('a secret whole at a flush is reported then, at any distance from the end of what came', () => {
    // A short known secret next to a long one: the alternation settles a hit only once the
    // longest literal fits after it, so the short one waits, whole, close to the end.
    const short = 'bait-Qm7Lx2Kp9W';
    const two = new Engine({
      rules: [], fingerprintKey: Buffer.alloc(32, 3),
      knownSecrets: [{ name: 'SHORT', value: short, kind: 'canary' }, { name: 'LONG', value: `long-${rng.chars(ALPHA_NUM, 40)}`, kind: 'secret' }],
    });
    for (let pad = 0; pad <= 200; pad++) {
      const s = two.stream();
      const found = [...s.write(Buffer.from(`log line\n${short}${' '.repeat(pad)}`)), ...s.flush()];
      expect(found.map((f) => f.ruleId)).toEqual(['canary']);
    }
  });

  test('a secret whole at a flush is reported then, and not again when more bytes come', () => {
    const tok = ghToken();
    const s = engine.stream();
    expect(s.write(Buffer.from(`step 1\nexport GH=${tok}`))).toEqual([]);
    const flushed = s.flush();
    expect(flushed.map((f) => f.ruleId)).toEqual(['github-pat']);
    expect(s.flush()).toEqual([]); // nothing new: nothing again
    expect(s.write(Buffer.from(`\nstep 2 ok\n${'x '.repeat(5000)}\n`))).toEqual([]);
    expect(s.end()).toEqual([]);
  });

  test('half a token at a flush is not a finding; the whole token is, once', () => {
    const tok = ghToken();
    const s = engine.stream();
    s.write(Buffer.from(`log ${tok.slice(0, 20)}`));
    expect(s.flush()).toEqual([]);
    s.write(Buffer.from(`${tok.slice(20)}\n`));
    const second = s.flush();
    expect(second.map((f) => [f.ruleId, f.offset])).toEqual([['github-pat', 4]]);
    expect(s.end()).toEqual([]);
  });
});

describe('bounded memory', () => {
  test('buffered bytes stay bounded over a long stream with dense keywords', () => {
    const line = Buffer.from(`token: ${'x'.repeat(20)} secret ghp_ -----BEGIN password= ${ghToken()} build ok é€\n`);
    const chunk = Buffer.concat(Array.from({ length: Math.ceil(65536 / line.length) }, () => line));
    const s = engine.stream();
    let maxHeld = 0;
    let found = 0;
    for (let i = 0; i < 256; i++) {
      found += s.write(chunk).length;
      maxHeld = Math.max(maxHeld, s.bufferedBytes);
    }
    found += s.end().length;
    expect(found).toBe(256 * Math.ceil(65536 / line.length));
    // carry-over (a capped window of the widest rule) plus a chunk, far below the 16+ MiB streamed
    expect(maxHeld).toBeLessThan(engine.maxMatchLength * 24 + 2 * chunk.length);
  });

  test('maxMatchLength covers the longest rule (private keys)', () => {
    expect(engine.maxMatchLength).toBeGreaterThanOrEqual(8192);
  });

  test('write after end is refused', () => {
    const s = engine.stream();
    s.end();
    expect(() => s.write(Buffer.from('x'))).toThrow(/after end/);
  });
});
