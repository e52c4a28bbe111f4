// WebSocket frames as a client sends them (RFC 6455), reassembled into messages. Pure and
// streaming: raw bytes of any split in, whole messages out.
//
// Client frames are masked: each payload is unmasked with its 4-byte key. A message is one
// frame with FIN, or a first frame (text or binary) and continuation frames up to FIN;
// control frames (close, ping, pong) may come between them and are skipped. A message
// larger than `maxMessageBytes` is not buffered: its bytes are skipped as they arrive and
// it is reported as dropped. Compressed messages (permessage-deflate, RSV1) are reported
// as dropped too: without the connection's inflate context they cannot be read.

export type MessageKind = 'text' | 'binary';

export interface WsMessage {
  kind: MessageKind;
  data: Buffer;
}

export interface FrameResult {
  messages: WsMessage[];
  /** Messages not delivered: over the size bound, or compressed. */
  dropped: number;
  /** The stream is not WebSocket framing (or a close frame was seen): stop feeding it. */
  closed: boolean;
}

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;

export class FrameParser {
  /** Header bytes collected so far (at most 14). */
  private head = Buffer.alloc(14);
  private headLen = 0;
  /** Payload bytes still to read in the current frame. */
  private remaining = 0;
  private mask: Buffer | undefined;
  /** Position within the mask (payload bytes of this frame read so far, mod 4). */
  private maskPos = 0;
  private inFrame = false;
  /** Is the current frame's payload kept (part of a message being collected)? */
  private keep = false;
  private frameFin = false;
  private frameOp = 0;

  /** The message being collected, across continuation frames. */
  private message: { kind: MessageKind; parts: Buffer[]; bytes: number; skip: boolean } | undefined;
  private done = false;

  constructor(private readonly maxMessageBytes: number) {}

  write(chunk: Buffer): FrameResult {
    const out: FrameResult = { messages: [], dropped: 0, closed: false };
    let i = 0;
    while (i < chunk.length && !this.done) {
      if (!this.inFrame) {
        i = this.readHeader(chunk, i, out);
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      if (this.keep && take > 0) {
        const part = Buffer.from(chunk.subarray(i, i + take));
        if (this.mask) {
          for (let k = 0; k < part.length; k++) part[k] = (part[k] as number) ^ (this.mask[(this.maskPos + k) & 3] as number);
        }
        this.message?.parts.push(part);
      }
      this.maskPos = (this.maskPos + take) & 3;
      this.remaining -= take;
      i += take;
      if (this.remaining === 0) this.endFrame(out);
    }
    out.closed = this.done;
    return out;
  }

  /** Bytes held for the message being collected. */
  get bufferedBytes(): number {
    return this.message && !this.message.skip ? this.message.bytes : 0;
  }

  /** Collect header bytes; once whole, start the frame. Returns the new index. */
  private readHeader(chunk: Buffer, i: number, out: FrameResult): number {
    while (i < chunk.length) {
      this.head[this.headLen++] = chunk[i++] as number;
      const need = this.headerLength();
      if (need !== undefined && this.headLen >= need) {
        this.startFrame(out);
        return i;
      }
    }
    return i;
  }

  /** Total header length once known from the bytes so far. */
  private headerLength(): number | undefined {
    if (this.headLen < 2) return undefined;
    const b1 = this.head[1] as number;
    const len7 = b1 & 0x7f;
    const masked = (b1 & 0x80) !== 0;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    return 2 + ext + (masked ? 4 : 0);
  }

  private startFrame(out: FrameResult): void {
    const b0 = this.head[0] as number;
    const b1 = this.head[1] as number;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const op = b0 & 0x0f;
    const len7 = b1 & 0x7f;
    let pos = 2;
    let length: number;
    if (len7 === 126) {
      length = this.head.readUInt16BE(2);
      pos = 4;
    } else if (len7 === 127) {
      const big = this.head.readBigUInt64BE(2);
      pos = 10;
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        this.done = true;
        return;
      }
      length = Number(big);
    } else length = len7;
    this.mask = (b1 & 0x80) !== 0 ? Buffer.from(this.head.subarray(pos, pos + 4)) : undefined;
    this.headLen = 0;
    this.maskPos = 0;
    this.remaining = length;
    this.frameFin = fin;
    this.frameOp = op;
    this.inFrame = true;
    this.keep = false;

    if (op === OP_CLOSE) {
      this.done = true;
      return;
    }
    if (op >= 0x8) {
      // ping/pong: skipped
    } else if (op === OP_TEXT || op === OP_BINARY) {
      if (this.message) {
        // A new message before the last one finished: the stream is not sound.
        this.message = undefined;
        out.dropped++;
      }
      const skip = rsv1 || length > this.maxMessageBytes;
      this.message = { kind: op === OP_TEXT ? 'text' : 'binary', parts: [], bytes: length, skip };
      this.keep = !skip;
    } else if (op === OP_CONT) {
      if (this.message) {
        this.message.bytes += length;
        if (!this.message.skip && this.message.bytes > this.maxMessageBytes) {
          this.message.skip = true;
          this.message.parts = [];
        }
        this.keep = !this.message.skip;
      }
    } else {
      // Reserved opcodes: not WebSocket as we know it.
      this.done = true;
      return;
    }
    if (length === 0) this.endFrame(out);
  }

  private endFrame(out: FrameResult): void {
    this.inFrame = false;
    this.keep = false;
    if (this.frameOp >= 0x8 || !this.message) return;
    if (!this.frameFin) return;
    const m = this.message;
    this.message = undefined;
    if (m.skip) out.dropped++;
    else out.messages.push({ kind: m.kind, data: m.parts.length === 1 ? (m.parts[0] as Buffer) : Buffer.concat(m.parts) });
  }
}

/** Build one frame (tests and tools): masked as a client sends it when `mask` is given. */
export function encodeFrame(opcode: number, payload: Buffer, options: { fin?: boolean; mask?: Buffer; rsv1?: boolean } = {}): Buffer {
  const fin = options.fin ?? true;
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (options.mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (options.rsv1 ? 0x40 : 0) | (opcode & 0x0f);
  head[1] = (options.mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  else if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  const body = Buffer.from(payload);
  if (options.mask) {
    options.mask.copy(head, 2 + ext, 0, 4);
    for (let k = 0; k < body.length; k++) body[k] = (body[k] as number) ^ (options.mask[k & 3] as number);
  }
  return Buffer.concat([head, body]);
}
