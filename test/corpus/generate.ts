// The labelled corpus: documents with planted secrets at known byte offsets, and
// look-alike documents that must yield nothing. Generated in memory from a seed;
// never written to disk. Secret values live only in these objects (to compute and
// check offsets) and must never be printed.
import { buildContext, contextsFor, envNameFromRuleId, fillerLines, type ContextKind } from './contexts.js';
import { familyContextNames, familyContexts, familyGenerators, familyLookalikes } from './gen/index.js';
import { generateLookalikes, type LookalikeKind } from './lookalikes.js';
import { createRng } from './rng.js';

export interface ExpectedSecret {
  ruleId: string;
  /** The planted value. Never print it. */
  value: string;
  /** Byte offset and byte length of the value (or of the encoded blob holding it). */
  offset: number;
  length: number;
  /** Set when the value is inside an encoding the engine must decode to see it. */
  encoding?: 'base64';
}

export interface CorpusDocument {
  name: string;
  /** Rule family of the planted secret, or `lookalike`. */
  family: string;
  ruleId?: string;
  /** The context kind (positives) or look-alike kind; a family's own contexts and look-alikes add kinds. */
  context: ContextKind | LookalikeKind | string;
  text: string;
  expected: ExpectedSecret[];
}

export interface CorpusOptions {
  seed: number;
  /** Documents per rule id, each in a different context where possible. Default 6. */
  filesPerRule?: number;
  /** Look-alike documents. Default 380 (20 of each kind). */
  lookalikeFiles?: number;
  /** Include contexts where the secret is base64-encoded (Basic auth, docker config). Default true. */
  encoded?: boolean;
  /** Look-alike documents of each kind a family brings itself (gen/<family>.ts `lookalikes`). Default 8. */
  familyLookalikeFiles?: number;
}

/** FNV-1a of a string: a per-rule seed, so adding a rule does not reshuffle the others. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Every rule id that has a generator, with its family. */
export function generatedRuleIds(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [family, gens] of Object.entries(familyGenerators)) for (const id of Object.keys(gens)) out.set(id, family);
  return out;
}

export function generateCorpus(opts: CorpusOptions): CorpusDocument[] {
  const filesPerRule = opts.filesPerRule ?? 6;
  const docs: CorpusDocument[] = [];
  for (const [family, gens] of Object.entries(familyGenerators)) {
    const names = familyContextNames[family] ?? {};
    for (const [ruleId, gen] of Object.entries(gens)) {
      const rng = createRng((opts.seed ^ fnv1a(ruleId)) >>> 0);
      const anchorNames = names[ruleId] ?? [];
      const anchored = anchorNames.length > 0;
      let turn = rng.int(64);
      const own = familyContexts[family]?.[ruleId] ?? [];
      for (let i = 0; i < filesPerRule; i++) {
        const value = gen(rng);
        if (own.length > 0) {
          const c = own[turn++ % own.length] as (typeof own)[number];
          const [before, after] = c.build(rng, value);
          const head = fillerLines(rng, 1 + rng.int(5), 'log').join('\n') + '\n' + before;
          const text = head + value + after + '\n' + fillerLines(rng, 1 + rng.int(5), 'log').join('\n') + '\n';
          const offset = Buffer.byteLength(head);
          const expected: ExpectedSecret = { ruleId, value, offset, length: Buffer.byteLength(value) };
          docs.push({ name: `${family}/${ruleId}/${i}-${c.kind}`, family, ruleId, context: c.kind, text, expected: [expected] });
          continue;
        }
        const name = anchored ? rng.pick(anchorNames) : envNameFromRuleId(ruleId);
        const planting = { value, name, anchored };
        let kinds = contextsFor(planting);
        if (opts.encoded === false) kinds = kinds.filter((k) => k !== 'http-basic' && k !== 'docker-config');
        const kind = kinds[turn++ % kinds.length] as ContextKind;
        const p = buildContext(kind, rng, planting);
        const offset = Buffer.byteLength(p.text.slice(0, p.start));
        const length = Buffer.byteLength(p.text.slice(p.start, p.start + p.length));
        const expected: ExpectedSecret = { ruleId, value, offset, length };
        if (p.encoding !== undefined) expected.encoding = p.encoding;
        docs.push({ name: `${family}/${ruleId}/${i}-${kind}`, family, ruleId, context: kind, text: p.text, expected: [expected] });
      }
    }
  }
  const rng = createRng((opts.seed ^ 0x5eed1e55) >>> 0);
  for (const l of generateLookalikes(rng, opts.lookalikeFiles ?? 380)) {
    docs.push({ name: l.name, family: 'lookalike', context: l.kind as LookalikeKind, text: l.text, expected: [] });
  }
  for (const [family, kinds] of Object.entries(familyLookalikes)) {
    for (const [kind, make] of Object.entries(kinds)) {
      const lrng = createRng((opts.seed ^ fnv1a(`lookalike/${family}/${kind}`)) >>> 0);
      for (let i = 0; i < (opts.familyLookalikeFiles ?? 8); i++) {
        docs.push({ name: `lookalike/${family}-${kind}/${i}`, family: 'lookalike', context: `${family}-${kind}`, text: make(lrng), expected: [] });
      }
    }
  }
  return docs;
}

// ---------------------------------------------------------------------------
// Scoring a scan of the corpus. Reports carry rule ids and context kinds only.

/** The fields of a finding the score needs. */
export interface ScoredFinding {
  ruleId: string;
  offset: number;
  length: number;
}

export interface Tally {
  expected: number;
  found: number;
}

export interface CorpusScore {
  /** Plain placements (value as-is in the text): the gated recall. */
  overall: Tally;
  byFamily: Map<string, Tally>;
  /**
   * Per family, plain placements of provider (non-generic) rules: `found` counts those a
   * provider rule reported. A generic finding has no destinations, so the proxy cannot
   * tell use from exfiltration: this share is what the rule pack's breadth buys.
   */
  byFamilyProvider: Map<string, Tally>;
  byContext: Map<string, Tally>;
  /** Placements inside base64 (Basic auth, docker config): needs the decoder; not in `overall`. */
  encoded: Tally;
  /** rule id → context kinds of its missed plain placements. */
  misses: Map<string, string[]>;
  /** Documents with a finding that is not an expected secret. */
  falsePositiveFiles: number;
  files: number;
  lookalikeFiles: number;
  lookalikeFalsePositiveFiles: number;
  /** `ruleId in context` → count, for unexpected findings. */
  falsePositives: Map<string, number>;
  /** `found-rule for expected-rule` → count: another specific rule reported the planted span. */
  otherRuleOnSpan: Map<string, number>;
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function tally(m: Map<string, Tally>, k: string, found: boolean): void {
  const t = m.get(k) ?? { expected: 0, found: 0 };
  t.expected++;
  if (found) t.found++;
  m.set(k, t);
}

function overlaps(f: ScoredFinding, e: ExpectedSecret): boolean {
  return f.offset < e.offset + e.length && e.offset < f.offset + f.length;
}

/**
 * Score `scan` over `docs`. A planted secret counts as found when a finding of its rule
 * overlaps it, or (for a generic rule) a finding of any specific rule does. Any finding
 * that overlaps no planted secret makes its document a false-positive file.
 */
export function scoreCorpus(
  docs: readonly CorpusDocument[],
  scan: (text: Buffer) => readonly ScoredFinding[],
  isGeneric: (ruleId: string) => boolean,
): CorpusScore {
  const s: CorpusScore = {
    overall: { expected: 0, found: 0 },
    byFamily: new Map(),
    byFamilyProvider: new Map(),
    byContext: new Map(),
    encoded: { expected: 0, found: 0 },
    misses: new Map(),
    falsePositiveFiles: 0,
    files: docs.length,
    lookalikeFiles: 0,
    lookalikeFalsePositiveFiles: 0,
    falsePositives: new Map(),
    otherRuleOnSpan: new Map(),
  };
  for (const doc of docs) {
    const findings = scan(Buffer.from(doc.text, 'utf8'));
    if (doc.family === 'lookalike') s.lookalikeFiles++;
    for (const e of doc.expected) {
      const onSpan = findings.filter((f) => overlaps(f, e));
      const found = onSpan.some((f) => f.ruleId === e.ruleId || (isGeneric(e.ruleId) && !isGeneric(f.ruleId)));
      if (e.encoding === undefined) {
        for (const f of onSpan) if (f.ruleId !== e.ruleId && !isGeneric(f.ruleId)) bump(s.otherRuleOnSpan, `${f.ruleId} for ${e.ruleId}`);
      } else {
        // The blob itself may be a credential format (a docker `auth`): any specific rule counts.
        s.encoded.expected++;
        if (found || onSpan.some((f) => !isGeneric(f.ruleId))) s.encoded.found++;
        continue;
      }
      s.overall.expected++;
      if (found) s.overall.found++;
      tally(s.byFamily, doc.family, found);
      if (!isGeneric(e.ruleId)) tally(s.byFamilyProvider, doc.family, onSpan.some((f) => !isGeneric(f.ruleId)));
      tally(s.byContext, doc.context, found);
      if (!found) s.misses.set(e.ruleId, [...(s.misses.get(e.ruleId) ?? []), doc.context]);
    }
    const extra = findings.filter((f) => !doc.expected.some((e) => overlaps(f, e)));
    if (extra.length > 0) {
      s.falsePositiveFiles++;
      if (doc.family === 'lookalike') s.lookalikeFalsePositiveFiles++;
      for (const f of extra) bump(s.falsePositives, `${f.ruleId} in ${doc.context}`);
    }
  }
  return s;
}

export function recall(t: Tally): number {
  return t.expected === 0 ? 1 : t.found / t.expected;
}
