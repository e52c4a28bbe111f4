// Streaming scanner: takes chunks of any size (one byte, or splitting a UTF-8
// sequence) and reports exactly the findings a whole-input scan reports, with
// absolute byte offsets, lines and columns. It keeps only the bytes a later step may
// still read (a carry-over of at least the longest rule match around the prefilter
// position), so memory stays bounded whatever the stream length.
//
// `flush()` reports now what `end()` would report if the stream ended here (an idle log
// stream, the end of a WebSocket message) without ending it. What a flush reported is
// remembered, and the same finding (rule, offset, length, fingerprint) is not reported
// again when later bytes settle it. A flushed finding is one of a whole scan of the
// input so far; later bytes may show a longer match there, which is then reported too.
import type { ScanState } from './scan-state.js';
import type { Finding } from './types.js';

export class StreamScanner {
  private buf: Buffer;
  /** Absolute offset of buf[0]. */
  private base = 0;
  /** Bytes used in buf. */
  private len = 0;
  private ended = false;
  /** Findings a flush reported and the stream has not settled yet: offset -> identity. */
  private flushed = new Map<number, string>();
  /** Bytes written since the last flush (a second flush of the same bytes finds nothing new). */
  private dirty = false;

  constructor(
    private readonly state: ScanState,
    carryOver: number,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(4096, carryOver * 4));
  }

  /** Bytes fed since the last step (feed without a step yet). */
  private unstepped = false;

  /** Feed the next chunk; returns the findings that are complete so far. */
  write(chunk: Buffer): Finding[] {
    this.feed(chunk);
    return this.settle();
  }

  /**
   * Hold the next chunk (copied) without scanning it yet: the next `settle`, `write`, `flush`
   * or `end` scans everything fed, in one step. Several small chunks fed and then settled
   * cost one step, not one each (a WebSocket read of many small messages); the findings are
   * the same either way.
   */
  feed(chunk: Buffer): void {
    if (this.ended) throw new Error('StreamScanner.write after end()');
    if (chunk.length === 0) return;
    this.append(chunk);
    this.dirty = true;
    this.unstepped = true;
  }

  /** Scan what was fed since the last step; returns the findings that are complete so far. */
  settle(): Finding[] {
    if (this.ended || !this.unstepped) return [];
    this.unstepped = false;
    return this.unflushed(this.state.step(this.buf.subarray(0, this.len), this.base, false));
  }

  /** No more input: returns the remaining findings. */
  end(): Finding[] {
    if (this.ended) return [];
    this.ended = true;
    const out = this.unflushed(this.state.step(this.buf.subarray(0, this.len), this.base, true));
    this.buf = Buffer.alloc(0);
    this.len = 0;
    this.flushed.clear();
    return out;
  }

  /**
   * The findings `end()` would report now, less those already reported; the stream goes
   * on. Runs the final step on a copy of the scan state, over the bytes held.
   */
  flush(): Finding[] {
    if (this.ended || !this.dirty) return [];
    this.dirty = false;
    const held = this.buf.subarray(0, this.len);
    // Nothing before keepFrom() is read again: its lines are counted into the stream's own
    // state, so the copy does not count them anew at each flush.
    const keep = this.state.keepFrom();
    this.state.release(held, this.base, keep);
    const found = this.state.quiet(held, this.base) ? [] : this.state.clone().step(held, this.base, true);
    // Nothing before keepFrom() can be settled later: forget what was flushed there.
    for (const offset of this.flushed.keys()) if (offset < keep) this.flushed.delete(offset);
    const out: Finding[] = [];
    for (const f of found) {
      const id = identity(f);
      if (this.flushed.get(f.offset) === id) continue;
      this.flushed.set(f.offset, id);
      out.push(f);
    }
    return out;
  }

  /**
   * Drop findings a flush already reported. The stream settles findings in offset order
   * (one per offset), so a flushed one at or before a settled offset is done with.
   */
  private unflushed(found: Finding[]): Finding[] {
    if (this.flushed.size === 0 || found.length === 0) return found;
    const out: Finding[] = [];
    for (const f of found) {
      const seen = this.flushed.get(f.offset) === identity(f);
      for (const offset of this.flushed.keys()) if (offset <= f.offset) this.flushed.delete(offset);
      if (!seen) out.push(f);
    }
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
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }
}

/** What makes two reports the same finding. */
function identity(f: Finding): string {
  return `${f.ruleId}\0${f.length}\0${f.fingerprint}`;
}
