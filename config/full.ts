// Everything config/ exports, the schema (zod) and the loader (yaml) included: for the
// commands that validate a config in their own process (check-config, config schema, ca)
// and for tests. The proxy's modules import config/index.js, which loads neither (issue #19).
export * from './index.js';
export { configSchema, crossCheck } from './schema.js';
export { loadConfigFile, loadCaSettingsFile, parseConfig, defaultConfig } from './load.js';
