// A WebSocket through the proxy, plain HTTP or inside an intercepted tunnel: the client's
// handshake goes to the upstream, the upstream's answer back, and once it is
// `101 Switching Protocols` the client's messages are read before the origin gets them.
//
// - Client to server: a WebSocketRelay (websocket-relay.ts) cuts the bytes into messages
//   (unmasked, fragments joined, permessage-deflate inflated); each message goes through
//   one stream scanner per connection, so a token split across messages is found, and is
//   judged as a body finding is (exchange-judge.ts, source `websocket`). The messages of
//   one read from the client are settled together (one scan step and one flush per read, so
//   small messages do not each pay for a final step) before any of them is written. Block:
//   the client gets close 1008 and the origin gets none of that read; alert: forwarded and
//   recorded.
// - A CI log tap (GitHub Actions' live console recogniser) sees every client byte; once it
//   reads the connection as a job's log, its messages are left to it (source `log`).
// - Server to client: relayed, not scanned.
// - Bounded: the relay holds at most one message (scan.maxBufferBytes, scan.oversize
//   beyond), from the proxy's global scan buffer budget; the client is paused while the
//   upstream socket is full.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import type { Finding } from '../../detectors/index.js';
import { noteScanned, noteScanSkipped } from '../events/events.js';
import { recordFailure, recordVerdict, type Exchange } from './exchange.js';
import { exchangeJudge, type ExchangeJudge, type JudgeContext, type Refusal } from './exchange-judge.js';
import type { BufferBudget } from './http-exchange.js';
import { safely, type StreamTap, type Taps } from './taps.js';
import { closeFrame, WebSocketRelay } from './websocket-relay.js';

/** The most an upstream may send before its handshake answer ends (`\r\n\r\n`). */
const MAX_RESPONSE_HEAD = 64 * 1024;
/** The deflate window a peer with context takeover may refer back to. */
const DEFLATE_WINDOW = 32 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

export interface WebSocketContext extends JudgeContext {
  buffers: BufferBudget;
}

export interface WebSocketRelayOptions {
  ctx: WebSocketContext;
  ex: Exchange;
  /** Judges the messages' findings for the destination (from prepareWebSocket). */
  judge: ExchangeJudge;
  req: IncomingMessage;
  /** The request target to send upstream (origin form: `/path?query`). */
  path: string;
  /** Plain HTTP: the authority of the absolute URI, sent as Host. */
  authority?: string;
  /** Bytes the client sent after its handshake, already read. */
  head: Buffer;
  client: Duplex;
  /** Connected to the destination (TCP, or TLS when intercepted). */
  upstream: Duplex;
  /** A CI log tap for this connection: it sees every byte the client sends. */
  tap?: StreamTap | undefined;
}

/**
 * Before the upstream is opened (plain HTTP and intercepted alike): the handshake's URL and
 * the headers the upstream will get are judged, and the CI log taps are asked whether they
 * read this connection. A refusal, or what relayWebSocket needs.
 */
export function prepareWebSocket(
  ctx: WebSocketContext,
  ex: Exchange,
  req: IncomingMessage,
  path: string,
  taps: Taps | undefined,
  /** The destination's name, findings are judged for (ex.host is the name as lines show it). */
  host: string,
): { refusal: Refusal } | { judge: ExchangeJudge; tap: StreamTap | undefined } {
  const judge = exchangeJudge(ctx, ex, host);
  const refusal = judge.head(path, forwardedHeaders(req.headers));
  if (refusal) return { refusal };
  let tap: StreamTap | undefined;
  safely(() => {
    tap = taps?.upgrade?.({ pool: ex.pool, client: ex.client, host, port: ex.port, method: req.method ?? 'GET', path, headers: req.headers, kind: 'websocket' });
  });
  return { judge, tap };
}

/**
 * The handshake the upstream gets: the client's, less the proxy's own headers. `authority`
 * (plain HTTP, where the request named an absolute URI) is the Host the upstream is told.
 */
export function upstreamHandshake(req: IncomingMessage, path: string, authority?: string): string {
  const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`];
  if (authority !== undefined) lines.push(`Host: ${authority}`);
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'proxy-authorization' || lower === 'proxy-connection' || (authority !== undefined && lower === 'host')) continue;
    lines.push(`${name}: ${req.rawHeaders[i + 1] as string}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The request headers the upstream gets (what is scanned): the client's, less the proxy's own. */
export function forwardedHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  if (headers['proxy-authorization'] === undefined && headers['proxy-connection'] === undefined) return headers;
  const out = { ...headers };
  delete out['proxy-authorization'];
  delete out['proxy-connection'];
  return out;
}

/** The status code and the accepted extensions of an upstream's handshake answer. */
export function parseHandshakeAnswer(head: string): { status: number; deflate: boolean } | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!match) return undefined;
  const deflate = head
    .split('\r\n')
    .some((line) => /^sec-websocket-extensions:/i.test(line) && line.toLowerCase().includes('permessage-deflate'));
  return { status: Number(match[1]), deflate };
}

/**
 * A permessage-deflate inflater that keeps the connection's context: the last 32 KiB it
 * inflated are the next message's preset dictionary (with context takeover that is the
 * compressor's window; without it the peer never refers back, and it does no harm).
 */
export function contextInflater(): (payload: Buffer, maxBytes: number) => Buffer {
  let window = Buffer.alloc(0);
  return (payload, maxBytes) => {
    const out = inflateRawSync(payload, {
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
      maxOutputLength: Math.max(1, maxBytes),
      ...(window.length > 0 ? { dictionary: window } : {}),
    });
    window = out.length >= DEFLATE_WINDOW ? Buffer.from(out.subarray(out.length - DEFLATE_WINDOW)) : Buffer.concat([window, out]).subarray(-DEFLATE_WINDOW);
    return out;
  };
}

/** Relay a WebSocket handshake and, once upgraded, its messages. Call with the upstream connected. */
export function relayWebSocket(o: WebSocketRelayOptions): void {
  const { ex, client, upstream } = o;
  const early: Buffer[] = o.head.length > 0 ? [o.head] : [];
  let upgraded = false;
  const holdEarly = (c: Buffer): void => {
    // A client may send its first frames before the answer: kept until it comes (bounded by the pause).
    early.push(c);
    client.pause();
  };
  client.on('data', holdEarly);
  // The client's FIN goes up (its socket is half-open); the upstream's comes down through the pipe or below.
  client.once('end', () => upstream.end());
  upstream.write(upstreamHandshake(o.req, o.path, o.authority));

  let answer: Buffer = Buffer.alloc(0);
  const onAnswer = (chunk: Buffer): void => {
    answer = answer.length === 0 ? chunk : Buffer.concat([answer, chunk]);
    const end = answer.indexOf(HEAD_END);
    if (end < 0) {
      if (answer.length > MAX_RESPONSE_HEAD) {
        recordFailure(ex, 'upstream-error');
        ex.status = 502;
        client.destroy();
        upstream.destroy();
      }
      return;
    }
    upstream.off('data', onAnswer);
    const headText = answer.subarray(0, end).toString('latin1');
    const rest = answer.subarray(end + HEAD_END.length);
    const parsed = parseHandshakeAnswer(headText);
    if (!parsed) {
      recordFailure(ex, 'upstream-error');
      ex.status = 502;
      client.destroy();
      upstream.destroy();
      return;
    }
    ex.status = parsed.status;
    ex.bytesDown += answer.length;
    client.write(answer.subarray(0, end + HEAD_END.length));
    if (rest.length > 0) client.write(rest);
    upstream.on('data', (c: Buffer) => (ex.bytesDown += c.length));
    upstream.pipe(client);
    client.off('data', holdEarly);
    if (parsed.status !== 101) {
      // Not upgraded: the answer is relayed; what the client sends next is not a WebSocket.
      upstream.once('end', () => client.end());
      client.resume();
      return;
    }
    upgraded = true;
    startMessages(o, parsed.deflate, early);
  };
  upstream.on('data', onAnswer);
  upstream.once('end', () => {
    if (!upgraded) client.end();
  });
}

/** After 101: the client's bytes go up a judged message at a time, the log tap seeing them too. */
function startMessages(o: WebSocketRelayOptions, deflate: boolean, early: Buffer[]): void {
  const { ctx, ex, client, upstream, tap } = o;
  const send = (pieces: readonly Buffer[]): void => {
    if (pieces.length === 0) return;
    let full = false;
    // Corked, so the pieces of one read go out in one write (writev), not one each.
    const corked = pieces.length > 1;
    if (corked) upstream.cork();
    for (const piece of pieces) full = !upstream.write(piece) || full;
    if (corked) upstream.uncork();
    if (full) {
      client.pause();
      upstream.once('drain', () => client.resume());
    }
  };

  const { judge } = o;
  const scanner = ctx.engine.stream();
  // The messages of one read are scanned as one stream and settled once, at the read's end
  // (one scan step and one flush per read, not one each per message); none of them is
  // forwarded before that.
  let blocks = false;
  const note = (found: Finding[]): void => {
    if (found.length > 0 && judge.blocking(judge.record(found, 'websocket')) !== undefined) blocks = true;
  };
  const relay = new WebSocketRelay({
    maxMessageBytes: ctx.config.scan.maxBufferBytes,
    oversize: ctx.config.scan.oversize,
    ...(deflate ? { inflate: contextInflater() } : {}),
    judge: (data) => {
      // Messages the CI log tap reads as a job's log are its own (source log, verdict leak).
      if (tap?.readsAsLog?.()) return 'forward';
      noteScanned(ex, 'websocket', data.length);
      // Held (copied) for the read's one step: `data` may be the relay's scratch.
      scanner.feed(data);
      return 'forward';
    },
    settle: () => {
      try {
        // settle() reports what later bytes cannot change, flush() the rest of what arrived.
        note(scanner.settle());
        note(scanner.flush());
      } catch {
        noteScanSkipped(ex, 'undecodable-encoding');
        if (ctx.config.scan.onError === 'block') blocks = true;
      }
      const out = blocks;
      blocks = false;
      return out;
    },
  });

  // The relay's held bytes come out of the proxy's scan buffer budget.
  let reserved = 0;
  const account = (): boolean => {
    const held = relay.bufferedBytes;
    if (held > reserved) {
      if (!ctx.buffers.take(held - reserved)) return false;
    } else if (held < reserved) ctx.buffers.give(reserved - held);
    reserved = held;
    return true;
  };
  const release = (): void => {
    ctx.buffers.give(reserved);
    reserved = 0;
  };
  client.once('close', () => {
    release();
    if (tap) safely(() => tap.close());
  });

  let stopped = false;
  const stop = (code: number): void => {
    stopped = true;
    release();
    if (code === 1008) {
      recordVerdict(ex, 'deny', 'secret-exfiltration');
    } else if (code === 1009) {
      recordFailure(ex, 'body-too-large');
    } else if (code === 1002) {
      recordFailure(ex, 'bad-request');
    }
    upstream.unpipe(client);
    upstream.destroy();
    client.end(closeFrame(code));
  };
  const onData = (chunk: Buffer): void => {
    if (stopped) return;
    ex.bytesUp += chunk.length;
    if (tap) safely(() => tap.clientBytes(chunk));
    const out = relay.push(chunk);
    for (let i = 0; i < out.unscanned; i++) noteScanSkipped(ex, 'oversize');
    if (out.close !== undefined) return stop(out.close);
    if (!account()) {
      // The proxy holds all it may for scanning: this message cannot be read whole.
      noteScanSkipped(ex, 'oversize');
      return stop(1013);
    }
    send(out.forward);
  };
  for (const c of early) onData(c);
  client.on('data', onData);
  client.resume();
}
