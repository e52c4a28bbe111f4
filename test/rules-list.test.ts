// What an operator reads to see coverage: `chokepoint scan --list-rules` (the real CLI in a
// child process) and the rule list in docs/rules.md, both generated from the pack in use.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { formatRuleMarkdown, replaceRulesSection, RULES_DOC_BEGIN, RULES_DOC_END, ruleRows } from '../detectors/rule-list.js';
import { defaultRules } from '../detectors/rules/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const CLI = join(ROOT, 'bin/chokepoint.ts');
const dir = mkdtempSync(join(tmpdir(), 'chokepoint-rules-list-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', LOADER, CLI, 'scan', ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CHOKEPOINT_STATE_DIR: join(dir, 'state') },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('chokepoint scan --list-rules', () => {
  test('prints every shipped rule with its severity, title and destinations', () => {
    const r = cli(['--list-rules']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`${defaultRules.length} rules`);
    const ids = lines.slice(1, -1).map((l) => l.split(/\s+/)[0]);
    expect(ids).toEqual(defaultRules.map((rule) => rule.id));
    const pat = lines.find((l) => l.startsWith('github-pat-classic '));
    expect(pat).toMatch(/critical|high/);
    expect(pat).toContain('api.github.com');
  });

  test('--format jsonl gives one object per rule; --rules files are listed after the pack', () => {
    const file = join(dir, 'team.yaml');
    writeFileSync(
      file,
      [
        'rules:',
        '  - id: acme-deploy-key',
        '    severity: critical',
        "    regex: '\\b(acmedk_[0-9a-f]{40})\\b'",
        '    secretGroup: 1',
        '    destinations: [deploy.acme.internal]',
        '    examples:',
        "      positive: ['ACME_DEPLOY_KEY=acmedk_3f9c2a7e51b04d6a8e2c9f1b7d3a5e0c4b6f8a21']",
        "      negative: ['acmedk_short']",
      ].join('\n') + '\n',
    );
    const r = cli(['--list-rules', '--rules', file, '--format', 'jsonl']);
    expect(r.status).toBe(0);
    const rows = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: string; severity: string; destinations: string[] });
    expect(rows).toHaveLength(defaultRules.length + 1);
    expect(rows.at(-1)).toEqual({ id: 'acme-deploy-key', title: 'acme-deploy-key', severity: 'critical', destinations: ['deploy.acme.internal'] });
  });

  test('a PATH or --format sarif with --list-rules is a usage error', () => {
    expect(cli(['--list-rules', '.']).status).toBe(2);
    const sarif = cli(['--list-rules', '--format', 'sarif']);
    expect(sarif.status).toBe(2);
    expect(sarif.stderr).toContain('--list-rules');
  });
});

describe('docs/rules.md', () => {
  test('lists every shipped rule as the pack declares it (regenerate with `npm run docs:rules`)', () => {
    const page = readFileSync(join(ROOT, 'docs/rules.md'), 'utf8');
    const expected = replaceRulesSection(page, formatRuleMarkdown(ruleRows(defaultRules)));
    expect(page === expected, 'docs/rules.md is stale: run `npm run docs:rules`').toBe(true);
    for (const rule of defaultRules) expect(page).toContain(`| \`${rule.id}\` |`);
  });

  test('regenerating replaces only the generated section', () => {
    const page = `# Title\n\nprose\n\n${RULES_DOC_BEGIN}\nold table\n${RULES_DOC_END}\n\n## After\n`;
    const out = replaceRulesSection(page, 'new table\n');
    expect(out).toBe(`# Title\n\nprose\n\n${RULES_DOC_BEGIN}\nnew table\n${RULES_DOC_END}\n\n## After\n`);
  });
});
