// User rules: YAML files in the RuleSpec shape, and gitleaks-format TOML files
// (`[[rules]]` with id, regex, secretGroup, entropy, keywords, allowlists), turned
// into RuleSpec. `parseRules` is pure (text in, rules out); `loadRulesFile` is the thin
// reader the CLI and the proxy call. Every problem of a file is reported at once, each
// naming the file, the rule (index and id) and the key.
//
// YAML: a list of rules, or `{ rules: [...] }`. Keys as in RuleSpec; `title` defaults to
// the id, `severity` to high, `examples` to none. `keywords` may be left out when the
// regex starts with a literal (`acme_[a-z]{20}` -> `acme_`).
// gitleaks TOML: `description` becomes the title, severity is high; `path`, `tags`,
// `[extend]`, allowlist `paths`/`commits` are ignored (chokepoint scans content, not
// repositories): `parseRulesWithNotes` says so. `[rules.allowlist]`,
// `[[rules.allowlists]]` and the global `[allowlist]` / `[[allowlists]]` become the
// rule's allowlist (regexes over the secret, stopwords).
// A rule's own examples are its tests: `checkRuleExamples` runs them with the engine the
// rules will scan with, and a positive not found or a negative found is a problem of the
// file, as a regex that does not compile is.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import RE2 from 're2';
import { parse as parseToml, TomlError } from 'smol-toml';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { compileRule, RuleError } from './compile.js';
import type { Engine } from './engine.js';
import { VALIDATOR_NAMES, type RuleSpec } from './types.js';

export type RulesFormat = 'yaml' | 'toml';

/** A rules file with problems; `problems` lists each, `message` joins them on one line. */
export class RulesFileError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    // Each problem names the file already.
    super(`${problems.length === 1 ? '' : `${problems.length} problems: `}${problems.join('; ')}`);
    this.name = 'RulesFileError';
  }
}


/** Capturing groups of an RE2 pattern, or an error message if it does not compile. */
function re2Groups(pattern: string): number | string {
  try {
    // Alternation with the empty pattern matches '' and reports every group.
    const m = new RE2(`(?:${pattern})|`).exec('');
    return m === null ? 0 : m.length - 1;
  } catch (err) {
    return `does not compile under RE2 (${(err as Error).message})`;
  }
}

const re2String = z.string().superRefine((s, ctx) => {
  const g = re2Groups(s);
  if (typeof g === 'string') ctx.addIssue({ code: 'custom', message: g });
});

const ruleSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .refine((s) => [...s].every((c) => /* no RegExp on input data */ isIdChar(c)), 'must be letters, digits, `.`, `_` or `-`'),
    title: z.string().min(1).optional(),
    severity: z.enum(['low', 'medium', 'high', 'critical']).default('high'),
    regex: re2String.pipe(z.string().min(1)),
    keywords: z.array(z.string().min(1, 'keywords must not be empty')).min(1).optional(),
    secretGroup: z.number().int().min(0).optional(),
    entropy: z.number().min(0).max(8).optional(),
    validator: z.enum(VALIDATOR_NAMES).optional(),
    allowlist: z
      .object({
        values: z.array(z.string()).optional(),
        regexes: z.array(re2String).optional(),
        stopwords: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    destinations: z.array(z.string().min(1)).optional(),
    maxLength: z.number().int().positive().optional(),
    confirm: z.object({ contains: z.string().min(1), until: z.string().min(1), within: z.number().int().positive() }).strict().optional(),
    generic: z.boolean().optional(),
    examples: z
      .object({ positive: z.array(z.string()).default([]), negative: z.array(z.string()).default([]) })
      .strict()
      .default({ positive: [], negative: [] }),
  })
  .strict();

function isIdChar(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '-' || c === '_' || c === '.';
}

const META = new Set(['\\', '.', '^', '$', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}']);

/**
 * The literal text every match of `regex` starts with, if any: leading flags `(?i)`,
 * anchors (`^`, `\b`) and opening groups are skipped; an alternation or a quantifier
 * ends the literal (a quantified last character is dropped). '' when there is none.
 */
export function literalPrefix(regex: string): string {
  let i = 0;
  let depth = 0;
  // Skip what matches no text, and group openers.
  for (;;) {
    if (regex.startsWith('(?', i) && !regex.startsWith('(?:', i) && !regex.startsWith('(?P<', i) && !regex.startsWith('(?<', i)) {
      const close = regex.indexOf(')', i);
      const inner = regex.slice(i + 2, close);
      if (close < 0 || inner.includes(':') || ![...inner].every((c) => 'imsU-'.includes(c))) return '';
      i = close + 1;
    } else if (regex.startsWith('(?:', i)) {
      i += 3;
      depth++;
    } else if (regex.startsWith('(?P<', i) || regex.startsWith('(?<', i)) {
      const close = regex.indexOf('>', i);
      if (close < 0) return '';
      i = close + 1;
      depth++;
    } else if (regex[i] === '(') {
      i++;
      depth++;
    } else if (regex[i] === '^') {
      i++;
    } else if (regex.startsWith('\\b', i) || regex.startsWith('\\A', i)) {
      i += 2;
    } else {
      break;
    }
  }
  let lit = '';
  let lastStart = 0;
  while (i < regex.length) {
    const c = regex[i] as string;
    if (c === '\\') {
      const n = regex[i + 1];
      if (n === undefined || /* letters and digits make classes (\d, \w, \x41) */ (isIdChar(n) && n !== '.' && n !== '-' && n !== '_')) break;
      lastStart = lit.length;
      lit += n;
      i += 2;
      continue;
    }
    if (META.has(c)) {
      if (c === '?' || c === '*' || c === '{') lit = lit.slice(0, lastStart);
      else if (c === '|') return '';
      break;
    }
    lastStart = lit.length;
    lit += c;
    i++;
  }
  // Inside a group an alternation later on may offer another start.
  if (depth > 0 && hasTopLevelAlternation(regex.slice(i), depth)) return '';
  return lit;
}

/** Whether `rest` has a `|` before the `depth` open groups close. */
function hasTopLevelAlternation(rest: string, depth: number): boolean {
  let d = depth;
  let inClass = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') d++;
    else if (c === ')') {
      d--;
      if (d === 0) return false;
    } else if (c === '|' && d <= depth) return true;
  }
  return false;
}

/** Shortest derived keyword worth prefiltering on. */
const MIN_DERIVED_KEYWORD = 3;

type Problems = string[];

function ruleLabel(source: string, index: number, id: unknown): string {
  return `${source}: rule ${index + 1}${typeof id === 'string' && id.length > 0 ? ` (${id})` : ''}`;
}

/** Validates one YAML-shaped rule object; problems are pushed, the rule returned when valid. */
function validateRule(raw: unknown, index: number, source: string, problems: Problems): RuleSpec | undefined {
  const id = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['id'] : undefined;
  const label = ruleLabel(source, index, id);
  const parsed = ruleSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String).join('.');
      problems.push(`${label}: ${path.length > 0 ? `${path}: ` : ''}${issue.message}`);
    }
    return undefined;
  }
  const r = parsed.data;
  const groups = re2Groups(r.regex) as number;
  if (r.secretGroup !== undefined && r.secretGroup > groups) {
    problems.push(`${label}: secretGroup: ${r.secretGroup} but the regex has ${groups} capturing group${groups === 1 ? '' : 's'}`);
    return undefined;
  }
  let keywords = r.keywords;
  if (keywords === undefined) {
    const prefix = literalPrefix(r.regex);
    if (prefix.length < MIN_DERIVED_KEYWORD) {
      problems.push(
        `${label}: keywords: none given and the regex has no literal prefix of ${MIN_DERIVED_KEYWORD}+ characters to derive one from; ` +
          'add keywords (literal text that occurs in every match)',
      );
      return undefined;
    }
    keywords = [prefix];
  }
  const spec: RuleSpec = { ...r, title: r.title ?? r.id, keywords, examples: r.examples };
  for (const k of Object.keys(spec) as Array<keyof RuleSpec>) if (spec[k] === undefined) delete spec[k];
  try {
    compileRule(spec, 0, true); // what the schema cannot see (confirm.until is RE2): refused here, not at engine start
  } catch (err) {
    if (!(err instanceof RuleError)) throw err;
    problems.push(`${label}: ${err.message.slice(`rule ${spec.id}: `.length)}`);
    return undefined;
  }
  return spec;
}

function checkDuplicates(rules: readonly RuleSpec[], source: string, problems: Problems): void {
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(r.id)) problems.push(`${source}: rule id ${r.id} appears more than once`);
    seen.add(r.id);
  }
}

function parseYamlRules(text: string, source: string, problems: Problems): unknown[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = lineCounter.linePos(e.pos[0]);
      problems.push(`${source}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML: ${e.message.split('\n')[0] ?? ''}`);
    }
    return [];
  }
  const data: unknown = doc.toJS();
  const list = Array.isArray(data)
    ? data
    : typeof data === 'object' && data !== null && Array.isArray((data as Record<string, unknown>)['rules'])
      ? ((data as Record<string, unknown>)['rules'] as unknown[])
      : undefined;
  if (list === undefined) {
    problems.push(`${source}: expected a list of rules, or a mapping with a \`rules\` list`);
    return [];
  }
  return list;
}

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v);

/** gitleaks allowlists (a table or a list of them) folded into one RuleSpec allowlist. */
function gitleaksAllowlist(raw: unknown, where: string, problems: Problems, notes: string[]): NonNullable<RuleSpec['allowlist']> {
  const out: { regexes: string[]; stopwords: string[] } = { regexes: [], stopwords: [] };
  const lists = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  for (const [i, l] of lists.entries()) {
    const at = `${where}${Array.isArray(raw) ? `[${i}]` : ''}`;
    if (!isTable(l)) {
      problems.push(`${at}: expected a table`);
      continue;
    }
    for (const [key, value] of Object.entries(l)) {
      if (key === 'regexes' || key === 'stopwords') {
        if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
          problems.push(`${at}.${key}: expected a list of strings`);
          continue;
        }
        for (const [j, v] of (value as string[]).entries()) {
          if (key === 'regexes') {
            const g = re2Groups(v);
            if (typeof g === 'string') problems.push(`${at}.regexes[${j}]: ${g}`);
            else out.regexes.push(v);
          } else out.stopwords.push(v);
        }
      } else if (key === 'regexTarget') {
        if (value !== 'secret' && value !== undefined) notes.push(`${at}: regexTarget "${String(value)}" is applied to the secret only`);
      } else if (key === 'description' || key === 'condition') {
        // Informational; `condition` only matters with more than one kind of check.
      } else {
        notes.push(`${at}: "${key}" is ignored (chokepoint matches allowlists against the secret)`);
      }
    }
  }
  return out;
}

function parseGitleaks(text: string, source: string, problems: Problems, notes: string[]): unknown[] {
  let data: Table;
  try {
    data = parseToml(text) as Table;
  } catch (err) {
    if (err instanceof TomlError) problems.push(`${source}:${err.line}:${err.column}: TOML: ${err.message.split('\n')[0] ?? ''}`);
    else problems.push(`${source}: TOML: ${(err as Error).message}`);
    return [];
  }
  const rules = data['rules'];
  if (!Array.isArray(rules)) {
    problems.push(`${source}: expected [[rules]] tables`);
    return [];
  }
  if (data['extend'] !== undefined) notes.push(`${source}: [extend] is ignored (the shipped rule pack is always loaded)`);
  const global = gitleaksAllowlist(data['allowlist'] ?? data['allowlists'], `${source}: allowlist`, problems, notes);
  const out: unknown[] = [];
  for (const [i, r] of rules.entries()) {
    if (!isTable(r)) {
      problems.push(`${ruleLabel(source, i, undefined)}: expected a table`);
      continue;
    }
    const label = ruleLabel(source, i, r['id']);
    if (r['regex'] === undefined) {
      notes.push(`${label}: no regex (a path-only rule) — skipped`);
      continue;
    }
    const rule: Table = { id: r['id'], regex: r['regex'], severity: 'high' };
    if (r['description'] !== undefined) rule['title'] = r['description'];
    if (r['secretGroup'] !== undefined) rule['secretGroup'] = r['secretGroup'];
    if (r['entropy'] !== undefined) rule['entropy'] = r['entropy'];
    if (r['keywords'] !== undefined) rule['keywords'] = r['keywords'];
    for (const ignored of ['path', 'tags']) {
      if (r[ignored] !== undefined) notes.push(`${label}: "${ignored}" is ignored (chokepoint scans content, not file paths)`);
    }
    const own = gitleaksAllowlist(r['allowlists'] ?? r['allowlist'], `${label}: allowlist`, problems, notes);
    const regexes = [...own.regexes ?? [], ...global.regexes ?? []];
    const stopwords = [...own.stopwords ?? [], ...global.stopwords ?? []];
    if (regexes.length > 0 || stopwords.length > 0) {
      const allowlist: Table = {};
      if (regexes.length > 0) allowlist['regexes'] = regexes;
      if (stopwords.length > 0) allowlist['stopwords'] = stopwords;
      rule['allowlist'] = allowlist;
    }
    out.push(rule);
  }
  return out;
}

/** Rules from a YAML or gitleaks-TOML text, with notes about what was ignored. Throws RulesFileError. */
export function parseRulesWithNotes(text: string, format: RulesFormat, source: string): { rules: RuleSpec[]; notes: string[] } {
  const problems: Problems = [];
  const notes: string[] = [];
  const raw = format === 'toml' ? parseGitleaks(text, source, problems, notes) : parseYamlRules(text, source, problems);
  const rules: RuleSpec[] = [];
  raw.forEach((r, i) => {
    const spec = validateRule(r, i, source, problems);
    if (spec) rules.push(spec);
  });
  checkDuplicates(rules, source, problems);
  if (problems.length > 0) throw new RulesFileError(source, problems);
  if (rules.length === 0 && raw.length === 0) throw new RulesFileError(source, [`${source}: has no rules`]);
  return { rules, notes };
}

/** Rules from a YAML or gitleaks-TOML text. Throws RulesFileError listing every problem. */
export function parseRules(text: string, format: RulesFormat, source: string): RuleSpec[] {
  return parseRulesWithNotes(text, format, source).rules;
}

/** `.toml` is gitleaks TOML, `.yaml`/`.yml` YAML; otherwise a `[[rules]]` line means TOML. */
export function rulesFormatOf(path: string, text: string): RulesFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.toml') return 'toml';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return text.split('\n').some((l) => l.trim() === '[[rules]]') ? 'toml' : 'yaml';
}

/** Reads and parses a rules file. Throws RulesFileError (unreadable file included). */
export async function loadRulesFile(path: string): Promise<{ rules: RuleSpec[]; notes: string[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RulesFileError(path, [`${path}: cannot read rules file${code ? ` (${code})` : ''}`]);
  }
  return parseRulesWithNotes(text, rulesFormatOf(path, text), path);
}

/**
 * Runs each rule's examples through `engine` (built with these rules among all the others
 * they will scan with, so a shipped rule that claims the same text counts): every positive
 * example must be reported as this rule, no negative example may be. Throws a
 * RulesFileError listing every failing example by rule and number, never by its text
 * (an example may hold a real credential by mistake).
 */
export function checkRuleExamples(engine: Engine, source: string, rules: readonly RuleSpec[]): void {
  const problems: string[] = [];
  rules.forEach((rule, i) => {
    const label = ruleLabel(source, i, rule.id);
    const foundBy = (example: string): boolean => engine.scan(Buffer.from(example, 'utf8')).some((f) => f.ruleId === rule.id);
    rule.examples.positive.forEach((example, k) => {
      if (!foundBy(example)) problems.push(`${label}: examples.positive[${k}] is not found by this rule`);
    });
    rule.examples.negative.forEach((example, k) => {
      if (foundBy(example)) problems.push(`${label}: examples.negative[${k}] is found by this rule`);
    });
  });
  if (problems.length > 0) throw new RulesFileError(source, problems);
}
