// Streaming byte transforms used by decode.ts: each is a small state machine that
// takes chunks of any size (an escape split across chunks is held back, a few bytes
// at most) and hands decoded bytes to the next sink. Pure: no I/O.
import { isUtf8 } from 'node:buffer';
import { utf8SafeEnd } from './utf8.js';

/** Where decoded bytes go. Synchronous: a write is fully processed when it returns. */
export interface Sink {
  write(chunk: Buffer): void;
  end(): void;
}

/** Runs of text up to this long are moved a byte at a time (a call to copyWithin costs more). */
const SHORT_RUN = 16;

/** Sends every chunk to each of several sinks, in order. */
export class Tee implements Sink {
  constructor(private readonly sinks: readonly Sink[]) {}
  write(chunk: Buffer): void {
    for (const s of this.sinks) s.write(chunk);
  }
  end(): void {
    for (const s of this.sinks) s.end();
  }
}

/**
 * Where a decoder's output was in its input. A decoder marks the place after each escape
 * it undid; between two marks, output and input are the same bytes, so an output offset
 * maps to its input offset exactly (inside an escape's own output, to a byte of that
 * escape). Marks a finding can no longer refer to are forgotten, so memory stays bounded
 * however long the stream.
 */
export class OffsetMap {
  // Marks as pairs in typed arrays (a JSON body marks after every escape, and pushing
  // onto two arrays cost more than the decoding itself): [0, len) used, [head, len) kept.
  private dec = new Float64Array(256);
  private raw = new Float64Array(256);
  private len = 1;
  private head = 0;

  /** From output offset `decoded` on, output runs in step with input from `raw`. */
  mark(decoded: number, raw: number): void {
    if (this.len === this.dec.length) this.grow();
    this.dec[this.len] = decoded;
    this.raw[this.len] = raw;
    this.len++;
  }

  /** Room for more marks: the forgotten ones dropped first, else the arrays doubled. */
  private grow(): void {
    if (this.head * 2 >= this.len) {
      this.dec.copyWithin(0, this.head, this.len);
      this.raw.copyWithin(0, this.head, this.len);
      this.len -= this.head;
      this.head = 0;
      return;
    }
    const dec = new Float64Array(this.dec.length * 2);
    const raw = new Float64Array(this.raw.length * 2);
    dec.set(this.dec.subarray(0, this.len));
    raw.set(this.raw.subarray(0, this.len));
    this.dec = dec;
    this.raw = raw;
  }

  /** Index of the last mark at or before output offset `d` (the oldest kept, if none is). */
  private at(d: number): number {
    let lo = this.head;
    let hi = this.len - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.dec[mid] as number) <= d) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The input offset of output offset `d`. */
  toRaw(d: number): number {
    const i = this.at(d);
    return Math.max(0, (this.raw[i] as number) + (d - (this.dec[i] as number)));
  }

  /** True when an escape's output ends inside output (from, to]: there it differs from the input. */
  changed(from: number, to: number): boolean {
    return (this.dec[this.at(to)] as number) > from;
  }

  /** No finding will refer to output before `d`: drop the marks before it (keeping the one that covers it). */
  forget(d: number): void {
    this.head = this.at(d);
  }
}

/**
 * Line starts of a stream, to give an input offset its 1-based line and column. Like
 * OffsetMap it forgets what no finding can refer to any more.
 */
export class LineIndex implements Sink {
  private pos = 0;
  /** Absolute offsets of the newlines kept, oldest first from `head`. */
  private nl: number[] = [];
  private head = 0;
  /** Newlines before the kept ones, and the offset of the last of them (-1: none). */
  private dropped = 0;
  private lastDropped = -1;

  write(chunk: Buffer): void {
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) this.nl.push(this.pos + i);
    this.pos += chunk.length;
  }

  end(): void {}

  /** Newlines kept before offset `off`, as an index into `nl`. */
  private before(off: number): number {
    let lo = this.head;
    let hi = this.nl.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.nl[mid] as number) < off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  locate(off: number): { line: number; column: number } {
    const i = this.before(off);
    const lastNl = i > this.head ? (this.nl[i - 1] as number) : this.lastDropped;
    return { line: this.dropped + (i - this.head) + 1, column: off - lastNl };
  }

  forget(off: number): void {
    const i = this.before(off);
    if (i === this.head) return;
    this.dropped += i - this.head;
    this.lastDropped = this.nl[i - 1] as number;
    this.head = i;
    if (this.head > 4096 && this.head * 2 > this.nl.length) {
      this.nl = this.nl.slice(this.head);
      this.head = 0;
    }
  }
}

function hexValue(b: number | undefined): number {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

/**
 * Percent-decoding (`%2B` -> `+`) and, when `plusIsSpace`, `+` -> space, as in
 * application/x-www-form-urlencoded and query strings. Malformed escapes pass through.
 */
export class UrlDecoder implements Sink {
  private pending: Buffer = Buffer.alloc(0);
  /** True once an escape actually changed something. */
  changed = false;
  /** Input bytes consumed (not held back) and output bytes written, for `map`. */
  private consumed = 0;
  private produced = 0;

  constructor(
    private readonly next: Sink,
    private readonly plusIsSpace = true,
    private readonly map?: OffsetMap,
  ) {}

  write(chunk: Buffer): void {
    this.process(this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk, false);
  }

  end(): void {
    if (this.pending.length > 0) this.process(this.pending, true);
    this.pending = Buffer.alloc(0);
    this.next.end();
  }

  /** Decode `buf`; unless `final`, a `%` too near its end to be read is held back. */
  private process(buf: Buffer, final: boolean): void {
    this.pending = Buffer.alloc(0);
    const map = this.map;
    const n = buf.length;
    const pct = buf.indexOf(0x25 /* % */);
    const plus = this.plusIsSpace ? buf.indexOf(0x2b /* + */) : -1;
    if (pct < 0 && plus < 0) {
      // Nothing to undo: the chunk is its own decoding.
      this.consumed += n;
      this.produced += n;
      if (n > 0) this.next.write(buf);
      return;
    }
    // Escapes are dense in form text (every space is `+`, punctuation `%XX`): one pass
    // over the bytes, not a search for the next escape from each one.
    const plusIsSpace = this.plusIsSpace;
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    let i = 0;
    while (i < n) {
      const b = buf[i] as number;
      if (b === 0x2b /* + */ && plusIsSpace) {
        out[o++] = 0x20;
        i++;
        this.changed = true;
        map?.mark(this.produced + o, this.consumed + i);
      } else if (b !== 0x25 /* % */) {
        out[o++] = b;
        i++;
      } else if (i + 2 >= n && !final) {
        // Possibly an escape cut by the chunk boundary: hold it back.
        this.pending = Buffer.from(buf.subarray(i));
        break;
      } else {
        const hi = hexValue(buf[i + 1]);
        const lo = hexValue(buf[i + 2]);
        if (hi >= 0 && lo >= 0) {
          out[o++] = hi * 16 + lo;
          i += 3;
          this.changed = true;
          map?.mark(this.produced + o, this.consumed + i);
        } else {
          // Not an escape: the `%` as it is.
          out[o++] = 0x25;
          i++;
        }
      }
    }
    this.consumed += buf.length - this.pending.length;
    this.produced += o;
    if (o > 0) this.next.write(out.subarray(0, o));
  }
}

/** JSON's two-character escapes: the byte after the backslash -> the byte it stands for (-1: not one). */
const SIMPLE_ESCAPES = new Int16Array(256).fill(-1);
for (const [escaped, byte] of [
  [0x22, 0x22], // \"
  [0x5c, 0x5c], // \\
  [0x2f, 0x2f], // \/
  [0x62, 0x08], // \b
  [0x66, 0x0c], // \f
  [0x6e, 0x0a], // \n
  [0x72, 0x0d], // \r
  [0x74, 0x09], // \t
] as const) {
  SIMPLE_ESCAPES[escaped] = byte;
}

function hex4(buf: Buffer, at: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const h = hexValue(buf[at + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/** Writes code point `cp` as UTF-8 at `out[o]`; returns the bytes written. */
function putUtf8(out: Buffer, o: number, cp: number): number {
  if (cp < 0x80) {
    out[o] = cp;
    return 1;
  }
  if (cp < 0x800) {
    out[o] = 0xc0 | (cp >> 6);
    out[o + 1] = 0x80 | (cp & 0x3f);
    return 2;
  }
  if (cp < 0x10000) {
    out[o] = 0xe0 | (cp >> 12);
    out[o + 1] = 0x80 | ((cp >> 6) & 0x3f);
    out[o + 2] = 0x80 | (cp & 0x3f);
    return 3;
  }
  out[o] = 0xf0 | (cp >> 18);
  out[o + 1] = 0x80 | ((cp >> 12) & 0x3f);
  out[o + 2] = 0x80 | ((cp >> 6) & 0x3f);
  out[o + 3] = 0x80 | (cp & 0x3f);
  return 4;
}

const EMPTY = Buffer.alloc(0);

/**
 * JSON string escapes resolved (`\n`, `\/`, `\"`, `\u002b`, surrogate pairs) so that a
 * PEM key written with `\n` or a token with `\u002b` reads as it was before encoding.
 * Escapes are only valid inside strings, so the whole text is decoded as one stream;
 * everything that is not an escape passes through unchanged. A chunk without a
 * backslash is passed on as it is; otherwise the decoded text (never longer than its
 * source: `\uXXXX` is 6 bytes for at most 3, a surrogate pair 12 for 4) is written into
 * one buffer per chunk.
 */
export class JsonUnescaper implements Sink {
  private pending: Buffer = EMPTY;
  /** Input bytes consumed (not held back) and output bytes written, for `map`. */
  private consumed = 0;
  private produced = 0;

  constructor(
    private readonly next: Sink,
    private readonly map?: OffsetMap,
  ) {}

  write(chunk: Buffer): void {
    this.process(this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk, false);
  }

  end(): void {
    if (this.pending.length > 0) this.process(this.pending, true);
    this.pending = EMPTY;
    this.next.end();
  }

  private process(buf: Buffer, final: boolean): void {
    this.pending = EMPTY;
    const n = buf.length;
    let j = buf.indexOf(0x5c);
    if (j < 0) {
      this.consumed += n;
      this.produced += n;
      if (n > 0) this.next.write(buf);
      return;
    }
    const map = this.map;
    // The chunk is copied whole (one native copy); the text between escapes then moves
    // down in place over the bytes the escapes gave up. Output never outruns input
    // (o <= last), so out[last..] still holds the chunk as sent when it is moved.
    const out = Buffer.allocUnsafe(n);
    out.set(buf);
    let o = 0;
    let last = 0;
    while (j >= 0) {
      // The text before the escape, as it is (short runs a byte at a time: a call costs more).
      if (o !== last) {
        if (j - last > SHORT_RUN) out.copyWithin(o, last, j);
        else for (let k = last; k < j; k++) out[o + k - last] = buf[k] as number;
      }
      o += j - last;
      last = j;
      if (j + 1 >= n) {
        if (!final) {
          this.pending = Buffer.from(buf.subarray(j));
          break;
        }
        out[o++] = 0x5c;
        last = j + 1;
        break;
      }
      const c = buf[j + 1] as number;
      const simple = SIMPLE_ESCAPES[c] as number;
      if (simple >= 0) {
        out[o++] = simple;
        last = j + 2;
        map?.mark(this.produced + o, this.consumed + last);
      } else if (c === 0x75 /* u */ && j + 6 > n && !final) {
        this.pending = Buffer.from(buf.subarray(j));
        break;
      } else {
        const unit = c === 0x75 ? hex4(buf, j + 2) : -1;
        if (unit < 0) {
          // Not an escape we know: keep both bytes as they are.
          out[o++] = 0x5c;
          out[o++] = c;
          last = j + 2;
        } else {
          let cp = unit;
          let used = 6;
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // High surrogate: its pair may be the next escape.
            if (j + 12 > n && !final) {
              this.pending = Buffer.from(buf.subarray(j));
              break;
            }
            const low = buf[j + 6] === 0x5c && buf[j + 7] === 0x75 ? hex4(buf, j + 8) : -1;
            if (low >= 0xdc00 && low <= 0xdfff) {
              cp = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
              used = 12;
            } else {
              cp = 0xfffd;
            }
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            cp = 0xfffd;
          }
          o += putUtf8(out, o, cp);
          last = j + used;
          map?.mark(this.produced + o, this.consumed + last);
        }
      }
      j = last < n ? buf.indexOf(0x5c, last) : -1;
    }
    if (this.pending.length === 0 && last < n) {
      if (o !== last) out.copyWithin(o, last, n);
      o += n - last;
    }
    this.consumed += n - this.pending.length;
    this.produced += o;
    if (o > 0) this.next.write(out.subarray(0, o));
  }
}

/** Base64 (standard and URL-safe) characters. */
const B64 = new Uint8Array(256);
/** The 6-bit value of each base64 character, both alphabets (`+/` and `-_`) as Node reads them. */
const B64_VALUE = new Uint8Array(256);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, v) => {
  B64[c.charCodeAt(0)] = 1;
  B64_VALUE[c.charCodeAt(0)] = v;
});
B64[0x2d] = B64[0x5f] = 1; // - _
B64_VALUE[0x2d] = 62;
B64_VALUE[0x5f] = 63;

/**
 * Decodes `len` base64 characters of `src` at `from` (all base64 characters, either
 * alphabet, no padding; `len % 4 !== 1`) into `out` as Buffer.from(text, 'base64') does;
 * returns the bytes written.
 */
function decodeBase64Into(src: Buffer, from: number, len: number, out: Buffer): number {
  let o = 0;
  const whole = from + len - (len % 4);
  let i = from;
  for (; i < whole; i += 4) {
    const v =
      ((B64_VALUE[src[i] as number] as number) << 18) |
      ((B64_VALUE[src[i + 1] as number] as number) << 12) |
      ((B64_VALUE[src[i + 2] as number] as number) << 6) |
      (B64_VALUE[src[i + 3] as number] as number);
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  const rest = len % 4;
  if (rest >= 2) {
    const v = ((B64_VALUE[src[i] as number] as number) << 18) | ((B64_VALUE[src[i + 1] as number] as number) << 12) | (rest === 3 ? (B64_VALUE[src[i + 2] as number] as number) << 6 : 0);
    out[o++] = v >> 16;
    if (rest === 3) out[o++] = (v >> 8) & 0xff;
  }
  return o;
}

/**
 * Decodes base64 text (standard or URL-safe, padding and whitespace ignored) as a
 * stream, in 4-character groups: used for a multipart part with
 * `Content-Transfer-Encoding: base64`.
 */
export class Base64StreamDecoder implements Sink {
  private carry = '';
  constructor(private readonly next: Sink) {}

  write(chunk: Buffer): void {
    let text = this.carry;
    for (const b of chunk) if (B64[b] === 1) text += String.fromCharCode(b);
    const whole = text.length - (text.length % 4);
    this.carry = text.slice(whole);
    if (whole > 0) this.next.write(Buffer.from(text.slice(0, whole), 'base64'));
  }

  end(): void {
    if (this.carry.length > 1) this.next.write(Buffer.from(this.carry, 'base64'));
    this.carry = '';
    this.next.end();
  }
}

/**
 * Whether at least 90% of the bytes read as text: printable ASCII, tab, CR, LF, and
 * bytes of valid UTF-8 (a sequence cut off at the end does not count). Stops as soon
 * as too many bytes do not: most base64-looking runs (hashes, ids) decode to binary,
 * and that is seen in the first few bytes.
 */
export function readsAsText(buf: Buffer): boolean {
  const n = buf.length;
  if (n === 0) return false;
  const end = utf8SafeEnd(buf, 0, n);
  // At most a tenth of the bytes may fail (the cut-off tail fails).
  const allowed = Math.floor(n / 10);
  let bad = n - end;
  let high = 0;
  // UTF-8 is followed as the bytes go (lead bytes and continuation counts), so binary
  // stops early: once a sequence breaks, every byte >= 0x80 fails. What passes is
  // confirmed with the strict check (overlong forms, surrogates) at the end.
  let utf8 = true;
  let need = 0;
  for (let i = 0; i < end; i++) {
    const b = buf[i] as number;
    if (b >= 0x80) {
      high++;
      if (!utf8) {
        if (++bad > allowed) return false;
        continue;
      }
      if (need > 0) {
        if ((b & 0xc0) === 0x80) need--;
        else utf8 = false;
      } else if (b >= 0xc2 && b <= 0xdf) need = 1;
      else if (b >= 0xe0 && b <= 0xef) need = 2;
      else if (b >= 0xf0 && b <= 0xf4) need = 3;
      else utf8 = false;
      if (!utf8 && (bad += high) > allowed) return false;
      continue;
    }
    if (need > 0 && utf8) {
      utf8 = false;
      if ((bad += high) > allowed) return false;
    }
    if ((b < 0x20 || b === 0x7f) && b !== 0x09 && b !== 0x0a && b !== 0x0d && ++bad > allowed) return false;
  }
  if (utf8 && high > 0 && (need > 0 || !isUtf8(buf.subarray(0, end)))) bad += high;
  return bad <= allowed;
}

/** Where a blob starts in the stream the extractor reads. */
export interface BlobLocation {
  offset: number;
  line: number;
  column: number;
}

export interface Base64ExtractorOptions {
  /** Runs shorter than this many base64 characters are not decoded. */
  minChars: number;
  /** Longer runs are decoded in pieces of this many characters (a multiple of 4). */
  maxChars: number;
  /** Called with the decoded bytes of a run (or piece) that reads as text. */
  onBlob(decoded: Buffer, at: BlobLocation): void;
}

/** How many characters of a long run are decoded to decide whether it is text at all. */
const PROBE_CHARS = 512;
/** Where runs shorter than PROBE_CHARS are decoded (synchronously, so one buffer serves all). */
const SCRATCH = Buffer.allocUnsafe((PROBE_CHARS / 4) * 3);

/**
 * Finds runs of base64 / base64url characters in a stream (a `=` ends a run), decodes
 * those of at least `minChars`, and passes on the decoded bytes that read as text.
 * A long run that does not decode to text is skipped after its first PROBE_CHARS
 * characters without being held, so image data costs little. Tracks line and column
 * so that callers can say where in the stream an encoded blob began.
 */
export class Base64Extractor implements Sink {
  private run: string[] = [];
  private runChars = 0;
  private runStart: BlobLocation | undefined;
  private skipping = false;
  private probed = false;
  /** Absolute offset of the current chunk's first byte. */
  private pos = 0;
  /** Lines are counted lazily: up to absolute offset `linePos`, `line` is current and `lineStart` its first byte. */
  private linePos = 0;
  private line = 1;
  private lineStart = 0;
  /** The first line feed at or after `linePos` in the current chunk (stale when below it). */
  private nextNl = -1;

  constructor(private readonly opts: Base64ExtractorOptions) {}

  /**
   * Hot loop: ordinary text is mostly short words of base64 characters, so instead of
   * reading every byte it probes the byte `minChars - 1` ahead: when that one is not a
   * base64 character, no run long enough to matter starts before it. Only around a
   * probe that lands in a word are the bytes read, to find the word's ends.
   */
  write(chunk: Buffer): void {
    const n = chunk.length;
    const min = Math.max(1, this.opts.minChars);
    this.nextNl = -1;
    let i = 0;
    if (this.runStart !== undefined) {
      // A run carried over from the last chunk goes on while base64 characters do.
      while (i < n && B64[chunk[i] as number] === 1) i++;
      if (i > 0 && !this.skipping) this.append(chunk, 0, i);
      if (i < n) {
        this.finishRun();
        i++;
      }
    }
    // Here byte i - 1 (if any) is not a base64 character, and no run is open.
    while (i < n) {
      const p = i + min - 1;
      if (p < n && B64[chunk[p] as number] !== 1) {
        i = p + 1;
        continue;
      }
      // A segment may reach p (or the chunk's end): find its ends.
      let s = p < n ? p : n;
      while (s > i && B64[chunk[s - 1] as number] === 1) s--;
      let e = p < n ? p : n;
      while (e < n && B64[chunk[e] as number] === 1) e++;
      if (e === s) {
        i = e + 1;
        continue;
      }
      if (e < n && e - s >= min && e - s < PROBE_CHARS) {
        // The common case, a whole short run in this chunk: decoded in place, no strings.
        this.emitInPlace(chunk, s, e);
      } else if (e === n || e - s >= min) {
        // A long run, or the start of one that may go on in the next chunk.
        this.markStart(chunk, s);
        this.append(chunk, s, e);
        if (e < n) this.finishRun();
      }
      i = e + 1;
    }
    this.countLines(chunk, n);
    this.pos += n;
  }

  /**
   * Counts the line feeds of `chunk` before relative offset `to` not counted yet.
   * The next line feed found is remembered (`nextNl`, absolute; the chunk's end when it
   * has none), so a long line is searched once, not once per run on it.
   */
  private countLines(chunk: Buffer, to: number): void {
    const absTo = this.pos + to;
    while (this.linePos < absTo) {
      if (this.nextNl < this.linePos) {
        const nl = chunk.indexOf(0x0a, this.linePos - this.pos);
        this.nextNl = nl < 0 ? this.pos + chunk.length : this.pos + nl;
      }
      if (this.nextNl >= absTo) break;
      this.line++;
      this.lineStart = this.nextNl + 1;
      this.linePos = this.nextNl + 1;
    }
    this.linePos = absTo;
  }

  /** A run [s, e) of the chunk, shorter than PROBE_CHARS: decoded into scratch, passed on (copied) if it reads as text. */
  private emitInPlace(chunk: Buffer, s: number, e: number): void {
    const len = e - s;
    const n = decodeBase64Into(chunk, s, len - (len % 4 === 1 ? 1 : 0), SCRATCH);
    if (n === 0 || !readsAsText(SCRATCH.subarray(0, n))) return;
    this.countLines(chunk, s);
    const offset = this.pos + s;
    this.opts.onBlob(Buffer.from(SCRATCH.subarray(0, n)), { offset, line: this.line, column: offset - this.lineStart + 1 });
  }

  private markStart(chunk: Buffer, segStart: number): void {
    if (this.runStart !== undefined) return;
    // The first segment of a run: later segments (next chunks) find runStart set.
    this.countLines(chunk, segStart);
    const offset = this.pos + segStart;
    this.runStart = { offset, line: this.line, column: offset - this.lineStart + 1 };
  }

  end(): void {
    this.finishRun();
  }

  private append(chunk: Buffer, from: number, to: number): void {
    const text = chunk.toString('latin1', from, to);
    this.run.push(text);
    this.runChars += text.length;
    if (!this.probed && this.runChars >= PROBE_CHARS) {
      this.probed = true;
      const joined = this.run.join('');
      const probe = Buffer.from(joined.slice(0, PROBE_CHARS), 'base64');
      if (!readsAsText(probe)) {
        this.skipping = true;
        this.run = [];
        this.runChars = 0;
        return;
      }
    }
    if (this.runChars >= this.opts.maxChars) {
      const joined = this.run.join('');
      const piece = joined.slice(0, this.opts.maxChars);
      const rest = joined.slice(this.opts.maxChars);
      this.emit(piece);
      this.run = rest.length > 0 ? [rest] : [];
      this.runChars = rest.length;
    }
  }

  private finishRun(): void {
    if (this.runStart === undefined) return;
    if (!this.skipping && this.runChars >= this.opts.minChars) this.emit(this.run.join(''));
    this.run = [];
    this.runChars = 0;
    this.runStart = undefined;
    this.skipping = false;
    this.probed = false;
  }

  private emit(text: string): void {
    const at = this.runStart;
    if (at === undefined) return;
    const usable = text.length - (text.length % 4 === 1 ? 1 : 0);
    const decoded = Buffer.from(text.slice(0, usable), 'base64');
    if (!readsAsText(decoded)) return;
    this.opts.onBlob(decoded, at);
  }
}

/** The headers of one multipart part that decoding cares about (names lower-cased). */
export interface PartHeaders {
  contentType?: string;
  transferEncoding?: string;
}

/** Part headers longer than this end multipart parsing (the raw pass still sees the body). */
const MAX_PART_HEADER_BYTES = 16 * 1024;

/**
 * multipart/form-data (and other multipart/*) parsed as a stream: each part's body is
 * written to the sink `onPart` returns for its headers. Holds at most the delimiter
 * length between chunks, plus one part's headers. Malformed input ends parsing quietly.
 */
export class MultipartParser implements Sink {
  private state: 'preamble' | 'delimiter-line' | 'headers' | 'body' | 'done' = 'preamble';
  private carry: Buffer = Buffer.alloc(0);
  private part: Sink | undefined;
  private readonly dash: Buffer;
  private readonly delim: Buffer;

  constructor(
    boundary: string,
    private readonly onPart: (headers: PartHeaders) => Sink,
  ) {
    this.dash = Buffer.from(`--${boundary}`, 'latin1');
    this.delim = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  write(chunk: Buffer): void {
    if (this.state === 'done') return;
    let buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = Buffer.alloc(0);
    for (;;) {
      if (this.state === 'preamble') {
        const at = buf.indexOf(this.dash);
        if (at < 0) {
          this.carry = Buffer.from(buf.subarray(Math.max(0, buf.length - this.dash.length + 1)));
          return;
        }
        buf = buf.subarray(at + this.dash.length);
        this.state = 'delimiter-line';
      } else if (this.state === 'delimiter-line') {
        // After a delimiter: `--` closes the body; anything else runs to the end of the line.
        if (buf.length < 2) {
          this.carry = Buffer.from(buf);
          return;
        }
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          this.state = 'done';
          return;
        }
        const nl = buf.indexOf(0x0a);
        if (nl < 0) {
          if (buf.length > MAX_PART_HEADER_BYTES) this.state = 'done';
          else this.carry = Buffer.from(buf);
          return;
        }
        buf = buf.subarray(nl + 1);
        this.state = 'headers';
      } else if (this.state === 'headers') {
        let end = buf.indexOf('\r\n\r\n', 0, 'latin1');
        let sep = 4;
        if (end < 0) {
          end = buf.indexOf('\n\n', 0, 'latin1');
          sep = 2;
        }
        if (buf.subarray(0, 2).toString('latin1') === '\r\n') {
          end = 0;
          sep = 2;
        }
        if (end < 0) {
          if (buf.length > MAX_PART_HEADER_BYTES) this.state = 'done';
          else this.carry = Buffer.from(buf);
          return;
        }
        this.part = this.onPart(parsePartHeaders(buf.toString('latin1', 0, end)));
        buf = buf.subarray(end + sep);
        this.state = 'body';
      } else if (this.state === 'body') {
        const at = buf.indexOf(this.delim);
        if (at < 0) {
          const keep = Math.min(buf.length, this.delim.length - 1);
          if (buf.length > keep) this.part?.write(buf.subarray(0, buf.length - keep));
          this.carry = Buffer.from(buf.subarray(buf.length - keep));
          return;
        }
        if (at > 0) this.part?.write(buf.subarray(0, at));
        this.part?.end();
        this.part = undefined;
        buf = buf.subarray(at + this.delim.length);
        this.state = 'delimiter-line';
      } else {
        return;
      }
    }
  }

  end(): void {
    if (this.state === 'body' && this.carry.length > 0) this.part?.write(this.carry);
    this.part?.end();
    this.part = undefined;
    this.carry = Buffer.alloc(0);
    this.state = 'done';
  }
}

function parsePartHeaders(text: string): PartHeaders {
  const headers: PartHeaders = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-type') headers.contentType = value;
    else if (name === 'content-transfer-encoding') headers.transferEncoding = value.toLowerCase();
  }
  return headers;
}

/** A media type's essence (`application/json`) and its parameters (names lower-cased). */
export function parseMediaType(value: string | undefined): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (value === undefined) return { type: '', params };
  const [head = '', ...rest] = value.split(';');
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    let v = p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    params.set(p.slice(0, eq).trim().toLowerCase(), v);
  }
  return { type: head.trim().toLowerCase(), params };
}
