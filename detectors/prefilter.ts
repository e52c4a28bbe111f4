// Tier one of the engine: every literal that can announce a finding (rule keywords,
// matched case-insensitively, and known-secret forms, matched exactly) compiled into
// one RE2 alternation that runs over the input once. A hit names the literals that
// occur at that position; the engine then runs only their rules, only nearby.
import RE2 from 're2';

/** What a literal stands for. */
export interface LiteralTarget {
  text: string;
  caseInsensitive: boolean;
  /** Indices of the rules this literal is a keyword of. */
  rules: number[];
  /** Indices of known-secret forms with this exact text. */
  knownForms: number[];
}

interface Entry {
  target: LiteralTarget;
  bytes: Buffer;
}

function escapeRe2(ch: string): string {
  return /[\\^$.|?*+()[\]{}-]/.test(ch) ? `\\${ch}` : ch;
}

/** One literal as an RE2 pattern: ASCII letters as `[Aa]` when case-insensitive. */
function literalPattern(text: string, caseInsensitive: boolean): string {
  let out = '';
  for (const ch of text) {
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    if (caseInsensitive && ch.length === 1 && ch < '\x80' && lower !== upper) out += `[${upper}${lower}]`;
    else out += escapeRe2(ch);
  }
  return out;
}

/** Lookup key of a byte string: latin1 lower-case, computed the same way for literals and hits. */
function keyOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1').toLowerCase();
}

/**
 * Literals with no ASCII letter (case does not matter for them) of at most this many
 * bytes are found with Buffer.indexOf instead of the alternation: short punctuation such
 * as `://` occurs on most lines of a CI log, and each alternation hit costs a JS↔C++
 * crossing (about 1 µs) while indexOf finds all of them in one cheap pass.
 */
const DIRECT_MAX_BYTES = 3;
/** At most this many literals go the indexOf way (each is one more pass over the input). */
const DIRECT_MAX = 2;

/** A literal found with Buffer.indexOf. */
export interface DirectLiteral {
  bytes: Buffer;
  target: LiteralTarget;
}

export class Prefilter {
  /** The alternation, longest literal first, `g` so lastIndex drives the scan. */
  readonly re: RE2 | undefined;
  /** Literals found with Buffer.indexOf (not in `re`, never reported by `targetsAt`). */
  readonly direct: readonly DirectLiteral[];
  /** Length in bytes of the longest literal: a hit is settled once this many bytes follow its start. */
  readonly maxLiteralBytes: number;
  /** key of a literal -> every literal whose key is a prefix of it (itself included). */
  private readonly byKey = new Map<string, Entry[]>();

  constructor(targets: readonly LiteralTarget[]) {
    const all: Entry[] = targets.map((target) => ({ target, bytes: Buffer.from(target.text, 'utf8') }));
    this.maxLiteralBytes = all.reduce((m, e) => Math.max(m, e.bytes.length), 0);
    const direct = all
      .filter((e) => e.bytes.length > 0 && e.bytes.length <= DIRECT_MAX_BYTES && !/[A-Za-z]/.test(e.target.text))
      .slice(0, DIRECT_MAX);
    this.direct = direct.map((e) => ({ bytes: e.bytes, target: e.target }));
    const entries = all.filter((e) => !direct.includes(e));
    entries.sort((a, b) => b.bytes.length - a.bytes.length);
    const keys = new Map<string, Entry[]>();
    for (const e of entries) {
      const k = keyOf(e.bytes);
      const list = keys.get(k);
      if (list) list.push(e);
      else keys.set(k, [e]);
    }
    for (const k of keys.keys()) {
      const all: Entry[] = [];
      for (let n = 1; n <= k.length; n++) {
        const same = keys.get(k.slice(0, n));
        if (same) all.push(...same);
      }
      this.byKey.set(k, all);
    }
    this.re = entries.length === 0 ? undefined : new RE2(entries.map((e) => literalPattern(e.target.text, e.target.caseInsensitive)).join('|'), 'g');
  }

  /**
   * The literals that occur at `start` in `buf`, given that the alternation matched
   * `match` there (the longest literal at that position).
   */
  targetsAt(buf: Uint8Array, start: number, match: Uint8Array): LiteralTarget[] {
    const candidates = this.byKey.get(keyOf(match));
    if (candidates === undefined) return [];
    const out: LiteralTarget[] = [];
    for (const e of candidates) {
      if (e.target.caseInsensitive || bytesAt(buf, start, e.bytes)) out.push(e.target);
    }
    return out;
  }
}

function bytesAt(buf: Uint8Array, at: number, lit: Uint8Array): boolean {
  if (at + lit.length > buf.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[at + i] !== lit[i]) return false;
  return true;
}
