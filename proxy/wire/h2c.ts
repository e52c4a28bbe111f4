// HTTP/2 without TLS is not spoken here: a cleartext `Upgrade: h2c` request and a
// prior-knowledge h2 preface (`PRI * HTTP/2.0`) on the plain-HTTP listener are refused
// with a reason the client (and the egress line) can read. h2 is offered where TLS is
// intercepted, by ALPN.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { recordRefusal, type Exchange } from './exchange.js';

/** Does this request ask to upgrade to cleartext HTTP/2? */
export function isH2cUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (!upgrade) return false;
  return upgrade.split(',').some((t) => t.trim().toLowerCase() === 'h2c');
}

/** Is this parser error an HTTP/2 connection preface (llhttp stops on `PRI * HTTP/2.0`)? */
export function isH2Preface(err: NodeJS.ErrnoException): boolean {
  return err.code === 'HPE_PAUSED_H2_UPGRADE';
}

/** HTTP/2 frame: 9-byte header (length, type, flags, stream 0) and payload. */
function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  return Buffer.concat([head, payload]);
}

/** GOAWAY's HTTP_1_1_REQUIRED (RFC 9113 §7): "use HTTP/1.1 instead". */
const HTTP_1_1_REQUIRED = 0xd;

/**
 * Answer an h2 prior-knowledge client in its own protocol: an empty SETTINGS (the server
 * preface it waits for), then GOAWAY with HTTP_1_1_REQUIRED and the reason as debug
 * data, which clients show (curl: "HTTP_1_1_REQUIRED"). Then close.
 */
export function refuseH2Preface(socket: Socket, ex: Exchange): void {
  ex.status = 400;
  recordRefusal(ex, 400, 'h2-prior-knowledge-not-supported');
  const debug = Buffer.from('chokepoint: h2-prior-knowledge-not-supported: speak HTTP/1.1 to the proxy (HTTP/2 is offered inside CONNECT by ALPN)');
  const goaway = Buffer.alloc(8 + debug.length);
  goaway.writeUInt32BE(0, 0); // last stream id
  goaway.writeUInt32BE(HTTP_1_1_REQUIRED, 4);
  debug.copy(goaway, 8);
  if (socket.writable) socket.end(Buffer.concat([frame(0x4, Buffer.alloc(0)), frame(0x7, goaway)]));
  else socket.destroy();
}
