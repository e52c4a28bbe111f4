// Reading the TLS ClientHello a client sends first in a CONNECT tunnel: is it TLS, and
// which server name (SNI) does it ask for. Pure: bytes in, a verdict out.

export type HelloResult =
  /** Not enough bytes yet to decide. */
  | { kind: 'partial' }
  /** The first bytes are not a TLS handshake (plain protocol inside the tunnel). */
  | { kind: 'not-tls' }
  /** A ClientHello; `sni` undefined when it carries no server_name. `alpn` lists offered protocols. */
  | { kind: 'hello'; sni?: string; alpn: string[] };

/** Largest ClientHello we wait for (a record holds at most 16 KiB; some span two). */
export const MAX_HELLO_BYTES = 16 * 1024 + 5;

export function parseClientHello(buf: Buffer): HelloResult {
  if (buf.length < 1) return { kind: 'partial' };
  if (buf[0] !== 0x16) return { kind: 'not-tls' };
  if (buf.length < 5) return { kind: 'partial' };
  if (buf[1] !== 0x03) return { kind: 'not-tls' };
  const recordLength = buf.readUInt16BE(3);
  // Handshake messages may be fragmented over records; collect the first message's bytes.
  const handshake = collectHandshake(buf);
  if (handshake === 'partial') return { kind: 'partial' };
  if (handshake === 'bad' || recordLength === 0) return { kind: 'not-tls' };
  return parseHello(handshake);
}

function collectHandshake(buf: Buffer): Buffer | 'partial' | 'bad' {
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  while (off + 5 <= buf.length) {
    if (buf[off] !== 0x16) return 'bad';
    const len = buf.readUInt16BE(off + 3);
    if (len > 16384 + 2048) return 'bad';
    const end = off + 5 + Math.min(len, buf.length - off - 5);
    parts.push(buf.subarray(off + 5, end));
    have += end - off - 5;
    if (need < 0 && have >= 4) {
      const head = Buffer.concat(parts);
      if (head[0] !== 0x01) return 'bad'; // not a ClientHello
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_HELLO_BYTES * 4) return 'bad';
    }
    if (need >= 0 && have >= need) return Buffer.concat(parts).subarray(0, need);
    if (end - off - 5 < len) return 'partial';
    off = end;
  }
  return 'partial';
}

function parseHello(hs: Buffer): HelloResult {
  try {
    let p = 4 + 2 + 32; // header, version, random
    p += 1 + hs.readUInt8(p); // session id
    p += 2 + hs.readUInt16BE(p); // cipher suites
    p += 1 + hs.readUInt8(p); // compression methods
    if (p === hs.length) return { kind: 'hello', alpn: [] };
    const extEnd = p + 2 + hs.readUInt16BE(p);
    p += 2;
    if (extEnd > hs.length) return { kind: 'not-tls' };
    let sni: string | undefined;
    const alpn: string[] = [];
    while (p + 4 <= extEnd) {
      const type = hs.readUInt16BE(p);
      const len = hs.readUInt16BE(p + 2);
      const body = hs.subarray(p + 4, p + 4 + len);
      p += 4 + len;
      if (type === 0x0000 && body.length >= 5) {
        // server_name_list: list length, then (type, length, name)
        let q = 2;
        const listEnd = 2 + body.readUInt16BE(0);
        while (q + 3 <= listEnd && q + 3 <= body.length) {
          const nameType = body[q];
          const nameLen = body.readUInt16BE(q + 1);
          if (nameType === 0) sni = body.subarray(q + 3, q + 3 + nameLen).toString('latin1');
          q += 3 + nameLen;
        }
      } else if (type === 0x0010 && body.length >= 2) {
        let q = 2;
        while (q < body.length) {
          const l = body[q] as number;
          alpn.push(body.subarray(q + 1, q + 1 + l).toString('latin1'));
          q += 1 + l;
        }
      }
    }
    return sni === undefined ? { kind: 'hello', alpn } : { kind: 'hello', sni, alpn };
  } catch {
    return { kind: 'not-tls' }; // ran past the end: malformed
  }
}
