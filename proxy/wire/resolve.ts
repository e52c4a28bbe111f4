// Name resolution with a deadline. The proxy resolves a name once per request, checks
// every address, and connects to one it checked: no second lookup for DNS rebinding to
// slip into. Answers are kept for a short while (dns.cacheTtl): a fleet asks for the same
// few registries thousands of times a minute, and each getaddrinfo holds one of libuv's
// four threadpool threads, which gzip decoding for the scanner needs too.
import { promises as dns } from 'node:dns';
import { LRUCache } from 'lru-cache';
import type { Resolve } from '../decide/gate.js';

/** What one lookup learned: the addresses, and how long they may be reused when the answer said. */
export interface Answer {
  addresses: string[];
  /** The smallest record TTL, in ms (known for dns.servers answers, not for getaddrinfo). */
  ttlMs?: number;
}

/** One uncached lookup: the system resolver (getaddrinfo), or DNS servers of the config's choosing. */
export function lookupWith(servers?: readonly string[]): (host: string) => Promise<Answer> {
  if (!servers || servers.length === 0) {
    return async (host) => ({ addresses: (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address) });
  }
  const resolver = new dns.Resolver();
  resolver.setServers([...servers]);
  return async (host) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host, { ttl: true }), resolver.resolve6(host, { ttl: true })]);
    const records = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (records.length === 0) throw new Error('no addresses');
    return { addresses: records.map((r) => r.address), ttlMs: Math.min(...records.map((r) => r.ttl)) * 1000 };
  };
}

/**
 * Answers reused for at most `maxTtlMs` (an answer's own TTL when shorter), at most
 * `maxNames` names (least recently used go first); lookups of one name that overlap share
 * one query. Failures are not kept: the next request asks again. Every use of a kept
 * answer is checked by the policy as a fresh one is, so reuse never widens what is allowed.
 */
export function cachingResolver(lookup: (host: string) => Promise<Answer>, maxTtlMs: number, maxNames = 10_000, perf?: { now(): number }): Resolve {
  const cache = new LRUCache<string, string[]>({
    max: maxNames,
    ttl: maxTtlMs,
    ...(perf ? { perf } : {}),
    fetchMethod: async (host, _stale, { options }) => {
      const answer = await lookup(host);
      // A TTL of 0 means "do not keep": 1 ms is the shortest lru-cache holds (0 would be forever).
      if (answer.ttlMs !== undefined) options.ttl = Math.max(1, Math.min(maxTtlMs, answer.ttlMs));
      return answer.addresses;
    },
  });
  return async (host) => {
    const addresses = await cache.fetch(host);
    if (addresses === undefined) throw new Error('no addresses');
    return addresses;
  };
}

/**
 * The proxy's resolver: the system resolver or `servers`, with answers reused for up to
 * `cacheTtlMs` (0: every request looks up).
 */
export function systemResolver(servers?: readonly string[], cacheTtlMs = 0): Resolve {
  const lookup = lookupWith(servers);
  if (cacheTtlMs <= 0) return async (host) => (await lookup(host)).addresses;
  return cachingResolver(lookup, cacheTtlMs);
}
