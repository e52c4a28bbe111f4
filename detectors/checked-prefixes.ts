// Look-alikes of checksummed provider tokens: a value that starts with a provider prefix
// (`ghp_`, `npm_`, ...) but fails that provider's checksum or structure is a test value,
// a truncation or a typo, never a credential. The specific rule rejects it through its
// validator; this table makes every other rule (generic ones included) reject it too.
// Built from the rules that declare a prefixed validator, so a new checksummed rule
// gets it for free.
import type { RuleSpec } from './types.js';
import { validatorPrefixes, validators, type Validator } from './validators.js';

export interface CheckedPrefix {
  prefix: string;
  validator: Validator;
}

/** The prefix → validator table for the validators `rules` declare, longest prefix first. */
export function checkedPrefixes(rules: readonly RuleSpec[]): CheckedPrefix[] {
  const seen = new Map<string, Validator>();
  for (const r of rules) {
    if (r.validator === undefined) continue;
    for (const prefix of validatorPrefixes[r.validator] ?? []) seen.set(prefix, validators[r.validator]);
  }
  return [...seen].map(([prefix, validator]) => ({ prefix, validator })).sort((a, b) => b.prefix.length - a.prefix.length);
}

/** True when `secret` carries a checked provider prefix and fails that provider's check. */
export function isFailedLookalike(table: readonly CheckedPrefix[], secret: string): boolean {
  for (const c of table) if (secret.startsWith(c.prefix)) return !c.validator(secret);
  return false;
}
