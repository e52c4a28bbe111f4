// redactFindings (detectors/redact.ts): a scanned text as a log line may show it, each
// finding's bytes replaced by its redacted preview.
import { describe, expect, test } from 'vitest';
import { Engine } from '../detectors/index.js';
import { redactFindings } from '../detectors/redact.js';
import { defaultRules } from '../detectors/rules/index.js';
import { scanUrl } from '../detectors/decode.js';
import { generators } from './corpus/gen/github.js';
import { createRng } from './corpus/rng.js';

const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 5) });
const token = (seed: number): string => generators['github-pat-classic']?.(createRng(seed)) ?? '';

describe('redactFindings', () => {
  test('a token in a path is replaced by its preview; the rest of the path stays', () => {
    const a = token(1);
    const path = `/repos/acme/${a}/contents/ünïcode`;
    const shown = redactFindings(path, scanUrl(engine, path));
    expect(shown).toBe('/repos/acme/[ghp_…(40)]/contents/ünïcode');
    expect(shown).not.toContain(a);
  });

  test('two tokens, in any order of findings, and overlapping spans: none of their bytes is shown', () => {
    const [a, b] = [token(2), token(3)];
    const path = `/x/${a}/y/${b}`;
    const found = scanUrl(engine, path);
    expect(found).toHaveLength(2);
    const shown = redactFindings(path, [...found].reverse());
    expect(shown).toBe('/x/[ghp_…(40)]/y/[ghp_…(40)]');
    const wide = { offset: 2, length: 10, redacted: 'r…(10)' };
    // Spans that overlap: both previews, none of the bytes under either.
    expect(redactFindings('/abcdefghijklmnop', [wide, { offset: 5, length: 10, redacted: 's…(10)' }])).toBe('/a[r…(10)][s…(10)]op');
  });

  test('a finding in a decoded form of the text (its offsets are not the text\'s): nothing of the text is shown', () => {
    const a = token(4);
    const encoded = `/q/${encodeURIComponent(a).replace('_', '%5F')}`;
    const found = scanUrl(engine, encoded);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((f) => f.decodedFrom !== undefined)).toBe(true);
    expect(redactFindings(encoded, found)).toBe('[redacted]');
  });

  test('no findings: the text as it is', () => {
    expect(redactFindings('/plain/path', [])).toBe('/plain/path');
  });
});
