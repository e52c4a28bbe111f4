// The secret detection engine: compiles a rule pack (and the operator's known
// secrets) once, then scans whole inputs (`scan`) or streams (`stream`).
// Two tiers: one RE2 keyword prefilter pass over the input, then each rule's exact
// regex only in windows around its own keywords (see scan-state.ts).
import { checkedPrefixes } from './checked-prefixes.js';
import { compileRule, confirmGuard, DEFAULT_MAX_LENGTH, RuleError, type CompiledRule, type ConfirmGuard } from './compile.js';
import { knownForms, type KnownSecret } from './known.js';
import { Prefilter, type LiteralTarget } from './prefilter.js';
import { ScanState, type EngineCore } from './scan-state.js';
import { StreamScanner } from './stream.js';
import type { Finding, RuleSpec } from './types.js';

export { RuleError };
export type { KnownSecret };

export interface EngineOptions {
  /** Compiled once; a bad rule throws RuleError naming the rule id. */
  rules: readonly RuleSpec[];
  /** Per-install HMAC-SHA-256 key for fingerprints. */
  fingerprintKey: Buffer;
  /** Exact values; also matched base64-, URL- and hex-encoded. Values under 8 bytes throw. */
  knownSecrets?: readonly KnownSecret[];
  /**
   * Build each rule's RE2 objects on its first keyword hit rather than now (default false).
   * Saves the programs of rules whose keywords never occur (about 8 MiB for the shipped
   * pack, issue #19), but a regex that does not compile then throws RuleError mid-scan, not
   * here: only for rules already known to compile (see compileRule).
   */
  lazyRegexes?: boolean;
}

export class Engine {
  /** Longest span any rule (or known-secret form) can match: the streaming carry-over needs at least this. */
  readonly maxMatchLength: number;
  private readonly core: EngineCore;

  constructor(opts: EngineOptions) {
    const ids = new Set<string>();
    const rules: CompiledRule[] = opts.rules.map((spec, i) => {
      if (ids.has(spec.id)) throw new RuleError(spec.id, 'duplicate rule id');
      ids.add(spec.id);
      return compileRule(spec, i, opts.lazyRegexes === true);
    });
    const known = opts.knownSecrets ?? [];
    const forms = knownForms(known, opts.fingerprintKey);

    // One literal target per distinct (text, case-sensitivity).
    const targets = new Map<string, LiteralTarget>();
    const target = (text: string, caseInsensitive: boolean): LiteralTarget => {
      const k = `${caseInsensitive ? 'i' : 's'}:${caseInsensitive ? text.toLowerCase() : text}`;
      let t = targets.get(k);
      if (t === undefined) {
        t = { text, caseInsensitive, rules: [], knownForms: [], confirmBytes: 0 };
        targets.set(k, t);
      }
      return t;
    };
    for (const r of rules) {
      for (const kw of new Set(r.spec.keywords.map((k) => k.toLowerCase()))) {
        const t = target(kw, true);
        t.rules.push(r.index);
        t.confirmBytes = Math.max(t.confirmBytes, r.confirm?.within ?? 0);
      }
    }
    forms.forEach((f, i) => target(f.text, false).knownForms.push(i));
    // A keyword whose every rule has a foldable confirm test carries the tests into the
    // alternation: its hits the tests would turn away are not reported at all.
    for (const t of targets.values()) {
      if (t.rules.length === 0 || t.knownForms.length > 0) continue;
      const guards = t.rules.map((r) => {
        const c = (rules[r] as CompiledRule).confirm;
        return c === undefined ? undefined : confirmGuard(t.text, c);
      });
      if (guards.some((g) => g === undefined)) continue;
      const distinct = [...new Set((guards as ConfirmGuard[]).map((g) => g.pattern))];
      t.guard = {
        pattern: distinct.length === 1 ? (distinct[0] as string) : `(?:${distinct.join('|')})`,
        maxBytes: Math.max(...(guards as ConfirmGuard[]).map((g) => g.maxBytes)),
      };
    }

    const maxReach = rules.reduce((m, r) => Math.max(m, r.reach), 0);
    const prefilter = new Prefilter([...targets.values()]);
    this.core = {
      rules,
      prefilter,
      knownForms: forms,
      knownSecrets: known,
      fingerprintKey: opts.fingerprintKey,
      maxReach,
      checkedPrefixes: checkedPrefixes(opts.rules),
    };
    const longestForm = forms.reduce((m, f) => Math.max(m, f.length), 0);
    this.maxMatchLength = Math.max(rules.length > 0 ? maxReach : DEFAULT_MAX_LENGTH, longestForm);
  }

  /** Scan a whole input. Findings are sorted by offset. */
  scan(input: Buffer): Finding[] {
    return new ScanState(this.core).step(input, 0, true);
  }

  /** The keyword prefilter alone over `input` (hits counted): the benchmark's ceiling of the engine. */
  keywordHits(input: Buffer): number {
    return this.core.prefilter.countHits(input);
  }

  /** A fresh streaming scanner over this engine. */
  stream(): StreamScanner {
    return new StreamScanner(new ScanState(this.core), this.maxMatchLength);
  }
}
