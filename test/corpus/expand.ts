// Expansion of `@@…@@` example markers into synthetic values from the corpus generators
// (test/corpus/gen): `@@rule-id@@` is a fresh valid value of that rule; modifiers:
//   `|bad` the last character changed (breaks a checksum), `|t` the value without its
//   keyword prefix (`ghp_`, `AKIA`), `|lc` / `|uc` lower / upper case, `|x` the value as is.
// One value per rule id within an example. `expandRuleExamples` draws from an rng seeded by
// the rule id (one stream for the positives, one for the negatives), so a rule's expansion
// does not depend on where it sits in the pack. scripts/pack-json.ts and
// scripts/examples-literal.ts use it; an example without markers expands to itself.
import type { RuleSpec } from '../../detectors/types.js';
import { familyGenerators, type Generator } from './gen/index.js';
import { createRng, type Rng } from './rng.js';

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

/**
 * The value of each marker of one example, in order (the example without markers has
 * none); `rule` looks a rule up by id (for `|t`).
 */
export function markerValues(example: string, rng: Rng, rule: (id: string) => RuleSpec | undefined): string[] {
  const parts = example.split('@@');
  if (parts.length % 2 === 0) throw new Error('unbalanced @@ marker');
  const values = new Map<string, string>();
  const out: string[] = [];
  parts.forEach((part, i) => {
    if (i % 2 === 0) return;
    const [id = '', modifier = ''] = part.split('|');
    const gen = generators.get(id);
    if (gen === undefined) throw new Error(`no corpus generator for rule ${id}`);
    let value = values.get(id);
    if (value === undefined) {
      value = gen(rng);
      values.set(id, value);
    }
    out.push(applyModifier(value, modifier, rule(id)));
  });
  return out;
}

/** Puts `values` in place of the markers of `example`, in order. */
function fill(example: string, values: readonly string[]): string {
  return example
    .split('@@')
    .map((part, i) => (i % 2 === 0 ? part : (values[(i - 1) / 2] ?? '')))
    .join('');
}

/** FNV-1a, 32 bits: a seed from a string. */
function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The marker values of each of a rule's examples, deterministically per rule id. */
export function ruleMarkerValues(rule: RuleSpec, pack: readonly RuleSpec[]): { positive: string[][]; negative: string[][] } {
  const byId = new Map(pack.map((r) => [r.id, r]));
  const lookup = (id: string): RuleSpec | undefined => byId.get(id);
  const positive = createRng(seedOf(`${rule.id} positive`));
  const negative = createRng(seedOf(`${rule.id} negative`));
  return {
    positive: rule.examples.positive.map((ex) => markerValues(ex, positive, lookup)),
    negative: rule.examples.negative.map((ex) => markerValues(ex, negative, lookup)),
  };
}

/** A rule's examples with every marker expanded, deterministically per rule id. */
export function expandRuleExamples(rule: RuleSpec, pack: readonly RuleSpec[]): RuleSpec['examples'] {
  const values = ruleMarkerValues(rule, pack);
  return {
    positive: rule.examples.positive.map((ex, i) => fill(ex, values.positive[i] ?? [])),
    negative: rule.examples.negative.map((ex, i) => fill(ex, values.negative[i] ?? [])),
  };
}
