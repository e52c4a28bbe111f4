// Building blocks shared by the rule families: boundaries, the assignment between a name
// and its value, and the one rule builder, in two shapes with an options object: `token`
// (a secret with a shape of its own) and `assigned` (a value recognised by its name).
import type { RuleConfirm, RuleSpec, Severity, ValidatorName } from '../types.js';

// One set of boundaries for every family. A colour code's parameters are capped at 12
// characters (`\x1b[1;31m`), so no boundary can run on over a long `\x1b[;;;;…`.
const COLOUR = String.raw`\x1b\[[0-9;]{0,12}m`;

/** Left boundary: the start, a colour code, or a character outside `chars` (a class body, `A-Za-z0-9_`). */
export function notAfter(chars: string): string {
  return `(?:^|${COLOUR}|[^${chars}])`;
}

/** Right boundary: a character outside `chars` (a class body), or the end. */
export function notBefore(chars: string): string {
  return `(?:[^${chars}]|$)`;
}

/** Left boundary: start, a colour code, or a non-word character. */
export const L = notAfter('A-Za-z0-9_');
/** Left boundary for tokens whose alphabet includes `-` (the mirror of R). */
export const LD = notAfter('A-Za-z0-9_-');
/** Right boundary for tokens whose alphabet includes `-`. */
export const R = notBefore('A-Za-z0-9_-');
/** Right boundary for `[A-Za-z0-9_]` tokens. */
export const E = notBefore('A-Za-z0-9_');
/** Right boundary for base64 values. */
export const E64 = notBefore('A-Za-z0-9+/=');
/** An optional colour code. */
export const SGR = `(?:${COLOUR})?`;
/** What separates a name from its value: `=`, `:`, `:=`, `=>`, ` - ` or whitespace. */
const SEPARATOR = String.raw`(?:=>|:=|[=:]|\s-\s|\s)`;
/** A separator between a name and its value, quotes and a colour code allowed. */
export const ASSIGN = String.raw`["']?\s{0,4}${SEPARATOR}\s{0,4}["'\x60]?${SGR}`;
/** Characters that may follow a provider name before the assignment (`_API_KEY`, `.token`). */
export const TAIL = String.raw`[\w.-]{0,30}?`;
export const UUID = String.raw`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`;

/** What every shipped rule states, whatever its shape. Examples are plain data: literal strings. */
interface RuleBase {
  id: string;
  title: string;
  severity: Severity;
  /** Literal keywords; at least one occurs in (or right before) every match. */
  keywords: string[];
  /** Hosts where the credential is legitimately sent; empty or left out: nowhere. */
  destinations?: string[];
  /** Inputs that each yield a finding of this rule. */
  positive: string[];
  /** Inputs that yield none (placeholders, look-alikes, public example values). */
  negative: string[];
  /** Minimum Shannon entropy of the secret; 3 by default, `null` for none (a block the validator checks). */
  entropy?: number | null;
  maxLength?: number;
  /** A test of each keyword hit before the regex runs (RuleSpec.confirm), for a keyword of common text. */
  confirm?: RuleConfirm;
  validator?: ValidatorName;
  allowlist?: RuleSpec['allowlist'];
  /** An identifier-style rule that loses to a specific rule on the same span. */
  generic?: boolean;
}

/** A token recognised by its own shape: `token` is the RE2 of the whole secret. */
export interface TokenRule extends RuleBase {
  token: string;
  /** What must precede the token: L by default (`''` when `secretGroup` is 0). */
  left?: string;
  /** What must follow the token: R by default (`''` when `secretGroup` is 0). */
  right?: string;
  /**
   * The capture group of the secret: 1 by default, the token, which the builder wraps in
   * a group. 0: the whole match is the secret (a PEM block): the token is not wrapped.
   */
  secretGroup?: number;
}

/** A value without a shape of its own, recognised by the name it is assigned to. */
export interface AssignedRule extends RuleBase {
  /** RE2 of the variable, header or flag name (matched case-insensitively). */
  name: string;
  /** RE2 of the value (the secret). */
  value: string;
  /** What must precede the name; nothing by default. */
  left?: string;
  /** What may follow the name before the separator (`_API_KEY`, `.token`); TAIL by default. */
  tail?: string;
  /** The separator between the name and the value; ASSIGN by default. */
  assign?: string;
  /** What must follow the value: R by default. */
  right?: string;
}

/** The one builder for a token rule: an options object, no positional arguments. */
export function token(s: TokenRule): RuleSpec {
  const group = s.secretGroup ?? 1;
  if (group === 0) return finish(s, `${s.left ?? ''}${s.token}${s.right ?? ''}`, 0);
  return finish(s, `${s.left ?? L}(${s.token})${s.right ?? R}`, group);
}

/** The one builder for a name-anchored rule. */
export function assigned(s: AssignedRule): RuleSpec {
  return finish(s, `${s.left ?? ''}(?i:${s.name})${s.tail ?? TAIL}${s.assign ?? ASSIGN}(${s.value})${s.right ?? R}`, 1);
}

function finish(s: RuleBase, regex: string, secretGroup: number): RuleSpec {
  const entropy = s.entropy === undefined ? 3 : s.entropy;
  return {
    id: s.id,
    title: s.title,
    severity: s.severity,
    regex,
    ...(secretGroup !== 0 ? { secretGroup } : {}),
    keywords: s.keywords,
    ...(entropy !== null ? { entropy } : {}),
    ...(s.maxLength !== undefined ? { maxLength: s.maxLength } : {}),
    ...(s.confirm !== undefined ? { confirm: s.confirm } : {}),
    ...(s.validator !== undefined ? { validator: s.validator } : {}),
    ...(s.generic !== undefined ? { generic: s.generic } : {}),
    ...(s.allowlist !== undefined ? { allowlist: s.allowlist } : {}),
    ...(s.destinations !== undefined ? { destinations: s.destinations } : {}),
    examples: { positive: s.positive, negative: s.negative },
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
