// Which headers of an HTTP/2 header block cross to the next hop (h2-exchange.ts
// endToEndHeaders): every request, response and trailer block of an intercepted stream.
import { describe, expect, it } from 'vitest';
import type { IncomingHttpHeaders } from 'node:http2';
import { endToEndHeaders } from '../proxy/wire/h2-exchange.js';

const block = (h: Record<string, string | string[]>): IncomingHttpHeaders => Object.assign(Object.create(null) as IncomingHttpHeaders, h);

describe('endToEndHeaders', () => {
  it('keeps end-to-end headers, in order, and drops pseudo-headers, Host and HTTP2-Settings', () => {
    const out = endToEndHeaders(block({ ':method': 'POST', ':path': '/x', ':authority': 'api.example.com', host: 'api.example.com', 'http2-settings': 'AAMAAABkAAQAAP__', 'content-type': 'application/json', accept: ['a', 'b'], 'x-request-id': '7' }));
    expect(Object.keys(out)).toEqual(['content-type', 'accept', 'x-request-id']);
    expect(out.accept).toEqual(['a', 'b']);
  });

  it('drops hop-by-hop headers and what Connection names, but never Content-Length for being named', () => {
    const out = endToEndHeaders(block({ connection: 'x-hop, Content-Length', 'x-hop': '1', 'content-length': '5', te: 'trailers', trailer: 'grpc-status', 'keep-alive': 'timeout=5', 'proxy-authorization': 'Basic Zm9vOmJhcg==', upgrade: 'websocket', 'transfer-encoding': 'chunked', etag: '"v1"' }));
    expect(out).toEqual({ 'content-length': '5', etag: '"v1"' });
  });

  it('gives an empty block for one with nothing end-to-end', () => {
    expect(endToEndHeaders(block({ ':status': '200' }))).toEqual({});
  });
});
