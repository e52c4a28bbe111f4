// Hop-by-hop headers both ways (issue #19 rewrote the copy as one pass): the origin never
// sees the client's, the client never sees the origin's (nor those its Connection names),
// and every end-to-end line keeps its name, case, order and repeats.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { endToEnd, stripHopByHop } from '../proxy/wire/headers.js';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';

let origin: http.Server;
let originPort: number;
let proxy: TestProxy;
let seenByOrigin: http.IncomingHttpHeaders = {};

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    seenByOrigin = req.headers;
    res.writeHead(200, [
      'X-First', 'one',
      'Connection', 'keep-alive, X-Up-Hop',
      'Keep-Alive', 'timeout=5',
      'X-Up-Hop', 'drop-me',
      'Set-Cookie', 'a=1',
      'X-MiXed-Case', 'kept',
      'Set-Cookie', 'b=2',
      'Content-Length', '2',
    ]);
    res.end('ok');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originPort = (origin.address() as AddressInfo).port;
  proxy = await startTestProxy(`pools:\n  - name: local\n    sources: [127.0.0.0/8]\n    mode: enforce\n    allow: ["127.0.0.1/32:${originPort}"]\n`);
});

afterAll(async () => {
  await proxy?.close();
  await new Promise((r) => origin?.close(r));
});

function viaProxy(headers: Record<string, string>): Promise<{ status: number; raw: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${originPort}/x`, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, raw: res.rawHeaders, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hop-by-hop headers through the proxy', () => {
  test("the client gets the origin's end-to-end lines as sent, in order, and none of its hop-by-hop ones", async () => {
    const r = await viaProxy({ Connection: 'close, X-Down-Hop', 'X-Down-Hop': 'drop', 'X-Kept': 'yes', TE: 'trailers' });
    expect([r.status, r.body]).toEqual([200, 'ok']);
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < r.raw.length; i += 2) pairs.push([r.raw[i] as string, r.raw[i + 1] as string]);
    expect(pairs.filter(([n]) => n.toLowerCase() !== 'date')).toEqual([
      ['X-First', 'one'],
      ['Set-Cookie', 'a=1'],
      ['X-MiXed-Case', 'kept'],
      ['Set-Cookie', 'b=2'],
      ['Content-Length', '2'],
      ['Connection', 'close'],
    ]);
    expect(seenByOrigin['x-kept']).toBe('yes');
    expect(seenByOrigin).not.toHaveProperty('x-down-hop');
    expect(seenByOrigin).not.toHaveProperty('te');
  });
});

describe('endToEnd', () => {
  const names = fc.constantFrom('host', 'content-length', 'connection', 'keep-alive', 'te', 'upgrade', 'x-a', 'x-b', 'accept', 'proxy-authorization', 'trailer');
  test('is what stripHopByHop leaves of a copy, in the same order', () => {
    fc.assert(
      fc.property(fc.dictionary(names, fc.string({ maxLength: 8 })), fc.option(fc.array(names, { maxLength: 4 })), (h, conn) => {
        const headers: http.IncomingHttpHeaders = { ...h };
        if (conn) headers.connection = conn.map((n, i) => (i % 2 ? ` ${n.toUpperCase()} ` : n)).join(',');
        const copy = { ...headers };
        stripHopByHop(copy);
        const out = endToEnd(headers);
        expect(Object.entries(out)).toEqual(Object.entries(copy));
      }),
    );
  });
});
