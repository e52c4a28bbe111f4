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

/** Remove hop-by-hop headers, and those the Connection header names, in place. */
export function stripHopByHop(headers: IncomingHttpHeaders): void {
  const connection = headers.connection;
  if (connection) {
    for (const name of connection.split(',')) {
      const n = name.trim().toLowerCase();
      if (n) delete headers[n];
    }
  }
  for (const name of HOP_BY_HOP) delete headers[name];
}
