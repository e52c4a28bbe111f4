// Streaming scanner: takes chunks of any size (one byte, or splitting a UTF-8
// sequence) and reports exactly the findings a whole-input scan reports, with
// absolute byte offsets, lines and columns. It keeps only the bytes a later step may
// still read (a carry-over of at least the longest rule match around the prefilter
// position), so memory stays bounded whatever the stream length.
import type { ScanState } from './scan-state.js';
import type { Finding } from './types.js';

export class StreamScanner {
  private buf: Buffer;
  /** Absolute offset of buf[0]. */
  private base = 0;
  /** Bytes used in buf. */
  private len = 0;
  private ended = false;

  constructor(
    private readonly state: ScanState,
    carryOver: number,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(4096, carryOver * 4));
  }

  /** Feed the next chunk; returns the findings that are complete so far. */
  write(chunk: Buffer): Finding[] {
    if (this.ended) throw new Error('StreamScanner.write after end()');
    if (chunk.length === 0) return [];
    this.append(chunk);
    return this.state.step(this.buf.subarray(0, this.len), this.base, false);
  }

  /** No more input: returns the remaining findings. */
  end(): Finding[] {
    if (this.ended) return [];
    this.ended = true;
    const out = this.state.step(this.buf.subarray(0, this.len), this.base, true);
    this.buf = Buffer.alloc(0);
    this.len = 0;
    return out;
  }

  /** Bytes currently held (for tests and metrics: bounded by the carry-over plus one chunk). */
  get bufferedBytes(): number {
    return this.len;
  }

  private append(chunk: Buffer): void {
    if (this.len + chunk.length > this.buf.length) {
      // Drop what no later step reads, then grow if still short.
      const keep = this.state.keepFrom();
      const drop = keep - this.base;
      if (drop > 0) {
        this.state.release(this.buf.subarray(0, this.len), this.base, keep);
        this.buf.copy(this.buf, 0, drop, this.len);
        this.len -= drop;
        this.base = keep;
      }
      if (this.len + chunk.length > this.buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + chunk.length));
        this.buf.copy(grown, 0, 0, this.len);
        this.buf = grown;
      }
    }
    chunk.copy(this.buf, this.len);
    this.len += chunk.length;
  }
}
