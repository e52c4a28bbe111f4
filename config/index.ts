// config/: the schema, loading, interpolation and validation. Imports nothing of ours.
export { configSchema, crossCheck, parseListen } from './schema.js';
export type { Config, ConfigInput, PoolConfig, InterceptSetting } from './schema.js';
export { loadConfigFile, loadCaSettingsFile, parseConfig, defaultConfig, ConfigError, formatProblems } from './load.js';
export type { CaSettings, ConfigProblem, Env } from './load.js';
export { parseEntry, DEFAULT_PORTS } from './entries.js';
export type { Entry, HostMatch, Ports } from './entries.js';
export { shippedGroups } from './groups.js';
export { parseDuration, parseSize } from './units.js';
