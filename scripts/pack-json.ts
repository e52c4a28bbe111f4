// Fingerprints of the shipped rule pack, to prove a refactor of detectors/rules/ leaves it
// unchanged: `npx tsx scripts/pack-json.ts` prints
//   pack      sha256 of JSON.stringify(defaultRules) with every rule's `examples` removed
//   canonical the same with each rule's keys sorted (key order is not meaning: it changes
//             when a rule moves from an object literal to a builder, nothing reads it)
//   examples  sha256 of the examples as expanded (test/corpus/expand.ts; markers, if any,
//             drawn from an rng seeded by the rule id; literal examples are themselves)
// `--lines` prints instead one canonical rule a line (examples removed), to diff two trees.
// Prints hashes and regexes, never an example value.
import { createHash } from 'node:crypto';
import { defaultRules } from '../detectors/rules/index.js';
import type { RuleSpec } from '../detectors/types.js';
import { expandRuleExamples } from '../test/corpus/expand.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

function withoutExamples(rule: RuleSpec): Omit<RuleSpec, 'examples'> {
  const { examples: _examples, ...rest } = rule;
  return rest;
}

/** JSON with object keys sorted at every depth (arrays keep their order). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const bare = defaultRules.map(withoutExamples);
if (process.argv.includes('--lines')) {
  for (const r of bare) process.stdout.write(`${canonical(r)}\n`);
} else {
  const examples = defaultRules.map((r) => ({ id: r.id, ...expandRuleExamples(r, defaultRules) }));
  process.stdout.write(`rules     ${defaultRules.length}\n`);
  process.stdout.write(`pack      ${sha256(JSON.stringify(bare))}\n`);
  process.stdout.write(`canonical ${sha256(canonical(bare))}\n`);
  process.stdout.write(`examples  ${sha256(JSON.stringify(examples))}\n`);
}
