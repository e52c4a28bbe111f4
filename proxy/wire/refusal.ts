// Refusals written on a raw socket (CONNECT, upgrades, parse errors), where no
// ServerResponse exists. Responses on a ServerResponse go through ProxyServer.refuseResponse.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Reason } from '../events/events.js';
import type { Exchange } from './exchange.js';

const STATUS_TEXT: Record<number, string> = http.STATUS_CODES as Record<number, string>;

export function refusalBody(host: string, reason: Reason, detail = ''): string {
  return `chokepoint: ${host || 'request'} refused: ${reason}${detail}\n`;
}

/** Answer on a raw socket (CONNECT, upgrades, parse errors) and close it. */
export function refuseRaw(socket: Socket, ex: Exchange, status: number, reason: Reason): void {
  ex.status = status;
  ex.reason = reason;
  if (status === 407) ex.decision = 'auth-required';
  else if (status === 403 || status === 400 || status === 431) ex.decision = 'deny';
  const body = refusalBody(ex.host, reason);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    `X-Chokepoint-Reason: ${reason}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  if (status === 407) lines.push('Proxy-Authenticate: Basic realm="chokepoint"');
  if (socket.writable) socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  else socket.destroy();
}
