// One HTTP request on its way out, plain or intercepted: scan the URL and headers, hold
// (or stream) and scan the body, judge every credential by its destination, then
// forward, alert or refuse. The access decision (gate) has already been made.
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Config } from '../../config/index.js';
import { createContentScanner, scanContent, type ContentScanResult } from '../../detectors/decode.js';
import type { Engine } from '../../detectors/index.js';
import { noteScanned, noteScanSkipped, type EventBus } from '../events/events.js';
import { relayResponse, type Forwarder, type UpstreamError, type UpstreamTarget } from './forward.js';
import { endToEnd } from './headers.js';
import type { PoolRuntime } from '../decide/runtime.js';
import { exchangeJudge } from './exchange-judge.js';
import type { Exchange } from './exchange.js';
import type { Refusal } from './refusal.js';
import { safely, type BodyTap, type Taps } from './taps.js';

/** What an exchange needs from the proxy around it. */
export interface ExchangeContext {
  config: Config;
  pool: PoolRuntime;
  engine: Engine;
  forwarder: Forwarder;
  bus: EventBus;
  /** Bytes held for scanning across all requests: the global cap. */
  buffers: BufferBudget;
  draining: boolean;
  /** Observers of forwarded requests (CI log recognisers). */
  taps?: Taps;
}

export class BufferBudget {
  private used = 0;
  constructor(private readonly limit: number) {}
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
  get inUse(): number {
    return this.used;
  }
}

export type { Refusal };

/** Answer a refusal (refusal.ts): it records it on the exchange; the connection is closed when the request body was not read. */
export type Refuse = (refusal: Refusal) => void;

/**
 * Carry one request. A request without a body is sent at once and nothing is returned;
 * one with a body returns the promise of its reading and scanning (no promise per
 * bodiless request: issue #19). Errors are thrown or rejected, for the caller to answer.
 */
export function handleExchange(
  ctx: ExchangeContext,
  req: IncomingMessage,
  res: ServerResponse,
  ex: Exchange,
  target: UpstreamTarget,
  path: string,
  refuse: Refuse,
): void | Promise<void> {
  const { engine, pool } = ctx;
  const enforce = pool.config.mode === 'enforce';
  const onError = ctx.config.scan.onError ?? (enforce ? 'block' : 'allow');

  // Judging, the finding events and the verdict are shared with HTTP/2 streams (exchange-judge.ts).
  const judged = exchangeJudge(ctx, ex, target.host);
  const { record, blocking } = judged;
  /** The proxy cut the request (part of its body may have left): what the upstream does next changes nothing. */
  let cut = false;

  // 1. The request line and the headers that will be forwarded (not Proxy-Authorization,
  // which is ours, nor other hop-by-hop headers) are known before any byte goes out:
  // always blockable.
  const headers: OutgoingHttpHeaders = endToEnd(req.headers);
  const headRefusal = judged.head(path, headers);
  if (headRefusal) return refuse(headRefusal);

  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  const meta = {
    ...(req.headers['content-encoding'] ? { contentEncoding: req.headers['content-encoding'] } : {}),
    ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
  };

  // Observers see the request once it is sure to be forwarded (after the head passed).
  let tap: BodyTap | undefined;
  safely(() => {
    tap = ctx.taps?.request?.({
      pool: pool.config.name,
      client: ex.client,
      host: target.host,
      port: target.port,
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      kind: ex.kind,
    });
  });
  const tapWrite = (chunk: Buffer): void => {
    if (tap) safely(() => tap?.write(chunk));
  };
  const tapEnd = (ok: boolean): void => {
    if (tap) safely(() => (ok ? tap?.end() : tap?.abort()));
    tap = undefined;
  };

  if (!hasBody) return send(undefined);
  return withBody();

  async function withBody(): Promise<void> {
    // 2. Hold the body up to the scan limit (and while the global budget allows).
    const held = await holdBody(req, ctx.config.scan.maxBufferBytes, ctx, (n) => (ex.bytesUp += n));
    if (!held.fits && req.destroyed && !req.readableEnded) {
      held.release(); // the client went away mid-body: nothing to send
      return;
    }

    if (held.fits) {
      const body = held.body();
      let result: ContentScanResult;
      try {
        result = await scanContent(engine, body, meta);
      } catch {
        result = { findings: [], errors: [{ code: 'undecodable-encoding', message: 'scanner failed' }], scannedBytes: 0, truncated: true };
      }
      held.release();
      const bodyRefusal = judged.body(result);
      if (bodyRefusal) {
        tapEnd(false);
        return refuse(bodyRefusal);
      }
      headers['content-length'] = String(body.length);
      delete headers['transfer-encoding'];
      return send(body);
    }

    // 3. Over the limit: refuse, or forward while scanning and cut on a blocking finding.
    held.release();
    noteScanSkipped(ex, 'oversize');
    if (ctx.config.scan.oversize === 'block') {
      tapEnd(false);
      return refuse({ status: 413, reason: 'body-too-large' });
    }
    return sendStreaming(held);
  }

  function noteScan(result: ContentScanResult): void {
    noteScanned(ex, 'body', result.scannedBytes);
    for (const e of result.errors) noteScanSkipped(ex, e.code);
  }

  function send(body: Buffer | undefined): void {
    const upstream = forward();
    if (body) tapWrite(body);
    tapEnd(true);
    upstream.end(body);
  }

  /** The request upstream; its response is relayed, its failure refused. */
  function forward(): ClientRequest {
    return ctx.forwarder.send(target, req.method ?? 'GET', path, headers, ex, onUpstreamResponse, onUpstreamError);
  }

  function onUpstreamResponse(upstreamRes: IncomingMessage): void {
    ex.status = upstreamRes.statusCode ?? 0;
    relayResponse(upstreamRes, res, !ctx.draining && res.shouldKeepAlive, (n) => (ex.bytesDown += n));
  }

  function onUpstreamError(err: UpstreamError): void {
    if (cut) return;
    refuse({ status: err.status, reason: err.reason }); // once the response has begun: cut, with the reason
  }

  function sendStreaming(held: Held): void {
    const upstream = forward();
    const scanner = createContentScanner(engine, meta, {
      onFinding: (finding) => {
        if (cut) return;
        const block = blocking(record([finding], 'body', undefined, true));
        if (!block) return;
        // Part of the body may have left: stop the rest, close both sides.
        cut = true;
        refuse({ status: 403, reason: 'secret-exfiltration', finding: block }); // 403, or cut once answered
        upstream.destroy();
        tapEnd(false);
        req.destroy();
      },
    });
    for (const chunk of held.chunks) {
      scanner.write(chunk);
      if (!cut) {
        tapWrite(chunk);
        upstream.write(chunk);
      }
    }
    req.on('data', (chunk: Buffer) => {
      ex.bytesUp += chunk.length;
      scanner.write(chunk);
      if (!cut) tapWrite(chunk);
      if (!cut && !upstream.write(chunk)) {
        req.pause();
        upstream.once('drain', () => req.resume());
      }
    });
    req.once('end', () => {
      scanner.end().then(
        (result) => {
          noteScan(result);
          if (cut) return;
          if (result.errors.length > 0 && onError === 'block' && enforce) {
            // Too late to refuse cleanly: the body has streamed. Cut before the upstream sees its end.
            cut = true;
            refuse({ status: 403, reason: 'scan-error' }); // 403, or cut once answered
            upstream.destroy();
            tapEnd(false);
            return;
          }
          tapEnd(true);
          upstream.end();
        },
        () => {
          tapEnd(false);
          upstream.destroy();
        },
      );
    });
    req.resume();
  }
}

export { scanHeadersCached, scanUrlCached } from './scan-cache.js';

/** A request body read up to the scan limit (holdBody). */
export interface Held {
  /** All of it was read (it ended within the limit and the budget). */
  fits: boolean;
  chunks: Buffer[];
  body(): Buffer;
  release(): void;
}

/** Read a body until it ends or passes `max` (or the global budget): what was read, and whether it is all of it. */
export async function holdBody(source: Readable, max: number, ctx: ExchangeContext, count: (n: number) => void): Promise<Held> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let taken = 0;
  const fits = await new Promise<boolean>((resolve) => {
    const onData = (chunk: Buffer): void => {
      count(chunk.length);
      const ok = bytes + chunk.length <= max && ctx.buffers.take(chunk.length);
      if (ok) taken += chunk.length;
      chunks.push(chunk);
      bytes += chunk.length;
      if (!ok) done(false);
    };
    const done = (ok: boolean): void => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('close', onClose);
      source.off('error', onClose);
      source.pause();
      resolve(ok);
    };
    const onEnd = (): void => done(true);
    const onClose = (): void => done(false);
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('close', onClose);
    source.once('error', onClose); // a client gone mid-body (HTTP/1.1 emits it)
  });
  return {
    fits,
    chunks,
    body: () => (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes)),
    release: () => ctx.buffers.give(taken),
  };
}
