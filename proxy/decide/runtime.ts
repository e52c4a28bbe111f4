// A config compiled for serving: pools with their policies and identification. A new
// Runtime replaces the old on reload; each connection keeps the one it started with.
import type { Config, PoolConfig } from '../../config/index.js';
import { compilePool, type PoolPolicy } from './policy.js';
import { createIdentifier, type Identifier } from './identify.js';

export interface PoolRuntime {
  config: PoolConfig;
  policy: PoolPolicy;
  maxTunnels: number;
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
    });
  }
  return { config, identifier: createIdentifier(config), pools };
}
