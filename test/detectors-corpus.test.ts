// Recall and false positives of the shipped rule pack on the labelled corpus
// (test/corpus/generate.ts): every rule's secrets in realistic contexts, and
// look-alike files that must yield nothing. Prints rule ids and counts, never values.
import { describe, expect, it } from 'vitest';
import { scanContent } from '../detectors/decode.js';
import { Engine } from '../detectors/engine.js';
import { defaultRules } from '../detectors/rules/index.js';
import { readTextFiles, totalBytes } from '../bench/lib/textfiles.js';
import { formatTable } from '../bench/lib/table.js';
import { generateCorpus, generatedRuleIds, recall, scoreCorpus, type CorpusScore } from './corpus/generate.js';

const SEED = 0x0c40c3;
const MIN_RECALL = 0.98;
const MIN_FAMILY_RECALL = 0.9;
const MAX_FALSE_POSITIVE_FILES = 0.01;
/** Per family, the share of provider-rule placements a provider rule (not a generic one) finds. */
const MIN_PROVIDER_SHARE = 0.95;

const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 0x5a) });
const genericIds = new Set(defaultRules.filter((r) => r.generic === true).map((r) => r.id));
const isGeneric = (id: string): boolean => genericIds.has(id);

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function top(m: Map<string, number>, n: number): string {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ');
}

function report(s: CorpusScore): void {
  const rows = [...s.byFamily.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([family, t]) => {
      const p = s.byFamilyProvider.get(family);
      return [family, String(t.expected), String(t.found), recall(t).toFixed(3), p === undefined ? '-' : recall(p).toFixed(3)];
    });
  const provider = [...s.byFamilyProvider.values()].reduce((a, t) => ({ expected: a.expected + t.expected, found: a.found + t.found }), { expected: 0, found: 0 });
  rows.push(['ALL', String(s.overall.expected), String(s.overall.found), recall(s.overall).toFixed(3), recall(provider).toFixed(3)]);
  console.log(formatTable({ header: ['family', 'planted', 'found', 'recall', 'by provider rule'], rows }));
  const ctxRows = [...s.byContext.entries()]
    .sort((a, b) => recall(a[1]) - recall(b[1]))
    .map(([ctx, t]) => [ctx, String(t.expected), String(t.found), recall(t).toFixed(3)]);
  console.log(formatTable({ header: ['context', 'planted', 'found', 'recall'], rows: ctxRows }));
  console.log(
    `base64-encoded placements flagged by engine.scan alone (no decoder; a docker-auth rule may flag the blob): ${s.encoded.found}/${s.encoded.expected}` +
      `\nfalse-positive files: ${s.falsePositiveFiles}/${s.files} (${pct(s.falsePositiveFiles / s.files)}); ` +
      `look-alike files with a finding: ${s.lookalikeFalsePositiveFiles}/${s.lookalikeFiles}`,
  );
  if (s.misses.size > 0) {
    const misses = [...s.misses.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
    console.log(`missed (rule: contexts): ${misses.map(([id, ctx]) => `${id}: ${[...new Set(ctx)].join('/')}`).join('; ')}`);
  }
  if (s.falsePositives.size > 0) console.log(`unexpected findings (rule in context): ${top(s.falsePositives, 40)}`);
  if (s.otherRuleOnSpan.size > 0) console.log(`another specific rule on a planted span: ${top(s.otherRuleOnSpan, 20)}`);
}

describe('labelled corpus', () => {
  const docs = generateCorpus({ seed: SEED });

  it('is reproducible from its seed and labels the planted bytes exactly', () => {
    const again = generateCorpus({ seed: SEED });
    expect(again.map((d) => d.text)).toEqual(docs.map((d) => d.text));
    const other = generateCorpus({ seed: SEED + 1, filesPerRule: 1, lookalikeFiles: 17 });
    expect(other.map((d) => d.text)).not.toEqual(docs.slice(0, other.length).map((d) => d.text));
    let checked = 0;
    for (const d of docs) {
      for (const e of d.expected) {
        const span = Buffer.from(d.text, 'utf8').subarray(e.offset, e.offset + e.length).toString('utf8');
        if (e.encoding === 'base64') expect(Buffer.from(span, 'base64').toString('utf8').endsWith(`:${e.value}`)).toBe(true);
        else expect(span === e.value).toBe(true); // not toEqual: a failure must not print the value
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('has a generator for every rule of the default pack', () => {
    const generated = generatedRuleIds();
    const missing = defaultRules.map((r) => r.id).filter((id) => !generated.has(id));
    expect(missing, `rules without a corpus generator: ${missing.join(', ')}`).toEqual([]);
    const ruleIds = new Set(defaultRules.map((r) => r.id));
    const orphans = [...generated.keys()].filter((id) => !ruleIds.has(id));
    expect(orphans, `generators for rule ids not in the pack: ${orphans.join(', ')}`).toEqual([]);
  });

  it(`finds >= ${MIN_RECALL} of planted secrets with <= ${pct(MAX_FALSE_POSITIVE_FILES)} false-positive files`, async () => {
    const score = scoreCorpus(docs, (b) => engine.scan(b), isGeneric);
    report(score);
    expect(score.overall.expected).toBeGreaterThan(0);
    // Base64 placements (Basic auth, docker config) through the content decoder: reported,
    // not gated (the gate above is on secrets as they appear in the text).
    let encoded = 0;
    let decoded = 0;
    for (const d of docs) {
      for (const e of d.expected) {
        if (e.encoding === undefined) continue;
        encoded++;
        const { findings } = await scanContent(engine, Buffer.from(d.text, 'utf8'), {});
        const hit = findings.some(
          (f) => f.ruleId === e.ruleId && f.encodedAt !== undefined && f.encodedAt.offset >= e.offset && f.encodedAt.offset < e.offset + e.length,
        );
        if (hit) decoded++;
      }
    }
    console.log(`base64-encoded placements found by scanContent (decoded, expected rule): ${decoded}/${encoded}`);
    const weak = [...score.byFamily.entries()].filter(([, t]) => recall(t) < MIN_FAMILY_RECALL).map(([f, t]) => `${f} ${recall(t).toFixed(3)}`);
    expect(weak, `families below recall ${MIN_FAMILY_RECALL}: ${weak.join(', ')}`).toEqual([]);
    expect(recall(score.overall), 'overall recall').toBeGreaterThanOrEqual(MIN_RECALL);
    expect(score.falsePositiveFiles / score.files, `false-positive files: ${top(score.falsePositives, 20)}`).toBeLessThanOrEqual(
      MAX_FALSE_POSITIVE_FILES,
    );    // Look-alikes (wrong checksums, wrong lengths, placeholders) are no finding under any rule.
    expect(score.lookalikeFalsePositiveFiles, 'look-alike files with a finding').toBe(0);
    const generic = [...score.byFamilyProvider.entries()]
      .filter(([, t]) => recall(t) < MIN_PROVIDER_SHARE)
      .map(([f, t]) => `${f} ${recall(t).toFixed(3)}`);
    expect(generic, `families where under ${MIN_PROVIDER_SHARE} is found by a provider rule: ${generic.join(', ')}`).toEqual([]);
  });
});

describe("the pack's confirm tests (a cheap check of each hit of a common keyword, issue #19)", () => {
  const withConfirm = defaultRules.filter((r) => r.confirm !== undefined);
  const unconfirmed = new Engine({ rules: defaultRules.map(({ confirm: _dropped, ...r }) => r), fingerprintKey: Buffer.alloc(32, 0x5a) });
  const shape = (e: Engine, b: Buffer): string[] => e.scan(b).map((f) => `${f.ruleId} ${f.offset} ${f.length} ${f.fingerprint}`);

  it('are where a keyword is common text (url-credentials, maven-repository-password)', () => {
    expect(withConfirm.map((r) => r.id).sort()).toEqual(['maven-repository-password', 'url-credentials']);
  });

  it('drop no finding: the pack finds the same with and without them, on the corpus and on the node_modules text', () => {
    const docs = generateCorpus({ seed: SEED + 2 });
    const real = readTextFiles('node_modules', { extensions: ['.js', '.json', '.md'], maxBytes: 4 * 2 ** 20 });
    let found = 0;
    for (const b of [...docs.map((d) => Buffer.from(d.text, 'utf8')), ...real.map((f) => f.content)]) {
      const a = shape(engine, b);
      expect(a).toEqual(shape(unconfirmed, b));
      found += a.filter((f) => withConfirm.some((r) => f.startsWith(`${r.id} `))).length;
    }
    expect(found, 'findings of the confirmed rules in the texts compared').toBeGreaterThanOrEqual(10);
  });
});

describe('real text (the project’s own node_modules)', () => {
  it('reports findings per MB and per rule on real files', () => {
    const files = readTextFiles('node_modules', { extensions: ['.js', '.ts', '.json', '.md'], maxBytes: 16 * 2 ** 20 });
    const bytes = totalBytes(files);
    expect(bytes).toBeGreaterThan(1e6);
    const perRule = new Map<string, number>();
    const filesWithFindings = new Set<string>();
    for (const f of files) {
      for (const finding of engine.scan(f.content)) {
        perRule.set(finding.ruleId, (perRule.get(finding.ruleId) ?? 0) + 1);
        filesWithFindings.add(f.path);
      }
    }
    const total = [...perRule.values()].reduce((a, b) => a + b, 0);
    console.log(
      `real text: ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB, ${total} findings ` +
        `(${(total / (bytes / 1e6)).toFixed(2)}/MB) in ${filesWithFindings.size} files` +
        (perRule.size > 0 ? `; per rule: ${top(perRule, 30)}` : ''),
    );
    // Not gated on zero: node_modules holds test fixtures with key-shaped strings on
    // purpose. The corpus gate above is on the synthetic look-alikes. This bounds the
    // share of real files flagged so a rule that fires on ordinary code fails loudly.
    expect(filesWithFindings.size / files.length).toBeLessThan(0.01);
  });
});
