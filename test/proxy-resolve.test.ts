// Name resolution: answers are reused for a while (dns.cacheTtl), never longer than the
// answer's own TTL, overlapping lookups of one name share one query, and failures are not
// kept. Checked on the cache itself (a lookup and a clock the test controls) and through
// a real proxy asking a DNS server the test runs on loopback.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cachingResolver, lookupWith, type Answer } from '../proxy/wire/resolve.js';
import { rawRequest } from './helpers/clients.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';
import { startTestProxy } from './helpers/proxy.js';

/** A lookup that counts its calls and answers from a table the test changes. */
function countingLookup(table: Map<string, Answer | Error>): { lookup: (host: string) => Promise<Answer>; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    lookup: async (host) => {
      calls.push(host);
      await sleep(5);
      const a = table.get(host);
      if (a === undefined || a instanceof Error) throw a ?? new Error('NXDOMAIN');
      return a;
    },
  };
}

describe('the answer cache', () => {
  // lru-cache reads its clock at most once a millisecond: wait that out after moving it.
  const clock = { t: 1_000, now(): number { return this.t; } };
  const advance = async (ms: number): Promise<void> => {
    clock.t += ms;
    await sleep(3);
  };

  test('an answer is reused until the cache lifetime ends, then asked for again', async () => {
    const { lookup, calls } = countingLookup(new Map([['registry.test', { addresses: ['192.0.2.10'] }]]));
    const resolve = cachingResolver(lookup, 30_000, 100, clock);
    expect(await resolve('registry.test')).toEqual(['192.0.2.10']);
    await advance(29_000);
    expect(await resolve('registry.test')).toEqual(['192.0.2.10']);
    expect(calls).toHaveLength(1);
    await advance(2_000);
    await resolve('registry.test');
    expect(calls).toHaveLength(2);
  });

  test("an answer's own TTL wins when it is shorter; a TTL of 0 is kept no longer than a millisecond", async () => {
    const table = new Map<string, Answer | Error>([
      ['short.test', { addresses: ['192.0.2.20'], ttlMs: 5_000 }],
      ['zero.test', { addresses: ['192.0.2.30'], ttlMs: 0 }],
    ]);
    const { lookup, calls } = countingLookup(table);
    const resolve = cachingResolver(lookup, 30_000, 100, clock);
    await resolve('short.test');
    await advance(4_000);
    await resolve('short.test');
    expect(calls.filter((h) => h === 'short.test')).toHaveLength(1);
    await advance(2_000);
    await resolve('short.test');
    expect(calls.filter((h) => h === 'short.test')).toHaveLength(2);
    await resolve('zero.test');
    await advance(2);
    await resolve('zero.test');
    expect(calls.filter((h) => h === 'zero.test')).toHaveLength(2);
  });

  test('lookups of one name that overlap share one query', async () => {
    const { lookup, calls } = countingLookup(new Map([['burst.test', { addresses: ['192.0.2.40'] }]]));
    const resolve = cachingResolver(lookup, 30_000, 100, clock);
    const all = await Promise.all(Array.from({ length: 50 }, () => resolve('burst.test')));
    expect(new Set(all.map((a) => a.join()))).toEqual(new Set(['192.0.2.40']));
    expect(calls).toHaveLength(1);
  });

  test('a failure is not kept: the next request asks again and gets the fixed answer', async () => {
    const table = new Map<string, Answer | Error>([['flaky.test', new Error('SERVFAIL')]]);
    const { lookup, calls } = countingLookup(table);
    const resolve = cachingResolver(lookup, 30_000, 100, clock);
    await expect(resolve('flaky.test')).rejects.toThrow('SERVFAIL');
    table.set('flaky.test', { addresses: ['192.0.2.50'] });
    expect(await resolve('flaky.test')).toEqual(['192.0.2.50']);
    expect(calls).toHaveLength(2);
  });

  test('at most maxNames names are kept, the least recently used going first', async () => {
    const table = new Map<string, Answer | Error>(['a', 'b', 'c'].map((h) => [`${h}.test`, { addresses: ['192.0.2.60'] }]));
    const { lookup, calls } = countingLookup(table);
    const resolve = cachingResolver(lookup, 30_000, 2, clock);
    await resolve('a.test');
    await resolve('b.test');
    await resolve('a.test'); // a is now the most recent
    await resolve('c.test'); // b goes
    await resolve('a.test');
    await resolve('b.test');
    expect(calls).toEqual(['a.test', 'b.test', 'c.test', 'b.test']);
  });
});

/** A DNS server on loopback answering every A question with 127.0.0.1 (TTL `ttl`), counting questions per name. */
async function startDns(ttl: number): Promise<{ port: number; asked: Map<string, number>; close(): Promise<void> }> {
  const asked = new Map<string, number>();
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    // Header (12 bytes), then one question: labels, QTYPE, QCLASS.
    let i = 12;
    const labels: string[] = [];
    while (i < msg.length && msg[i] !== 0) {
      const len = msg[i] as number;
      labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
      i += len + 1;
    }
    const qEnd = i + 5;
    const qtype = msg.readUInt16BE(i + 1);
    const name = labels.join('.');
    if (qtype === 1) asked.set(name, (asked.get(name) ?? 0) + 1);
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // ID
    header.writeUInt16BE(0x8180, 2); // response, recursion desired and available, no error
    header.writeUInt16BE(1, 4); // one question
    header.writeUInt16BE(qtype === 1 ? 1 : 0, 6); // an answer for A only (AAAA: none)
    const question = msg.subarray(12, qEnd);
    const answer = Buffer.alloc(16);
    answer.writeUInt16BE(0xc00c, 0); // name: pointer to the question
    answer.writeUInt16BE(1, 2); // A
    answer.writeUInt16BE(1, 4); // IN
    answer.writeUInt32BE(ttl, 6);
    answer.writeUInt16BE(4, 10);
    Buffer.from([127, 0, 0, 1]).copy(answer, 12);
    socket.send(Buffer.concat([header, question, ...(qtype === 1 ? [answer] : [])]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { port: (socket.address() as AddressInfo).port, asked, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

describe('through the proxy, with dns.servers', () => {
  let origin: Origin;
  let dns: Awaited<ReturnType<typeof startDns>>;
  beforeAll(async () => {
    origin = await startHttpOrigin();
    dns = await startDns(300);
  });
  afterAll(async () => {
    await origin?.close();
    await dns?.close();
  });

  test('the record TTL comes with the answer', async () => {
    const answer = await lookupWith([`127.0.0.1:${dns.port}`])('ttl.test');
    expect(answer).toEqual({ addresses: ['127.0.0.1'], ttlMs: 300_000 });
  });

  const get = (port: number, host: string): Promise<string> =>
    rawRequest(port, `GET http://${host}:${origin.port}/ HTTP/1.1\r\nHost: ${host}:${origin.port}\r\nConnection: close\r\n\r\n`);
  const config = (cacheTtl: string): string => `
dns: { servers: ["127.0.0.1:${dns.port}"], cacheTtl: ${cacheTtl} }
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["cached.test:${origin.port}", "uncached.test:${origin.port}", "127.0.0.1/32:${origin.port}"]
`;

  test('ten requests to one name ask the DNS server once; with cacheTtl 0s, ten times', async () => {
    const cached = await startTestProxy(config('30s'));
    const uncached = await startTestProxy(config('0s'));
    try {
      for (let i = 0; i < 10; i++) {
        expect(await get(cached.port, 'cached.test')).toMatch(/^HTTP\/1\.1 200/);
        expect(await get(uncached.port, 'uncached.test')).toMatch(/^HTTP\/1\.1 200/);
      }
      expect(dns.asked.get('cached.test')).toBe(1);
      expect(dns.asked.get('uncached.test')).toBe(10);
      // Each request is still decided on the (kept) addresses: all ten were logged as allowed.
      expect(cached.egress().filter((l) => l.host === 'cached.test' && l.decision === 'allow')).toHaveLength(10);
    } finally {
      await Promise.all([cached.close(), uncached.close()]);
    }
  });

  test('a reload to other DNS servers asks them from then on (the kept answers go with the old ones)', async () => {
    const other = await startDns(300);
    const proxy = await startTestProxy(config('30s'));
    try {
      expect(await get(proxy.port, 'cached.test')).toMatch(/^HTTP\/1\.1 200/);
      expect(await proxy.rewrite(config('30s').replace(`127.0.0.1:${dns.port}`, `127.0.0.1:${other.port}`))).toBe(true);
      expect(await get(proxy.port, 'cached.test')).toMatch(/^HTTP\/1\.1 200/);
      expect(other.asked.get('cached.test')).toBe(1);
    } finally {
      await proxy.close();
      await other.close();
    }
  });
});
