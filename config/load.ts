// Loading a config: YAML, `${ENV}` interpolation, schema validation. Every problem is
// reported at once, each with its key path and file line.
import { readFileSync } from 'node:fs';
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import RE2 from 're2';
import { configSchema, crossCheck, type Config, type ConfigInput } from './schema.js';

export interface ConfigProblem {
  /** Dotted key path, `pools[0].allow[2]`; empty for the whole file. */
  path: string;
  /** 1-based line in the file, when known. */
  line?: number;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${formatProblems(source, problems)}`);
  }
}

export function formatProblems(source: string, problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => `  ${source}${p.line === undefined ? '' : `:${p.line}`}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`)
    .join('\n');
}

export type Env = Readonly<Record<string, string | undefined>>;

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
  const issues = [
    ...(result.success ? [] : result.error.issues.map((i) => ({ path: i.path.filter((k): k is string | number => typeof k !== 'symbol'), message: i.message }))),
    ...crossCheck(raw),
  ];
  if (result.success && issues.length === 0) return result.data;
  throw new ConfigError(
    source,
    issues
      .map(({ path, message }) => ({ path: formatPath(path), line: lineOfPath(doc, path, lineOf), message }))
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
  );
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
function interpolate(doc: Document, env: Env, lineOf: (offset: number | undefined) => number | undefined): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  visit(doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
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
