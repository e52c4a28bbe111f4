// One HTTP/2 stream of an intercepted tunnel: the same exchange as an HTTP/1.1 request
// (http-exchange.ts), on a stream. Scan the request target and the headers, hold (or
// stream) and scan the body, scan the trailers, judge every finding with the shared
// judging (exchange-judge.ts), then forward upstream over h2 when the origin speaks it
// (h2-upstream.ts), else over HTTP/1.1 (forward.ts); refuse with a 403 on this stream,
// or RST_STREAM once its response has begun. Other streams of the connection go on.
//
// gRPC calls (Content-Type application/grpc) are not held whole: a streaming call may
// wait for answers before it sends more. Each length-prefixed message is held (up to
// scan.maxBufferBytes), its payload scanned (gunzipped when grpc-encoding is gzip), and
// only then forwarded, so a message with a credential never leaves.
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createContentScanner, scanContent, type ContentMeta, type ContentScanResult } from '../../detectors/decode.js';
import { GrpcMessageReader, isGrpcContentType } from '../../detectors/grpc.js';
import { noteScanSkipped } from '../events/events.js';
import { recordFailure, recordRefusal, type Exchange } from './exchange.js';
import { exchangeJudge, type ExchangeJudge } from './exchange-judge.js';
import { UpstreamError, type UpstreamTarget } from './forward.js';
import type { H2Upstreams } from './h2-upstream.js';
import { connectionNamed, isEndToEnd, stripHopByHop } from './headers.js';
import { holdBody, type ExchangeContext } from './http-exchange.js';
import { renderRefusal, type Refusal } from './refusal.js';
import { safely, type BodyTap } from './taps.js';

const { NGHTTP2_CANCEL, NGHTTP2_DEFAULT_WEIGHT, NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** Headers that never cross from one HTTP/2 hop to the next (or into HTTP/1.1). */
const NOT_FORWARDED = new Set(['host', 'http2-settings']);

/** `:`, which begins a pseudo-header's name. */
const COLON = 0x3a;

/**
 * The end-to-end headers of a header block: no pseudo-headers, no hop-by-hop ones. One
 * pass and no `delete` (headers.ts endToEnd): this runs for every stream's request,
 * response and trailers.
 */
export function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = connectionNamed(headerValue(headers.connection));
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined || name.charCodeAt(0) === COLON || NOT_FORWARDED.has(name) || !isEndToEnd(name, named)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Answer a refused stream: the refusal HTTP/1.1 gets (refusal.ts renderRefusal: status,
 * x-chokepoint-reason, body), or RST_STREAM once the response has begun.
 */
export function refuseStream(stream: ServerHttp2Stream, ex: Exchange, refusal: Refusal, grpc: boolean): void {
  recordRefusal(ex, refusal.status, refusal.reason);
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(NGHTTP2_CANCEL);
    return;
  }
  ex.status = refusal.status;
  const rendered = renderRefusal(ex.host, refusal);
  const body = rendered.body;
  const headers: OutgoingHttpHeaders = { ':status': rendered.status };
  for (const [name, value] of rendered.headers) headers[name] = value;
  if (grpc) {
    // A gRPC client reads its status from grpc-status (7: PERMISSION_DENIED), and shows grpc-message.
    headers['grpc-status'] = refusal.status === 403 ? '7' : '14';
    headers['grpc-message'] = encodeURIComponent(`chokepoint refused: ${refusal.reason}`);
  }
  try {
    stream.respond(headers);
    stream.end(body);
  } catch {
    stream.close(NGHTTP2_INTERNAL_ERROR);
  }
  // The request body may be unread: stop it (the other streams go on).
  if (!stream.readableEnded) stream.once('finish', () => stream.close(http2.constants.NGHTTP2_NO_ERROR));
}

/** One request on its way upstream, whichever protocol the origin speaks. */
interface UpstreamCall {
  write(chunk: Buffer): boolean;
  onDrain(fn: () => void): void;
  end(): void;
  destroy(): void;
  /** Resolves with the response head; rejects with an UpstreamError. */
  response: Promise<UpstreamResponse>;
}

interface UpstreamResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Readable;
  /** The response's trailers, once its body ended. */
  trailers(): OutgoingHttpHeaders;
  /** The RST_STREAM code the upstream ended with (h2), if it was reset. */
  resetCode(): number | undefined;
}

export interface H2ExchangeOptions {
  upstreams: H2Upstreams;
  /** `:authority` as the client sent it (the origin gets it as is). */
  authority: string;
}

export async function handleH2Stream(
  ctx: ExchangeContext,
  opts: H2ExchangeOptions,
  stream: ServerHttp2Stream,
  reqHeaders: IncomingHttpHeaders,
  ex: Exchange,
  target: UpstreamTarget,
): Promise<void> {
  const method = String(reqHeaders[':method'] ?? 'GET');
  const path = String(reqHeaders[':path'] ?? '/');
  const contentType = headerValue(reqHeaders['content-type']);
  const grpc = isGrpcContentType(contentType);
  const judge = exchangeJudge(ctx, ex, target.host);
  const max = ctx.config.scan.maxBufferBytes;

  const headers = endToEndHeaders(reqHeaders);
  // Scanned as HTTP/1.1's are: Host (here :authority) included.
  const headRefusal = judge.head(path, { host: opts.authority, ...headers });
  if (headRefusal) return refuseStream(stream, ex, headRefusal, grpc);

  // Observers (CI log recognisers: a Go GitLab runner speaks h2 when offered) see the
  // request once its head passed, and the body bytes as forwarded, as for HTTP/1.1.
  let tap: BodyTap | undefined;
  safely(() => {
    tap = ctx.taps?.request?.({ pool: ctx.pool.config.name, client: ex.client, host: target.host, port: target.port, method, path, headers: { host: opts.authority, ...(headers as IncomingHttpHeaders) }, kind: ex.kind });
  });
  const tapWrite = (chunk: Buffer): void => {
    if (tap) safely(() => tap?.write(chunk));
  };
  const tapEnd = (ok: boolean): void => {
    if (tap) safely(() => (ok ? tap?.end() : tap?.abort()));
    tap = undefined;
  };
  /** Refused (or cut): what the upstream does next changes nothing. */
  let refused = false;
  const refuse = (r: Refusal): void => {
    refused = true;
    tapEnd(false);
    refuseStream(stream, ex, r, grpc);
  };

  let trailers: OutgoingHttpHeaders | undefined;
  stream.once('trailers', (t: IncomingHttpHeaders) => {
    trailers = endToEndHeaders(t);
  });
  /** The request trailers, scanned as headers; the refusal they call for. */
  const trailerRefusal = (): Refusal | undefined => (trailers && Object.keys(trailers).length > 0 ? judge.headers(trailers) : undefined);

  if (stream.endAfterHeaders) {
    const call = await open(false);
    if (!call) return;
    tapEnd(true);
    call.end();
    return;
  }
  if (grpc) return forwardGrpc({ ctx, stream, ex, judge, reqHeaders, max, open, refuse, tapWrite, tapEnd, trailerRefusal });

  // Hold the body up to the scan limit (and while the global budget allows).
  const held = await holdBody(stream, max, ctx, (n) => (ex.bytesUp += n));
  if (!held.fits && stream.destroyed) return held.release();
  const meta: ContentMeta = {
    ...(reqHeaders['content-encoding'] ? { contentEncoding: headerValue(reqHeaders['content-encoding']) } : {}),
    ...(contentType ? { contentType } : {}),
  };
  if (held.fits) {
    const body = held.body();
    let result: ContentScanResult;
    try {
      result = await scanContent(ctx.engine, body, meta);
    } catch {
      result = { findings: [], errors: [{ code: 'undecodable-encoding', message: 'scanner failed' }], scannedBytes: 0, truncated: true };
    }
    held.release();
    const r = judge.body(result) ?? trailerRefusal();
    if (r) return refuse(r);
    headers['content-length'] = String(body.length);
    const withTrailers = trailers && Object.keys(trailers).length > 0 ? trailers : undefined;
    const call = await open(true, withTrailers);
    if (!call) return;
    tapWrite(body);
    tapEnd(true);
    call.write(body);
    call.end();
    return;
  }

  // Over the limit: refuse, or forward while scanning and cut on a blocking finding.
  held.release();
  noteScanSkipped(ex, 'oversize');
  if (ctx.config.scan.oversize === 'block') return refuse({ status: 413, reason: 'body-too-large' });
  delete headers['content-length'];
  const call = await open(true);
  if (!call) return;
  let cut = false;
  const cutWith = (r: Refusal): void => {
    if (cut) return;
    cut = true;
    refuse(r);
    call.destroy();
  };
  const scanner = createContentScanner(ctx.engine, meta, {
    onFinding: (finding) => {
      const block = judge.blocking(judge.record([finding], 'body', undefined, true));
      if (block) cutWith({ status: 403, reason: 'secret-exfiltration', finding: block });
    },
  });
  for (const chunk of held.chunks) {
    scanner.write(chunk);
    if (!cut) {
      tapWrite(chunk);
      call.write(chunk);
    }
  }
  relayBody(stream, call, (chunk) => {
    ex.bytesUp += chunk.length;
    scanner.write(chunk);
    if (!cut) tapWrite(chunk);
    return !cut;
  }, () => {
    void scanner.end().then(
      (result) => {
        if (cut) return;
        const r = judge.body({ ...result, findings: [] }) ?? trailerRefusal();
        if (r) return cutWith(r);
        tapEnd(true);
        call.end();
      },
      () => cutWith({ status: 403, reason: 'scan-error' }),
    );
  });

  /** Open the upstream request and relay its response to the stream; undefined when refused. */
  async function open(hasBody: boolean, sendTrailers?: OutgoingHttpHeaders): Promise<UpstreamCall | undefined> {
    let call: UpstreamCall;
    try {
      const proto = await opts.upstreams.get(target, ex);
      if (stream.destroyed) return undefined;
      const o: Outgoing = { method, path, authority: opts.authority, headers, te: headerValue(reqHeaders.te) };
      call = proto.kind === 'h2' ? h2Call(proto.session, o, hasBody, sendTrailers) : h1Call(ctx, target, ex, o, hasBody, sendTrailers);
    } catch (err) {
      const e = err instanceof UpstreamError ? err : new UpstreamError('upstream-error', 502);
      refuse({ status: e.status, reason: e.reason });
      return undefined;
    }
    let responded = false;
    stream.once('close', () => {
      // The client went away (or reset this stream): the upstream request goes too.
      if (!responded) call.destroy();
    });
    call.response.then(
      (res) => {
        if (stream.destroyed || stream.closed) return res.body.destroy();
        ex.status = res.status;
        try {
          // endStream given, as for the upstream request (bench/h2-options.ts).
          stream.respond({ ...res.headers, ':status': res.status }, { endStream: false, waitForTrailers: true });
        } catch {
          res.body.destroy();
          return refuse({ status: 502, reason: 'upstream-error' });
        }
        stream.once('wantTrailers', () => {
          const t = res.trailers();
          try {
            stream.sendTrailers(t);
          } catch {
            stream.close();
          }
        });
        res.body.on('data', (chunk: Buffer) => {
          ex.bytesDown += chunk.length;
          if (!stream.write(chunk)) {
            res.body.pause();
            stream.once('drain', () => res.body.resume());
          }
        });
        res.body.once('end', () => {
          responded = true;
          const code = res.resetCode();
          if (code !== undefined && code !== http2.constants.NGHTTP2_NO_ERROR) stream.close(code);
          else stream.end();
        });
        res.body.once('error', () => {
          if (!stream.destroyed) stream.close(NGHTTP2_INTERNAL_ERROR);
        });
        stream.once('close', () => res.body.destroy());
      },
      (err: unknown) => {
        const e = err instanceof UpstreamError ? err : new UpstreamError('upstream-error', 502);
        if (refused) return; // we cut it
        if (!stream.headersSent) refuse({ status: e.status, reason: e.reason });
        else {
          recordFailure(ex, e.reason);
          stream.close(NGHTTP2_INTERNAL_ERROR);
        }
      },
    );
    return call;
  }
}

/** What a gRPC call's forwarding needs of its stream's exchange (handleH2Stream). */
interface GrpcForward {
  ctx: ExchangeContext;
  stream: ServerHttp2Stream;
  ex: Exchange;
  judge: ExchangeJudge;
  reqHeaders: IncomingHttpHeaders;
  /** scan.maxBufferBytes: the largest message held. */
  max: number;
  /** Open the upstream request (undefined: refused). */
  open(hasBody: boolean): Promise<UpstreamCall | undefined>;
  refuse(r: Refusal): void;
  tapWrite(chunk: Buffer): void;
  tapEnd(ok: boolean): void;
  /** The request trailers' refusal, if any. */
  trailerRefusal(): Refusal | undefined;
}

/** gRPC: message by message, each scanned before it is forwarded. */
async function forwardGrpc(g: GrpcForward): Promise<void> {
  const { ctx, stream, ex, judge, reqHeaders, max, open, refuse, tapWrite, tapEnd, trailerRefusal } = g;
  const call = await open(true);
  if (!call) return;
  const reader = new GrpcMessageReader(headerValue(reqHeaders['grpc-encoding']), { maxMessageBytes: max });
  let cut = false;
  let raw: ReturnType<typeof createContentScanner> | undefined;
  const cutWith = (r: Refusal): void => {
    if (cut) return;
    cut = true;
    refuse(r);
    call.destroy();
  };
  /** The framing could not be read on: the rest is forwarded scanned as it is, if the config lets it. */
  const unframed = (): boolean => {
    const err = reader.error;
    if (!err) return true;
    if (err.code === 'message-too-large') {
      noteScanSkipped(ex, 'oversize');
      if (ctx.config.scan.oversize === 'block') {
        cutWith({ status: 413, reason: 'body-too-large' });
        return false;
      }
    } else {
      const r = judge.body({ findings: [], errors: [{ code: err.code === 'unknown-encoding' ? 'unknown-encoding' : 'undecodable-encoding', message: err.message }], scannedBytes: 0, truncated: true });
      if (r) {
        cutWith(r);
        return false;
      }
    }
    raw = createContentScanner(ctx.engine, {}, {
      onFinding: (finding) => {
        const block = judge.blocking(judge.record([finding], 'body', undefined, true));
        if (block) cutWith({ status: 403, reason: 'secret-exfiltration', finding: block });
      },
    });
    return true;
  };
  let queue = Promise.resolve();
  stream.on('data', (chunk: Buffer) => {
    ex.bytesUp += chunk.length;
    if (cut) return;
    stream.pause();
    queue = queue.then(async () => {
      if (cut) return;
      if (raw) {
        raw.write(chunk);
        if (!cut) {
          tapWrite(chunk);
          call.write(chunk);
        }
        return;
      }
      for (const m of reader.push(chunk)) {
        let result: ContentScanResult;
        try {
          result = await scanContent(ctx.engine, m.payload, {});
        } catch {
          result = { findings: [], errors: [{ code: 'undecodable-encoding', message: 'scanner failed' }], scannedBytes: 0, truncated: true };
        }
        const r = judge.body(result);
        if (r) return cutWith(r);
        tapWrite(m.raw);
        call.write(m.raw);
      }
      if (reader.error && unframed() && raw) {
        // What the reader had not framed yet is lost to it: scan and forward this chunk whole.
        (raw as ReturnType<typeof createContentScanner>).write(chunk);
        if (!cut) {
          tapWrite(chunk);
          call.write(chunk);
        }
      }
    });
    void queue.then(() => {
      if (!cut && !stream.destroyed) stream.resume();
    });
  });
  stream.once('end', () => {
    void queue.then(async () => {
      if (cut) return;
      if (raw) {
        const result = await raw.end();
        if (cut) return;
        const r = judge.body({ ...result, findings: [] });
        if (r) return cutWith(r);
      } else if (reader.end()) {
        const r = judge.body({ findings: [], errors: [{ code: 'undecodable-encoding', message: 'gRPC body ended inside a message' }], scannedBytes: 0, truncated: true });
        if (r) return cutWith(r);
      }
      const t = trailerRefusal();
      if (t) return cutWith(t);
      tapEnd(true);
      call.end();
    });
  });
  stream.once('close', () => {
    if (!stream.readableEnded) {
      tapEnd(false);
      call.destroy();
    }
  });
}

/** The request as it goes upstream: method, path, `:authority` as the client sent it, end-to-end headers. */
interface Outgoing {
  method: string;
  path: string;
  authority: string;
  headers: OutgoingHttpHeaders;
  /** The client's `te` (only `trailers` crosses to an h2 origin). */
  te: string | undefined;
}

/** The request on a stream of the origin's h2 session. */
function h2Call(session: http2.ClientHttp2Session, o: Outgoing, hasBody: boolean, sendTrailers: OutgoingHttpHeaders | undefined): UpstreamCall {
  const out: OutgoingHttpHeaders = {
    ...o.headers,
    ':method': o.method,
    ':path': o.path,
    ':authority': o.authority,
    ':scheme': 'https',
  };
  // `te: trailers` is the one TE value HTTP/2 allows, and gRPC servers insist on it.
  if (o.te?.toLowerCase() === 'trailers') out.te = 'trailers';
  const req = session.request(out, {
    endStream: !hasBody,
    waitForTrailers: sendTrailers !== undefined,
    // The priority fields node would otherwise fill in on a copy, given: about 3 µs less
    // per request in node 20 (bench/h2-options.ts). They are the defaults, so the
    // HEADERS frame is the same.
    weight: NGHTTP2_DEFAULT_WEIGHT,
    parent: 0,
    exclusive: false,
  });
  if (sendTrailers) req.once('wantTrailers', () => req.sendTrailers(sendTrailers));
  let responseTrailers: OutgoingHttpHeaders = {};
  req.on('trailers', (t: IncomingHttpHeaders) => {
    responseTrailers = endToEndHeaders(t);
  });
  const response = new Promise<UpstreamResponse>((resolve, reject) => {
    // Settled once; an error is made only for a request that fails (not at every close).
    let settled = false;
    req.once('response', (h: IncomingHttpHeaders) => {
      settled = true;
      resolve({
        status: Number(h[':status'] ?? 502),
        headers: endToEndHeaders(h),
        body: req,
        trailers: () => responseTrailers,
        resetCode: () => (req.rstCode !== undefined && req.rstCode !== http2.constants.NGHTTP2_NO_ERROR ? req.rstCode : undefined),
      });
    });
    const fail = (reason: 'upstream-reset' | 'upstream-error'): void => {
      if (settled) return;
      settled = true;
      reject(new UpstreamError(reason, 502));
    };
    req.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ERR_HTTP2_STREAM_ERROR' ? 'upstream-reset' : 'upstream-error'));
    req.once('close', () => fail('upstream-reset'));
  });
  response.catch(() => undefined);
  return {
    write: (chunk) => req.write(chunk),
    onDrain: (fn) => req.once('drain', fn),
    end: () => {
      if (!req.writableEnded) req.end();
    },
    destroy: () => {
      if (!req.destroyed) req.close(NGHTTP2_CANCEL);
    },
    response,
  };
}

/** The request over HTTP/1.1 (forward.ts), for an origin that does not speak h2. */
function h1Call(ctx: ExchangeContext, target: UpstreamTarget, ex: Exchange, o: Outgoing, hasBody: boolean, sendTrailers: OutgoingHttpHeaders | undefined): UpstreamCall {
  const out: OutgoingHttpHeaders = { ...o.headers, host: o.authority };
  // Trailers go in a chunked body's last chunk.
  if (sendTrailers) delete out['content-length'];
  if (hasBody && out['content-length'] === undefined) out['transfer-encoding'] = 'chunked';
  const { upstream, response } = ctx.forwarder.request(target, o.method, o.path, out, ex);
  if (sendTrailers) upstream.addTrailers(sendTrailers as Record<string, string>);
  return {
    write: (chunk) => upstream.write(chunk),
    onDrain: (fn) => upstream.once('drain', fn),
    end: () => upstream.end(),
    destroy: () => upstream.destroy(),
    response: response.then((res: IncomingMessage) => {
      const declared = res.headers.trailer !== undefined;
      const h: OutgoingHttpHeaders = { ...res.headers };
      stripHopByHop(h as IncomingHttpHeaders);
      for (const name of NOT_FORWARDED) delete h[name];
      return {
        status: res.statusCode ?? 502,
        headers: h,
        body: res,
        trailers: () => (declared ? endToEndHeaders(res.trailers) : {}),
        resetCode: () => undefined,
      };
    }),
  };
}

/** Relay a request body with backpressure; `each` says whether to forward the chunk. */
function relayBody(stream: ServerHttp2Stream, call: UpstreamCall, each: (chunk: Buffer) => boolean, onEnd: () => void): void {
  stream.on('data', (chunk: Buffer) => {
    if (each(chunk) && !call.write(chunk)) {
      stream.pause();
      call.onDrain(() => stream.resume());
    }
  });
  stream.once('end', onEnd);
  stream.resume();
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
