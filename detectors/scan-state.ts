// The scanning algorithm, written once for both whole-input scans and streams.
// A ScanState is fed a growing byte buffer (whole input: once, final) and keeps
// just enough state to resume: where the keyword prefilter stopped, the open
// window of each rule, and candidate findings not yet settled. Because a stream
// makes exactly the decisions a whole scan makes, only later, its findings are the same.
//
// Per step:
//  1. prefilter: one RE2 alternation of all literals finds keyword hits (RE2#search for
//     the offset, a trie for the literals there); a hit is
//     settled once the longest literal would fit after it (or at the end);
//  2. each hit opens or widens a window [hit - reach, hit + len + reach] for each rule
//     it is a keyword of (merged per rule, capped in size); a window closes when no
//     later hit can reach it, and runs when its bytes are all there;
//  3. the rule regex runs over the window; matches become candidates after entropy,
//     allowlist, validator and placeholder checks;
//  4. a candidate is settled when no later candidate can overlap it; overlaps are
//     resolved (one finding per offset, generic loses to specific) and findings emitted
//     with line and column.
import { isFailedLookalike, type CheckedPrefix } from './checked-prefixes.js';
import type { CompiledConfirm, CompiledRule } from './compile.js';
import { shannonEntropy } from './entropy.js';
import type { KnownForm, KnownSecret } from './known.js';
import { isPlaceholder } from './placeholders.js';
import type { Hit, LiteralTarget, Prefilter } from './prefilter.js';
import { fingerprint, redactedPreview } from './redact.js';
import type { Finding, Severity } from './types.js';
import { utf8SafeEnd } from './utf8.js';

/** Everything the engine compiled once and shares between scans. */
export interface EngineCore {
  rules: readonly CompiledRule[];
  prefilter: Prefilter;
  knownForms: readonly KnownForm[];
  knownSecrets: readonly KnownSecret[];
  fingerprintKey: Buffer;
  /** Largest rule reach: how far before the prefilter position a window can start. */
  maxReach: number;
  /** Provider prefixes whose checksum a value must pass under any rule (checked-prefixes.ts). */
  checkedPrefixes: readonly CheckedPrefix[];
}

/** A merged window of a rule merges hits until it spans this many times the rule's reach. */
const WINDOW_CAP_FACTOR = 16;

/** Ranking tiers when candidates compete for one offset. */
const TIER_GENERIC = 0;
const TIER_SPECIFIC = 1;
const TIER_KNOWN = 2;
const TIER_CANARY = 3;

interface Candidate {
  offset: number;
  end: number;
  tier: number;
  severityRank: number;
  /** Rule index (known secrets after the rules): breaks ties, deduplicates. */
  order: number;
  key: string;
  finding: Omit<Finding, 'line' | 'column'>;
}

interface Window {
  rule: number;
  start: number;
  end: number;
}

interface LineCursor {
  /** Absolute offset counted up to. */
  pos: number;
  /** 1-based line number at `pos`. */
  line: number;
  /** Absolute offset of the first byte of that line. */
  lineStart: number;
}

/**
 * Whether the bytes from `at` pass a rule's confirm test (RuleSpec.confirm): `contains`
 * (ASCII case-insensitive) occurs before the first stop byte after the keyword's `keywordLen`
 * bytes, within `within` bytes of `at` (or of the bytes there are).
 */
export function confirmed(c: CompiledConfirm, buf: Uint8Array, at: number, keywordLen: number): boolean {
  const want = c.contains;
  const stop = c.stop;
  const end = Math.min(buf.length, at + c.within);
  const last = end - want.length;
  const keywordEnd = at + keywordLen;
  const first = want[0] as number;
  for (let i = at; i <= last; i++) {
    const b = buf[i] as number;
    if (i >= keywordEnd && stop[b] === 1) return false;
    if (lowerAscii(b) === first && foldedAt(buf, i, want)) return true;
  }
  return false;
}

function lowerAscii(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** Whether `lower` (lower-case ASCII) occurs at `at` in `buf`, ASCII case folded. */
function foldedAt(buf: Uint8Array, at: number, lower: Uint8Array): boolean {
  for (let k = 1; k < lower.length; k++) if (lowerAscii(buf[at + k] as number) !== lower[k]) return false;
  return true;
}

function better(a: Candidate, b: Candidate): boolean {
  if (a.tier !== b.tier) return a.tier > b.tier;
  if (a.severityRank !== b.severityRank) return a.severityRank > b.severityRank;
  const la = a.end - a.offset;
  const lb = b.end - b.offset;
  if (la !== lb) return la > lb;
  return a.order < b.order;
}

/** Advance `cur` to absolute offset `to`, counting line feeds in `buf` (which starts at `base`). */
function advanceLines(buf: Buffer, base: number, cur: LineCursor, to: number): void {
  let i = cur.pos - base;
  const stop = to - base;
  while (i < stop) {
    const nl = buf.indexOf(10, i);
    if (nl < 0 || nl >= stop) break;
    cur.line++;
    cur.lineStart = base + nl + 1;
    i = nl + 1;
  }
  cur.pos = to;
}

export class ScanState {
  /** Absolute offset where the prefilter resumes. */
  private pfPos = 0;
  /** Per rule, the open window's start and end (-1: none). */
  private readonly openStart: number[];
  private readonly openEnd: number[];
  private readonly openRules = new Set<number>();
  private ready: Window[] = [];
  private pending: Candidate[] = [];
  /** Settled candidates that may still overlap pending ones. */
  private recent: Candidate[] = [];
  private readonly keys = new Set<string>();
  private readonly lines: LineCursor = { pos: 0, line: 1, lineStart: 0 };

  constructor(
    private readonly core: EngineCore,
    from?: ScanState,
  ) {
    if (from === undefined) {
      this.openStart = new Array<number>(core.rules.length).fill(-1);
      this.openEnd = new Array<number>(core.rules.length).fill(-1);
    } else {
      // A copy of the arrays in one go (not an element loop): the flush's clone runs per message.
      this.openStart = from.openStart.slice();
      this.openEnd = from.openEnd.slice();
    }
  }

  /**
   * Process `buf`, the bytes from absolute offset `base` to `base + buf.length` (all
   * bytes not yet released). `final` says no more bytes will come. Returns the
   * findings settled by this step, sorted by offset.
   */
  step(buf: Buffer, base: number, final: boolean): Finding[] {
    this.runPrefilter(buf, base, final);
    this.closeWindows(final);
    this.runReadyWindows(buf, base, final);
    return this.emit(buf, base, final);
  }

  /**
   * An independent copy of this state (the stream scanner's idle flush runs a final step
   * on a copy and goes on with the original). Candidates are shared: nothing mutates one.
   */
  clone(): ScanState {
    const c = new ScanState(this.core, this);
    c.pfPos = this.pfPos;
    for (const r of this.openRules) c.openRules.add(r);
    c.ready = this.ready.map((w) => ({ ...w }));
    c.pending = [...this.pending];
    c.recent = [...this.recent];
    for (const k of this.keys) c.keys.add(k);
    Object.assign(c.lines, this.lines);
    return c;
  }

  /**
   * Whether a final step now would report nothing: no window open or waiting, no candidate
   * pending, and no keyword from where the prefilter stopped to the end of `buf` (which starts
   * at `base`). A stream's flush then has nothing to copy the state for.
   */
  quiet(buf: Buffer, base: number): boolean {
    if (this.openRules.size > 0 || this.ready.length > 0 || this.pending.length > 0) return false;
    const from = this.pfPos - base;
    return from >= buf.length || !this.core.prefilter.occursIn(buf.subarray(from));
  }

  /** The earliest absolute offset whose bytes a later step may still read. */
  keepFrom(): number {
    let keep = this.pfPos - this.core.maxReach;
    for (const r of this.openRules) keep = Math.min(keep, this.openStart[r] as number);
    for (const w of this.ready) keep = Math.min(keep, w.start);
    for (const c of this.pending) keep = Math.min(keep, c.offset);
    return Math.max(0, Math.min(keep, this.pfPos));
  }

  /** The caller drops bytes before `upTo` (<= keepFrom()); `buf` still holds them, from `base`. */
  release(buf: Buffer, base: number, upTo: number): void {
    if (upTo > this.lines.pos) advanceLines(buf, base, this.lines, upTo);
  }

  private runPrefilter(buf: Buffer, base: number, final: boolean): void {
    const { prefilter } = this.core;
    const re = prefilter.re;
    const direct = prefilter.direct;
    const safeLen = utf8SafeEnd(buf, 0, buf.length);
    const safe = base + safeLen;
    if (re === undefined && direct.length === 0) {
      this.pfPos = safe;
      return;
    }
    const view = safeLen === buf.length ? buf : buf.subarray(0, safeLen);
    // A hit is settled once the longest literal fits after it (so the alternation has seen
    // the longest literal there) and its rules' confirm tests have their bytes, or at the end:
    // each hit is then judged on the same bytes however the input was chunked.
    const limit = final ? safeLen : safeLen - prefilter.maxLiteralBytes + 1;
    let from = this.pfPos - base;
    // The next hit of the alternation (-1: none) and of each indexOf literal at or after
    // `from`, taken in offset order (the alternation's first at one offset), so each rule
    // sees its hits in the same order whatever the chunking.
    const search = (at: number): number => {
      if (re === undefined || at >= safeLen) return -1;
      // `search` on the rest of the view: a byte offset, no result objects (see prefilter.ts).
      const rel = re.search(at === 0 ? view : view.subarray(at));
      return rel < 0 ? -1 : at + rel;
    };
    let alt = search(from);
    const next: number[] = direct.map((d) => (from <= safeLen ? view.indexOf(d.bytes, from) : -1));
    for (;;) {
      let pos = alt;
      for (const p of next) if (p >= 0 && (pos < 0 || p < pos)) pos = p;
      if (pos < 0 || pos >= limit) break;
      const hit = pos === alt ? prefilter.hitAt(view, pos, safeLen) : undefined;
      if (!final && pos + this.confirmBytesAt(hit, next, pos) > safeLen) {
        this.pfPos = base + pos;
        return;
      }
      if (hit !== undefined) {
        for (const target of hit.targets) this.onTarget(target, view, base, pos, hit.length);
        alt = search(pos + 1);
      }
      for (let i = 0; i < next.length; i++) {
        if (next[i] !== pos) continue;
        const d = direct[i] as (typeof direct)[number];
        this.onTarget(d.target, view, base, pos, d.bytes.length);
        next[i] = view.indexOf(d.bytes, pos + 1);
      }
      from = pos + 1;
    }
    this.pfPos = Math.max(this.pfPos, base + Math.max(from, limit));
  }

  /** Bytes the confirm tests of the hits at `pos` read (0 when none of their rules has one). */
  private confirmBytesAt(hit: Hit | undefined, next: readonly number[], pos: number): number {
    let need = 0;
    if (hit !== undefined) for (const t of hit.targets) need = Math.max(need, t.confirmBytes);
    const direct = this.core.prefilter.direct;
    for (let i = 0; i < next.length; i++) if (next[i] === pos) need = Math.max(need, (direct[i] as (typeof direct)[number]).target.confirmBytes);
    return need;
  }

  /** A literal at view[start, start + len): a window for each of its rules whose confirm test passes there. */
  private onTarget(target: LiteralTarget, view: Buffer, base: number, start: number, len: number): void {
    const abs = base + start;
    for (const r of target.rules) {
      const confirm = (this.core.rules[r] as CompiledRule).confirm;
      if (confirm === undefined || confirmed(confirm, view, start, len)) this.addWindow(r, abs, len);
    }
    for (const f of target.knownForms) this.addKnown(f, abs);
  }

  private addWindow(r: number, hit: number, len: number): void {
    const reach = (this.core.rules[r] as CompiledRule).reach;
    const ws = Math.max(0, hit - reach);
    const we = hit + len + reach;
    const os = this.openStart[r] as number;
    if (os >= 0) {
      const oe = this.openEnd[r] as number;
      if (ws <= oe && we - os <= reach * WINDOW_CAP_FACTOR) {
        if (we > oe) this.openEnd[r] = we;
        return;
      }
      this.ready.push({ rule: r, start: os, end: oe });
    }
    this.openStart[r] = ws;
    this.openEnd[r] = we;
    this.openRules.add(r);
  }

  private closeWindows(final: boolean): void {
    for (const r of this.openRules) {
      const end = this.openEnd[r] as number;
      if (final || end < this.pfPos - (this.core.rules[r] as CompiledRule).reach) {
        this.ready.push({ rule: r, start: this.openStart[r] as number, end });
        this.openStart[r] = -1;
        this.openRules.delete(r);
      }
    }
  }

  private runReadyWindows(buf: Buffer, base: number, final: boolean): void {
    if (this.ready.length === 0) return;
    const available = base + buf.length;
    const waiting: Window[] = [];
    for (const w of this.ready) {
      if (final || w.end <= available) this.runWindow(buf, base, w);
      else waiting.push(w);
    }
    this.ready = waiting;
  }

  private runWindow(buf: Buffer, base: number, w: Window): void {
    const rule = this.core.rules[w.rule] as CompiledRule;
    const s = w.start - base;
    const e = utf8SafeEnd(buf, s, Math.min(w.end - base, buf.length));
    if (e <= s) return;
    const view = buf.subarray(s, e);
    const re = rule.re;
    re.lastIndex = 0;
    for (;;) {
      const m = re.exec(view);
      if (m === null) break;
      if (m[0].length === 0) {
        if (m.index >= view.length) break;
        re.lastIndex = m.index + 1;
        continue;
      }
      if (rule.secretGroup === 0) {
        this.consider(rule, view, m.index, m.index + m[0].length, w.start);
      } else {
        const span = m.indices?.[rule.secretGroup];
        if (span !== undefined) this.consider(rule, view, span[0], span[1], w.start);
      }
    }
  }

  /** A regex match of `rule` at view[from, to): keep it as a candidate unless a check rejects it. */
  private consider(rule: CompiledRule, view: Buffer, from: number, to: number, viewBase: number): void {
    if (to <= from) return;
    const bytes = view.subarray(from, to);
    if (rule.minEntropy > 0 && shannonEntropy(bytes) < rule.minEntropy) return;
    const secret = bytes.toString('utf8');
    if (rule.allowValues.has(secret)) return;
    if (rule.allowRegex?.test(secret) === true) return;
    if (rule.stopwords.length > 0) {
      const lower = secret.toLowerCase();
      for (const w of rule.stopwords) if (lower.includes(w)) return;
    }
    if (rule.validator !== undefined && !rule.validator(secret)) return;
    if (isFailedLookalike(this.core.checkedPrefixes, secret)) return;
    if (isPlaceholder(secret)) return;
    const offset = viewBase + from;
    const length = to - from;
    const key = `${rule.index}:${offset}:${length}`;
    if (this.keys.has(key)) return;
    const spec = rule.spec;
    this.addCandidate({
      offset,
      end: offset + length,
      tier: rule.generic ? TIER_GENERIC : TIER_SPECIFIC,
      severityRank: rule.severityRank,
      order: rule.index,
      key,
      finding: {
        ruleId: spec.id,
        title: spec.title,
        severity: spec.severity,
        offset,
        length,
        redacted: redactedPreview(secret, length),
        fingerprint: fingerprint(this.core.fingerprintKey, bytes),
        destinations: rule.destinations,
      },
    });
  }

  private addKnown(formIndex: number, offset: number): void {
    const form = this.core.knownForms[formIndex] as KnownForm;
    const secret = this.core.knownSecrets[form.secret] as KnownSecret;
    const order = this.core.rules.length + form.secret;
    const key = `${order}:${offset}:${form.length}`;
    if (this.keys.has(key)) return;
    const canary = secret.kind === 'canary';
    const severity: Severity = canary ? 'critical' : 'high';
    const finding: Omit<Finding, 'line' | 'column'> = {
      ruleId: canary ? 'canary' : 'known-secret',
      title: canary ? `Canary token ${secret.name}` : `Known secret ${secret.name}`,
      severity,
      offset,
      length: form.length,
      redacted: form.redacted,
      fingerprint: form.fingerprint,
      destinations: [],
      known: secret.kind,
    };
    if (form.encoding !== undefined) finding.decodedFrom = [form.encoding];
    this.addCandidate({
      offset,
      end: offset + form.length,
      tier: canary ? TIER_CANARY : TIER_KNOWN,
      severityRank: canary ? 3 : 2,
      order,
      key,
      finding,
    });
  }

  private addCandidate(c: Candidate): void {
    this.keys.add(c.key);
    this.pending.push(c);
  }

  /** Offsets below this can get no new candidate: every window that could still produce one starts later. */
  private frontier(): number {
    let f = this.pfPos - this.core.maxReach;
    for (const r of this.openRules) f = Math.min(f, this.openStart[r] as number);
    for (const w of this.ready) f = Math.min(f, w.start);
    return f;
  }

  private emit(buf: Buffer, base: number, final: boolean): Finding[] {
    if (this.pending.length === 0) return [];
    const frontier = final ? Number.POSITIVE_INFINITY : this.frontier();
    // Settled: no later candidate can overlap it. Emitted only ahead of every unsettled
    // candidate, so a stream emits in the same (offset) order as a whole scan.
    let unsettledStart = Number.POSITIVE_INFINITY;
    for (const c of this.pending) if (c.end > frontier) unsettledStart = Math.min(unsettledStart, c.offset);
    const settled: Candidate[] = [];
    const still: Candidate[] = [];
    for (const c of this.pending) (c.end <= frontier && c.offset < unsettledStart ? settled : still).push(c);
    if (settled.length === 0) return [];
    const context = this.recent.length === 0 ? this.pending : this.recent.concat(this.pending);
    const survivors = resolveOverlaps(settled, context);
    this.pending = still;
    // Keep settled candidates only while a pending or future one could overlap them.
    let minStart = frontier;
    for (const c of still) minStart = Math.min(minStart, c.offset);
    const recent: Candidate[] = [];
    for (const c of this.recent.concat(settled)) {
      if (c.end > minStart) recent.push(c);
      else this.keys.delete(c.key);
    }
    this.recent = recent;

    survivors.sort((a, b) => a.offset - b.offset || a.order - b.order || a.end - b.end);
    // The line cursor moves on with each finding: no later finding lies before this one (each
    // is emitted ahead of every candidate still to come), so lines are counted once per stream.
    const cur = this.lines;
    const out: Finding[] = [];
    for (const c of survivors) {
      if (c.offset > cur.pos) advanceLines(buf, base, cur, c.offset);
      out.push({ ...c.finding, line: cur.line, column: c.offset - cur.lineStart + 1 });
    }
    return out;
  }
}

/**
 * The settled candidates that survive: one per offset (the best ranked among all
 * candidates at that offset), and no generic candidate overlapping a specific one.
 */
function resolveOverlaps(settled: readonly Candidate[], context: readonly Candidate[]): Candidate[] {
  const best = new Map<number, Candidate>();
  const spans: [number, number][] = [];
  for (const c of context) {
    const cur = best.get(c.offset);
    if (cur === undefined || better(c, cur)) best.set(c.offset, c);
    if (c.tier !== TIER_GENERIC) spans.push([c.offset, c.end]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last !== undefined && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  const overlapsSpecific = (c: Candidate): boolean => {
    // last merged span starting before c.end
    let lo = 0;
    let hi = merged.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((merged[mid] as [number, number])[0] < c.end) lo = mid + 1;
      else hi = mid;
    }
    const s = merged[lo - 1];
    return s !== undefined && s[1] > c.offset;
  };
  return settled.filter((c) => best.get(c.offset) === c && (c.tier !== TIER_GENERIC || !overlapsSpecific(c)));
}
