// User rule files as a user writes them: YAML in the RuleSpec shape and gitleaks
// TOML, turned into rules the engine runs; every mistake reported at once, each naming
// the file, the rule and the key. Token values are synthetic and made at test time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Engine } from '../detectors/index.js';
import { checkRuleExamples, literalPrefix, loadRulesFile, parseRules, parseRulesWithNotes, RulesFileError } from '../detectors/load-rules.js';
import { defaultRules } from '../detectors/rules/index.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const rng = createRng(77);
const KEY = Buffer.alloc(32, 1);
const dir = mkdtempSync(join(tmpdir(), 'chokepoint-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof RulesFileError) return err.problems;
    throw err;
  }
  throw new Error('expected a RulesFileError');
}

const GITLEAKS = `
title = "team rules"

[extend]
useDefault = true

[allowlist]
description = "global"
stopwords = ["sandbox"]

[[rules]]
id = "acme-api-key"
description = "Acme API key"
regex = '''(?i)\\b(acme_live_[0-9a-z]{24})(?:['"\\s;]|$)'''
secretGroup = 1
entropy = 3.0
keywords = ["acme_live_"]
path = '''\\.env$'''
tags = ["acme"]

[[rules.allowlists]]
regexes = ['''acme_live_0{24}''']

[[rules]]
id = "initech-token"
description = "Initech token"
regex = '''itk-[A-Za-z0-9]{20}'''

[[rules]]
id = "env-files"
path = '''\\.env$'''
`;

describe('gitleaks TOML', () => {
  const { rules, notes } = parseRulesWithNotes(GITLEAKS, 'toml', 'team.toml');
  const engine = new Engine({ rules, fingerprintKey: KEY });

  test('rules become RuleSpecs the engine runs, keywords derived from a literal prefix', () => {
    expect(rules.map((r) => [r.id, r.title, r.severity, r.keywords])).toEqual([
      ['acme-api-key', 'Acme API key', 'high', ['acme_live_']],
      ['initech-token', 'Initech token', 'high', ['itk-']],
    ]);
    const acme = `acme_live_${rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 24)}`;
    const itk = `itk-${rng.chars(ALPHA_NUM, 20)}`;
    const found = engine.scan(Buffer.from(`ACME=${acme}\nx = "${itk}"\n`));
    expect(found.map((f) => [f.ruleId, f.length])).toEqual([
      ['acme-api-key', acme.length],
      ['initech-token', itk.length],
    ]);
  });

  test('rule and global allowlists apply (regexes over the secret, stopwords)', () => {
    const zeros = `acme_live_${'0'.repeat(24)}`;
    const sandbox = `acme_live_sandbox${rng.chars('abcdefghijklmnopqrstuvwxyz', 17)}`;
    expect(engine.scan(Buffer.from(`a=${zeros}\nb=${sandbox}\n`))).toEqual([]);
  });

  test('what cannot apply is reported as a note, not silently dropped', () => {
    expect(notes.join('\n')).toMatch(/\[extend\] is ignored/);
    expect(notes.join('\n')).toMatch(/acme-api-key.*"path" is ignored/);
    expect(notes.join('\n')).toMatch(/env-files.*skipped/);
  });

  test('a regex RE2 rejects is an error naming the rule id', () => {
    const bad = `[[rules]]\nid = "lookahead"\nregex = '''tok_(?=[a-z])'''\nkeywords = ["tok_"]\n`;
    expect(problemsOf(() => parseRules(bad, 'toml', 'bad.toml'))).toEqual([
      expect.stringMatching(/^bad\.toml: rule 1 \(lookahead\): regex: does not compile under RE2/),
    ]);
  });

  test('a rule without keywords and without a literal prefix is rejected with the reason', () => {
    const bad = `[[rules]]\nid = "vague"\nregex = '''(?i)(?:key|secret)\\s*=\\s*([a-z0-9]{32})'''\n`;
    expect(problemsOf(() => parseRules(bad, 'toml', 'v.toml'))).toEqual([
      expect.stringMatching(/v\.toml: rule 1 \(vague\): keywords: none given and the regex has no literal prefix/),
    ]);
  });

  test('TOML syntax errors give file, line and column', () => {
    expect(problemsOf(() => parseRules('[[rules]\nid = 1', 'toml', 's.toml'))[0]).toMatch(/^s\.toml:1:\d+: TOML/);
  });
});

describe('YAML rules', () => {
  test('a list or {rules: [...]} in the RuleSpec shape, with defaults', () => {
    const yaml = `rules:\n  - id: zeta-key\n    regex: 'zeta_[a-f0-9]{32}'\n    severity: critical\n    destinations: [api.zeta.example]\n`;
    const [r] = parseRules(yaml, 'yaml', 'z.yaml');
    expect(r).toEqual({
      id: 'zeta-key', title: 'zeta-key', severity: 'critical', regex: 'zeta_[a-f0-9]{32}', keywords: ['zeta_'],
      destinations: ['api.zeta.example'], examples: { positive: [], negative: [] },
    });
    expect(parseRules(`- id: a-b\n  title: A\n  regex: 'ab_c[0-9]+'\n  keywords: [ab_c]\n`, 'yaml', 'l.yaml')).toHaveLength(1);
  });

  test('every problem at once, each with file, rule index and id, and key path', () => {
    const yaml = [
      '- id: ok-rule',
      "  regex: 'okk_[0-9]{10}'",
      '- id: bad-one',
      '  severity: severe',
      "  regex: '[a-z]+'",
      '  allowlist:',
      "    regexes: ['(?<=x)y']",
      '- regex: abc_[0-9]+',
      '  secretGroup: 2',
      '- id: ok-rule',
      "  regex: 'okk_[a-z]{10}'",
    ].join('\n');
    const problems = problemsOf(() => parseRules(yaml, 'yaml', 'p.yaml'));
    expect(problems).toEqual([
      expect.stringMatching(/^p\.yaml: rule 2 \(bad-one\): severity: /),
      expect.stringMatching(/^p\.yaml: rule 2 \(bad-one\): allowlist\.regexes\.0: does not compile under RE2/),
      expect.stringMatching(/^p\.yaml: rule 3: id: /),
      expect.stringMatching(/^p\.yaml: rule id ok-rule appears more than once/),
    ]);
    expect(problemsOf(() => parseRules(`- id: g\n  regex: 'abc_([0-9]+)'\n  secretGroup: 2\n`, 'yaml', 'g.yaml'))).toEqual([
      'g.yaml: rule 1 (g): secretGroup: 2 but the regex has 1 capturing group',
    ]);
  });

  test('confirm: a rule with a test of its keyword hits loads and runs; a malformed one is reported by rule and key', () => {
    const pw = rng.chars(ALPHA_NUM, 16);
    const yaml = [
      '- id: team-url',
      "  regex: 'https://[a-z]+:([A-Za-z0-9]{12,})@[a-z.]+'",
      '  secretGroup: 1',
      "  keywords: ['://']",
      "  confirm: { contains: '@', until: '[\\s/]', within: 200 }",
      `  examples: { positive: ['https://ci:${pw}@git.example'], negative: ['https://git.example/a:b@c'] }`,
    ].join('\n');
    const rules = parseRules(yaml, 'yaml', 'c.yaml');
    expect(rules[0]?.confirm).toEqual({ contains: '@', until: '[\\s/]', within: 200 });
    const engine = new Engine({ rules, fingerprintKey: KEY });
    expect(() => checkRuleExamples(engine, 'c.yaml', rules)).not.toThrow();
    expect(problemsOf(() => parseRules(yaml.replace("until: '[\\s/]'", "until: '\\s'"), 'yaml', 'c.yaml'))).toEqual([
      'c.yaml: rule 1 (team-url): confirm.until must be an RE2 character class, such as [\\s/?#]',
    ]);
    expect(problemsOf(() => parseRules(yaml.replace('within: 200', 'within: 0'), 'yaml', 'c.yaml'))).toEqual([
      expect.stringMatching(/^c\.yaml: rule 1 \(team-url\): confirm\.within: /),
    ]);
  });

  test('YAML syntax errors and a wrong top level are reported', () => {
    expect(problemsOf(() => parseRules('- id: [unclosed\n', 'yaml', 'y.yaml'))[0]).toMatch(/^y\.yaml:\d+:\d+: YAML/);
    expect(problemsOf(() => parseRules('id: x\n', 'yaml', 'y.yaml'))).toEqual([expect.stringMatching(/expected a list of rules/)]);
  });

  test('loadRulesFile picks the format by extension and names unreadable files', async () => {
    const toml = join(dir, 'gitleaks.toml');
    writeFileSync(toml, GITLEAKS);
    expect((await loadRulesFile(toml)).rules).toHaveLength(2);
    await expect(loadRulesFile(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: cannot read rules file \(ENOENT\)/);
  });
});

test('literalPrefix stops at classes, quantifiers and alternations', () => {
  expect(literalPrefix('(?i)\\b(ghp_[0-9a-zA-Z]{36})')).toBe('ghp_');
  expect(literalPrefix('xoxb-?[0-9]+')).toBe('xoxb');
  expect(literalPrefix('(?:^|\\s)tok_[a-z]+')).toBe('');
  expect(literalPrefix('(abc|abd)x')).toBe('');
  expect(literalPrefix('sk\\.live_[a-z]+')).toBe('sk.live_');
});

describe("a rule's examples are its tests", () => {
  const token = `zeta_${rng.chars('0123456789abcdef', 32)}`;
  const yaml = (positive: string[], negative: string[]): string =>
    `rules:\n  - id: zeta-key\n    regex: 'zeta_[0-9a-f]{32}'\n    examples:\n      positive: ${JSON.stringify(positive)}\n      negative: ${JSON.stringify(negative)}\n`;
  const check = (text: string): readonly string[] => {
    const rules = parseRules(text, 'yaml', 'team.yaml');
    const engine = new Engine({ rules: [...defaultRules, ...rules], fingerprintKey: KEY });
    return problemsOf(() => {
      checkRuleExamples(engine, 'team.yaml', rules);
      throw new Error('no problem');
    });
  };

  test('examples that hold pass with the whole pack loaded', () => {
    const rules = parseRules(yaml([`ZETA=${token}`], ['ZETA=zeta_not-hex', 'ZETA=${ZETA_KEY}']), 'yaml', 'team.yaml');
    const engine = new Engine({ rules: [...defaultRules, ...rules], fingerprintKey: KEY });
    expect(() => checkRuleExamples(engine, 'team.yaml', rules)).not.toThrow();
  });

  test('a positive not found and a negative found are both reported, by rule and number, never by text', () => {
    const problems = check(yaml(['ZETA=zeta_short', `ZETA=${token}`], [`leaked ${token}`]));
    expect(problems).toEqual([
      'team.yaml: rule 1 (zeta-key): examples.positive[0] is not found by this rule',
      'team.yaml: rule 1 (zeta-key): examples.negative[0] is found by this rule',
    ]);
    expect(problems.join('\n')).not.toContain(token);
  });
});
