// What `chokepoint start` loads in the proxy's process (issue #19, idle memory): the config is
// read in a child (config/isolated.ts), so zod and yaml never load there; nor do the rules-file
// reader's smol-toml without rule files, nor node-forge without interception. The built CLI
// runs with a module hook (NODE_OPTIONS=--import) that prints every module it resolves.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { spawnCli, startedLine } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'chokepoint-modules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('start loads neither zod, yaml, smol-toml nor node-forge in the proxy process', async () => {
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { writeSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  writeSync(2, 'RESOLVED ' + r.url + '\\n');
  return r;
}
`,
  );
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  const state = join(dir, 'state');
  mkdirSync(state, { mode: 0o700 });
  const config = join(dir, 'chokepoint.yaml');
  writeFileSync(
    config,
    `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
stateDir: ${JSON.stringify(state)}
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: [example.com]
`,
  );
  const cli = spawnCli(['start', '--config', config], { env: { NODE_OPTIONS: `--import=${pathToFileURL(join(dir, 'register.mjs')).href}` } });
  try {
    await startedLine(cli);
  } finally {
    await cli.stop('SIGTERM');
  }
  const resolved = cli
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('RESOLVED '))
    .map((l) => l.slice('RESOLVED '.length));
  // The hook saw the proxy's own modules load, so an empty list below means something.
  expect(resolved.some((u) => u.endsWith('/dist/proxy/app.js'))).toBe(true);
  expect(resolved.filter((u) => /\/node_modules\/(zod|yaml|smol-toml|node-forge)\//.test(u))).toEqual([]);
});
