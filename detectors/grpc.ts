// gRPC message framing (gRPC over HTTP/2, "Length-Prefixed-Message"): each message is a
// 5-byte header (1 byte compressed flag, 4 bytes big-endian length) and its payload. A
// gRPC body is a sequence of them, split across DATA frames anywhere. Pure: bytes in,
// payloads out; a compressed payload is gunzipped (synchronously, bounded) when the
// call's `grpc-encoding` is gzip. The payloads are what the secret scanner reads: a
// credential in a protobuf string field is its bytes as they are.
import zlib from 'node:zlib';
import { createContentScanner, type ContentScanError, type ContentScanErrorCode, type ContentScanner, type ContentScannerOptions, type ContentScanResult } from './decode.js';
import type { Engine } from './engine.js';

/** Bytes of the message header: compressed flag + 32-bit length. */
export const GRPC_HEADER_BYTES = 5;

export type GrpcErrorCode =
  /** A message longer than maxMessageBytes (as framed, or once decompressed). */
  | 'message-too-large'
  /** Compressed with an encoding we do not decode (anything but gzip / identity). */
  | 'unknown-encoding'
  /** The gzip stream of a message does not decode. */
  | 'undecodable-encoding'
  /** The body ended inside a message (or a header). */
  | 'truncated'
  /** The compressed flag is neither 0 nor 1. */
  | 'bad-frame';

export interface GrpcError {
  code: GrpcErrorCode;
  message: string;
}

export interface GrpcLimits {
  /** Largest message payload, as framed and once decompressed (default 4 MiB, gRPC's own default). */
  maxMessageBytes?: number;
}

export const DEFAULT_GRPC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Is this Content-Type a gRPC call (`application/grpc`, `application/grpc+proto`, ...)? Not grpc-web. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const t = contentType.trim().toLowerCase();
  return t === 'application/grpc' || t.startsWith('application/grpc+') || t.startsWith('application/grpc;');
}

export interface GrpcMessage {
  /** The payload, decompressed when it was compressed. */
  payload: Buffer;
  /** The message as it was framed on the wire (header and payload as sent). */
  raw: Buffer;
  /** The message was sent compressed. */
  compressed: boolean;
}

/**
 * Incremental reader: push chunks as they arrive, get the complete messages. Holds at
 * most one incomplete message (bounded by maxMessageBytes); after an error it reads no
 * more (the caller decides what an unreadable call means).
 */
export class GrpcMessageReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly max: number;
  private readonly encoding: string;
  private failed: GrpcError | undefined;

  /** `encoding`: the call's `grpc-encoding` header (absent: identity). */
  constructor(encoding: string | undefined, limits: GrpcLimits = {}) {
    this.max = limits.maxMessageBytes ?? DEFAULT_GRPC_MAX_MESSAGE_BYTES;
    this.encoding = (encoding ?? 'identity').trim().toLowerCase();
  }

  /** The error that stopped the reader, if any. */
  get error(): GrpcError | undefined {
    return this.failed;
  }

  /** Bytes held of an incomplete message. */
  get buffered(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): GrpcMessage[] {
    if (this.failed || chunk.length === 0) return [];
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const out: GrpcMessage[] = [];
    for (;;) {
      if (this.pendingBytes < GRPC_HEADER_BYTES) break;
      const head = this.peek(GRPC_HEADER_BYTES);
      const flag = head[0] as number;
      const length = head.readUInt32BE(1);
      if (flag > 1) {
        this.fail('bad-frame', `compressed flag ${flag} is neither 0 nor 1`);
        break;
      }
      if (length > this.max) {
        this.fail('message-too-large', `message of ${length} bytes exceeds ${this.max}`);
        break;
      }
      if (this.pendingBytes < GRPC_HEADER_BYTES + length) break;
      const frame = this.take(GRPC_HEADER_BYTES + length);
      const body = frame.subarray(GRPC_HEADER_BYTES);
      if (flag === 0) {
        out.push({ payload: body, raw: frame, compressed: false });
        continue;
      }
      const payload = this.decompress(body);
      if (!payload) break;
      out.push({ payload, raw: frame, compressed: true });
    }
    return out;
  }

  /** The body ended: an incomplete message left over is an error (returned, and kept). */
  end(): GrpcError | undefined {
    if (!this.failed && this.pendingBytes > 0) this.fail('truncated', `body ended ${this.pendingBytes} bytes into a message`);
    return this.failed;
  }

  private decompress(body: Buffer): Buffer | undefined {
    if (this.encoding !== 'gzip') {
      // identity with the flag set is a protocol error; deflate/snappy/zstd we do not read.
      this.fail('unknown-encoding', `compressed message with grpc-encoding ${this.encoding || 'identity'}`);
      return undefined;
    }
    try {
      return zlib.gunzipSync(body, { maxOutputLength: this.max });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') this.fail('message-too-large', `decompressed message exceeds ${this.max} bytes`);
      else this.fail('undecodable-encoding', 'gzip message does not decode');
      return undefined;
    }
  }

  private fail(code: GrpcErrorCode, message: string): void {
    this.failed = { code, message };
    this.pending = [];
    this.pendingBytes = 0;
  }

  private peek(n: number): Buffer {
    const first = this.pending[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.pending, this.pendingBytes).subarray(0, n);
  }

  private take(n: number): Buffer {
    if (this.pending.length > 1) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
    const all = this.pending[0] as Buffer;
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return out;
  }
}

/** A whole gRPC body: its messages' payloads and the error that stopped reading, if any. */
export function parseGrpcBody(body: Buffer, encoding: string | undefined, limits: GrpcLimits = {}): { messages: GrpcMessage[]; error?: GrpcError } {
  const reader = new GrpcMessageReader(encoding, limits);
  const messages = reader.push(body);
  const error = reader.end();
  return error ? { messages, error } : { messages };
}

/** Frame one payload as a gRPC message (tests, and a refusal that must stay gRPC-shaped). */
export function frameGrpcMessage(payload: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(GRPC_HEADER_BYTES);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

const CONTENT_ERROR: Record<GrpcErrorCode, ContentScanErrorCode> = {
  'message-too-large': 'decoded-too-large',
  'unknown-encoding': 'unknown-encoding',
  'undecodable-encoding': 'undecodable-encoding',
  truncated: 'undecodable-encoding',
  'bad-frame': 'undecodable-encoding',
};

/**
 * A content scanner (the same interface as detectors/decode.ts createContentScanner) for
 * a gRPC body: the messages' payloads, decompressed, are one stream through a content
 * scanner (so a credential split across two messages is found too). When the framing
 * cannot be read any more (an error), the rest of the bytes are scanned as they are, and
 * the error is one of the result's errors (the proxy's `scan.onError` decides).
 */
export function createGrpcScanner(engine: Engine, encoding: string | undefined, opts: ContentScannerOptions & { grpc?: GrpcLimits } = {}): ContentScanner {
  const inner = createContentScanner(engine, {}, opts);
  const reader = new GrpcMessageReader(encoding, opts.grpc);
  let error: ContentScanError | undefined;
  const noteError = (): void => {
    const e = reader.error;
    if (e && !error) error = { code: CONTENT_ERROR[e.code], message: `gRPC: ${e.message}`, ...(e.code === 'unknown-encoding' || e.code === 'undecodable-encoding' ? { encoding: encoding ?? 'identity' } : {}) };
  };
  return {
    write(chunk: Buffer): void {
      if (reader.error) return inner.write(chunk);
      for (const m of reader.push(chunk)) inner.write(m.payload);
      if (reader.error) {
        // Framing lost in this chunk: what follows is read as it is.
        noteError();
        inner.write(chunk);
      }
    },
    async end(): Promise<ContentScanResult> {
      reader.end();
      noteError();
      const result = await inner.end();
      if (error) {
        result.errors.push(error);
        result.truncated = true;
      }
      return result;
    },
  };
}

/** A whole gRPC body, scanned as its messages' payloads (see createGrpcScanner). */
export function scanGrpcContent(engine: Engine, body: Buffer, encoding: string | undefined, opts: ContentScannerOptions & { grpc?: GrpcLimits } = {}): Promise<ContentScanResult> {
  const scanner = createGrpcScanner(engine, encoding, opts);
  scanner.write(body);
  return scanner.end();
}
