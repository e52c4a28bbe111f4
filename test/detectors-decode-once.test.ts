// JSON and form bodies are read once, in their decoded form, and every finding points at
// the bytes as sent: offset, length, line and column in the body the client wrote, in any
// chunking. A finding an escape changed says decodedFrom ['json'] (or ['url']); one whose
// bytes are as sent says nothing, whatever escapes are elsewhere in the body.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import { createContentScanner, scanContent, type ContentFinding } from '../detectors/decode.js';
import { LineIndex, OffsetMap, UrlDecoder } from '../detectors/decode-transforms.js';
import { Engine, type RuleSpec } from '../detectors/index.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const rng = createRng(4242);
const ex = { positive: [], negative: [] };
const rules: RuleSpec[] = [
  { id: 'github-pat', title: 'GitHub token', severity: 'high', regex: '\\bgh[pousr]_[A-Za-z0-9]{36}\\b', keywords: ['ghp_'], validator: 'github-crc32', examples: ex },
  { id: 'acme-key', title: 'Acme key', severity: 'medium', regex: 'acme_[A-Za-z0-9+/]{32}', keywords: ['acme_'], examples: ex },
];
const engine = new Engine({ rules, fingerprintKey: Buffer.alloc(32, 3) });

function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return `ghp_${body}${tokenChecksum(body)}`;
}
const acme = (): string => `acme_${rng.chars(ALPHA_NUM, 10)}+${rng.chars(ALPHA_NUM, 10)}/${rng.chars(ALPHA_NUM, 10)}`;

/** 1-based line and column of byte `offset` of `text`. */
function where(text: Buffer, offset: number): { line: number; column: number } {
  const before = text.subarray(0, offset);
  const nl = before.lastIndexOf(0x0a);
  return { line: before.toString('latin1').split('\n').length, column: offset - nl };
}

const place = (f: ContentFinding): Record<string, unknown> => ({ rule: f.ruleId, offset: f.offset, length: f.length, line: f.line, column: f.column, from: f.decodedFrom });

async function chunked(body: Buffer, contentType: string, cuts: number[]): Promise<ContentFinding[]> {
  const s = createContentScanner(engine, { contentType });
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    s.write(body.subarray(at, c));
    at = c;
  }
  s.write(body.subarray(at));
  return (await s.end()).findings;
}

describe('JSON bodies, read once', () => {
  test('a token after escaped text is found once, as sent, at its place in the body', async () => {
    const tok = ghToken();
    const body = Buffer.from(`{\n  "log": "\\u001b[32mok\\u001b[0m \\"quoted\\"\\n",\n  "msg": "caf\\u00e9",\n  "token": "${tok}"\n}\n`);
    const r = await scanContent(engine, body, { contentType: 'application/json' });
    const at = body.indexOf(tok);
    expect(r.findings.map(place)).toEqual([{ rule: 'github-pat', offset: at, length: tok.length, ...where(body, at), from: undefined }]);
  });

  test('a key an escape changed is found decoded, pointing at its escaped bytes as sent', async () => {
    const key = acme();
    const escaped = key.replace('/', '\\/').replace('+', '\\u002b');
    const body = Buffer.from(`{"a":"\\t\\t","key":"${escaped}"}`);
    const r = await scanContent(engine, body, { contentType: 'application/json' });
    const at = body.indexOf('acme_');
    expect(r.findings.map(place)).toEqual([{ rule: 'acme-key', offset: at, length: escaped.length, line: 1, column: at + 1, from: ['json'] }]);
  });

  test('in any chunking the same findings at the same places', async () => {
    const tok = ghToken();
    const key = acme();
    const body = Buffer.from(`[${Array.from({ length: 30 }, (_, i) => `"line ${i} \\u001b[1m\\"x\\"\\n"`).join(',')},"${tok}","${key.replace('/', '\\/')}"]`);
    const whole = (await scanContent(engine, body, { contentType: 'application/json' })).findings.map(place);
    expect(whole.map((f) => f['rule'])).toEqual(['github-pat', 'acme-key']);
    expect(whole[0]?.['offset']).toBe(body.indexOf(tok));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: body.length - 1 }), { maxLength: 12 }), async (cuts) => {
        expect((await chunked(body, 'application/json', cuts)).map(place)).toEqual(whole);
      }),
      { numRuns: 60 },
    );
  });
});

describe('a long streamed JSON body', () => {
  test('a token 2 MiB in, after escapes all along, is at its place as sent (what is behind is forgotten)', async () => {
    const tok = ghToken();
    const line = '"\\u001b[36mstep\\u001b[0m \\"npm ci\\" took 12s\\n",\n';
    const filler = line.repeat(Math.ceil((2 * 1024 * 1024) / line.length));
    const body = Buffer.from(`[\n${filler}"${tok}"\n]\n`);
    const cuts = Array.from({ length: Math.floor(body.length / 65536) }, (_, i) => (i + 1) * 65536);
    const found = (await chunked(body, 'application/json', cuts)).map(place);
    const at = body.indexOf(tok);
    expect(found).toEqual([{ rule: 'github-pat', offset: at, length: tok.length, ...where(body, at), from: undefined }]);
  });
});

describe('form bodies, read once', () => {
  test('percent-escapes and + are undone; offsets are in the body as sent', async () => {
    const tok = ghToken();
    const key = acme();
    const body = Buffer.from(`note=build+17+%28green%29&token=${tok}&key=${encodeURIComponent(key)}`);
    const r = await scanContent(engine, body, { contentType: 'application/x-www-form-urlencoded' });
    const found = r.findings.map(place);
    const keyAt = body.indexOf('acme_');
    expect(found).toEqual([
      { rule: 'github-pat', offset: body.indexOf(tok), length: tok.length, line: 1, column: body.indexOf(tok) + 1, from: undefined },
      { rule: 'acme-key', offset: keyAt, length: encodeURIComponent(key).length, line: 1, column: keyAt + 1, from: ['url'] },
    ]);
  });
});

/** Form decoding byte by byte, the plain way: `+` is a space, `%XX` a byte, anything else as it is. */
function formDecode(input: Buffer): Buffer {
  const hex = (b: number | undefined): number => (b === undefined ? -1 : Number.isNaN(parseInt(String.fromCharCode(b), 16)) ? -1 : parseInt(String.fromCharCode(b), 16));
  const out: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const b = input[i] as number;
    if (b === 0x2b) out.push(0x20);
    else if (b === 0x25 && hex(input[i + 1]) >= 0 && hex(input[i + 2]) >= 0) {
      out.push(hex(input[i + 1]) * 16 + hex(input[i + 2]));
      i += 2;
    } else out.push(b);
  }
  return Buffer.from(out);
}

describe('UrlDecoder', () => {
  test('decodes as the plain byte-by-byte decoding does, in any chunking, malformed escapes as they are', () => {
    const alphabet = fc.constantFrom(...'ab%+2F4z0 =&G%'.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 80 }), fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 6 }), (chars, cuts) => {
        const input = Buffer.from(chars.join(''));
        const parts: Buffer[] = [];
        const d = new UrlDecoder({ write: (c) => parts.push(Buffer.from(c)), end: () => undefined });
        let at = 0;
        for (const c of [...cuts].map((x) => Math.min(x, input.length)).sort((a, b) => a - b)) {
          d.write(input.subarray(at, c));
          at = c;
        }
        d.write(input.subarray(at));
        d.end();
        expect(Buffer.concat(parts).toString('latin1')).toBe(formDecode(input).toString('latin1'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('OffsetMap and LineIndex', () => {
  test('map decoded offsets to input offsets across marks, and forget what is behind', () => {
    // Input `a\"b\"c` (8 bytes) decodes to `a"b"c` (5 bytes): marks after each escape.
    const map = new OffsetMap();
    map.mark(2, 3);
    map.mark(4, 6);
    expect([0, 1, 2, 3, 4].map((d) => map.toRaw(d))).toEqual([0, 1, 3, 4, 6]);
    expect(map.changed(0, 1)).toBe(false);
    expect(map.changed(0, 2)).toBe(true);
    expect(map.changed(2, 3)).toBe(false);
    map.forget(3);
    expect(map.toRaw(4)).toBe(6);
    expect(map.toRaw(3)).toBe(4);
  });

  test('lines and columns of input offsets, after forgetting', () => {
    const lines = new LineIndex();
    lines.write(Buffer.from('ab\ncd'));
    lines.write(Buffer.from('e\n\nf'));
    expect(lines.locate(0)).toEqual({ line: 1, column: 1 });
    expect(lines.locate(3)).toEqual({ line: 2, column: 1 });
    expect(lines.locate(5)).toEqual({ line: 2, column: 3 });
    lines.forget(7);
    expect(lines.locate(8)).toEqual({ line: 4, column: 1 });
    expect(lines.locate(7)).toEqual({ line: 3, column: 1 });
  });
});
