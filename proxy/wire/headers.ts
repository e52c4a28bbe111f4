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
