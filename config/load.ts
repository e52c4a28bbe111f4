// Loading a config: YAML, `${ENV}` interpolation, schema validation. Every problem is
// reported at once, each with its key path and file line.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import RE2 from 're2';
import { configSchema, crossCheck, type Config, type ConfigInput } from './schema.js';
import { ConfigError, type ConfigProblem, type Env } from './errors.js';

export { ConfigError, formatProblems } from './errors.js';
export type { ConfigProblem, Env } from './errors.js';

/** Read and validate a config file. Throws ConfigError listing every problem. */
export function loadConfigFile(path: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }]);
  }
  return parseConfig(text, path, env);
}

/** What the `ca` commands read of a config: where the CA is. */
export type CaSettings = Pick<Config, 'stateDir' | 'tls'>;

/**
 * Read only `stateDir` and `tls.ca` of a config file (for `ca env|show|install`), and expand
 * `${ENV}` only in `stateDir`, `tls.ca.cert` and `tls.ca.certPem`: an
 * environment variable used elsewhere (a pool token, the ingest token) need not be set.
 * The rest of the file must still be YAML; what is read is validated as `start` would.
 */
export function loadCaSettingsFile(path: string, env: Env = process.env): CaSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [{ path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}` }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;
  const problems: ConfigProblem[] = doc.errors.map((e) => ({ path: '', line: lineOf(e.pos[0]), message: e.message.split('\n')[0] ?? e.message }));
  if (problems.length > 0) throw new ConfigError(path, problems);
  // The CA certificate's place; the key is not read by these commands.
  const needed = (p: string): boolean => p === 'stateDir' || p === 'tls.ca.cert' || p === 'tls.ca.certPem';
  problems.push(
    ...interpolate(doc, env, lineOf, needed).map((p) => ({ ...p, message: `${p.message}; it is needed to find the CA` })),
  );
  if (problems.length > 0) throw new ConfigError(path, problems);
  const raw = (doc.toJS() ?? {}) as { stateDir?: unknown; tls?: { ca?: unknown } };
  const subset = { stateDir: raw.stateDir, tls: { ca: typeof raw.tls === 'object' && raw.tls !== null ? raw.tls.ca : undefined } };
  const result = configSchema.pick({ stateDir: true, tls: true }).safeParse(subset);
  if (result.success) return result.data;
  throw new ConfigError(
    path,
    result.error.issues.map((i) => ({ path: formatPath(i.path as Array<string | number>), line: lineOfPath(doc, i.path as Array<string | number>, lineOf), message: i.message })),
  );
}

/** Validate config text (YAML). `source` names it in errors. */
export function parseConfig(text: string, source: string, env: Env = process.env): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;

  const problems: ConfigProblem[] = doc.errors.map((e) => ({ path: '', line: lineOf(e.pos[0]), message: e.message.split('\n')[0] ?? e.message }));
  if (problems.length > 0) throw new ConfigError(source, problems);

  problems.push(...interpolate(doc, env, lineOf));
  if (problems.length > 0) throw new ConfigError(source, problems);

  const raw: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  const issues: Array<{ path: Array<string | number>; message: string; keyLine?: number | undefined }> = [
    ...(result.success ? [] : result.error.issues.flatMap((i) => zodIssue(i, doc, lineOf))),
    ...crossCheck(raw),
  ];
  if (result.success && issues.length === 0) return result.data;
  throw new ConfigError(
    source,
    issues
      .map(({ path, message, keyLine }) => ({ path: formatPath(path), line: keyLine ?? lineOfPath(doc, path, lineOf), message }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
  );
}

type ZodIssue = z.core.$ZodIssue;

/**
 * A zod issue as problems. An unknown key becomes one problem per key, at the key's own
 * line, with a suggestion when a known sibling name is within edit distance 2.
 */
function zodIssue(
  issue: ZodIssue,
  doc: Document,
  lineOf: (offset: number | undefined) => number | undefined,
): Array<{ path: Array<string | number>; message: string; keyLine?: number | undefined }> {
  const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }];
  const known = knownKeys(configSchema, path);
  const parent = path.length === 0 ? doc.contents : doc.getIn(path, true);
  return issue.keys.map((key) => {
    const suggestion = suggest(key, known);
    return {
      path: [...path, key],
      message: `unknown key${suggestion === undefined ? '' : ` (did you mean \`${suggestion}\`?)`}`,
      keyLine: lineOf(keyNodeOffset(parent, key)),
    };
  });
}

/** Where the key `key` of a YAML map starts, if `node` is a map holding it. */
function keyNodeOffset(node: unknown, key: string): number | undefined {
  if (!isMap(node)) return undefined;
  for (const pair of node.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) return pair.key.range?.[0];
  }
  return undefined;
}

/** The key names the schema allows for the object at `path` (empty when it is not an object). */
function knownKeys(schema: z.core.$ZodType, path: ReadonlyArray<string | number>): string[] {
  let node: z.core.$ZodType | undefined = schema;
  for (let i = 0; ; ) {
    if (node === undefined) return [];
    const def: z.core.$ZodTypeDef = node._zod.def;
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default' || def.type === 'prefault' || def.type === 'readonly' || def.type === 'catch' || def.type === 'nonoptional') {
      node = (def as z.core.$ZodOptionalDef).innerType;
    } else if (def.type === 'pipe') {
      node = (def as z.core.$ZodPipeDef).in;
    } else if (i === path.length) {
      return def.type === 'object' ? Object.keys((def as z.core.$ZodObjectDef).shape) : [];
    } else if (def.type === 'object') {
      node = (def as z.core.$ZodObjectDef).shape[String(path[i++])];
    } else if (def.type === 'array') {
      node = (def as z.core.$ZodArrayDef).element;
      i++;
    } else if (def.type === 'record') {
      node = (def as z.core.$ZodRecordDef).valueType;
      i++;
    } else {
      return [];
    }
  }
}

/** The known name closest to `key`, within edit distance 2. */
function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const d = levenshtein(key, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The built-in config: listens on loopback, one pool in audit mode for loopback clients. */
export function defaultConfig(): Config {
  const input: ConfigInput = {
    pools: [{ name: 'default', sources: ['127.0.0.0/8', '::1/128'], mode: 'audit', allow: [], deny: [] }],
  };
  return configSchema.parse(input);
}

const PLACEHOLDER = new RE2('\\$\\$|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\\}', 'g');

/**
 * Replace `${NAME}` and `${NAME:-default}` in every string scalar (never in keys), after
 * parsing, so a value cannot inject YAML structure. `$$` is a literal `$`.
 */
function interpolate(
  doc: Document,
  env: Env,
  lineOf: (offset: number | undefined) => number | undefined,
  only?: (path: string) => boolean,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  visit(doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      if (only && !only(formatPath(keyPath([...path, node])))) return;
      node.value = node.value.replace(PLACEHOLDER, (match: string, name: string | undefined, fallback: string | undefined) => {
        if (match === '$$') return '$';
        const value = env[name as string];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        if (value === '') return '';
        problems.push({
          path: formatPath(keyPath([...path, node])),
          line: lineOf(node.range?.[0]),
          message: `environment variable ${name} is not set (write \${${name}:-default} to give a default)`,
        });
        return '';
      });
    },
  });
  return problems;
}

/** The key path of a visited node, from the ancestors `visit` hands over. */
function keyPath(ancestors: readonly unknown[]): Array<string | number> {
  const out: Array<string | number> = [];
  for (let i = 0; i < ancestors.length; i++) {
    const node = ancestors[i] as { items?: unknown[]; key?: unknown };
    const child = ancestors[i + 1];
    if (child === undefined) break;
    if (Array.isArray(node.items)) {
      const index = node.items.indexOf(child);
      const pair = child as { key?: unknown };
      if (pair.key !== undefined && isScalar(pair.key)) out.push(String(pair.key.value));
      else if (index >= 0) out.push(index);
    }
  }
  return out;
}

function lineOfPath(
  doc: Document,
  path: Array<string | number>,
  lineOf: (offset: number | undefined) => number | undefined,
): number | undefined {
  // The deepest node that exists: a missing key is reported at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return lineOf(range[0]);
  }
  return undefined;
}

function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out === '' ? k : `.${k}`;
  return out;
}
