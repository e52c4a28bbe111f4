// config/: the schema, loading, interpolation and validation. Imports nothing of ours.
// This index is what the proxy's own modules import, and it loads neither zod nor yaml
// (issue #19: the proxy reads its config in a child process, config/isolated.ts). The
// schema and the loader themselves are config/schema.js and config/load.js.
export { parseListen } from './listen.js';
export type { Config, ConfigInput, PoolConfig, InterceptSetting } from './schema.js';
export { ConfigError, formatProblems } from './errors.js';
export type { ConfigProblem, Env } from './errors.js';
export type { CaSettings } from './load.js';
export { loadConfigIsolated } from './isolated.js';
export { parseEntry, DEFAULT_PORTS } from './entries.js';
export type { Entry, HostMatch, Ports } from './entries.js';
export { shippedGroups } from './groups.js';
export { parseDuration, parseSize } from './units.js';
