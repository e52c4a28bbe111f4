// The HTTP server every listener of ours is made from (the proxy listener and the inner
// server of intercepted tunnels), and the header checks node's parser leaves to us.
import http, { type IncomingMessage } from 'node:http';
import type { Config } from '../../config/index.js';

/** Most header lines a request may carry (beyond it: 431). */
export const MAX_HEADER_LINES = 1000;

/**
 * An HTTP server with the limits every listener of ours applies (the proxy listener and
 * the inner server of intercepted tunnels): header size and count, header deadline.
 */
export function createListener(config: Config): http.Server {
  const { limits, timeouts } = config;
  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: timeouts.headers,
    // node checks header deadlines on this interval (default 30 s): a slow client would
    // hold its socket up to 30 s past timeouts.headers. Check often enough to cut on time.
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(timeouts.headers / 2))),
    requestTimeout: 0, // uploads may be long
    keepAliveTimeout: 5_000,
  });
  // No socket timeout on the client side: it would cut a client waiting for a slow
  // upstream. Idle keep-alive connections close after keepAliveTimeout, slow headers after
  // headersTimeout, and the upstream side has its own idle timeout.
  server.timeout = 0;
  // One more than we accept, so that a request over the limit is seen (node drops the
  // excess silently) and refused instead of forwarded with headers missing.
  server.maxHeadersCount = MAX_HEADER_LINES + 1;
  return server;
}

/**
 * What the parser lets through but a proxy must not: more header lines than we keep
 * (431), and more than one Host (400, RFC 9112 §3.2: which one would the origin use?).
 */
export function headerProblem(req: IncomingMessage): 400 | 431 | undefined {
  const raw = req.rawHeaders;
  if (raw.length / 2 > MAX_HEADER_LINES) return 431;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).length === 4 && (raw[i] as string).toLowerCase() === 'host') hosts++;
  }
  return hosts > 1 ? 400 : undefined;
}
