// One-off codemod (issue #14): rewrites every rule of detectors/rules/<family>.ts as a
// `token({...})` or `assigned({...})` call (detectors/rules/build.ts): object literals
// (their regex split at the secret's capture group), the positional `prefixed(...)` /
// `named(...)` of build.ts, and the families' own builders (github `checksummed`, gitlab
// `prefixed`, infra `tok` / `named`, keys `pem`). Property values keep their source text.
// Run once: `npx tsx scripts/one-builder.ts [family...]`; then
// `npx tsx scripts/pack-json.ts` must print the same `canonical` hash as before.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

type Prop = [key: string, text: string];

/** Source text of a node and the indentation of the line it starts on. */
interface Src {
  text: string;
  indent: number;
}

let file: ts.SourceFile;

function src(node: ts.Node): Src {
  const start = node.getStart(file);
  const lineStart = file.text.lastIndexOf('\n', start - 1) + 1;
  const indent = /^ */.exec(file.text.slice(lineStart))?.[0].length ?? 0;
  return { text: node.getText(file), indent };
}

/** Shifts the continuation lines of `s` so that they sit under a property at `to`. */
function reindent(s: Src, to: number): string {
  const delta = to - s.indent;
  return s.text
    .split('\n')
    .map((line, i) => (i === 0 ? line : delta >= 0 ? ' '.repeat(delta) + line : line.replace(new RegExp(`^ {0,${-delta}}`), '')))
    .join('\n');
}

/** Local names imported from ./build.js, mapped to the exported name. */
function buildImports(): Map<string, string> {
  const out = new Map<string, string>();
  for (const st of file.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier) || st.moduleSpecifier.text !== './build.js') continue;
    const named = st.importClause?.namedBindings;
    if (named === undefined || !ts.isNamedImports(named)) continue;
    for (const el of named.elements) out.set(el.name.text, (el.propertyName ?? el.name).text);
  }
  return out;
}

let aliases = new Map<string, string>();
const isDefault = (text: string, exported: string): boolean => aliases.get(text) === exported;

// ---------------------------------------------------------------- regex text
// A regex as source text: the inside of a String.raw template, `${...}` kept as atoms.

interface Tok {
  kind: 'open' | 'close' | 'other';
  capturing?: boolean;
  start: number;
  end: number;
}

function tokens(t: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < t.length) {
    const start = i;
    if (t.startsWith('${', i)) {
      let depth = 0;
      for (; i < t.length; i++) {
        if (t[i] === '{') depth++;
        else if (t[i] === '}' && --depth === 0) break;
      }
      i++;
      out.push({ kind: 'other', start, end: i });
    } else if (t[i] === '\\') {
      i += t[i + 1] === 'x' ? 4 : 2;
      out.push({ kind: 'other', start, end: i });
    } else if (t[i] === '[') {
      i++;
      if (t[i] === '^') i++;
      if (t[i] === ']') i++;
      while (i < t.length && t[i] !== ']') i += t[i] === '\\' ? 2 : 1;
      i++;
      out.push({ kind: 'other', start, end: i });
    } else if (t[i] === '(') {
      if (t.startsWith('(?P<', i) || t.startsWith('(?<', i)) throw new Error(`named group in ${t}`);
      out.push({ kind: 'open', capturing: t[i + 1] !== '?', start, end: i + 1 });
      i++;
    } else if (t[i] === ')') {
      out.push({ kind: 'close', start, end: i + 1 });
      i++;
    } else {
      out.push({ kind: 'other', start, end: i + 1 });
      i++;
    }
  }
  return out;
}

/** Index of the `)` closing the `(` at `open`. */
function closing(t: string, open: number): number {
  let depth = 0;
  for (const k of tokens(t)) {
    if (k.start < open) continue;
    if (k.kind === 'open') depth++;
    else if (k.kind === 'close' && --depth === 0) return k.start;
  }
  throw new Error(`unbalanced ( at ${open} in ${t}`);
}

/** The regex split around its first capture group. */
function splitAtGroup(t: string): { pre: string; body: string; post: string } {
  const open = tokens(t).find((k) => k.kind === 'open' && k.capturing === true);
  if (open === undefined) throw new Error(`no capture group in ${t}`);
  const close = closing(t, open.start);
  return { pre: t.slice(0, open.start), body: t.slice(open.start + 1, close), post: t.slice(close + 1) };
}

/** A part of a regex as an expression: `X` for one `${X}`, `''`, or String.raw. */
function expr(part: string): string {
  const atom = /^\$\{([A-Za-z0-9_]+)\}$/.exec(part);
  if (atom !== null) return atom[1] ?? '';
  if (part === '') return "''";
  return `String.raw\`${part}\``;
}

/** The inside of a regex-valued node as String.raw text. */
function rawOf(node: ts.Expression): string {
  if (ts.isTaggedTemplateExpression(node) && node.tag.getText(file) === 'String.raw') return node.template.getText(file).slice(1, -1);
  const text = node.getText(file);
  if ((ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) && !text.includes('\\')) return text.slice(1, -1);
  if (ts.isStringLiteral(node) && !text.includes('\\') && !text.includes('`') && !text.includes('${')) return node.text;
  throw new Error(`regex not a String.raw template: ${text}`);
}

/** A TAIL-like prefix of `rest`: a `${X}` atom or `[\w.-]{m,n}` (lazy or not). */
const TAIL_PART = /^(?:\$\{[A-Za-z0-9_]+\}|\[\\w\.-\]\{\d+,\d+\}\??)/;

/** Props describing the regex `t` (secretGroup 1): an assigned shape if it is one, a token otherwise. */
function regexProps(t: string): { builder: 'token' | 'assigned'; props: Prop[] } {
  const { pre, body, post } = splitAtGroup(t);
  const right: Prop[] = isDefault(expr(post), 'R') ? [] : [['right', expr(post)]];
  // The last top-level `(?i:...)` of pre, followed by a tail and a separator: a name.
  let depth = 0;
  let lastName: { start: number; end: number } | undefined;
  for (const k of tokens(pre)) {
    if (k.kind === 'open') {
      if (depth === 0 && pre.startsWith('(?i:', k.start)) lastName = { start: k.start, end: closing(pre, k.start) };
      depth++;
    } else if (k.kind === 'close') depth--;
  }
  if (lastName !== undefined) {
    const left = pre.slice(0, lastName.start);
    const name = pre.slice(lastName.start + 4, lastName.end);
    const suffix = pre.slice(lastName.end + 1);
    const tailMatch = TAIL_PART.exec(suffix)?.[0] ?? '';
    const tail = tailMatch.startsWith('${') && !(aliases.get(tailMatch.slice(2, -1)) ?? '').startsWith('TAIL') ? '' : tailMatch;
    const assign = suffix.slice(tail.length);
    const assignLike = /^\$\{[A-Za-z0-9_]+\}$/.test(assign) ? /ASSIGN/.test(aliases.get(assign.slice(2, -1)) ?? '') : /[=:]/.test(assign);
    if (assign !== '' && assignLike && !left.endsWith('(?i:')) {
      const props: Prop[] = [];
      if (left !== '') props.push(['left', expr(left)]);
      props.push(['name', expr(name)]);
      if (!isDefault(expr(tail), 'TAIL')) props.push(['tail', expr(tail)]);
      if (!isDefault(expr(assign), 'ASSIGN')) props.push(['assign', expr(assign)]);
      props.push(['value', expr(body)], ...right);
      return { builder: 'assigned', props };
    }
  }
  const props: Prop[] = [];
  if (!isDefault(expr(pre), 'L')) props.push(['left', expr(pre)]);
  props.push(['token', expr(body)], ...right);
  return { builder: 'token', props };
}

// ---------------------------------------------------------------- emit

const ORDER = [
  'id', 'title', 'severity', 'keywords', 'left', 'token', 'name', 'tail', 'assign', 'value', 'right',
  'secretGroup', 'entropy', 'maxLength', 'validator', 'generic', 'allowlist', 'destinations', 'positive', 'negative',
];

function emit(builder: string, props: readonly (readonly [string, string | Src])[], indent: number): string {
  const pad = ' '.repeat(indent + 2);
  const seen = new Set<string>();
  const sorted = [...props].sort((a, b) => ORDER.indexOf(a[0]) - ORDER.indexOf(b[0]));
  const lines = sorted.map(([k, v]) => {
    if (!ORDER.includes(k)) throw new Error(`unknown option ${k}`);
    if (seen.has(k)) throw new Error(`option ${k} twice`);
    seen.add(k);
    return `${pad}${k}: ${typeof v === 'string' ? v : reindent(v, indent + 2)},`;
  });
  return `${builder}({\n${lines.join('\n')}\n${' '.repeat(indent)}})`;
}

function objectProps(node: ts.Expression): Map<string, ts.Expression> {
  if (!ts.isObjectLiteralExpression(node)) throw new Error(`not an object literal: ${node.getText(file)}`);
  const out = new Map<string, ts.Expression>();
  for (const p of node.properties) {
    if (!ts.isPropertyAssignment(p)) throw new Error(`not a plain property: ${p.getText(file)}`);
    out.set(p.name.getText(file), p.initializer);
  }
  return out;
}

function examplesProps(node: ts.Expression): [string, Src][] {
  const ex = objectProps(node);
  const pos = ex.get('positive');
  const neg = ex.get('negative');
  if (pos === undefined || neg === undefined || ex.size !== 2) throw new Error('examples without positive/negative');
  return [
    ['positive', src(pos)],
    ['negative', src(neg)],
  ];
}

const arg = (call: ts.CallExpression, i: number): ts.Expression | undefined => call.arguments[i];
const need = (call: ts.CallExpression, i: number): ts.Expression => {
  const a = arg(call, i);
  if (a === undefined) throw new Error(`argument ${i} missing in ${call.getText(file).slice(0, 80)}`);
  return a;
};
const s = (n: ts.Expression): Src => src(n);

/** Options of build.ts's Opts / infra's Extra, as props. */
function optProps(node: ts.Expression | undefined): [string, string | Src][] {
  if (node === undefined) return [];
  const out: [string, string | Src][] = [];
  for (const [k, v] of objectProps(node)) {
    if (k === 'entropy' && v.getText(file) === '3') continue;
    if (k === 'right' && isDefault(v.getText(file), 'R')) continue;
    if (k === 'left' && isDefault(v.getText(file), 'L')) continue;
    if (k === 'allowRegexes') out.push(['allowlist', `{ regexes: ${v.getText(file)} }`]);
    else out.push([k, s(v)]);
  }
  return out;
}

function convert(family: string, el: ts.Expression, indent: number): string {
  if (ts.isObjectLiteralExpression(el)) {
    const p = objectProps(el);
    const props: [string, string | Src][] = [];
    let builder = 'token';
    const group = p.get('secretGroup')?.getText(file);
    for (const [k, v] of p) {
      if (k === 'regex') {
        if (group === undefined) {
          props.push(['token', expr(rawOf(v))], ['secretGroup', '0']);
        } else {
          if (group !== '1') throw new Error(`secretGroup ${group}`);
          const r = regexProps(rawOf(v));
          builder = r.builder;
          props.push(...r.props);
        }
      } else if (k === 'secretGroup') continue;
      else if (k === 'examples') props.push(...examplesProps(v));
      else if (k === 'entropy' && v.getText(file) === '3') continue;
      else props.push([k, s(v)]);
    }
    if (!p.has('entropy')) props.push(['entropy', 'null']);
    return emit(builder, props, indent);
  }
  if (!ts.isCallExpression(el)) throw new Error(`element is neither a call nor an object: ${el.getText(file).slice(0, 80)}`);
  const callee = el.expression.getText(file);
  const base = (c: ts.CallExpression): [string, Src][] => [
    ['id', s(need(c, 0))],
    ['title', s(need(c, 1))],
  ];
  if (callee === 'token' || callee === 'assigned') return el.getText(file);
  if (callee === 'prefixed' && family !== 'gitlab') {
    // prefixed(id, title, severity, keywords, token, destinations, positive, negative, o)
    return emit('token', [
      ...base(el),
      ['severity', s(need(el, 2))],
      ['keywords', s(need(el, 3))],
      ['token', s(need(el, 4))],
      ['destinations', s(need(el, 5))],
      ['positive', s(need(el, 6))],
      ['negative', s(need(el, 7))],
      ...optProps(arg(el, 8)),
    ], indent);
  }
  if (callee === 'named' && family !== 'infra') {
    // named(id, title, severity, keywords, name, value, destinations, positive, negative, o)
    return emit('assigned', [
      ...base(el),
      ['severity', s(need(el, 2))],
      ['keywords', s(need(el, 3))],
      ['name', s(need(el, 4))],
      ['value', s(need(el, 5))],
      ['destinations', s(need(el, 6))],
      ['positive', s(need(el, 7))],
      ['negative', s(need(el, 8))],
      ...optProps(arg(el, 9)),
    ], indent);
  }
  if (callee === 'tok' && family === 'infra') {
    // tok(id, title, severity, keywords, token, destinations, examples, extra, end = R); left B
    const end = arg(el, 8);
    return emit('token', [
      ...base(el),
      ['severity', s(need(el, 2))],
      ['keywords', s(need(el, 3))],
      ['left', 'B'],
      ['token', s(need(el, 4))],
      ...(end === undefined || isDefault(end.getText(file), 'R') ? [] : [['right', s(end)] as [string, Src]]),
      ['destinations', s(need(el, 5))],
      ...examplesProps(need(el, 6)),
      ...optProps(arg(el, 7)),
    ], indent);
  }
  if (callee === 'named' && family === 'infra') {
    // named(id, title, severity, keywords, name, value, destinations, examples, entropy = 3, end = R)
    const entropy = arg(el, 8);
    const end = arg(el, 9);
    return emit('assigned', [
      ...base(el),
      ['severity', s(need(el, 2))],
      ['keywords', s(need(el, 3))],
      ['name', s(need(el, 4))],
      ['tail', 'TAIL'],
      ['assign', 'ASSIGN'],
      ['value', s(need(el, 5))],
      ...(end === undefined || isDefault(end.getText(file), 'R') ? [] : [['right', s(end)] as [string, Src]]),
      ...(entropy === undefined || entropy.getText(file) === '3' ? [] : [['entropy', s(entropy)] as [string, Src]]),
      ['destinations', s(need(el, 6))],
      ...examplesProps(need(el, 7)),
    ], indent);
  }
  if (callee === 'checksummed' && family === 'github') {
    // checksummed(id, title, prefix, severity, examples): B, prefix + 36 base62, E, CRC32
    const prefix = need(el, 2);
    if (!ts.isStringLiteral(prefix)) throw new Error('prefix not a literal');
    return emit('token', [
      ...base(el),
      ['severity', s(need(el, 3))],
      ['keywords', `[${prefix.getText(file)}]`],
      ['left', 'B'],
      ['token', `String.raw\`${prefix.text}[A-Za-z0-9]{36}\``],
      ['right', 'E'],
      ['validator', "'github-crc32'"],
      ['destinations', 'GITHUB'],
      ...examplesProps(need(el, 4)),
    ], indent);
  }
  if (callee === 'prefixed' && family === 'gitlab') {
    // prefixed(id, title, severity, prefix, body, examples): local B, R
    const prefix = need(el, 3);
    const body = need(el, 4);
    if (!ts.isStringLiteral(prefix) || !ts.isStringLiteral(body) || body.getText(file).includes('\\')) throw new Error('gitlab prefix/body');
    return emit('token', [
      ...base(el),
      ['severity', s(need(el, 2))],
      ['keywords', `[${prefix.getText(file)}]`],
      ['left', 'B'],
      ['token', `String.raw\`${prefix.text.replaceAll('.', '\\.')}${body.text}\``],
      ['destinations', 'GITLAB'],
      ...examplesProps(need(el, 5)),
    ], indent);
  }
  if (callee === 'pem' && family === 'keys') {
    // pem(id, title, label, severity, positive, negative)
    const label = need(el, 2);
    if (!ts.isStringLiteral(label)) throw new Error('pem label');
    return emit('token', [
      ...base(el),
      ['severity', s(need(el, 3))],
      ['keywords', `['BEGIN ${label.text}']`],
      ['token', `pemBlock(${label.getText(file)})`],
      ['secretGroup', '0'],
      ['entropy', 'null'],
      ['validator', "'pem-private-key'"],
      ['maxLength', 'PEM_MAX_LENGTH'],
      ['destinations', '[]'],
      ['positive', s(need(el, 4))],
      ['negative', s(need(el, 5))],
    ], indent);
  }
  if (callee === 'assignment' && family === 'generic') {
    // assignment({ id, title, severity, keywords, name, exactName?, flagName?, minLength, entropy, positive, negative, stopwords? })
    const p = objectProps(need(el, 0));
    const t = (k: string): string | undefined => p.get(k)?.getText(file);
    const name = [t('name'), t('exactName'), t('flagName')];
    const stop = t('stopwords');
    return emit('token', [
      ['id', s(p.get('id') ?? need(el, 1))],
      ['title', s(p.get('title') ?? need(el, 1))],
      ['severity', s(p.get('severity') ?? need(el, 1))],
      ['keywords', s(p.get('keywords') ?? need(el, 1))],
      ['left', `nameOrFlag(${name[0]}${name[1] !== undefined || name[2] !== undefined ? `, ${name[1] ?? 'undefined'}` : ''}${name[2] !== undefined ? `, ${name[2]}` : ''})`],
      ['token', `\`\${V}{${t('minLength')},128}\``],
      ['right', 'END'],
      ['entropy', s(p.get('entropy') ?? need(el, 1))],
      ['generic', 'true'],
      ['allowlist', `{ regexes: NOT_SECRET_VALUES, stopwords: ${stop === undefined ? 'STOPWORDS' : `[...STOPWORDS, ...${stop}]`} }`],
      ['destinations', '[]'],
      ['positive', s(p.get('positive') ?? need(el, 1))],
      ['negative', s(p.get('negative') ?? need(el, 1))],
    ], indent);
  }
  throw new Error(`${family}: no conversion for ${callee}(...)`);
}

const families = process.argv.slice(2);
for (const family of families) {
  const path = fileURLToPath(new URL(`../detectors/rules/${family}.ts`, import.meta.url));
  const text = readFileSync(path, 'utf8');
  file = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true);
  aliases = buildImports();
  let elements: readonly ts.Expression[] = [];
  for (const st of file.statements) {
    if (!ts.isVariableStatement(st)) continue;
    for (const d of st.declarationList.declarations) {
      if (ts.isIdentifier(d.name) && d.name.text === 'rules' && d.initializer !== undefined && ts.isArrayLiteralExpression(d.initializer)) elements = d.initializer.elements;
    }
  }
  const edits = elements.map((el) => ({ start: el.getStart(file), end: el.getEnd(), text: convert(family, el, src(el).indent) }));
  let out = text;
  for (const e of [...edits].reverse()) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  writeFileSync(path, out);
  process.stdout.write(`${family}: ${edits.length} rules\n`);
}
