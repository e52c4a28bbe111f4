// A config compiled for serving: pools with their policies and identification. A new
// Runtime replaces the old on reload; each connection keeps the one it started with.
import { parseEntry, type Config, type InterceptSetting, type PoolConfig } from '../../config/index.js';
import type { HostMatch } from '../../config/index.js';
import { compilePool, hostMatches, type PoolPolicy } from './policy.js';
import { createIdentifier, type Identifier } from './identify.js';

/** Whether a CONNECT tunnel to this host is intercepted (TLS terminated and read). */
export type InterceptChoice = (host: string) => boolean;

export interface PoolRuntime {
  config: PoolConfig;
  policy: PoolPolicy;
  maxTunnels: number;
  intercepts: InterceptChoice;
}

/** Host patterns of an intercept or bypass list, parsed once. Non-host entries (IP ranges) never match a name. */
function hostPatterns(entries: readonly string[]): HostMatch[] {
  const out: HostMatch[] = [];
  for (const text of entries) {
    const e = parseEntry(text);
    if (e.kind === 'host') out.push(e.match);
  }
  return out;
}

/**
 * The pool's interception choice: its `tls.intercept` (else the global one), where a host on
 * either `tls.bypass` list (the pool's or the global one) is never intercepted.
 */
export function compileInterceptChoice(setting: InterceptSetting, bypass: readonly string[]): InterceptChoice {
  if (setting === 'none') return () => false;
  const skip = hostPatterns(bypass);
  const listed = setting === 'all' ? undefined : hostPatterns(setting);
  return (host) => {
    if (skip.some((m) => hostMatches(m, host))) return false;
    return listed === undefined || listed.some((m) => hostMatches(m, host));
  };
}

export interface Runtime {
  config: Config;
  identifier: Identifier;
  pools: ReadonlyMap<string, PoolRuntime>;
}

/** Compile a validated config. Throws only on what the schema cannot see (none expected). */
export function compileRuntime(config: Config): Runtime {
  const pools = new Map<string, PoolRuntime>();
  for (const pool of config.pools) {
    pools.set(pool.name, {
      config: pool,
      policy: compilePool(pool, config.groups),
      maxTunnels: pool.maxTunnels ?? config.limits.maxTunnelsPerPool,
      intercepts: compileInterceptChoice(pool.tls.intercept ?? config.tls.intercept, [...pool.tls.bypass, ...config.tls.bypass]),
    });
  }
  return { config, identifier: createIdentifier(config), pools };
}
