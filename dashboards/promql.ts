// A small PromQL reader for checking the dashboard and the alert rules: which metrics an
// expression selects, inside which function, over which range. It is a tokenizer with a
// little context (function calls, label lists after by/without/on/ignoring/group_*),
// not a full parser: it never evaluates and never needs operator precedence. No PromQL
// parser is installed in this repository, and checks only need the selectors.
//
// Grafana template variables ($pool, ${pool}, [[pool]], $__rate_interval) are read as
// tokens of their own, so raw dashboard expressions can be checked before substitution.

export interface Selector {
  /** The metric name (from the identifier, or from a `__name__="…"` matcher). */
  metric: string;
  /** The label matchers as written, without the braces ('' when none). */
  matchers: string;
  /** The innermost function or aggregation the selector is an argument of. */
  fn: string | undefined;
  /** The range as written inside `[...]` right after the selector (range vector), if any. */
  range: string | undefined;
}

type TokenType = 'ident' | 'number' | 'string' | 'matchers' | 'range' | 'variable' | 'punct';
interface Token {
  type: TokenType;
  text: string;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2']);
/** Keywords that may be followed by a parenthesised list of label names. */
const LABEL_LIST = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
const LITERALS = new Set(['inf', 'nan']);

const NUMBER = /^(?:0x[0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?:(?:ms|s|m|h|d|w|y)(?:\d+(?:ms|s|m|h|d|w|y))*)?/;
const IDENT = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const VARIABLE = /^(?:\$\{[^}]+\}|\$[a-zA-Z_][a-zA-Z0-9_]*|\[\[[^\]]+\]\])/;
const OPERATOR = /^(?:==|!=|<=|>=|=~|!~|[-+*/%^<>=(),@])/;

/** Read `open ... close` from `start` (at `open`), skipping quoted strings; returns the inner text and the end index. */
function readEnclosed(expr: string, start: number, open: string, close: string): { inner: string; end: number } {
  let depth = 0;
  for (let i = start; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i = readString(expr, i).end - 1;
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return { inner: expr.slice(start + 1, i), end: i + 1 };
  }
  throw new Error(`unbalanced ${open}${close} in: ${expr}`);
}

function readString(expr: string, start: number): { text: string; end: number } {
  const quote = expr[start];
  for (let i = start + 1; i < expr.length; i++) {
    const c = expr[i];
    if (c === '\\' && quote !== '`') {
      i++;
      continue;
    }
    if (c === quote) return { text: expr.slice(start, i + 1), end: i + 1 };
  }
  throw new Error(`unterminated string in: ${expr}`);
}

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const c = rest[0] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      const nl = rest.indexOf('\n');
      i = nl < 0 ? expr.length : i + nl;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const s = readString(expr, i);
      tokens.push({ type: 'string', text: s.text });
      i = s.end;
      continue;
    }
    const variable = VARIABLE.exec(rest);
    if (variable) {
      tokens.push({ type: 'variable', text: variable[0] });
      i += variable[0].length;
      continue;
    }
    if (c === '{') {
      const r = readEnclosed(expr, i, '{', '}');
      tokens.push({ type: 'matchers', text: r.inner.trim() });
      i = r.end;
      continue;
    }
    if (c === '[') {
      const r = readEnclosed(expr, i, '[', ']');
      tokens.push({ type: 'range', text: r.inner.trim() });
      i = r.end;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number) {
      tokens.push({ type: 'number', text: number[0] });
      i += number[0].length;
      continue;
    }
    const ident = IDENT.exec(rest);
    if (ident) {
      tokens.push({ type: 'ident', text: ident[0] });
      i += ident[0].length;
      continue;
    }
    const op = OPERATOR.exec(rest);
    if (op) {
      tokens.push({ type: 'punct', text: op[0] });
      i += op[0].length;
      continue;
    }
    throw new Error(`unexpected ${JSON.stringify(c)} at ${i} in: ${expr}`);
  }
  return tokens;
}

/** Every vector selector in the expression, with the function it is an argument of and its range. */
export function selectors(expr: string): Selector[] {
  const tokens = tokenize(expr);
  const found: Selector[] = [];
  // One entry per open parenthesis: the function it belongs to ('' for grouping).
  const stack: string[] = [];
  let pendingFn: string | undefined;
  const enclosing = (): string | undefined => {
    for (let k = stack.length - 1; k >= 0; k--) {
      const fn = stack[k];
      if (fn) return fn;
      // A grouping parenthesis: keep looking outward (`rate((x)[1m])` is not valid anyway).
    }
    return undefined;
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    const next = tokens[i + 1];
    if (t.type === 'punct' && t.text === '(') {
      stack.push(pendingFn ?? '');
      pendingFn = undefined;
      continue;
    }
    if (t.type === 'punct' && t.text === ')') {
      stack.pop();
      continue;
    }
    if (t.type === 'ident') {
      const lower = t.text.toLowerCase();
      if (LABEL_LIST.has(lower)) {
        // Skip the label list: its names are labels, not metrics.
        if (next?.type === 'punct' && next.text === '(') {
          let depth = 0;
          for (i = i + 1; i < tokens.length; i++) {
            const u = tokens[i] as Token;
            if (u.type === 'punct' && u.text === '(') depth++;
            if (u.type === 'punct' && u.text === ')' && --depth === 0) break;
          }
        }
        continue;
      }
      if (KEYWORDS.has(lower) || LITERALS.has(lower)) continue;
      if (AGGREGATIONS.has(t.text) && (next?.text === '(' || next?.text === 'by' || next?.text === 'without')) {
        pendingFn = t.text;
        continue;
      }
      if (next?.type === 'punct' && next.text === '(') {
        pendingFn = t.text;
        continue;
      }
      // A metric name, optionally followed by matchers and a range.
      let j = i + 1;
      let matchers = '';
      if (tokens[j]?.type === 'matchers') {
        matchers = (tokens[j] as Token).text;
        j++;
      }
      const range = tokens[j]?.type === 'range' ? (tokens[j] as Token).text : undefined;
      found.push({ metric: t.text, matchers, fn: enclosing(), range });
      i = range === undefined ? j - 1 : j;
      continue;
    }
    if (t.type === 'matchers') {
      // A selector without a leading name: `{__name__="x", ...}`.
      const name = /__name__\s*=\s*"([^"]+)"/.exec(t.text);
      const range = next?.type === 'range' ? next.text : undefined;
      if (name?.[1]) found.push({ metric: name[1], matchers: t.text, fn: enclosing(), range });
      if (range !== undefined) i++;
    }
  }
  return found;
}

/** The distinct metric names an expression selects. */
export function metricNames(expr: string): string[] {
  return [...new Set(selectors(expr).map((s) => s.metric))].sort();
}

/** Replace Grafana template variables ($name, ${name}, ${name:fmt}, [[name]]) with values. */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{([a-zA-Z0-9_]+)(?::[^}]*)?\}|\$([a-zA-Z0-9_]+)|\[\[([a-zA-Z0-9_]+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`no value for Grafana variable ${whole}`);
    return value;
  });
}

export interface DashboardPanel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string } | string | null;
  targets?: Array<{ expr?: string; refId?: string; legendFormat?: string; instant?: boolean; range?: boolean; datasource?: { type?: string; uid?: string } }>;
  fieldConfig?: { defaults?: { unit?: string } };
  panels?: DashboardPanel[];
}

export interface DashboardVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: { type?: string; uid?: string } | string | null;
}

export interface Dashboard {
  title: string;
  uid: string;
  panels: DashboardPanel[];
  templating: { list: DashboardVariable[] };
}

/** Every panel, rows' collapsed panels included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  const out: DashboardPanel[] = [];
  const walk = (panels: DashboardPanel[]): void => {
    for (const p of panels) {
      out.push(p);
      if (p.panels) walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** Every PromQL query of the dashboard's panels, with the panel title. */
export function dashboardQueries(dashboard: Dashboard): Array<{ panel: string; refId: string; expr: string }> {
  const out: Array<{ panel: string; refId: string; expr: string }> = [];
  for (const p of allPanels(dashboard)) {
    for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title ?? `panel ${p.id ?? '?'}`, refId: t.refId ?? '', expr: t.expr });
  }
  return out;
}

/**
 * The PromQL inside a Grafana Prometheus variable query: `label_values(selector, label)`
 * gives the selector, `query_result(expr)` the expression, a bare metric name itself;
 * `label_values(label)` and `label_names()` select no metric (undefined).
 */
export function variableExpression(query: string): string | undefined {
  const q = query.trim();
  const lv = /^label_values\(\s*(.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/s.exec(q);
  if (lv) return lv[1];
  if (/^label_values\(\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/.test(q) || /^label_names\(/.test(q)) return undefined;
  const qr = /^query_result\((.*)\)$/s.exec(q);
  if (qr) return qr[1];
  const mv = /^metrics\((.*)\)$/.exec(q);
  if (mv) return undefined;
  return q;
}
