// One-off codemod (issue #14): replaces every `@@rule-id@@` / `@@id|mod@@` marker in the
// shipped rule files (detectors/rules/<family>.ts) by its value as test/corpus/expand.ts
// expands it (an rng seeded by the rule id), so each rule carries literal synthetic example
// strings. Edits only the marker text inside each example's string literal, escaped for
// that literal's quotes. Run once: `npx tsx scripts/examples-literal.ts`; then
// `npx tsx scripts/pack-json.ts` prints the same `examples` hash as before the run.
// Prints counts, never a value.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { defaultRules, familyRules } from '../detectors/rules/index.js';
import { ruleMarkerValues } from '../test/corpus/expand.js';

/** `value` escaped for a string literal quoted with `quote`. */
function escape(value: string, quote: string): string {
  let out = '';
  for (const c of value) {
    const code = c.charCodeAt(0);
    if (c === '\\') out += '\\\\';
    else if (c === quote) out += `\\${quote}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return out;
}

/** The elements of `export const rules = [...]`. */
function ruleElements(source: ts.SourceFile): readonly ts.Expression[] {
  for (const st of source.statements) {
    if (!ts.isVariableStatement(st)) continue;
    for (const d of st.declarationList.declarations) {
      if (ts.isIdentifier(d.name) && d.name.text === 'rules' && d.initializer !== undefined && ts.isArrayLiteralExpression(d.initializer)) {
        return d.initializer.elements;
      }
    }
  }
  throw new Error(`${source.fileName}: no rules array`);
}

function markedLiterals(node: ts.Node): (ts.StringLiteral | ts.NoSubstitutionTemplateLiteral)[] {
  const out: (ts.StringLiteral | ts.NoSubstitutionTemplateLiteral)[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && n.text.includes('@@')) out.push(n);
    else if (ts.isTemplateExpression(n) && n.getText().includes('@@')) throw new Error(`a marker in a template with substitutions at ${n.pos}`);
    n.forEachChild(visit);
  };
  visit(node);
  return out;
}

let files = 0;
let replaced = 0;
for (const [family, rules] of Object.entries(familyRules)) {
  const path = fileURLToPath(new URL(`../detectors/rules/${family}.ts`, import.meta.url));
  const text = readFileSync(path, 'utf8');
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true);
  const elements = ruleElements(source);
  if (elements.length !== rules.length) throw new Error(`${family}: ${elements.length} elements, ${rules.length} rules`);
  const edits: { start: number; end: number; text: string }[] = [];
  elements.forEach((element, i) => {
    const rule = rules[i];
    if (rule === undefined) throw new Error(`${family}: no rule ${i}`);
    const values = ruleMarkerValues(rule, defaultRules);
    const pending = [
      ...rule.examples.positive.map((ex, k) => ({ ex, values: values.positive[k] ?? [], used: false })),
      ...rule.examples.negative.map((ex, k) => ({ ex, values: values.negative[k] ?? [], used: false })),
    ].filter((p) => p.ex.includes('@@'));
    const literals = markedLiterals(element);
    for (const lit of literals) {
      const match = pending.find((p) => !p.used && p.ex === lit.text);
      if (match === undefined) throw new Error(`${family}: rule ${rule.id}: a marked literal that is not one of its examples`);
      match.used = true;
      const raw = lit.getText();
      const quote = raw[0] ?? "'";
      const inner = raw.slice(1, -1).split('@@');
      if ((inner.length - 1) / 2 !== match.values.length) throw new Error(`${family}: rule ${rule.id}: marker count differs`);
      const body = inner.map((part, k) => (k % 2 === 0 ? part : escape(match.values[(k - 1) / 2] ?? '', quote))).join('');
      edits.push({ start: lit.getStart(), end: lit.getEnd(), text: `${quote}${body}${quote}` });
      replaced++;
    }
    const left = pending.filter((p) => !p.used).length;
    if (left > 0) throw new Error(`${family}: rule ${rule.id}: ${left} marked examples not found in its source`);
  });
  if (edits.length === 0) continue;
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  writeFileSync(path, out);
  files++;
}
process.stdout.write(`${replaced} example literals rewritten in ${files} files\n`);
