// Name resolution with a deadline. The proxy resolves a name once, checks every address,
// and connects to one it checked: no second lookup for DNS rebinding to slip into.
import { promises as dns } from 'node:dns';

/** All addresses of a name (IPv4 and IPv6, in resolver order). */
export type Resolve = (host: string) => Promise<string[]>;

export class ResolveError extends Error {
  constructor(
    readonly code: 'dns-failure' | 'dns-timeout',
    host: string,
  ) {
    super(`${code} for ${host}`);
  }
}

/** The system resolver (getaddrinfo), or DNS servers of the config's choosing. */
export function systemResolver(servers?: readonly string[]): Resolve {
  if (!servers || servers.length === 0) {
    return async (host) => (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  }
  const resolver = new dns.Resolver();
  resolver.setServers([...servers]);
  return async (host) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const out = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (out.length === 0) throw new Error('no addresses');
    return out;
  };
}

/** Resolve with a timeout; failures become a ResolveError with a reason the proxy reports. */
export async function resolveWithin(resolve: Resolve, host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ResolveError('dns-timeout', host)), timeoutMs);
  });
  try {
    const addresses = await Promise.race([resolve(host), timeout]);
    if (addresses.length === 0) throw new ResolveError('dns-failure', host);
    return addresses;
  } catch (err) {
    if (err instanceof ResolveError) throw err;
    throw new ResolveError('dns-failure', host);
  } finally {
    clearTimeout(timer);
  }
}
