// Regenerates the rule list in docs/rules.md from the shipped pack: `npm run docs:rules`.
// test/rules-doc.test.ts fails when the page is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatRuleMarkdown, replaceRulesSection, ruleRows } from '../detectors/rule-list.js';
import { defaultRules } from '../detectors/rules/index.js';

const page = fileURLToPath(new URL('../docs/rules.md', import.meta.url));
const before = readFileSync(page, 'utf8');
const after = replaceRulesSection(before, formatRuleMarkdown(ruleRows(defaultRules)));
if (after === before) process.stdout.write('docs/rules.md is up to date\n');
else {
  writeFileSync(page, after);
  process.stdout.write(`docs/rules.md: rule list rewritten (${defaultRules.length} rules)\n`);
}
