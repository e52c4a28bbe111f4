// Reassembly of a byte stream uploaded in ranges (GitLab job traces: `PATCH` with
// `Content-Range: start-end`). Pure: pieces at absolute offsets in, the stream's bytes out
// in order, each byte once.
//
// - A retried or overlapping range delivers only the bytes past what was delivered.
// - A piece past the end (a gap) is held until the gap fills (a runner told 416 resends
//   from the right offset) — up to `maxPendingBytes`. When the held bytes would pass that
//   bound, or the stream ends with a gap still open, the gap is recorded and skipped.
// - Held pieces are at most `maxPendingBytes` in total: memory is bounded per stream.

export interface Gap {
  /** First missing byte. */
  from: number;
  /** First byte after the gap. */
  to: number;
}

export interface PushResult {
  /** Bytes now in order, to scan. Consecutive; the first starts where the last push ended, or after a gap. */
  deliver: Buffer[];
  /** Gaps skipped by this push. */
  gaps: Gap[];
  /** Bytes of this push already delivered before (retries, overlaps). */
  duplicate: number;
  /** Bytes of this push dropped because nothing more could be held. */
  dropped: number;
}

interface Piece {
  offset: number;
  bytes: Buffer;
}

export class RangeReassembler {
  /** Offset of the next byte to deliver. */
  private next = 0;
  private pending: Piece[] = [];
  private pendingBytes = 0;
  readonly gaps: Gap[] = [];
  duplicateBytes = 0;

  constructor(private readonly maxPendingBytes: number) {}

  /** Offset of the next byte expected: everything before it was delivered or recorded as a gap. */
  get position(): number {
    return this.next;
  }

  get heldBytes(): number {
    return this.pendingBytes;
  }

  push(offset: number, bytes: Buffer): PushResult {
    const out: PushResult = { deliver: [], gaps: [], duplicate: 0, dropped: 0 };
    if (!(offset >= 0) || !Number.isSafeInteger(offset)) {
      out.dropped = bytes.length;
      return out;
    }
    const piece = this.trim({ offset, bytes }, out);
    if (!piece) return out;
    if (piece.offset === this.next) {
      this.deliver(piece.bytes, out);
      this.drain(out);
      return out;
    }
    // Past the end: hold it; over the bound, skip the oldest gaps until what is held fits.
    this.insert(piece);
    while (this.pendingBytes > this.maxPendingBytes && this.pending.length > 0) this.skipGap(out);
    return out;
  }

  /** The stream ends: skip any gap still open and deliver what was held. */
  end(): PushResult {
    const out: PushResult = { deliver: [], gaps: [], duplicate: 0, dropped: 0 };
    while (this.pending.length > 0) this.skipGap(out);
    return out;
  }

  /** Cut what was already delivered off the front of a piece; undefined if nothing is left. */
  private trim(piece: Piece, out: PushResult): Piece | undefined {
    const end = piece.offset + piece.bytes.length;
    if (end <= this.next) {
      out.duplicate += piece.bytes.length;
      this.duplicateBytes += piece.bytes.length;
      return undefined;
    }
    if (piece.offset < this.next) {
      const cut = this.next - piece.offset;
      out.duplicate += cut;
      this.duplicateBytes += cut;
      return { offset: this.next, bytes: piece.bytes.subarray(cut) };
    }
    return piece;
  }

  private deliver(bytes: Buffer, out: PushResult): void {
    if (bytes.length === 0) return;
    out.deliver.push(bytes);
    this.next += bytes.length;
  }

  /** Deliver held pieces that have become contiguous. */
  private drain(out: PushResult): void {
    while (this.pending.length > 0) {
      const first = this.pending[0] as Piece;
      if (first.offset > this.next) return;
      this.pending.shift();
      this.pendingBytes -= first.bytes.length;
      const trimmed = this.trim(first, out);
      if (trimmed) this.deliver(trimmed.bytes, out);
    }
  }

  private skipGap(out: PushResult): void {
    const first = this.pending[0];
    if (!first) return;
    if (first.offset > this.next) this.recordGap(first.offset, out);
    this.drain(out);
  }

  private recordGap(to: number, out: PushResult): void {
    const gap = { from: this.next, to };
    this.gaps.push(gap);
    if (this.gaps.length > 64) this.gaps.shift();
    out.gaps.push(gap);
    this.next = to;
  }

  /** Insert in offset order; bytes another held piece already covers are not held twice. */
  private insert(piece: Piece): void {
    let i = 0;
    while (i < this.pending.length && (this.pending[i] as Piece).offset <= piece.offset) i++;
    // Trim against the previous piece.
    const prev = this.pending[i - 1];
    let p: Piece | undefined = piece;
    if (prev) {
      const prevEnd = prev.offset + prev.bytes.length;
      if (prevEnd >= p.offset + p.bytes.length) {
        this.duplicateBytes += p.bytes.length;
        return;
      }
      if (prevEnd > p.offset) {
        this.duplicateBytes += prevEnd - p.offset;
        p = { offset: prevEnd, bytes: p.bytes.subarray(prevEnd - p.offset) };
      }
    }
    // Drop following pieces it covers wholly; trim itself before a following piece it overlaps.
    while (i < this.pending.length) {
      const nextPiece = this.pending[i] as Piece;
      const pEnd = p.offset + p.bytes.length;
      if (nextPiece.offset >= pEnd) break;
      if (nextPiece.offset + nextPiece.bytes.length <= pEnd) {
        this.pending.splice(i, 1);
        this.pendingBytes -= nextPiece.bytes.length;
        this.duplicateBytes += nextPiece.bytes.length;
        continue;
      }
      this.duplicateBytes += pEnd - nextPiece.offset;
      p = { offset: p.offset, bytes: p.bytes.subarray(0, nextPiece.offset - p.offset) };
      break;
    }
    this.pending.splice(i, 0, p);
    this.pendingBytes += p.bytes.length;
  }
}

/**
 * `Content-Range` of a GitLab trace PATCH: `start-end` (inclusive, no unit). The HTTP form
 * `bytes start-end/total` is accepted too. Undefined when it is neither.
 */
export function parseContentRange(value: string | undefined): { start: number; end: number } | undefined {
  if (value === undefined) return undefined;
  let v = value.trim();
  if (v.toLowerCase().startsWith('bytes ')) v = v.slice(6).trim();
  const slash = v.indexOf('/');
  if (slash >= 0) v = v.slice(0, slash);
  const dash = v.indexOf('-');
  if (dash <= 0) return undefined;
  const a = v.slice(0, dash);
  const b = v.slice(dash + 1);
  if (!isDecimal(a) || !isDecimal(b)) return undefined;
  const start = Number(a);
  const end = Number(b);
  if (end < start) return undefined;
  return { start, end };
}

function isDecimal(s: string): boolean {
  if (s.length === 0 || s.length > 15) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
