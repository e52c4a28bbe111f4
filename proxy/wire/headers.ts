// Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never
// forwarded. Proxy-Authorization is ours and never leaves.
import type { IncomingHttpHeaders } from 'node:http';

const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * End-to-end headers a client cannot turn hop-by-hop by naming them in Connection: without
 * Host the origin would see the checked IP address as the host, and the message framing is
 * the proxy's to set.
 */
const NEVER_BY_CONNECTION = new Set(['host', 'content-length']);

/** Remove hop-by-hop headers, and those the Connection header names, in place. */
export function stripHopByHop(headers: IncomingHttpHeaders): void {
  const connection = headers.connection;
  if (connection) {
    for (const name of connection.split(',')) {
      const n = name.trim().toLowerCase();
      if (n && !NEVER_BY_CONNECTION.has(n)) delete headers[n];
    }
  }
  for (const name of HOP_BY_HOP) delete headers[name];
}

const HOP_BY_HOP_SET = new Set(HOP_BY_HOP);

/** The extra names a Connection header makes hop-by-hop (lower case; never Host or Content-Length). */
export function connectionNamed(connection: string | undefined): Set<string> | undefined {
  if (!connection) return undefined;
  let named: Set<string> | undefined;
  for (const name of connection.split(',')) {
    const n = name.trim().toLowerCase();
    if (n && !NEVER_BY_CONNECTION.has(n)) (named ??= new Set()).add(n);
  }
  return named;
}

/** Is a (lower-case) header name end-to-end, given what the Connection header named? */
export function isEndToEnd(lower: string, named: Set<string> | undefined): boolean {
  return !HOP_BY_HOP_SET.has(lower) && !(named?.has(lower) ?? false);
}

/**
 * A copy of parsed headers without the hop-by-hop ones (what stripHopByHop leaves of a
 * copy), in their order. One pass and no `delete`: a spread and nine deletes per request
 * (and an object V8 then keeps as a dictionary) was a cost of its own on the plain-HTTP
 * path (issue #19).
 */
export function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = connectionNamed(headers.connection);
  const out: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    if (isEndToEnd(name, named)) out[name] = headers[name];
  }
  return out;
}
