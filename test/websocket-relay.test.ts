// The WebSocket relay without sockets (proxy/wire/websocket-relay.ts): client frames in,
// in any split; judged messages and the raw bytes to forward out.
import { constants as zlib, deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { WebSocketRelay, type RelayOptions } from '../proxy/wire/websocket-relay.js';
import { contextInflater } from '../proxy/wire/websocket.js';

/** One masked client frame. */
function frame(op: number, payload: Buffer, { fin = true, rsv1 = false, mask = [9, 8, 7, 6] } = {}): Buffer {
  const m = Buffer.from(mask);
  const masked = Buffer.from(payload.map((b, i) => b ^ (m[i % 4] as number)));
  const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op;
  let len: Buffer;
  if (payload.length < 126) len = Buffer.from([0x80 | payload.length]);
  else if (payload.length < 65536) len = Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  else {
    len = Buffer.alloc(9);
    len[0] = 0x80 | 127;
    len.writeBigUInt64BE(BigInt(payload.length), 1);
  }
  return Buffer.concat([Buffer.from([b0]), len, m, masked]);
}

function relay(overrides: Partial<RelayOptions> = {}): { r: WebSocketRelay; seen: string[] } {
  const seen: string[] = [];
  const r = new WebSocketRelay({
    maxMessageBytes: 1024,
    oversize: 'block',
    judge: (data) => {
      seen.push(data.toString('utf8'));
      return data.includes('SECRET') ? 'block' : 'forward';
    },
    ...overrides,
  });
  return { r, seen };
}

describe('WebSocketRelay', () => {
  test('whatever the split, the same messages are judged and the frames forwarded are the frames sent', () => {
    const [first, frag, ping, mented, binary] = [
      frame(1, Buffer.from('first')),
      frame(1, Buffer.from('frag-'), { fin: false }),
      frame(9, Buffer.from('ping')),
      frame(0, Buffer.from('mented'), { fin: true }),
      frame(2, Buffer.alloc(300, 0x61)),
    ] as const;
    const wire = Buffer.concat([first, frag, ping, mented, binary]);
    // A control frame inside a fragmented message goes on at once; the held fragments follow it (RFC 6455 5.4 allows either order).
    const expected = Buffer.concat([first, ping, frag, mented, binary]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const { r, seen } = relay();
        const out: Buffer[] = [];
        let at = 0;
        for (const p of [...points, wire.length]) {
          const o = r.push(wire.subarray(at, p));
          expect(o.close).toBeUndefined();
          out.push(...o.forward);
          at = p;
        }
        expect(seen).toEqual(['first', 'frag-mented', 'a'.repeat(300)]);
        expect(Buffer.concat(out).equals(expected)).toBe(true);
        expect(r.bufferedBytes).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  test('a blocked message is not forwarded, not even its first fragment, and the relay answers 1008', () => {
    const { r } = relay();
    const ok = r.push(frame(1, Buffer.from('fine')));
    expect(ok.forward.length).toBeGreaterThan(0);
    const part = r.push(frame(1, Buffer.from('has a SEC'), { fin: false }));
    expect(part.forward).toEqual([]);
    const end = r.push(frame(0, Buffer.from('RET in it')));
    expect(end.close).toBe(1008);
    expect(end.forward).toEqual([]);
    expect(r.push(frame(1, Buffer.from('after'))).forward).toEqual([]);
  });

  test('a message over maxMessageBytes: 1009 with oversize block; forwarded unread with stream, and the next is read again', () => {
    const big = frame(1, Buffer.alloc(2000, 0x62));
    expect(relay().r.push(big).close).toBe(1009);
    const { r, seen } = relay({ oversize: 'stream' });
    const o = r.push(big);
    expect(o.close).toBeUndefined();
    expect(o.unscanned).toBe(1);
    expect(Buffer.concat(o.forward).equals(big)).toBe(true);
    expect(r.bufferedBytes).toBe(0);
    r.push(frame(1, Buffer.from('next')));
    expect(seen).toEqual(['next']);
  });

  test('malformed framing closes with 1002: an unmasked frame, a reserved opcode, a continuation with no message, a fragmented control frame, a message inside a message, reserved bits', () => {
    const unmasked = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    for (const bad of [unmasked, frame(3, Buffer.from('x')), frame(0, Buffer.from('x')), frame(9, Buffer.from('x'), { fin: false })]) {
      expect(relay().r.push(bad).close).toBe(1002);
    }
    // Compressed without permessage-deflate negotiated.
    expect(relay().r.push(frame(1, Buffer.from('x'), { rsv1: true })).close).toBe(1002);
    // A new message while a fragmented one is open, in the same read or the next.
    const open = frame(1, Buffer.from('frag-'), { fin: false });
    const whole = frame(1, Buffer.from('whole'));
    expect(relay().r.push(Buffer.concat([open, whole])).close).toBe(1002);
    const { r } = relay();
    expect(r.push(open).close).toBeUndefined();
    expect(r.push(whole).close).toBe(1002);
    // RSV2 or RSV3 set: no extension we negotiate defines them.
    for (const bit of [0x20, 0x10]) {
      const f = frame(1, Buffer.from('whole message'));
      f[0] = (f[0] as number) | bit;
      expect(relay({ inflate: contextInflater() }).r.push(f).close).toBe(1002);
    }
  });

  test('settle: a read is settled once after its messages are judged; a late block forwards none of that read', () => {
    let settles = 0;
    let blockNext = false;
    const { r, seen } = relay({
      settle: () => {
        settles++;
        return blockNext;
      },
    });
    const two = Buffer.concat([frame(1, Buffer.from('one')), frame(1, Buffer.from('two'))]);
    const clean = r.push(two);
    expect(clean.close).toBeUndefined();
    expect(Buffer.concat(clean.forward).equals(two)).toBe(true);
    expect(settles).toBe(1);
    // A read that ends no message judges nothing and settles nothing.
    const partial = frame(1, Buffer.from('three'));
    expect(r.push(partial.subarray(0, 4)).forward).toEqual([]);
    expect(settles).toBe(1);
    // The caller's scan of the whole read says block (a token over its last message's end, say).
    blockNext = true;
    const late = r.push(Buffer.concat([partial.subarray(4), frame(1, Buffer.from('four'))]));
    expect(settles).toBe(2);
    expect(late.close).toBe(1008);
    expect(late.forward).toEqual([]);
    expect(seen).toEqual(['one', 'two', 'three', 'four']);
    expect(r.push(frame(1, Buffer.from('after'))).forward).toEqual([]);
  });

  test('permessage-deflate with context takeover: the second message refers back into the first and is read whole', () => {
    const { r, seen } = relay({ inflate: contextInflater() });
    const text1 = 'export TOKEN_NAME=value-one; '.repeat(4);
    const text2 = 'export TOKEN_NAME=value-one; and then SECRET';
    // The second message compressed with the first as its window, as a peer keeping its context does.
    const first = deflateRawSync(Buffer.from(text1), { finishFlush: zlib.Z_SYNC_FLUSH });
    const second = deflateRawSync(Buffer.from(text2), { finishFlush: zlib.Z_SYNC_FLUSH, dictionary: Buffer.from(text1) });
    const strip = (b: Buffer): Buffer => b.subarray(0, b.length - 4); // the 00 00 ff ff tail the peer leaves off
    expect(r.push(frame(1, strip(first), { rsv1: true })).close).toBeUndefined();
    expect(r.push(frame(1, strip(second), { rsv1: true })).close).toBe(1008);
    expect(seen).toEqual([text1, text2]);
  });
});
