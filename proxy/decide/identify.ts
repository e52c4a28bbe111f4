// Which pool a client belongs to. Pure: the Proxy-Authorization header and the client
// address in, a pool (or none, which the proxy answers with 407) out.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config, PoolConfig } from '../../config/index.js';
import { parseEntry } from '../../config/index.js';
import { parseAddress, type Ip } from './target.js';

interface Identity {
  pool: PoolConfig;
  /** sha256 of the pool's token, for constant-time comparison. */
  tokenDigest?: Buffer;
  sources: Array<[Ip, number]>;
}

export interface Identifier {
  /**
   * The pool of a client, or undefined (407). Credentials, when presented, decide: wrong
   * ones never fall back to the source address or the anonymous pool.
   */
  identify(proxyAuthorization: string | undefined, clientAddress: string | undefined): PoolConfig | undefined;
  /**
   * The pool whose `sources` hold this address, or undefined. No credentials and no
   * anonymous pool: what the DNS listener asks (a DNS query carries no credentials).
   */
  identifySource(clientAddress: string | undefined): PoolConfig | undefined;
}

export function createIdentifier(config: Pick<Config, 'pools'>): Identifier {
  const byName = new Map<string, Identity>();
  const bySource: Identity[] = [];
  let anonymous: PoolConfig | undefined;
  for (const pool of config.pools) {
    const identity: Identity = {
      pool,
      tokenDigest:
        pool.token !== undefined ? sha256(pool.token) : pool.tokenHash !== undefined ? Buffer.from(pool.tokenHash.slice(7), 'hex') : undefined,
      sources: pool.sources.map((s) => {
        const entry = parseEntry(s);
        if (entry.kind !== 'cidr') throw new Error(`pool ${pool.name}: source '${s}' is not a CIDR`);
        return entry.range;
      }),
    };
    byName.set(pool.name, identity);
    if (identity.sources.length > 0) bySource.push(identity);
    if (pool.anonymous) anonymous = pool;
  }

  const bySourceAddress = (clientAddress: string | undefined): PoolConfig | undefined => {
    const ip = clientAddress === undefined ? undefined : parseAddress(clientAddress);
    if (ip) {
      for (const identity of bySource) {
        if (identity.sources.some(([base, bits]) => base.kind() === ip.kind() && ip.match(base, bits))) return identity.pool;
      }
    }
    return undefined;
  };

  return {
    identifySource: bySourceAddress,
    identify(header, clientAddress) {
      if (header !== undefined) {
        const creds = parseBasic(header);
        if (!creds) return undefined;
        const identity = byName.get(creds.user);
        if (!identity?.tokenDigest) {
          sha256(creds.password); // same work whether or not the pool exists
          return undefined;
        }
        return timingSafeEqual(sha256(creds.password), identity.tokenDigest) ? identity.pool : undefined;
      }
      return bySourceAddress(clientAddress) ?? anonymous;
    },
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** `Basic base64(user:password)`, or undefined for any other scheme or a malformed value. */
export function parseBasic(header: string): { user: string; password: string } | undefined {
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
