// The shipped rule pack, checked rule by rule: shape (ids, keywords, titles, examples,
// destinations), that it compiles under RE2, and that every positive example is found
// by its own rule and no negative example is, with the full pack loaded; and that the
// pack passes checkRuleExamples, the load-time check every operator rule file passes.
// Examples are literal synthetic strings beside each rule.
// Test names carry rule ids and example numbers, never values.
import { describe, expect, test } from 'vitest';
import { Engine } from '../detectors/engine.js';
import { checkRuleExamples } from '../detectors/load-rules.js';
import { defaultRules } from '../detectors/rules/index.js';
import type { RuleSpec } from '../detectors/types.js';

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

  test('passes the load-time example check that operator rule files pass', () => {
    const pack = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 2) });
    expect(() => checkRuleExamples(pack, 'shipped pack', defaultRules)).not.toThrow();
  });

  test('examples are literal strings, not `@@rule-id@@` markers', () => {
    const marked = defaultRules.filter((r) => [...r.examples.positive, ...r.examples.negative].some((ex) => ex.includes('@@')));
    expect(marked.map((r) => r.id)).toEqual([]);
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
const cases = defaultRules.map((r) => [r.id, r] as const);

describe.each(cases)('rule %s', (id, rule) => {
  const { examples } = rule;

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
    const missed: number[] = [];
    examples.positive.forEach((ex, i) => {
      const found = engine.scan(Buffer.from(ex)).some((f) => f.ruleId === id);
      if (!found) missed.push(i);
    });
    expect(missed, `positive examples (0-based) of ${id} not found`).toEqual([]);
  });

  test('no negative example is found by this rule', () => {
    const flagged: number[] = [];
    examples.negative.forEach((ex, i) => {
      if (engine.scan(Buffer.from(ex)).some((f) => f.ruleId === id)) flagged.push(i);
    });
    expect(flagged, `negative examples (0-based) of ${id} found`).toEqual([]);
  });
});
