import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// dist/proxy/version.js and proxy/version.ts both sit two levels under the package root
// only in dist; walk up until package.json is found.
function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === 'chokepoint' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

export const version: string = readVersion();
