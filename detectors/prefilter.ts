// Tier one of the engine: every literal that can announce a finding (rule keywords,
// matched case-insensitively, and known-secret forms, matched exactly) compiled into
// one RE2 alternation that runs over the input once. A hit names the literals that
// occur at that position; the engine then runs only their rules, only nearby.
// The alternation only finds where the next hit starts (`RE2#search`: a byte offset, no
// result objects: `exec` costs about 1.5 µs more per hit, for a Buffer copy of the match,
// the result array and its indices); which literals occur there is read back in JS by
// walking a byte trie of the literals.
import RE2 from 're2';

/** What a literal stands for. */
export interface LiteralTarget {
  text: string;
  caseInsensitive: boolean;
  /** Indices of the rules this literal is a keyword of. */
  rules: number[];
  /** Indices of known-secret forms with this exact text. */
  knownForms: number[];
  /** Bytes from a hit that its rules' confirm tests read (the largest `confirm.within`; 0: none). */
  confirmBytes: number;
  /**
   * Its rules' confirm tests as a pattern the alternation matches after the literal
   * (compile.ts confirmGuard): set when every rule of the literal has a foldable test, so a
   * hit they would all turn away is not reported. Such a literal is never an indexOf one.
   */
  guard?: { pattern: string; maxBytes: number };
}

interface Entry {
  target: LiteralTarget;
  bytes: Buffer;
  /**
   * Whether the trie (latin1 lower-case keys) can accept bytes the alternation would not:
   * case-sensitive literals, and case-insensitive ones with bytes >= 0x80 (the alternation
   * folds ASCII letters only). Such entries are compared byte by byte.
   */
  checkBytes: boolean;
}

/** A node of the literal trie, keyed by bytes as latin1 toLowerCase() maps them (foldByte). */
interface TrieNode {
  next: Map<number, TrieNode>;
  /** Literals whose key ends here, in alternation order. */
  entries: Entry[];
}

/** What the alternation matched at a position: its length, and every literal occurring there. */
export interface Hit {
  /** Length in bytes of the alternation's match (the longest literal at that position). */
  length: number;
  targets: LiteralTarget[];
}

/** A byte as latin1 toLowerCase() maps it (ASCII A-Z, and 0xC0-0xDE but 0xD7). */
function foldByte(b: number): number {
  if (b >= 0x41 && b <= 0x5a) return b | 0x20;
  if (b >= 0xc0 && b <= 0xde && b !== 0xd7) return b + 0x20;
  return b;
}

/** Whether `e` occurs at `at` in `buf` as the alternation matches it (its bytes fold-equal up to `at + length`). */
function occursAt(e: Entry, buf: Uint8Array, at: number): boolean {
  if (!e.checkBytes) return true;
  const lit = e.bytes;
  if (!e.target.caseInsensitive) return bytesAt(buf, at, lit);
  for (let i = 0; i < lit.length; i++) {
    const l = lit[i] as number;
    const t = buf[at + i] as number;
    if (l >= 0x80 ? t !== l : foldByte(t) !== foldByte(l)) return false;
  }
  return true;
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
  /** The alternation, longest literal first; run with `search` on the rest of the input. */
  readonly re: RE2 | undefined;
  /** Literals found with Buffer.indexOf (not in `re`, never reported by `hitAt`). */
  readonly direct: readonly DirectLiteral[];
  /** Length in bytes of the longest literal: a hit is settled once this many bytes follow its start. */
  readonly maxLiteralBytes: number;
  /** The literals of the alternation, as a trie of their keys. */
  private readonly root: TrieNode = { next: new Map(), entries: [] };

  constructor(targets: readonly LiteralTarget[]) {
    const all: Entry[] = targets.map((target) => {
      const bytes = Buffer.from(target.text, 'utf8');
      return { target, bytes, checkBytes: !target.caseInsensitive || bytes.some((b) => b >= 0x80) };
    });
    // A hit is settled once this many bytes follow it: the longest literal, or a guarded one with its guard.
    this.maxLiteralBytes = all.reduce((m, e) => Math.max(m, e.bytes.length + (e.target.guard?.maxBytes ?? 0)), 0);
    const direct = all
      .filter((e) => e.target.guard === undefined && e.bytes.length > 0 && e.bytes.length <= DIRECT_MAX_BYTES && !/[A-Za-z]/.test(e.target.text))
      .slice(0, DIRECT_MAX);
    this.direct = direct.map((e) => ({ bytes: e.bytes, target: e.target }));
    const entries = all.filter((e) => !direct.includes(e));
    entries.sort((a, b) => b.bytes.length - a.bytes.length);
    for (const e of entries) {
      let node = this.root;
      for (const b of e.bytes) {
        const key = foldByte(b);
        let next = node.next.get(key);
        if (next === undefined) {
          next = { next: new Map(), entries: [] };
          node.next.set(key, next);
        }
        node = next;
      }
      node.entries.push(e);
    }
    const pattern = (t: LiteralTarget): string => literalPattern(t.text, t.caseInsensitive) + (t.guard ? `(?:${t.guard.pattern})` : '');
    this.re = entries.length === 0 ? undefined : new RE2(entries.map((e) => pattern(e.target)).join('|'));
  }

  /**
   * What the alternation matches at `start` in `buf` (which it found there; `end` bounds
   * the bytes it could see): the longest literal occurring at `start` gives the length,
   * and the targets are every literal whose key is a prefix of that match's key,
   * case-insensitive ones as they are, case-sensitive ones only if their bytes occur.
   */
  /**
   * The keyword pass alone over a whole input, the alternation and the indexOf literals:
   * how many hits. Not used by scanning (ScanState interleaves the hits with the rules);
   * `npm run bench:detect` reports it as the ceiling of this design.
   */
  countHits(buf: Buffer): number {
    let n = 0;
    for (const d of this.direct) for (let p = buf.indexOf(d.bytes); p >= 0; p = buf.indexOf(d.bytes, p + 1)) n++;
    const re = this.re;
    if (re === undefined) return n;
    for (let from = 0; from < buf.length; ) {
      const rel = re.search(from === 0 ? buf : buf.subarray(from));
      if (rel < 0) break;
      n++;
      from += rel + 1;
    }
    return n;
  }

  /** Whether any literal, of the alternation or an indexOf one, occurs in `buf`. */
  occursIn(buf: Buffer): boolean {
    if (this.re !== undefined && this.re.search(buf) >= 0) return true;
    for (const d of this.direct) if (buf.indexOf(d.bytes) >= 0) return true;
    return false;
  }

  hitAt(buf: Uint8Array, start: number, end: number): Hit {
    const path: TrieNode[] = [];
    let node = this.root;
    let length = 0;
    for (let i = start; i < end; i++) {
      const next = node.next.get(foldByte(buf[i] as number));
      if (next === undefined) break;
      node = next;
      path.push(node);
      for (const e of node.entries) {
        if (occursAt(e, buf, start)) {
          length = i - start + 1;
          break;
        }
      }
    }
    const targets: LiteralTarget[] = [];
    for (let d = 0; d < length; d++) {
      for (const e of (path[d] as TrieNode).entries) {
        if (occursAt(e, buf, start)) targets.push(e.target);
      }
    }
    return { length, targets };
  }
}

function bytesAt(buf: Uint8Array, at: number, lit: Uint8Array): boolean {
  if (at + lit.length > buf.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[at + i] !== lit[i]) return false;
  return true;
}
