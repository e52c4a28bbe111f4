// Turning RuleSpec data into what the engine runs: RE2 objects compiled once,
// window sizes, allowlists ready for lookup. A rule that does not compile throws
// RuleError naming the rule, at engine construction rather than mid-scan.
import RE2 from 're2';
import type { RuleConfirm, RuleSpec, Severity } from './types.js';
import { validators, type Validator } from './validators.js';

export class RuleError extends Error {
  constructor(
    readonly ruleId: string,
    message: string,
  ) {
    super(`rule ${ruleId}: ${message}`);
    this.name = 'RuleError';
  }
}

/** Default reach of a rule around a keyword hit, and upper bound of its match, in bytes. */
export const DEFAULT_MAX_LENGTH = 512;

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

export interface CompiledRule {
  index: number;
  spec: RuleSpec;
  /**
   * The rule regex, flags `g` (plus `d` when a capture group holds the secret). With lazy
   * compilation (`compileRule(..., true)`) it is built on first use: a rule whose keywords
   * never occur never holds its RE2 program (18 KiB on average for the shipped pack, 650 KiB
   * for the largest).
   */
  readonly re: RE2;
  secretGroup: number;
  /** Bytes the window extends on each side of a keyword hit (rule.maxLength or the default). */
  reach: number;
  /** The rule's hit test (RuleSpec.confirm), ready to run over bytes; undefined: every hit counts. */
  confirm: CompiledConfirm | undefined;
  minEntropy: number;
  validator: Validator | undefined;
  allowValues: ReadonlySet<string>;
  /**
   * The allowlist regexes as one alternation (null: none), built on first use like `re` when
   * compiled lazily: one RE2 call per candidate, not one per regex (13 for the generic rules).
   */
  readonly allowRegex: RE2 | null;
  stopwords: readonly string[];
  generic: boolean;
  severityRank: number;
  destinations: readonly string[];
}

/** RuleSpec.confirm as bytes: `contains` lower-cased, `until` as a table of the 128 ASCII bytes. */
export interface CompiledConfirm {
  contains: Uint8Array;
  /** stop[b] === 1: byte b ends the search (after the keyword). Bytes >= 0x80 never do. */
  stop: Uint8Array;
  within: number;
}

/** Longest `within` a rule may ask for: the stream waits this many bytes after a hit before it settles. */
export const MAX_CONFIRM_WITHIN = 4096;

function compileConfirm(rule: RuleSpec, c: RuleConfirm): CompiledConfirm {
  if (typeof c.contains !== 'string' || c.contains.length === 0 || [...c.contains].some((ch) => ch > '\x7f')) {
    throw new RuleError(rule.id, 'confirm.contains must be non-empty ASCII text');
  }
  if (!Number.isInteger(c.within) || c.within < c.contains.length || c.within > MAX_CONFIRM_WITHIN) {
    throw new RuleError(rule.id, `confirm.within must be an integer from the length of confirm.contains to ${MAX_CONFIRM_WITHIN}`);
  }
  if (typeof c.until !== 'string' || !c.until.startsWith('[') || !c.until.endsWith(']')) {
    throw new RuleError(rule.id, 'confirm.until must be an RE2 character class, such as [\\s/?#]');
  }
  const cls = compileRe2(rule, `^${c.until}$`, '', 'confirm.until');
  const stop = new Uint8Array(256);
  for (let b = 0; b < 0x80; b++) if (cls.test(Buffer.from([b]))) stop[b] = 1;
  const contains = Buffer.from(c.contains.toLowerCase(), 'latin1');
  for (const ch of c.contains) {
    if (stop[ch.charCodeAt(0)] === 1) throw new RuleError(rule.id, 'confirm.contains holds a byte of confirm.until: the test could never pass');
  }
  return { contains, stop, within: c.within };
}

/**
 * Longest gap a confirm test may leave between its keyword and `contains` to be folded into
 * the keyword alternation as a counted gap. A longer gap is folded as an uncounted one when a
 * line feed ends it (see confirmGuard).
 */
export const MAX_GUARD_GAP = 64;

/** A confirm test as an RE2 pattern that follows its keyword in the prefilter's alternation. */
export interface ConfirmGuard {
  pattern: string;
  /** Most bytes the pattern can match (each character of the gap counted as up to 4 bytes of UTF-8). */
  maxBytes: number;
}

/**
 * The confirm test of a keyword as a pattern for the alternation to match right after the
 * keyword (prefilter.ts), so that a hit the test would turn away is never reported: the gap
 * of up to `within - keyword - contains` characters outside `until`, then `contains`
 * (ASCII case-folded). It matches at least every byte string the test passes (a character
 * of the gap is one or more bytes; an invalid byte is one character to RE2), so the hits it
 * lets through are a superset and ScanState's own test stays the one that decides.
 * A gap longer than MAX_GUARD_GAP is not counted (`{0,n}` would multiply the alternation's DFA
 * states by n): it is any run of bytes outside `until`, which still matches all the test
 * passes. A stream waits for the test's `within` bytes after the hit either way (maxBytes),
 * so a hit the test passes has its `contains` in view whatever the split. Folded so only
 * when a line feed is in `until`: the run then ends at each line, and the alternation
 * carries the guard no further.
 * Undefined where the test cannot be folded: `contains` could start inside the keyword (the
 * test would pass there without anything after it), the gap could not hold it, or the gap is
 * long and lines do not end it.
 */
export function confirmGuard(keyword: string, c: CompiledConfirm): ConfirmGuard | undefined {
  const kw = Buffer.from(keyword.toLowerCase(), 'latin1');
  const want = c.contains;
  for (let i = 0; i < kw.length; i++) {
    let overlaps = true;
    for (let k = 0; i + k < kw.length && k < want.length; k++) if (kw[i + k] !== want[k]) overlaps = false;
    if (overlaps) return undefined;
  }
  const gap = c.within - kw.length - want.length;
  if (gap < 0 || (gap > MAX_GUARD_GAP && c.stop[0x0a] !== 1)) return undefined;
  let stops = '';
  for (let b = 0; b < 0x80; b++) if (c.stop[b] === 1) stops += `\\x${b.toString(16).padStart(2, '0')}`;
  let contains = '';
  for (const b of want) {
    const ch = String.fromCharCode(b);
    contains += /[a-z]/.test(ch) ? `[${ch.toUpperCase()}${ch}]` : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  const cls = stops === '' ? '(?s:.)' : `[^${stops}]`;
  if (gap > MAX_GUARD_GAP) return { pattern: `${cls}*${contains}`, maxBytes: c.within - kw.length };
  return { pattern: `${cls}{0,${gap}}${contains}`, maxBytes: 4 * gap + want.length };
}

/**
 * The allowlist regexes (RE2 over the secret) as one alternation. Each alternative is its own
 * group, so its inline flags (`(?i)`) and anchors stay its own. Each is compiled alone first,
 * so a bad one is named.
 */
function allowlistRegex(rule: RuleSpec, sources: readonly string[]): RE2 | null {
  if (sources.length === 0) return null;
  const each = sources.map((r) => compileRe2(rule, r, '', 'allowlist regex'));
  if (each.length === 1) return each[0] as RE2;
  return compileRe2(rule, sources.map((r) => `(?:${r})`).join('|'), '', 'allowlist');
}

function compileRe2(rule: RuleSpec, source: string, flags: string, what: string): RE2 {
  try {
    return new RE2(source, flags);
  } catch (err) {
    throw new RuleError(rule.id, `${what} does not compile under RE2: ${(err as Error).message}`);
  }
}

/**
 * `lazy`: build the RE2 objects on first use instead of now. Only for rules already known to
 * compile (the shipped pack, whose tests compile every rule; operator rule files, whose
 * regexes loadRulesFile compiles as it loads them): a lazy rule that did not compile would
 * throw RuleError in the middle of a scan instead of at engine construction.
 */
export function compileRule(spec: RuleSpec, index: number, lazy = false): CompiledRule {
  if (typeof spec.id !== 'string' || spec.id.length === 0) throw new RuleError(String(spec.id), 'has no id');
  if (!Array.isArray(spec.keywords) || spec.keywords.length === 0 || spec.keywords.some((k) => k.length === 0)) {
    throw new RuleError(spec.id, 'needs at least one non-empty keyword (rules without keywords never run)');
  }
  const secretGroup = spec.secretGroup ?? 0;
  if (!Number.isInteger(secretGroup) || secretGroup < 0) throw new RuleError(spec.id, 'secretGroup must be a non-negative integer');
  const reach = spec.maxLength ?? DEFAULT_MAX_LENGTH;
  if (!Number.isInteger(reach) || reach <= 0) throw new RuleError(spec.id, 'maxLength must be a positive integer');
  const validator = spec.validator === undefined ? undefined : validators[spec.validator];
  if (spec.validator !== undefined && validator === undefined) throw new RuleError(spec.id, `unknown validator ${spec.validator}`);
  const flags = secretGroup > 0 ? 'gd' : 'g';
  const allowSources = spec.allowlist?.regexes ?? [];
  let re: RE2 | undefined;
  let allowRegex: RE2 | null | undefined;
  const buildRe = (): RE2 => (re ??= compileRe2(spec, spec.regex, flags, 'regex'));
  const buildAllow = (): RE2 | null => (allowRegex ??= allowlistRegex(spec, allowSources));
  if (!lazy) {
    buildRe();
    buildAllow();
  }
  return {
    index,
    spec,
    get re(): RE2 {
      return re ?? buildRe();
    },
    get allowRegex(): RE2 | null {
      return allowRegex === undefined ? buildAllow() : allowRegex;
    },
    secretGroup,
    reach,
    confirm: spec.confirm === undefined ? undefined : compileConfirm(spec, spec.confirm),
    minEntropy: spec.entropy ?? 0,
    validator,
    allowValues: new Set(spec.allowlist?.values ?? []),
    stopwords: (spec.allowlist?.stopwords ?? []).map((s) => s.toLowerCase()),
    generic: spec.generic === true,
    severityRank: SEVERITY_RANK[spec.severity] ?? 0,
    destinations: Object.freeze([...(spec.destinations ?? [])]),
  };
}

export { SEVERITY_RANK };
