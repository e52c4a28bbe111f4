// The shipped rule pack, checked rule by rule: shape (ids, keywords, titles, examples,
// destinations), that it compiles under RE2, and that every positive example is found
// by its own rule and no negative example is, with the full pack loaded.
//
// Examples name synthetic values by marker, expanded here from the corpus generators
// (test/corpus/gen): `@@rule-id@@` is a fresh valid value of that rule; modifiers:
//   `|bad` the last character changed (breaks a checksum), `|t` the value without its
//   keyword prefix (`ghp_`, `AKIA`), `|lc` / `|uc` lower / upper case, `|x` the value as is.
// Test names carry rule ids and example numbers, never values.
import { describe, expect, test } from 'vitest';
import { Engine } from '../detectors/engine.js';
import { defaultRules } from '../detectors/rules/index.js';
import type { RuleSpec } from '../detectors/types.js';
import { familyGenerators, type Generator } from './corpus/gen/index.js';
import { createRng, type Rng } from './corpus/rng.js';

const generators = new Map<string, Generator>();
for (const family of Object.values(familyGenerators)) {
  for (const [id, gen] of Object.entries(family)) generators.set(id, gen);
}

function applyModifier(value: string, modifier: string, rule: RuleSpec | undefined): string {
  switch (modifier) {
    case '':
    case 'x':
      return value;
    case 'bad': {
      const last = value[value.length - 1] ?? '';
      const swap = last === 'A' ? 'B' : last === 'a' ? 'b' : last === '0' ? '1' : /[a-z]/.test(last) ? 'a' : /[0-9]/.test(last) ? '0' : 'A';
      return value.slice(0, -1) + swap;
    }
    case 't': {
      const lower = value.toLowerCase();
      const prefix = (rule?.keywords ?? [])
        .filter((k) => lower.startsWith(k.toLowerCase()))
        .sort((a, b) => b.length - a.length)[0];
      return prefix === undefined ? value.slice(Math.floor(value.length / 2)) : value.slice(prefix.length);
    }
    case 'lc':
      return value.toLowerCase();
    case 'uc':
      return value.toUpperCase();
    default:
      throw new Error(`unknown example modifier |${modifier}`);
  }
}

const byId = new Map(defaultRules.map((r) => [r.id, r]));

/** Expand `@@id@@` / `@@id|mod@@` markers; one value per rule id within an example. */
function expand(example: string, rng: Rng): string {
  const parts = example.split('@@');
  if (parts.length % 2 === 0) throw new Error('unbalanced @@ marker');
  const values = new Map<string, string>();
  let out = '';
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      out += part;
      return;
    }
    const [id = '', modifier = ''] = part.split('|');
    const gen = generators.get(id);
    if (gen === undefined) throw new Error(`no corpus generator for rule ${id}`);
    let value = values.get(id);
    if (value === undefined) {
      value = gen(rng);
      values.set(id, value);
    }
    out += applyModifier(value, modifier, byId.get(id));
  });
  return out;
}

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const HOST_PATTERN = /^(?:\*\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

describe('the rule pack', () => {
  test('has at least 150 rules', () => {
    expect(defaultRules.length).toBeGreaterThanOrEqual(150);
  });

  test('rule ids are unique and kebab-case', () => {
    const ids = defaultRules.map((r) => r.id);
    const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(dupes).toEqual([]);
    expect(ids.filter((id) => !KEBAB.test(id))).toEqual([]);
  });

  test('compiles under RE2 as one engine (a bad rule would throw RuleError naming it)', () => {
    expect(() => new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32) })).not.toThrow();
  });
});

const KEY = Buffer.alloc(32, 1);
const compilesAlone = (r: RuleSpec): boolean => {
  try {
    new Engine({ rules: [r], fingerprintKey: KEY });
    return true;
  } catch {
    return false;
  }
};
/** The full pack, minus rules that do not compile (each of those fails its own test below). */
const engine = new Engine({ rules: defaultRules.filter(compilesAlone), fingerprintKey: KEY });
const cases = defaultRules.map((r, i) => [r.id, r, i] as const);

describe.each(cases)('rule %s', (id, rule, index) => {
  test('compiles under RE2', () => {
    expect(() => new Engine({ rules: [rule], fingerprintKey: KEY })).not.toThrow();
  });

  test('has a title, keywords and at least one positive and one negative example', () => {
    expect(rule.title.trim().length).toBeGreaterThan(0);
    expect(rule.keywords.length).toBeGreaterThan(0);
    expect(rule.keywords.every((k) => k.trim().length > 0)).toBe(true);
    expect(rule.examples.positive.length).toBeGreaterThanOrEqual(1);
    expect(rule.examples.negative.length).toBeGreaterThanOrEqual(1);
  });

  test('destinations are host patterns (lower case, no scheme, no path)', () => {
    const bad = (rule.destinations ?? []).filter((d) => !HOST_PATTERN.test(d));
    expect(bad).toEqual([]);
  });

  test('every positive example is found by this rule', () => {
    const rng = createRng(1000 + index);
    const missed: number[] = [];
    rule.examples.positive.forEach((ex, i) => {
      const found = engine.scan(Buffer.from(expand(ex, rng))).some((f) => f.ruleId === id);
      if (!found) missed.push(i);
    });
    expect(missed, `positive examples (0-based) of ${id} not found`).toEqual([]);
  });

  test('no negative example is found by this rule', () => {
    const rng = createRng(2000 + index);
    const flagged: number[] = [];
    rule.examples.negative.forEach((ex, i) => {
      if (engine.scan(Buffer.from(expand(ex, rng))).some((f) => f.ruleId === id)) flagged.push(i);
    });
    expect(flagged, `negative examples (0-based) of ${id} found`).toEqual([]);
  });
});
