// The client side of an intercepted handshake: wait for it to complete, and when it
// fails (the client does not trust our CA, offers no protocol we speak, or goes away)
// say so on the tunnel's egress line: reason `client-tls-failed` and the TLS alert.
import type { TLSSocket } from 'node:tls';
import { tlsAlertName } from '../decide/tls-alert.js';
import { recordFailure, type Exchange } from './exchange.js';

export function onClientHandshake(socket: TLSSocket, tunnel: Exchange, secure: () => void): void {
  let done = false;
  socket.once('secure', () => {
    done = true;
    secure();
  });
  const failed = (err: NodeJS.ErrnoException | undefined): void => {
    if (done) return;
    done = true;
    recordFailure(tunnel, 'client-tls-failed');
    tunnel.tlsAlert = tlsAlertName(err?.code, err?.message);
  };
  socket.once('error', (err: NodeJS.ErrnoException) => failed(err));
  socket.once('close', () => failed(undefined));
}
