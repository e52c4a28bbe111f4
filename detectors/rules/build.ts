// Building blocks shared by the rule families: boundaries, the assignment between a name
// and its value, and the two common rule shapes (a prefixed token, a named value).
import type { RuleSpec, Severity, ValidatorName } from '../types.js';

/** Left boundary: start, an ANSI colour sequence, or a non-word character. */
export const L = String.raw`(?:^|\x1b\[[0-9;]*m|[^A-Za-z0-9_])`;
/** Right boundary for tokens whose alphabet includes `-`. */
export const R = String.raw`(?:[^A-Za-z0-9_-]|$)`;
export const SGR = String.raw`(?:\x1b\[[0-9;]*m)?`;
/** `=`, `:`, `:=`, `=>` or whitespace between a name and its value, quotes and a colour code allowed. */
export const ASSIGN = String.raw`["']?\s{0,4}(?:=>|:=|[=:]|\s)\s{0,4}["'\x60]?${SGR}`;
export const TAIL = String.raw`[\w.-]{0,32}?`;
export const UUID = String.raw`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`;

// The forge, cloud, registry and infrastructure families use the same boundaries with the
// colour code's parameters capped at 12 characters, and a 30-character name tail.
/** Left boundary: start, an ANSI colour sequence (at most 12 parameter characters), or a non-word character. */
export const B = String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_])`;
/** Right boundary for `[A-Za-z0-9_]` tokens. */
export const E = String.raw`(?:[^A-Za-z0-9_]|$)`;
/** Right boundary for base64 values. */
export const E64 = String.raw`(?:[^A-Za-z0-9+/=]|$)`;
/** An optional ANSI colour sequence, parameters capped. */
export const SGR12 = String.raw`(?:\x1b\[[0-9;]{0,12}m)?`;
/** ASSIGN with the capped colour sequence. */
export const ASSIGN12 = String.raw`["']?\s{0,4}(?:=>|:=|[=:]|\s)\s{0,4}["'\x60]?${SGR12}`;
/** Characters that may follow a provider name before the assignment (`_API_KEY`, `.token`). */
export const TAIL30 = String.raw`[\w.-]{0,30}?`;

export interface Opts {
  entropy?: number;
  maxLength?: number;
  validator?: ValidatorName;
  allowlist?: RuleSpec['allowlist'];
  right?: string;
  left?: string;
}

function extra(o: Opts): Partial<RuleSpec> {
  return {
    entropy: o.entropy ?? 3,
    ...(o.maxLength !== undefined ? { maxLength: o.maxLength } : {}),
    ...(o.validator !== undefined ? { validator: o.validator } : {}),
    ...(o.allowlist !== undefined ? { allowlist: o.allowlist } : {}),
  };
}

/** What every shipped rule states, whatever its shape. Examples are plain data: literal strings. */
interface RuleBase {
  id: string;
  title: string;
  severity: Severity;
  /** Literal keywords; at least one occurs in (or right before) every match. */
  keywords: string[];
  /** Hosts where the credential is legitimately sent; empty: nowhere. */
  destinations: string[];
  /** Inputs that each yield a finding of this rule. */
  positive: string[];
  /** Inputs that yield none (placeholders, look-alikes, public example values). */
  negative: string[];
  /** Minimum Shannon entropy of the secret; 3 by default. */
  entropy?: number;
  maxLength?: number;
  validator?: ValidatorName;
  allowlist?: RuleSpec['allowlist'];
}

/** A token recognised by its own shape: `token` is the RE2 of the whole secret. */
export interface TokenRule extends RuleBase {
  token: string;
  /** Boundaries around the token; L and R by default. */
  left?: string;
  right?: string;
}

/** A value without a shape of its own, recognised by the name it is assigned to. */
export interface AssignedRule extends RuleBase {
  /** RE2 of the variable, header or flag name (matched case-insensitively). */
  name: string;
  /** RE2 of the value (the secret). */
  value: string;
  right?: string;
}

/** The one builder for a token rule: an options object, no positional arguments. */
export function token(s: TokenRule): RuleSpec {
  return finish(s, `${s.left ?? L}(${s.token})${s.right ?? R}`);
}

/** The one builder for a name-anchored rule. */
export function assigned(s: AssignedRule): RuleSpec {
  return finish(s, `(?i:${s.name})${TAIL}${ASSIGN}(${s.value})${s.right ?? R}`);
}

function finish(s: RuleBase, regex: string): RuleSpec {
  return {
    id: s.id,
    title: s.title,
    severity: s.severity,
    regex,
    secretGroup: 1,
    keywords: s.keywords,
    ...extra(s),
    destinations: s.destinations,
    examples: { positive: s.positive, negative: s.negative },
  };
}

/** A token with a literal prefix (the keyword); `token` is the RE2 of the whole token. */
export function prefixed(
  id: string,
  title: string,
  severity: Severity,
  keywords: string[],
  token: string,
  destinations: string[],
  positive: string[],
  negative: string[],
  o: Opts = {},
): RuleSpec {
  return {
    id,
    title,
    severity,
    regex: `${o.left ?? L}(${token})${o.right ?? R}`,
    secretGroup: 1,
    keywords,
    ...extra(o),
    destinations,
    examples: { positive, negative },
  };
}

/** A value without a prefix, recognised by the variable or header name it is assigned to. */
export function named(
  id: string,
  title: string,
  severity: Severity,
  keywords: string[],
  name: string,
  value: string,
  destinations: string[],
  positive: string[],
  negative: string[],
  o: Opts = {},
): RuleSpec {
  return {
    id,
    title,
    severity,
    regex: `(?i:${name})${TAIL}${ASSIGN}(${value})${o.right ?? R}`,
    secretGroup: 1,
    keywords,
    ...extra(o),
    destinations,
    examples: { positive, negative },
  };
}

/** Words that name a secret, for `near`. */
export const SECRET_WORDS = 'token|key|secret|password|passwd|pat|auth|credential';

/**
 * The `name` of an `assigned` rule for a provider whose name may stand a few words before
 * the assignment (`semaphore.co token = '…'`, `"percy": {"token": "…"}`): the provider, then,
 * on the same line within 40 characters, one of `words`. With `required` false the bare
 * provider name (`CODACY_PROJECT_TOKEN=…`, `codacy: …`) anchors the value as well.
 */
export function near(provider: string, words: string = SECRET_WORDS, required = false): string {
  const gap = String.raw`[^\n]{0,40}?(?:${words})`;
  return required ? `(?:${provider})${gap}` : `(?:${provider})(?:${gap})?`;
}
