// Why an established tunnel ended: from what each side did, in order. Pure: the tunnel
// (proxy/wire/tunnel.ts) records what it saw on its sockets and asks here.

/** What the two sockets of a tunnel did before it ended. */
export interface TunnelEnding {
  /** The side that ended (FIN) or went away first. */
  first?: 'client' | 'upstream';
  /** The client sent FIN. */
  clientFin: boolean;
  /** The upstream sent FIN. */
  upstreamFin: boolean;
  /** The upstream reset the connection (RST: ECONNRESET). */
  upstreamReset: boolean;
}

export type TunnelCloseReason = 'closed' | 'client-closed' | 'upstream-closed' | 'upstream-reset';

/**
 * - `upstream-reset`: the destination sent an RST, and only then.
 * - `closed`: both sides closed cleanly (each sent FIN), whoever started.
 * - `client-closed`: the client went away (FIN or reset) and the destination did not close
 *   its side in time: the proxy closed it.
 * - `upstream-closed`: the destination closed (FIN) and the client did not close its side
 *   in time: the proxy closed it.
 */
export function tunnelCloseReason(e: TunnelEnding): TunnelCloseReason {
  if (e.upstreamReset) return 'upstream-reset';
  if (e.clientFin && e.upstreamFin) return 'closed';
  if (e.first === 'upstream') return 'upstream-closed';
  return 'client-closed';
}
