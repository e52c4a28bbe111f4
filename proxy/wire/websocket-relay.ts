// The client-to-server half of a WebSocket (RFC 6455), relayed a message at a time so
// each message is judged before the origin gets it. Pure (no sockets): raw bytes of any
// split in; out come the raw bytes to forward (unchanged: still masked, still compressed)
// and, when it must stop, the close code to answer the client with.
//
// - Frames are unmasked and fragmented messages reassembled; text and binary alike.
// - permessage-deflate (RSV1 on a message's first frame) is inflated through an inflater
//   the caller gives (it keeps the connection's context), bounded by `maxMessageBytes`.
// - Control frames (ping, pong, close) are passed on when whole; after a close frame the
//   rest is passed unread.
// - A message over `maxMessageBytes` is not held: with oversize `stream` what was held
//   and the rest of the message are forwarded unread (counted); with `block` the
//   connection is closed with 1009. So the relay holds at most about `maxMessageBytes`
//   (plus frame headers) per connection, whatever the peer sends.
// - Malformed framing (unmasked client frame, reserved bits or opcodes, a continuation
//   without a message, an oversized or fragmented control frame) closes with 1002.

export type MessageVerdict = 'forward' | 'block';

export interface RelayOptions {
  maxMessageBytes: number;
  oversize: 'block' | 'stream';
  /** Inflate one compressed message's payload (the 00 00 ff ff tail is added here); undefined: no permessage-deflate negotiated. Throws when over the bound. */
  inflate?: (payload: Buffer, maxBytes: number) => Buffer;
  /**
   * Judge a whole message (unmasked, inflated) before it is forwarded. `data` is valid only
   * during the call (it may be a shared scratch buffer): copy what must outlive it.
   */
  judge: (data: Buffer, kind: 'text' | 'binary') => MessageVerdict;
  /**
   * Called once at the end of each `push` in which `judge` was called: whether to block after
   * all. With it a caller can scan a read's messages as one stream and settle them once (one
   * scan step and one flush per read, not one each per message). Block: nothing of this push
   * is forwarded and the client is closed with 1008, as when `judge` blocks.
   */
  settle?: () => boolean;
}

export interface RelayOutput {
  /** Raw bytes for the origin, in order. */
  forward: Buffer[];
  /** Close the client with this code (and stop relaying): 1002 malformed, 1008 policy, 1009 too big. */
  close?: 1002 | 1008 | 1009;
  /** Messages passed unread (oversize stream, or after the client's close). */
  unscanned: number;
}

/** What one push builds: a RelayOutput whose pieces are still being joined. */
interface Step {
  pieces: Pieces;
  close?: RelayOutput['close'];
  unscanned: number;
}

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const EMPTY = Buffer.alloc(0);
const EMPTY_WORDS = new Uint32Array(0);
/** The room a message spanning chunks starts with. */
const ASSEMBLY_START = 64 * 1024;
/** The shared unmask scratch is kept up to this size between messages (larger ones are let go). */
const SCRATCH_KEEP = 1024 * 1024;

/**
 * Where a message that arrived whole in one chunk is unmasked for its judge: one buffer for
 * every relay of the process (judging is synchronous, so no two messages use it at once),
 * with a word view of it made once, not per message.
 */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);
let scratchWords = wordsOf(scratch);

function setScratch(bytes: number): void {
  scratch = Buffer.allocUnsafeSlow(bytes);
  scratchWords = wordsOf(scratch);
}

/** A Uint32Array over the whole words of `b` (its byteOffset a multiple of 4). */
function wordsOf(b: Buffer): Uint32Array {
  return new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
}

/**
 * The raw bytes of one push to forward. A piece that follows the last one in the same memory
 * (the frames of one chunk, one after another) extends it: one view of the chunk for all of
 * them, made when the run ends, not one Buffer per message.
 */
class Pieces {
  readonly list: Buffer[] = [];
  /** The run not yet in `list`: its memory, where it starts and ends there, and its first piece as given (reused when it is the whole run). */
  private runMemory: ArrayBufferLike | undefined;
  private runStart = 0;
  private runEnd = 0;
  private runFirst: Buffer | undefined;

  add(piece: Buffer): void {
    if (piece.length > 0) this.addView(piece.buffer, piece.byteOffset, piece.length, piece);
  }

  /** `length` bytes of `memory` from `byteOffset` (`piece`: a Buffer over exactly them, if the caller has one). */
  addView(memory: ArrayBufferLike, byteOffset: number, length: number, piece?: Buffer): void {
    if (length === 0) return;
    if (this.runMemory === memory && this.runEnd === byteOffset) {
      this.runEnd += length;
      return;
    }
    this.end();
    this.runMemory = memory;
    this.runStart = byteOffset;
    this.runEnd = byteOffset + length;
    this.runFirst = piece;
  }

  /** Close the run (into `list`). */
  end(): void {
    const memory = this.runMemory;
    if (memory === undefined) return;
    this.runMemory = undefined;
    const first = this.runFirst;
    const length = this.runEnd - this.runStart;
    this.list.push(first !== undefined && first.length === length ? first : Buffer.from(memory, this.runStart, length));
  }

  clear(): void {
    this.runMemory = undefined;
    this.list.length = 0;
  }
}

export class WebSocketRelay {
  private head = Buffer.alloc(14);
  private headLen = 0;
  private inFrame = false;
  private remaining = 0;
  private mask = Buffer.alloc(4);
  private maskPos = 0;
  private frameOp = 0;
  private frameFin = false;
  /** Raw bytes of the current control frame, or of the held data frames. */
  private control: Buffer[] = [];
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** The message being collected. */
  private message: { kind: 'text' | 'binary'; compressed: boolean; bytes: number; passing: boolean } | undefined;
  /**
   * The unmasked payload of a message that spans chunks, `message.bytes` of it so far: grown
   * (at most doubling, so never much past what arrived) and let go once the message is judged.
   */
  private assembly: Buffer = EMPTY;
  private assemblyWords: Uint32Array = EMPTY_WORDS;
  /** After a close frame, or a fatal close: bytes pass (or are dropped) unread. */
  private state: 'open' | 'passthrough' | 'closed' = 'open';
  /** Whether `judge` was called in the current push (so `settle` is due). */
  private judged = false;

  constructor(private readonly options: RelayOptions) {}

  /** Bytes held waiting for a message to end (bounded by maxMessageBytes plus headers). */
  get bufferedBytes(): number {
    return this.heldBytes + (this.message?.passing ? 0 : (this.message?.bytes ?? 0));
  }

  /**
   * The next bytes from the client, of any split. The relay keeps views of `chunk` (no
   * copies) until the message they belong to is judged: the caller must not reuse it.
   */
  push(chunk: Buffer): RelayOutput {
    if (this.state === 'closed') return { forward: [], unscanned: 0 };
    if (this.state === 'passthrough') return { forward: chunk.length > 0 ? [chunk] : [], unscanned: 0 };
    const out: Step = { pieces: new Pieces(), unscanned: 0 };
    // Read once per push: a TypedArray's `buffer` is a call into the runtime, not a field.
    const memory = chunk.buffer;
    let i = 0;
    while (i < chunk.length && this.state === 'open' && out.close === undefined) {
      if (!this.inFrame) {
        if (this.headLen === 0) {
          const next = this.wholeMessage(chunk, memory, i, out);
          if (next >= 0) {
            i = next;
            continue;
          }
        }
        i = this.readHeader(chunk, i, out);
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      const raw = chunk.subarray(i, i + take);
      this.payload(raw, out);
      this.maskPos = (this.maskPos + take) & 3;
      this.remaining -= take;
      i += take;
      if (this.remaining === 0 && out.close === undefined) this.endFrame(out);
    }
    if (out.close === undefined && (this.state as string) === 'passthrough' && i < chunk.length) out.pieces.add(chunk.subarray(i));
    if (this.judged) {
      this.judged = false;
      if (this.options.settle?.() === true) {
        out.close = 1008;
        out.pieces.clear();
      }
    }
    out.pieces.end();
    if (out.close === undefined) return { forward: out.pieces.list, unscanned: out.unscanned };
    this.fail();
    return { forward: out.pieces.list, close: out.close, unscanned: out.unscanned };
  }

  /**
   * The fast path: a message that is one final text or binary frame, header and payload all in
   * `chunk` from `at`, while no message is open. Read from the chunk in place (no header held,
   * no state kept), unmasked into the shared scratch and judged at once; forwarded as a view
   * of the chunk's `memory`. Returns the offset after the frame, or -1 when the frame is
   * anything else (fragmented, a control frame, malformed, over the bound, a 64-bit length,
   * cut by the chunk's end): the general path reads it, and refuses what is malformed.
   */
  private wholeMessage(chunk: Buffer, memory: ArrayBufferLike, at: number, out: Step): number {
    if (this.message !== undefined || chunk.length - at < 6) return -1;
    const b0 = chunk[at] as number;
    const b1 = chunk[at + 1] as number;
    const op = b0 & 0x0f;
    // FIN set, RSV2 and RSV3 clear, text or binary; masked, as every client frame must be.
    if ((b0 & 0xb0) !== 0x80 || (op !== OP_TEXT && op !== OP_BINARY) || (b1 & 0x80) === 0) return -1;
    const compressed = (b0 & 0x40) !== 0;
    if (compressed && this.options.inflate === undefined) return -1;
    let length = b1 & 0x7f;
    let p = at + 2;
    if (length === 126) {
      if (chunk.length - p < 6) return -1;
      length = ((chunk[p] as number) << 8) | (chunk[p + 1] as number);
      p += 2;
    } else if (length === 127) return -1;
    const start = p + 4;
    const end = start + length;
    if (end > chunk.length || length > this.options.maxMessageBytes) return -1;
    const key = maskKey(chunk[p] as number, chunk[p + 1] as number, chunk[p + 2] as number, chunk[p + 3] as number);
    if (scratch.length < length) setScratch(Math.max(length, scratch.length * 2));
    const data = unmaskInto(chunk.subarray(start, end), key, scratch, scratchWords);
    const pass = this.judgeMessage(op === OP_TEXT ? 'text' : 'binary', compressed, data, out);
    if (scratch.length > SCRATCH_KEEP) setScratch(64 * 1024);
    if (pass) out.pieces.addView(memory, chunk.byteOffset + at, end - at);
    return end;
  }

  private fail(): void {
    this.state = 'closed';
    this.dropAssembly();
    this.held = [];
    this.heldBytes = 0;
    this.control = [];
    this.message = undefined;
  }

  private readHeader(chunk: Buffer, at: number, out: Step): number {
    // The whole header in this chunk: it is held and forwarded as a view of the chunk, not copied.
    const inChunk = this.headLen === 0;
    let i = at;
    while (i < chunk.length && this.headLen < 2) this.head[this.headLen++] = chunk[i++] as number;
    if (this.headLen < 2) return i;
    const b0 = this.head[0] as number;
    const b1 = this.head[1] as number;
    // A client frame is always masked: an unmasked one is refused at once, not waited on for a mask.
    if ((b1 & 0x80) === 0) {
      this.headLen = 0;
      return this.malformed(out, i);
    }
    const len7 = b1 & 0x7f;
    const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + 4;
    while (i < chunk.length && this.headLen < need) this.head[this.headLen++] = chunk[i++] as number;
    if (this.headLen < need) return i;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const op = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    let length = len7;
    if (len7 === 126) length = this.head.readUInt16BE(2);
    else if (len7 === 127) {
      const big = this.head.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return this.malformed(out, i);
      length = Number(big);
    }
    const headBytes = inChunk ? chunk.subarray(at, i) : Buffer.from(this.head.subarray(0, need));
    const mask = this.mask;
    const head = this.head;
    mask[0] = head[need - 4] as number;
    mask[1] = head[need - 3] as number;
    mask[2] = head[need - 2] as number;
    mask[3] = head[need - 1] as number;
    this.headLen = 0;
    if (!masked || (b0 & 0x30) !== 0) return this.malformed(out, i);
    if (op >= 0x8) {
      if (op > 0xa || !fin || length > 125 || rsv1) return this.malformed(out, i);
      this.control = [headBytes];
    } else {
      if (op > OP_BINARY) return this.malformed(out, i);
      if (op === OP_CONT) {
        if (!this.message || rsv1) return this.malformed(out, i);
      } else {
        if (this.message) return this.malformed(out, i);
        if (rsv1 && !this.options.inflate) return this.malformed(out, i);
        this.message = { kind: op === OP_TEXT ? 'text' : 'binary', compressed: rsv1, bytes: 0, passing: false };
      }
      if (this.message.passing) out.pieces.add(headBytes);
      else this.hold(headBytes);
    }
    this.frameOp = op;
    this.frameFin = fin;
    this.remaining = length;
    this.maskPos = 0;
    this.inFrame = true;
    if (length === 0) this.endFrame(out);
    return i;
  }

  private malformed(out: Step, i: number): number {
    out.close = 1002;
    return i;
  }

  private hold(raw: Buffer): void {
    this.held.push(raw);
    this.heldBytes += raw.length;
  }

  private payload(raw: Buffer, out: Step): void {
    if (raw.length === 0) return;
    if (this.frameOp >= 0x8) {
      this.control.push(raw);
      return;
    }
    const m = this.message;
    if (!m) return;
    if (m.passing) {
      out.pieces.add(raw);
      return;
    }
    if (m.bytes + raw.length > this.options.maxMessageBytes) {
      if (this.options.oversize === 'block') {
        out.close = 1009;
        return;
      }
      // Oversize, stream: what was held and the rest of this message go on unread.
      m.passing = true;
      this.dropAssembly();
      out.unscanned++;
      for (const piece of this.held) out.pieces.add(piece);
      out.pieces.add(raw);
      this.held = [];
      this.heldBytes = 0;
      return;
    }
    this.hold(raw);
    const need = m.bytes + raw.length;
    if (this.assembly.length < need) {
      // Up to the frame's end, at most twice the room it had (64 KiB to begin with): a peer that
      // announces more than it sends gets little more room than what it sent.
      const size = Math.max(need, Math.min(Math.max(2 * this.assembly.length, ASSEMBLY_START), m.bytes + this.remaining, this.options.maxMessageBytes));
      const grown = Buffer.allocUnsafeSlow(size);
      grown.set(this.assembly.subarray(0, m.bytes));
      this.assembly = grown;
      this.assemblyWords = wordsOf(grown);
    }
    unmaskAt(raw, this.mask, this.maskPos, this.assembly, this.assemblyWords, m.bytes);
    m.bytes = need;
  }

  private dropAssembly(): void {
    this.assembly = EMPTY;
    this.assemblyWords = EMPTY_WORDS;
  }

  private endFrame(out: Step): void {
    this.inFrame = false;
    if (this.frameOp >= 0x8) {
      for (const piece of this.control) out.pieces.add(piece);
      this.control = [];
      if (this.frameOp === OP_CLOSE) this.state = 'passthrough';
      return;
    }
    if (!this.frameFin) return;
    const m = this.message;
    this.message = undefined;
    if (!m || m.passing) return;
    const data = this.assembly.subarray(0, m.bytes);
    const pass = this.judgeMessage(m.kind, m.compressed, data, out);
    this.dropAssembly();
    if (!pass) return;
    for (const piece of this.held) out.pieces.add(piece);
    this.held = [];
    this.heldBytes = 0;
  }

  /**
   * Inflate (when compressed) and judge a whole message. True: its raw bytes go on (read and
   * let through, or, inflated over the bound with oversize `stream`, unread and the rest of
   * the connection after it). False: `out.close` says why not.
   */
  private judgeMessage(kind: 'text' | 'binary', compressed: boolean, unmasked: Buffer, out: Step): boolean {
    let data = unmasked;
    if (compressed && this.options.inflate) {
      try {
        data = this.options.inflate(Buffer.concat([data, DEFLATE_TAIL]), this.options.maxMessageBytes);
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
          if (this.options.oversize === 'block') {
            out.close = 1009;
            return false;
          }
          // Inflated over the bound: forwarded unread. The inflate context is lost, so the
          // rest of the connection passes unread too.
          out.unscanned++;
          this.state = 'passthrough';
          return true;
        }
        out.close = 1002;
        return false;
      }
    }
    this.judged = true;
    if (this.options.judge(data, kind) === 'block') {
      out.close = 1008;
      return false;
    }
    return true;
  }
}

/**
 * `raw` unmasked into `target` (its byteOffset a multiple of 4; `words` a Uint32Array over it
 * from its start) from byte `at`, the mask starting at byte `pos` of `mask`: the bytes up to
 * the next word boundary one by one, then as unmaskInto does.
 */
function unmaskAt(raw: Buffer, mask: Buffer, pos: number, target: Buffer, words: Uint32Array, at: number): void {
  const lead = Math.min(raw.length, (4 - (at & 3)) & 3);
  for (let k = 0; k < lead; k++) target[at + k] = (raw[k] as number) ^ (mask[(pos + k) & 3] as number);
  if (lead === raw.length) return;
  const start = at + lead;
  const rest = raw.subarray(lead);
  const first = start >>> 2;
  const q = pos + lead;
  const key = maskKey(mask[q & 3] as number, mask[(q + 1) & 3] as number, mask[(q + 2) & 3] as number, mask[(q + 3) & 3] as number);
  unmaskInto(rest, key, target.subarray(start), words.subarray(first, first + (rest.length >>> 2)));
}

/** Whether a Uint32Array reads its first byte as the low one. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Four mask bytes (the first for the first byte to unmask) as one word of a Uint32Array, in the platform's byte order. */
function maskKey(m0: number, m1: number, m2: number, m3: number): number {
  return LITTLE_ENDIAN ? m0 | (m1 << 8) | (m2 << 16) | (m3 << 24) : (m0 << 24) | (m1 << 16) | (m2 << 8) | m3;
}

/** The byte of `key` (maskKey) that falls on byte `k` of the output. */
function keyByte(key: number, k: number): number {
  const shift = LITTLE_ENDIAN ? (k & 3) << 3 : (3 - (k & 3)) << 3;
  return (key >>> shift) & 0xff;
}

/**
 * `raw` unmasked into the start of `target` (at least as long; its byteOffset a multiple of
 * 4) with `key` (maskKey of the mask bytes for raw[0..3]): four bytes at a time through
 * `targetWords` (a Uint32Array over `target` from its start), the tail byte by byte.
 * Returns the unmasked view of `target`.
 */
function unmaskInto(raw: Buffer, key: number, target: Buffer, targetWords: Uint32Array): Buffer {
  const out = target.subarray(0, raw.length);
  // TypedArray#set: a builtin, where Buffer#copy goes through more JS first (per message).
  out.set(raw);
  const words = raw.length >>> 2;
  for (let i = 0; i < words; i++) targetWords[i] = (targetWords[i] as number) ^ key;
  for (let k = words << 2; k < raw.length; k++) out[k] = (out[k] as number) ^ keyByte(key, k);
  return out;
}

/** A server-to-client close frame (unmasked) with a status code. */
export function closeFrame(code: number, reason = ''): Buffer {
  const text = Buffer.from(reason.slice(0, 100));
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
}
