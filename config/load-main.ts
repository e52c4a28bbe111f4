// The child that config/isolated.ts starts: `node load-main.js [-- FILE]` reads and
// validates FILE (the built-in default without one) with config/load.ts and writes a
// LoadReply, v8.serialize'd, on stdout. It exits 0 whenever it wrote a reply, also for a
// config with problems: a non-zero exit means the loader itself broke.
import { serialize } from 'node:v8';
import { ConfigError } from './errors.js';
import type { LoadReply } from './isolated.js';
import { defaultConfig, loadConfigFile } from './load.js';

function reply(): LoadReply {
  const i = process.argv.indexOf('--');
  const path = i >= 0 ? process.argv[i + 1] : undefined;
  try {
    return { ok: true, config: path === undefined ? defaultConfig() : loadConfigFile(path) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, configError: { source: err.source, problems: err.problems } };
    // A message only, as bin/chokepoint.ts prints errors: a stack could carry a config's values.
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

process.stdout.write(serialize(reply()));
