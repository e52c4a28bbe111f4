// `chokepoint scan` as a user runs it: the real CLI in a child process over a temp
// tree with synthetic secrets planted at test time (a GitHub token with a valid
// checksum, a base64-wrapped one, one in a binary file, one under node_modules),
// with the shipped rule pack. Exit codes, jsonl fields, SARIF validated against the
// SARIF 2.1.0 schema, stdin, errors, user rules; and no output ever holds a secret.
//
// The CLI runs from source through tsx's loader (node --import …/tsx/dist/loader.mjs
// bin/chokepoint.ts) rather than from dist/: no build step to go stale, and a file of
// another module that is mid-edit elsewhere in the tree cannot break this test unless
// `scan` imports it.
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Log } from 'sarif';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const CLI = join(ROOT, 'bin/chokepoint.ts');
const SARIF_SCHEMA = join(ROOT, 'node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');

const rng = createRng(2024);
function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return `ghp_${body}${tokenChecksum(body)}`;
}

const secrets = {
  env: ghToken(),
  b64: ghToken(),
  binary: ghToken(),
  vendored: ghToken(),
  stdin: ghToken(),
  acme: `acme_live_${rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 24)}`,
  zeta: `zeta_${rng.chars('0123456789abcdef', 32)}`,
};

let dir: string;
let tree: string;
let clean: string;
const KEY = Buffer.alloc(32, 0x5a);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function scan(args: string[], input?: string, env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, ['--import', LOADER, CLI, 'scan', ...args], {
    cwd: dir,
    input,
    encoding: 'utf8',
    env: { ...process.env, CHOKEPOINT_STATE_DIR: join(dir, 'state'), NO_COLOR: '', ...env },
    timeout: 60_000,
  });
  const out = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  // Whatever the command, nothing it prints holds a planted secret.
  for (const s of Object.values(secrets)) {
    expect(out.stdout.includes(s)).toBe(false);
    expect(out.stderr.includes(s)).toBe(false);
  }
  return out;
}

const jsonl = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chokepoint-scan-'));
  tree = join(dir, 'repo');
  clean = join(dir, 'clean');
  mkdirSync(join(tree, 'config'), { recursive: true });
  mkdirSync(join(tree, 'node_modules', 'pkg'), { recursive: true });
  mkdirSync(clean);
  writeFileSync(join(tree, 'config', 'ci.env'), `# CI settings\nNODE_ENV=test\nGITHUB_TOKEN=${secrets.env}\n`);
  writeFileSync(
    join(tree, 'config', 'secret.yaml'),
    // The key is neutral on purpose: under `token:` the generic rule also (rightly) flags the blob itself.
    `apiVersion: v1\nkind: ConfigMap\nbinaryData:\n  setup.sh: ${Buffer.from(`export GH=${secrets.b64}\n`).toString('base64')}\n`,
  );
  writeFileSync(join(tree, 'logo.bin'), Buffer.concat([Buffer.from([0x89, 0x50, 0x00, 0x01]), Buffer.from(`GITHUB_TOKEN=${secrets.binary}`)]));
  writeFileSync(join(tree, 'node_modules', 'pkg', 'index.js'), `const t = "${secrets.vendored}";\n`);
  writeFileSync(join(clean, 'README.md'), '# Nothing here\nUse `${{ secrets.GITHUB_TOKEN }}` in workflows.\n');
  writeFileSync(join(clean, 'app.py'), 'password = os.environ["DB_PASSWORD"]\n');
  mkdirSync(join(dir, 'state'));
  writeFileSync(join(dir, 'state', 'fingerprint.key'), KEY);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hmac16 = (v: string): string => createHmac('sha256', KEY).update(v).digest('hex').slice(0, 16);

describe('chokepoint scan', () => {
  test('--help prints usage and exits 0', () => {
    const r = scan(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: chokepoint scan/);
    expect(r.stdout).toMatch(/node_modules/);
  });

  test('a clean tree exits 0 with no findings', () => {
    const r = scan(['-f', 'jsonl', 'clean']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
  });

  test('findings exit 1; jsonl carries location, rule, redaction and the state-dir fingerprint', () => {
    const r = scan(['--format', 'jsonl', 'repo']);
    expect(r.status).toBe(1);
    const rows = jsonl(r.stdout);
    expect(rows).toEqual([
      {
        path: join('repo', 'config', 'ci.env'), line: 3, column: 14, offset: '# CI settings\nNODE_ENV=test\nGITHUB_TOKEN='.length,
        length: 40, rule: 'github-pat-classic', title: expect.any(String), severity: 'high', redacted: 'ghp_…(40)',
        fingerprint: hmac16(secrets.env),
      },
      expect.objectContaining({
        path: join('repo', 'config', 'secret.yaml'), line: 4, column: 13, rule: 'github-pat-classic',
        fingerprint: hmac16(secrets.b64), decodedFrom: ['base64'],
      }),
    ]);
  });

  test("$CHOKEPOINT_FINGERPRINT_KEY (the fleet's scan.fingerprintKey) gives the proxy's fingerprints; a bad one exits 2 unechoed", () => {
    const fleetKey = Buffer.alloc(32, 0x42);
    const r = scan(['--format', 'jsonl', join('repo', 'config', 'ci.env')], undefined, { CHOKEPOINT_FINGERPRINT_KEY: fleetKey.toString('base64') });
    expect(r.status).toBe(1);
    expect(jsonl(r.stdout).map((f) => f.fingerprint)).toEqual([createHmac('sha256', fleetKey).update(secrets.env).digest('hex').slice(0, 16)]);
    const bad = scan(['clean'], undefined, { CHOKEPOINT_FINGERPRINT_KEY: 'c2hvcnQ=' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('CHOKEPOINT_FINGERPRINT_KEY must be base64 of at least 32 bytes');
    expect(bad.stderr).not.toContain('c2hvcnQ=');
  });

  test('node_modules and .git are skipped unless --all; binary files always are', () => {
    const r = scan(['-f', 'jsonl', '--all', 'repo']);
    expect(r.status).toBe(1);
    const fps = jsonl(r.stdout).map((row) => row['fingerprint']);
    expect(fps).toContain(hmac16(secrets.vendored));
    expect(fps).not.toContain(hmac16(secrets.binary));
    expect(fps).toHaveLength(3);
  });

  test('text output: one finding per line, no colour when stdout is not a terminal', () => {
    const r = scan(['repo']);
    expect(r.status).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`${join('repo', 'config', 'ci.env')}:3:14  high      github-pat-classic  ghp_…(40)  ${hmac16(secrets.env)}`);
    expect(r.stdout.includes('\x1b[')).toBe(false);
    expect(r.stderr).toMatch(/2 findings in \d+ files scanned, 1 binary skipped/);
  });

  test('SARIF validates against the SARIF 2.1.0 schema and carries what code scanning needs', () => {
    const r = scan(['--format', 'sarif', 'repo', '--key-file', join(dir, 'state', 'fingerprint.key')]);
    expect(r.status).toBe(1);
    const log = JSON.parse(r.stdout) as Log;

    // The schema is draft-04 (`id`, draft-04 $schema), which Ajv 8 does not load as is:
    // its keywords are all in Ajv's draft-07 vocabulary, so only the root id and the
    // $schema marker need translating. Its `language` pattern is not valid with the
    // `u` flag Ajv uses by default, hence unicodeRegExp: false.
    const schema = JSON.parse(readFileSync(SARIF_SCHEMA, 'utf8')) as Record<string, unknown>;
    schema['$id'] = schema['id'];
    delete schema['id'];
    delete schema['$schema'];
    const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(log) ? [] : validate.errors).toEqual([]);

    const run = log.runs[0];
    expect(run?.tool.driver).toMatchObject({
      name: 'chokepoint',
      rules: [{ id: 'github-pat-classic', shortDescription: { text: expect.any(String) }, defaultConfiguration: { level: 'error' } }],
    });
    expect(run?.results).toHaveLength(2);
    expect(run?.results?.[0]).toMatchObject({
      ruleId: 'github-pat-classic',
      level: 'error',
      partialFingerprints: { 'chokepoint/v1': hmac16(secrets.env) },
      locations: [{ physicalLocation: { artifactLocation: { uri: 'repo/config/ci.env' }, region: { startLine: 3, startColumn: 14, endColumn: 54 } } }],
    });
  });

  test('standard input is scanned with -', () => {
    const r = scan(['-f', 'jsonl', '-'], `step 3\nexport GH_TOKEN=${secrets.stdin}\n`);
    expect(r.status).toBe(1);
    expect(jsonl(r.stdout)).toEqual([expect.objectContaining({ path: '-', line: 2, column: 17, fingerprint: hmac16(secrets.stdin) })]);
    expect(scan(['-'], 'nothing to see\n').status).toBe(0);
  });

  test('an unreadable path exits 2 with a one-line message, other paths are still scanned', () => {
    const r = scan(['-f', 'jsonl', 'does-not-exist', 'repo']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('chokepoint: scan: does-not-exist: no such file or directory\n');
    expect(jsonl(r.stdout)).toHaveLength(2);
  });

  test('bad usage and a bad rules file exit 2 with a message naming the problem', () => {
    const usage = scan(['--format', 'xml', 'repo']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--format must be one of text, jsonl, sarif/);
    expect(scan([]).status).toBe(2);

    writeFileSync(join(dir, 'bad.yaml'), "- id: broken\n  regex: 'tok_(?=x)'\n  keywords: [tok_]\n");
    const bad = scan(['--rules', 'bad.yaml', 'clean']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/bad\.yaml: rule 1 \(broken\): regex: does not compile under RE2/);

    const missing = scan(['--rules', 'nope.toml', 'clean']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.toml: cannot read rules file/);
  });

  test("a rules file whose own examples fail exits 2, naming the rule and the example's number", () => {
    writeFileSync(
      join(dir, 'broken-examples.yaml'),
      "rules:\n  - id: zeta-key\n    regex: 'zeta_[0-9a-f]{32}'\n    examples:\n      positive: ['ZETA=zeta_0123']\n",
    );
    const r = scan(['--rules', 'broken-examples.yaml', 'clean']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('broken-examples.yaml: rule 1 (zeta-key): examples.positive[0] is not found by this rule');
    expect(r.stdout).toBe('');
  });

  test('--rules adds a YAML rule and a gitleaks TOML rule that find custom tokens', () => {
    writeFileSync(
      join(dir, 'team.yaml'),
      "rules:\n  - id: zeta-key\n    title: Zeta key\n    severity: critical\n    regex: 'zeta_[0-9a-f]{32}'\n",
    );
    writeFileSync(
      join(dir, 'gitleaks.toml'),
      "[[rules]]\nid = \"acme-live\"\ndescription = \"Acme live key\"\nregex = '''\\b(acme_live_[0-9a-z]{24})\\b'''\nsecretGroup = 1\nkeywords = [\"acme_live_\"]\n",
    );
    writeFileSync(join(dir, 'custom.txt'), `ZETA=${secrets.zeta}\nACME=${secrets.acme}\n`);
    const without = scan(['-f', 'jsonl', 'custom.txt']);
    expect(jsonl(without.stdout).map((row) => row['rule'])).not.toContain('zeta-key');
    const r = scan(['-f', 'jsonl', '--rules', 'team.yaml', '--rules', 'gitleaks.toml', 'custom.txt']);
    expect(r.status).toBe(1);
    const rows = jsonl(r.stdout);
    expect(rows.map((row) => [row['rule'], row['severity'], row['fingerprint']])).toEqual(
      expect.arrayContaining([
        ['zeta-key', 'critical', hmac16(secrets.zeta)],
        ['acme-live', 'high', hmac16(secrets.acme)],
      ]),
    );
  });
});
