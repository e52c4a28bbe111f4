// The exchange: what one request, tunnel or WebSocket knows so far. It becomes the egress
// event when it ends.
import type { IncomingMessage } from 'node:http';
import type { EgressEvent, EgressKind, Reason } from '../events/events.js';

/** What a finished exchange knows so far; becomes the egress event. */
export type Exchange = Omit<EgressEvent, 'type' | 'durationMs'>;

export function newExchange(req: IncomingMessage | undefined, kind: EgressKind, client?: string): Exchange {
  return {
    start: Date.now(),
    pool: '',
    client: client ?? req?.socket.remoteAddress ?? '',
    kind,
    method: req?.method ?? '',
    host: '',
    port: 0,
    decision: 'deny',
    destination: 'unlisted',
    status: 0,
    bytesUp: 0,
    bytesDown: 0,
    findings: 0,
  };
}

/** The reason an upstream socket error is reported with. */
export function upstreamReason(err: NodeJS.ErrnoException | undefined): Reason {
  switch (err?.code) {
    case 'ECONNREFUSED':
      return 'upstream-refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'upstream-reset';
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
      return 'upstream-timeout';
    default:
      return 'upstream-error';
  }
}
