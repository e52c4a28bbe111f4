// The exported JSON Schema of the config (docs/config.schema.json, for editors), the
// documented reference config, and docs/config.md's key reference: all kept in step with
// the zod schema the loader uses.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { configJsonSchema } from '../bin/commands/config.js';
import { ConfigError, loadConfigFile, parseConfig } from '../config/full.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const committedSchema = join(root, 'docs/config.schema.json');
const docsExample = join(root, 'docs/examples/chokepoint.yaml');
// The product's reference config lives beside the repository while it is being built;
// the docs copy is what ships, and is checked whether or not the shared one is present.
const sharedExample = resolve(root, '../shared/examples/chokepoint.yaml');
const examples = [docsExample, ...(existsSync(sharedExample) ? [sharedExample] : [])];

/** Env for the reference config: the variables it names without a default. Test values only. */
const exampleEnv = {
  BUILDERS_TOKEN: 'test-only-builders-token',
  CHOKEPOINT_INGEST_TOKEN: 'test-only-ingest-token',
  CHOKEPOINT_CANARY: 'test-only-canary-value',
};

type Schema = { [key: string]: unknown };

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every key path of the schema (`admin.listen`, `pools[].allow`), in schema order. */
function keyPaths(node: Schema, prefix = ''): Array<{ path: string; schema: Schema }> {
  const out: Array<{ path: string; schema: Schema }> = [];
  const props = isSchema(node.properties) ? node.properties : {};
  for (const [key, child] of Object.entries(props)) {
    if (!isSchema(child)) continue;
    const path = prefix === '' ? key : `${prefix}.${key}`;
    out.push({ path, schema: child });
    out.push(...keyPaths(child, path));
    if (isSchema(child.items)) out.push(...keyPaths(child.items, `${path}[]`));
  }
  return out;
}

function validator(): (data: unknown) => { valid: boolean; errors: string } {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(configJsonSchema());
  return (data) => ({ valid: validate(data), errors: ajv.errorsText(validate.errors) });
}

describe('config JSON Schema', () => {
  test('docs/config.schema.json is what `chokepoint config schema` prints (regenerate: npx tsx bin/chokepoint.ts config schema > docs/config.schema.json)', () => {
    const expected = JSON.stringify(configJsonSchema(), null, 2) + '\n';
    expect(readFileSync(committedSchema, 'utf8')).toBe(expected);
  });

  test('is draft 2020-12, titled, and describes every key', () => {
    const schema = configJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('Chokepoint config');
    const undescribed = keyPaths(schema).filter(({ schema: s }) => typeof s.description !== 'string' || s.description === '');
    expect(undescribed.map((k) => k.path)).toEqual([]);
  });

  test.each(examples)('the reference config %s validates against it (placeholders left as written)', (file) => {
    const { valid, errors } = validator()(parse(readFileSync(file, 'utf8')));
    expect(errors).toBe('No errors');
    expect(valid).toBe(true);
  });

  test('it rejects what the loader rejects for shape: unknown keys, wrong enums, missing pools', () => {
    const validate = validator();
    expect(validate({ pools: [{ name: 'a', sources: ['10.0.0.0/8'] }] }).valid).toBe(true);
    expect(validate({ pools: [{ name: 'a', mode: 'block' }] }).valid).toBe(false);
    expect(validate({ pools: [{ name: 'a', alow: [] }] }).valid).toBe(false);
    expect(validate({ listen: '127.0.0.1:3128' }).valid).toBe(false);
    expect(validate({ pools: [] }).valid).toBe(false);
    expect(validate({ pools: [{ name: 'a', tokenHash: 'md5:abc' }] }).valid).toBe(false);
  });

  test('`chokepoint config schema` and `config foo` on the command line', async () => {
    const { execFile } = await import('node:child_process');
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile('npx', ['tsx', 'bin/chokepoint.ts', ...args], { cwd: root, timeout: 20_000 }, (err, stdout, stderr) =>
          done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
        );
      });
    const ok = await run(['config', 'schema']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual(configJsonSchema());
    const bad = await run(['config', 'foo']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('reference config', () => {
  test('the docs copy is the reference config, verbatim', () => {
    const docs = readFileSync(docsExample, 'utf8');
    expect(docs).toContain('pools:');
    if (existsSync(sharedExample)) expect(docs).toBe(readFileSync(sharedExample, 'utf8'));
  });

  test.each(examples)('loadConfigFile accepts %s when the env vars it names are set', (file) => {
    const config = loadConfigFile(file, exampleEnv);
    expect(config.pools.map((p) => [p.name, p.mode])).toEqual([
      ['builders', 'enforce'],
      ['sandbox', 'audit'],
    ]);
    expect(config.pools[0]?.token).toBe(exampleEnv.BUILDERS_TOKEN);
    expect(config.admin.token).toBe('');
  });

  test.each(examples)('loadConfigFile rejects %s naming BUILDERS_TOKEN when it is unset', (file) => {
    const { BUILDERS_TOKEN: _unset, ...env } = exampleEnv;
    let error: unknown;
    try {
      loadConfigFile(file, env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('BUILDERS_TOKEN');
    expect((error as ConfigError).problems.map((p) => p.path)).toEqual(['pools[0].token']);
  });
});

describe('docs/config.md', () => {
  const doc = readFileSync(join(root, 'docs/config.md'), 'utf8');
  // The key reference: from `## Keys` to the next second-level heading.
  const keysStart = doc.indexOf('\n## Keys\n');
  const keysEnd = doc.indexOf('\n## ', keysStart + 1);
  const keysSection = doc.slice(keysStart, keysEnd < 0 ? undefined : keysEnd);

  test('its key reference lists every key of the schema, in schema order', () => {
    expect(keysStart).toBeGreaterThan(0);
    const rows = [...keysSection.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect(rows).toEqual(keyPaths(configJsonSchema()).map((k) => k.path));
  });

  test('its key reference gives each key the default the schema has', () => {
    const defaults = new Map(keyPaths(configJsonSchema()).map((k) => [k.path, k.schema.default]));
    for (const line of keysSection.split('\n')) {
      const m = /^\| `([^`]+)` \| [^|]+ \| ([^|]+) \|/.exec(line);
      if (!m || !defaults.has(m[1] as string)) continue;
      const value = defaults.get(m[1] as string);
      const cell = (m[2] as string).trim();
      if (value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value))) continue;
      const shown = typeof value === 'string' ? (value === '' ? '""' : value) : JSON.stringify(value);
      expect(cell, m[1]).toContain(`\`${shown}\``);
    }
  });

  test('every YAML example in it is a config the loader accepts', () => {
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(blocks.length).toBeGreaterThan(3);
    for (const block of blocks) {
      // Examples show one section; give them a pool when they have none so they stand alone.
      const text = /^pools:/m.test(block) ? block : `${block}\npools:\n  - name: docs\n    sources: [127.0.0.0/8]\n`;
      expect(() => parseConfig(text, 'docs/config.md', { ...exampleEnv, RUNNERS_TOKEN: 'test-only' }), block).not.toThrow();
    }
  });

  test('it lists every shipped group and every reason of X-Chokepoint-Reason', async () => {
    const { shippedGroups } = await import('../config/index.js');
    for (const name of Object.keys(shippedGroups)) expect(doc).toContain(`\`@${name}\``);
    const { REASONS } = await import('../proxy/decide/reasons.js');
    expect(REASONS.length).toBeGreaterThan(10);
    for (const reason of REASONS) expect(doc).toContain(`\`${reason}\``);
  });
});
