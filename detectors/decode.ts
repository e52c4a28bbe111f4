// Decoding what leaves before scanning it: the proxy (request bodies, headers, URLs)
// and `chokepoint scan` both call this module. Pure: bytes in, findings out; the
// only asynchrony is node:zlib decompressing off the main thread.
//
// API
//   scanContent(engine, body, meta, limits?)            whole body   -> Promise<ContentScanResult>
//   createContentScanner(engine, meta, { onFinding, limits })
//       .write(chunk)  any chunk sizes; findings go to onFinding as soon as they settle
//       .end()         -> Promise<ContentScanResult> (all findings, errors, counts)
//   scanUrl(engine, pathAndQuery)                        request target -> Finding[]
//   scanHeaders(engine, headers)                         -> Array<Finding & { header }>
//
// What a body goes through
//   1. Content-Encoding, undone in reverse order of application (`gzip, br`: br first):
//      gzip/x-gzip, deflate (zlib-wrapped or raw, told apart by the first bytes), br,
//      zstd when the runtime has zlib.createZstdDecompress (Node 20 does not: then it
//      is 'unknown-encoding'), identity. Each stage's output is capped at
//      limits.maxDecodedBytes: a decompression bomb is an error, never an allocation.
//   2. By Content-Type:
//        application/json, */*+json, application/x-ndjson: JSON string escapes undone
//          (`\n`, `\/`, `\"`, `\u002b`), and the text scanned once, decoded: where no
//          escape changes it, it is the text as sent. Findings point at the bytes as sent
//          (offset, length, line, column); one whose bytes an escape changed says
//          decodedFrom: ['json']
//        application/x-www-form-urlencoded: `%XX` and `+` undone, likewise       ['url']
//        anything else: scanned as it is (the "raw pass", a StreamScanner)
//        multipart/*: the raw pass, and parts parsed; each part's body decoded by its own
//          Content-Transfer-Encoding (base64) and Content-Type    ['multipart', 'base64', ...]
//      and in every text (the decoded JSON/form text, a part, anything else): runs of
//      >= 20 base64/base64url characters are decoded and, when the result reads as
//      text (90% printable), scanned, recursively.                           ['base64']
//   3. Limits: the decoding chain after Content-Encoding is at most limits.maxDepth
//      steps long (json, url, multipart, base64 each count one; default 3); text
//      found beyond it is not expanded and yields one 'depth-limit' error. All
//      base64 expansion together produces at most limits.maxExpandedBytes.
//
// Findings
//   `decodedFrom` lists the decoding steps, outermost first (['gzip'], ['json',
//   'base64']); absent for a finding in the bytes as they were sent. `offset`, `line`
//   and `column` refer to the stream the last step they list does not undo: the
//   gunzipped body; the JSON or form body as sent (its escapes included); the decoded
//   base64 blob (whose `encodedAt` is where it starts in the JSON or form text as
//   decoded, or in the body); not to the compressed bytes on the wire.
//   Deduplication: findings of the raw pass are reported as the engine reports them
//   (every location). A finding from a decode pass is reported only if no finding with
//   the same fingerprint was reported before for this content: a secret seen raw is not
//   reported again from a JSON or base64 pass, and one seen in two passes is reported
//   once. In streaming mode a decode-pass finding is held until the raw pass has read
//   far enough past it to have reported the same secret (a few times the longest rule
//   match), then reported or dropped; raw-pass findings are reported as they settle.
//
// Errors are values (ContentScanResult.errors), never throws: the proxy then follows
// `scan.onError: block|allow`. `truncated` says part of the content was not scanned
// in decoded form (a decoding error, an unknown encoding, a limit).
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Engine } from './engine.js';
import type { StreamScanner } from './stream.js';
import type { Finding } from './types.js';
import {
  Base64Extractor,
  Base64StreamDecoder,
  JsonUnescaper,
  LineIndex,
  MultipartParser,
  OffsetMap,
  Tee,
  UrlDecoder,
  parseMediaType,
  type BlobLocation,
  type PartHeaders,
  type Sink,
} from './decode-transforms.js';

export interface ContentMeta {
  /** The Content-Encoding header value, e.g. `gzip` or `gzip, br`. */
  contentEncoding?: string;
  /** The Content-Type header value, parameters included (multipart needs its boundary). */
  contentType?: string;
}

export interface ContentScanLimits {
  /** Upper bound of what each Content-Encoding stage may produce. Default 64 MiB. */
  maxDecodedBytes?: number;
  /** Longest decoding chain after Content-Encoding (json, url, multipart, base64 count one each). Default 3. */
  maxDepth?: number;
  /** Total bytes all base64 expansion may produce. Default 64 MiB. */
  maxExpandedBytes?: number;
  /** Shortest base64 run that is decoded, in characters. Default 20. */
  minBase64Chars?: number;
  /** Longer base64 runs are decoded in pieces of this many characters. Default 1 MiB. */
  maxBase64Chars?: number;
}

const DEFAULTS: Required<ContentScanLimits> = {
  maxDecodedBytes: 64 * 1024 * 1024,
  maxDepth: 3,
  maxExpandedBytes: 64 * 1024 * 1024,
  minBase64Chars: 20,
  maxBase64Chars: 1024 * 1024,
};

export type ContentScanErrorCode =
  /** The bytes are not what the Content-Encoding says (bad gzip, truncated brotli). */
  | 'undecodable-encoding'
  /** A Content-Encoding this runtime cannot undo (`compress`, zstd on Node 20). */
  | 'unknown-encoding'
  /** Decompression (or base64 expansion) passed its byte limit: stopped there. */
  | 'decoded-too-large'
  /** Encoded text nested deeper than limits.maxDepth was left unexpanded. */
  | 'depth-limit';

export interface ContentScanError {
  code: ContentScanErrorCode;
  /** For people; never contains content. */
  message: string;
  /** The Content-Encoding token concerned, when there is one. */
  encoding?: string;
}

/** A finding in content; see the header comment for offsets of decoded findings. */
export interface ContentFinding extends Finding {
  /** For findings inside a base64 blob of the top-level text: where the blob starts in it. */
  encodedAt?: BlobLocation;
}

export interface ContentScanResult {
  findings: ContentFinding[];
  errors: ContentScanError[];
  /** Bytes of the (Content-Encoding-decoded) body the raw pass scanned. */
  scannedBytes: number;
  /** True when some of the content was not scanned in decoded form. */
  truncated: boolean;
}

export interface ContentScannerOptions {
  /** Called for each finding as soon as it is known (the proxy aborts on the first). */
  onFinding?: (finding: ContentFinding) => void;
  limits?: ContentScanLimits;
}

export interface ContentScanner {
  /** Feed the next chunk of the body as it was sent. Never throws on bad content. */
  write(chunk: Buffer): void;
  /** The body is complete: resolves once everything written has been decoded and scanned. */
  end(): Promise<ContentScanResult>;
}

// zstd exists in node:zlib from Node 22.15/23.8 on; @types/node 20 does not know it.
const zstdFactory = (zlib as unknown as Record<string, unknown>)['createZstdDecompress'];
const createZstd: (() => Transform) | undefined =
  typeof zstdFactory === 'function' ? (zstdFactory as () => Transform) : undefined;

/** The Content-Encoding tokens this runtime can undo. */
export function supportedEncodings(): string[] {
  return ['identity', 'gzip', 'x-gzip', 'deflate', 'br', ...(createZstd ? ['zstd'] : [])];
}

/** Shared state of one content scan: limits, findings, errors, deduplication. */
class ScanContext {
  readonly findings: ContentFinding[] = [];
  readonly errors: ContentScanError[] = [];
  readonly limits: Required<ContentScanLimits>;
  truncated = false;
  private readonly reported = new Set<string>();
  private readonly primaryFingerprints = new Set<string>();
  private readonly primaryFindings = new WeakSet<ContentFinding>();
  private pending: Array<{ finding: ContentFinding; releaseAt: number }> = [];
  /** Bytes the raw pass has read; whether a raw pass is running. */
  private rawPos = 0;
  rawActive = false;
  /** How far past a point the raw pass may read before it reports a secret there (window cap and reach). */
  readonly rawLag: number;
  private expanded = 0;
  private readonly errorCodes = new Set<string>();

  constructor(
    readonly engine: Engine,
    limits: ContentScanLimits | undefined,
    private readonly onFinding: ((f: ContentFinding) => void) | undefined,
  ) {
    this.limits = { ...DEFAULTS, ...stripUndefined(limits ?? {}) };
    this.rawLag = 17 * engine.maxMatchLength + 4096;
  }

  error(code: ContentScanErrorCode, message: string, encoding?: string): void {
    this.truncated = true;
    const key = `${code}:${encoding ?? ''}`;
    if (this.errorCodes.has(key)) return;
    this.errorCodes.add(key);
    const e: ContentScanError = { code, message };
    if (encoding !== undefined) e.encoding = encoding;
    this.errors.push(e);
  }

  /**
   * Report findings of one pass; `primary` marks the raw pass (never deduplicated
   * away). A decode-pass finding waits until the raw pass has read far enough to have
   * reported the same secret itself (its settling lag), so it can be dropped then.
   */
  report(found: readonly Finding[], chain: readonly string[], primary: boolean, encodedAt?: BlobLocation): void {
    for (const f of found) {
      const out: ContentFinding = { ...f };
      // Known-secret forms arrive with their own decodedFrom (['base64']): keep it after ours.
      const from = [...chain, ...(f.decodedFrom ?? [])];
      if (from.length > 0) out.decodedFrom = from;
      else delete out.decodedFrom;
      if (encodedAt !== undefined) out.encodedAt = encodedAt;
      if (primary) {
        this.primaryFingerprints.add(f.fingerprint);
        this.primaryFindings.add(out);
        this.emit(out);
      } else if (this.rawActive) {
        this.pending.push({ finding: out, releaseAt: this.rawPos + this.rawLag });
      } else {
        this.emitDecoded(out);
      }
    }
    if (primary) this.release(false);
  }

  /** The raw pass has read `bytes` more. */
  advanceRaw(bytes: number): void {
    this.rawPos += bytes;
  }

  /** The raw pass is over: every waiting decode-pass finding is decided now. */
  endRaw(): void {
    this.rawActive = false;
    this.release(true);
  }

  private release(all: boolean): void {
    if (this.pending.length === 0) return;
    const keep: typeof this.pending = [];
    for (const p of this.pending) {
      if (all || p.releaseAt <= this.rawPos) this.emitDecoded(p.finding);
      else keep.push(p);
    }
    this.pending = keep;
  }

  private emitDecoded(f: ContentFinding): void {
    if (this.reported.has(f.fingerprint)) return;
    this.emit(f);
  }

  private emit(f: ContentFinding): void {
    this.reported.add(f.fingerprint);
    this.findings.push(f);
    this.onFinding?.(f);
  }

  /** Final list: a decode-pass finding of a secret the raw pass also reported is dropped. */
  result(scannedBytes: number): ContentScanResult {
    const findings = this.findings.filter((f) => this.primaryFindings.has(f) || !this.primaryFingerprints.has(f.fingerprint));
    return { findings, errors: this.errors, scannedBytes, truncated: this.truncated };
  }

  /** Account for `bytes` of base64 expansion; false (and an error) once over budget. */
  allowExpansion(bytes: number): boolean {
    if (this.expanded + bytes > this.limits.maxExpandedBytes) {
      this.error('decoded-too-large', `base64 expansion passed ${this.limits.maxExpandedBytes} bytes; the rest was not expanded`);
      return false;
    }
    this.expanded += bytes;
    return true;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A decoded text scanned in place of the text as sent: findings are moved back to where
 * they were in the input (`map`: decoded to input offsets; `lines`: the input's lines), and
 * a finding whose bytes an escape changed says so with `step` in its decodedFrom.
 */
interface InputMapping {
  map: OffsetMap;
  lines: LineIndex;
  step: string;
}

/** Scans a stream with the engine and reports what it finds. */
class ScanSink implements Sink {
  private readonly scanner: StreamScanner;
  bytes = 0;
  constructor(
    private readonly ctx: ScanContext,
    private readonly chain: readonly string[],
    private readonly primary: boolean,
    private readonly mapping?: InputMapping,
  ) {
    this.scanner = ctx.engine.stream();
    if (primary) ctx.rawActive = true;
  }
  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.primary) this.ctx.advanceRaw(chunk.length);
    this.found(this.scanner.write(chunk));
    // What a later finding can still refer to: the scanner's carry-over, with margin.
    const m = this.mapping;
    if (m) {
      const keep = this.bytes - 2 * this.ctx.rawLag;
      if (keep > 0) {
        m.lines.forget(m.map.toRaw(keep));
        m.map.forget(keep);
      }
    }
  }
  end(): void {
    this.found(this.scanner.end());
    if (this.primary) this.ctx.endRaw();
  }
  private found(found: Finding[]): void {
    const m = this.mapping;
    if (!m || found.length === 0) {
      if (found.length > 0) this.ctx.report(found, this.chain, this.primary);
      return;
    }
    const asSent: Finding[] = [];
    const decoded: Finding[] = [];
    for (const f of found) {
      const end = f.offset + f.length;
      const offset = m.map.toRaw(f.offset);
      const moved = { ...f, offset, length: m.map.toRaw(end) - offset, ...m.lines.locate(offset) };
      (m.map.changed(f.offset, end) ? decoded : asSent).push(moved);
    }
    if (asSent.length > 0) this.ctx.report(asSent, this.chain, this.primary);
    if (decoded.length > 0) this.ctx.report(decoded, [...this.chain, m.step], this.primary);
  }
}

const NULL_SINK: Sink = { write: () => undefined, end: () => undefined };

function isJson(type: string): boolean {
  return (
    type === 'application/json' ||
    type === 'text/json' ||
    type === 'application/x-ndjson' ||
    type === 'application/jsonl' ||
    type.endsWith('+json')
  );
}

/**
 * Scans a decoded base64 blob (whole, it is bounded by maxBase64Chars) and expands the
 * base64 inside it in turn, until the depth limit.
 */
function expandBlob(ctx: ScanContext, decoded: Buffer, chain: readonly string[], depth: number, encodedAt?: BlobLocation): void {
  if (depth > ctx.limits.maxDepth) {
    ctx.error('depth-limit', `encoded content nested deeper than ${ctx.limits.maxDepth} decoding steps was not expanded`);
    return;
  }
  if (!ctx.allowExpansion(decoded.length)) return;
  const here = [...chain, 'base64'];
  ctx.report(ctx.engine.scan(decoded), here, false, encodedAt);
  const inner = base64Sink(ctx, here, depth, encodedAt);
  inner.write(decoded);
  inner.end();
}

/**
 * Base64 runs of a text at decoding depth `depth` (the text itself is `depth` steps
 * from the body): each readable blob becomes depth + 1. `encodedAt` is inherited from
 * an enclosing blob; at the top level each blob's own location is used.
 */
function base64Sink(ctx: ScanContext, chain: readonly string[], depth: number, encodedAt?: BlobLocation, topLevel = false): Sink {
  return new Base64Extractor({
    minChars: ctx.limits.minBase64Chars,
    maxChars: ctx.limits.maxBase64Chars - (ctx.limits.maxBase64Chars % 4),
    onBlob: (decoded, at) => expandBlob(ctx, decoded, chain, depth + 1, topLevel ? at : encodedAt),
  });
}

/**
 * The passes for a text of a given media type at decoding depth `depth`.
 * `raw`: also scan the text itself (false for multipart parts: the enclosing raw pass
 * already read their bytes).
 */
function contentSink(
  ctx: ScanContext,
  contentType: string | undefined,
  chain: readonly string[],
  depth: number,
  raw: boolean,
  topLevel: boolean,
): Sink {
  const { type, params } = parseMediaType(contentType);
  const sinks: Sink[] = [];
  const step = (name: string): string[] | undefined => {
    if (depth + 1 > ctx.limits.maxDepth) return undefined;
    return [...chain, name];
  };
  // JSON and form text read once, decoded: where no escape changes it that is the text as
  // sent, and where one does the decoded text is what the receiver reads. Findings are
  // moved back to their place in the bytes as sent.
  const form = type === 'application/x-www-form-urlencoded';
  const name = isJson(type) ? 'json' : form ? 'url' : undefined;
  const once = raw && name !== undefined ? step(name) : undefined;
  if (once && name !== undefined) {
    const map = new OffsetMap();
    const lines = new LineIndex();
    const decoded = new Tee([new ScanSink(ctx, chain, topLevel, { map, lines, step: name }), base64Sink(ctx, once, depth + 1)]);
    sinks.push(lines, form ? new UrlDecoder(decoded, true, map) : new JsonUnescaper(decoded, map));
    return new Tee(sinks);
  }
  if (raw) sinks.push(new ScanSink(ctx, chain, topLevel));
  if (isJson(type)) {
    const c = step('json');
    if (c) sinks.push(new JsonUnescaper(new Tee([new ScanSink(ctx, c, false), base64Sink(ctx, c, depth + 1)])));
  } else if (type === 'application/x-www-form-urlencoded') {
    const c = step('url');
    if (c) sinks.push(new UrlDecoder(new Tee([new ScanSink(ctx, c, false), base64Sink(ctx, c, depth + 1)])));
  } else if (type.startsWith('multipart/') && params.get('boundary')) {
    const c = step('multipart');
    if (c) {
      const boundary = params.get('boundary') as string;
      sinks.push(new MultipartParser(boundary, (h) => partSink(ctx, h, c, depth + 1)));
    }
  } else {
    sinks.push(base64Sink(ctx, chain, depth, undefined, topLevel));
  }
  return sinks.length === 1 ? (sinks[0] as Sink) : new Tee(sinks);
}

function partSink(ctx: ScanContext, h: PartHeaders, chain: readonly string[], depth: number): Sink {
  if (h.transferEncoding === 'base64') {
    if (depth + 1 > ctx.limits.maxDepth) {
      ctx.error('depth-limit', `encoded content nested deeper than ${ctx.limits.maxDepth} decoding steps was not expanded`);
      return NULL_SINK;
    }
    const c = [...chain, 'base64'];
    return new Base64StreamDecoder(contentSink(ctx, h.contentType, c, depth + 1, true, false));
  }
  // The part's bytes were read by the raw pass already; only its own decodings remain.
  return contentSink(ctx, h.contentType, chain, depth, false, false);
}

interface Stage {
  write(chunk: Buffer): void;
  end(): void;
}

/**
 * Undoes one Content-Encoding as a stream. Its output goes to `next`; errors and the
 * byte limit go to `fail`. Deflate waits for two bytes to tell zlib from raw deflate.
 */
class DecompressStage implements Stage {
  private z: Transform | undefined;
  private head: Buffer = Buffer.alloc(0);
  private produced = 0;
  private wroteAny = false;
  private stopped = false;

  constructor(
    private readonly encoding: string,
    private readonly limit: number,
    private readonly next: Stage,
    private readonly fail: (code: ContentScanErrorCode, message: string, encoding: string) => void,
  ) {
    if (encoding !== 'deflate') this.z = this.attach(this.create());
  }

  private create(first?: Buffer): Transform {
    switch (this.encoding) {
      case 'gzip':
      case 'x-gzip':
        return zlib.createGunzip();
      case 'br':
        return zlib.createBrotliDecompress();
      case 'zstd':
        return (createZstd as () => Transform)();
      default: {
        // deflate: RFC 9110 says zlib-wrapped; some senders use raw deflate.
        const cmf = first?.[0] ?? 0;
        const flg = first?.[1] ?? 0;
        const zlibWrapped = (cmf & 0x0f) === 8 && (cmf * 256 + flg) % 31 === 0;
        return zlibWrapped ? zlib.createInflate() : zlib.createInflateRaw();
      }
    }
  }

  private attach(z: Transform): Transform {
    z.on('data', (d: Buffer) => {
      if (this.stopped) return;
      this.produced += d.length;
      if (this.produced > this.limit) {
        const room = d.length - (this.produced - this.limit);
        if (room > 0) this.next.write(d.subarray(0, room));
        this.stop();
        this.fail('decoded-too-large', `${this.encoding} body decodes to more than ${this.limit} bytes; scanned the first ${this.limit}`, this.encoding);
        return;
      }
      this.next.write(d);
    });
    z.on('error', (err: Error) => {
      if (this.stopped) return;
      this.stop();
      this.fail('undecodable-encoding', `body is not valid ${this.encoding}: ${err.message}`, this.encoding);
    });
    z.on('end', () => {
      if (this.stopped) return;
      this.stopped = true;
      this.next.end();
    });
    return z;
  }

  private stop(): void {
    this.stopped = true;
    this.z?.destroy();
  }

  write(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    this.wroteAny = true;
    if (this.z === undefined) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 2) return;
      this.z = this.attach(this.create(this.head));
      chunk = this.head;
      this.head = Buffer.alloc(0);
    }
    this.z.write(chunk);
  }

  end(): void {
    if (this.stopped) return;
    if (!this.wroteAny) {
      // An empty body labelled with an encoding is just empty.
      this.stopped = true;
      this.z?.destroy();
      this.next.end();
      return;
    }
    if (this.z === undefined) this.z = this.attach(this.create(this.head));
    if (this.head.length > 0) this.z.write(this.head);
    this.z.end();
  }
}

/** Parses Content-Encoding into tokens in the order they must be undone, or the unknown token. */
function decodingOrder(header: string | undefined): { order: string[]; unknown?: string } {
  const tokens = (header ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0 && t !== 'identity');
  const known = new Set(supportedEncodings());
  const unknown = tokens.find((t) => !known.has(t));
  return unknown === undefined ? { order: tokens.reverse() } : { order: [], unknown };
}

/** A streaming content scanner; see the header comment. */
export function createContentScanner(engine: Engine, meta: ContentMeta, opts: ContentScannerOptions = {}): ContentScanner {
  const ctx = new ScanContext(engine, opts.limits, opts.onFinding);
  const { order, unknown } = decodingOrder(meta.contentEncoding);
  if (unknown !== undefined) {
    ctx.error('unknown-encoding', `Content-Encoding "${unknown}" cannot be decoded here; scanned the bytes as sent`, unknown);
  }
  const encodings = order.map((t) => (t === 'x-gzip' ? 'gzip' : t));
  // When the encoding is unknown the bytes are scanned as they are, as plain text.
  const body = contentSink(ctx, unknown === undefined ? meta.contentType : undefined, encodings, 0, true, true);
  let scanned = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  let finished = false;
  const sink: Stage = {
    write(chunk) {
      scanned += chunk.length;
      body.write(chunk);
    },
    end() {
      if (finished) return;
      finished = true;
      body.end();
      resolveDone();
    },
  };
  // Build the stages from the innermost (last undone) outwards.
  let head: Stage = sink;
  for (let i = encodings.length - 1; i >= 0; i--) {
    head = new DecompressStage(encodings[i] as string, ctx.limits.maxDecodedBytes, head, (code, message, enc) => {
      ctx.error(code, message, enc);
      // Stop the whole chain: what was decoded so far has been scanned.
      sink.end();
    });
  }
  let ended = false;
  return {
    write(chunk: Buffer): void {
      if (ended || finished) return;
      head.write(chunk);
    },
    async end(): Promise<ContentScanResult> {
      if (!ended) {
        ended = true;
        head.end();
      }
      await done;
      return ctx.result(scanned);
    },
  };
}

/**
 * Scans a whole body. When its Content-Encoding cannot be undone, the bytes as sent
 * are scanned too (a mislabelled plain body still has its secrets found).
 */
export async function scanContent(
  engine: Engine,
  body: Buffer,
  meta: ContentMeta,
  limits?: ContentScanLimits,
): Promise<ContentScanResult> {
  const scanner = createContentScanner(engine, meta, limits ? { limits } : {});
  scanner.write(body);
  const result = await scanner.end();
  if (result.errors.some((e) => e.code === 'undecodable-encoding')) {
    const seen = new Set(result.findings.map((f) => f.fingerprint));
    for (const f of engine.scan(body)) {
      if (seen.has(f.fingerprint)) continue;
      seen.add(f.fingerprint);
      result.findings.push(f);
    }
  }
  return result;
}

/**
 * Synchronous scan of a small text (a URL, a header value): as it is, with its base64
 * blobs expanded, and percent-decoded (`+` as space when `plusIsSpace`), with the
 * decoded text's blobs expanded too.
 */
function scanSmall(engine: Engine, text: Buffer, plusIsSpace: boolean): ContentFinding[] {
  const ctx = new ScanContext(engine, undefined, undefined);
  const url = ['url'];
  const sink = new Tee([
    new ScanSink(ctx, [], false),
    base64Sink(ctx, [], 0),
    new UrlDecoder(new Tee([new ScanSink(ctx, url, false), base64Sink(ctx, url, 1)]), plusIsSpace),
  ]);
  sink.write(text);
  sink.end();
  return ctx.findings;
}

/**
 * The request target (path and query): scanned as sent and, when percent-escapes or
 * `+` change it, decoded (`+` as space, as browsers and form encoders write it), with
 * base64 blobs in either expanded. Decoded findings say decodedFrom ['url', ...] and
 * their offsets refer to the decoded target.
 */
export function scanUrl(engine: Engine, pathAndQuery: string): Finding[] {
  return scanSmall(engine, Buffer.from(pathAndQuery, 'utf8'), true).map(stripEncodedAt);
}

function stripEncodedAt(f: ContentFinding): Finding {
  if (f.encodedAt === undefined) return f;
  const { encodedAt: _unused, ...rest } = f;
  return rest;
}

/**
 * Every request header value, scanned with its name in front (`Authorization: Bearer
 * …`, so rules keyed on the name fire), URL-decoded when that changes it, with base64
 * (Basic credentials) expanded. Offsets and columns are those of the value; findings in
 * a decoded form carry decodedFrom and offsets in that form. Never returns values.
 */
export function scanHeaders(
  engine: Engine,
  headers: Record<string, string | string[] | undefined>,
): Array<Finding & { header: string }> {
  const out: Array<Finding & { header: string }> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    const seen = new Set<string>();
    for (const v of values) {
      const prefix = `${name}: `;
      const prefixBytes = Buffer.byteLength(prefix);
      const findings = scanSmall(engine, Buffer.from(prefix + v, 'utf8'), false);
      for (const f of findings) {
        if (seen.has(f.fingerprint)) continue;
        // A match inside the name itself (a rule keyed on the name only) is not about the value.
        if (f.decodedFrom === undefined && f.offset < prefixBytes) continue;
        seen.add(f.fingerprint);
        const g = stripEncodedAt(f);
        if (g.decodedFrom === undefined) {
          out.push({ ...g, offset: g.offset - prefixBytes, column: g.column - prefixBytes, header: name });
        } else {
          out.push({ ...g, header: name });
        }
      }
    }
  }
  return out;
}
