// `chokepoint start` reads its config in a child process (config/isolated.ts, issue #19:
// zod and yaml stay out of the proxy's memory). What it gets back must be what an in-process
// load gives, and a broken config must read exactly as it does in-process. The built tree
// (dist/) is what starts the child; tests run it as the CLI does.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError, defaultConfig, loadConfigFile } from '../config/full.js';
import type * as Isolated from '../config/isolated.js';
import { Exit } from '../bin/usage.js';
import { runCli, spawnCli, startedLine, type CliChild } from './helpers/cli.js';

const root = resolve(import.meta.dirname, '..');
const built = (await import(pathToFileURL(join(root, 'dist/config/isolated.js')).href)) as typeof Isolated;
const dir = mkdtempSync(join(tmpdir(), 'chokepoint-isolated-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Test values only, for the variables the reference config names without a default. */
const exampleEnv = {
  BUILDERS_TOKEN: 'test-only-builders-token',
  CHOKEPOINT_INGEST_TOKEN: 'test-only-ingest-token',
  CHOKEPOINT_CANARY: 'test-only-canary-value',
};

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The in-process error for `path`, to compare the child's against. */
function inProcessError(path: string, env: Record<string, string>): ConfigError {
  try {
    loadConfigFile(path, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`${path} loaded without a problem`);
}

const broken = `listen: 127.0.0.1:99999
admn: { listen: 127.0.0.1:9464 }
pools:
  - name: ci
    sources: [10.0.0.0/8]
    mode: enforse
    token: \${UNSET_FOR_THIS_TEST}
    allow: []
`;

describe('config read in a child process', () => {
  test('runs in a child when built', () => {
    expect(built.canIsolate()).toBe(true);
  });

  test('the reference config comes back as an in-process load gives it', async () => {
    const path = join(root, 'docs/examples/chokepoint.yaml');
    expect(await built.loadConfigIsolated(path, exampleEnv)).toEqual(loadConfigFile(path, exampleEnv));
  });

  test('no file: the built-in default', async () => {
    expect(await built.loadConfigIsolated(undefined)).toEqual(defaultConfig());
  });

  test('a missing environment variable is reported as in-process, path and line', async () => {
    const path = file('env.yaml', broken.replace('listen: 127.0.0.1:99999', 'listen: 127.0.0.1:3128').replace('admn', 'admin').replace('enforse', 'enforce'));
    const expected = inProcessError(path, {});
    const err = (await built.loadConfigIsolated(path, {}).catch((e: unknown) => e)) as ConfigError;
    expect(err.name).toBe('ConfigError');
    expect(err.message).toBe(expected.message);
    expect(err.message).toContain(`${path}:7: pools[0].token: environment variable UNSET_FOR_THIS_TEST is not set`);
  });

  test('every schema problem comes back with its key path and line, word for word', async () => {
    const path = file('broken.yaml', broken.replace('${UNSET_FOR_THIS_TEST}', 'a-test-only-token-value'));
    const expected = inProcessError(path, {});
    expect(expected.problems.length).toBeGreaterThanOrEqual(3);
    const err = (await built.loadConfigIsolated(path, {}).catch((e: unknown) => e)) as ConfigError;
    expect(err.name).toBe('ConfigError');
    expect(err.problems).toEqual(expected.problems);
    expect(err.message).toBe(expected.message);
  });

  test('an unreadable file reads as in-process', async () => {
    const path = join(dir, 'does-not-exist.yaml');
    const err = (await built.loadConfigIsolated(path, {}).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(inProcessError(path, {}).message);
  });

  test('chokepoint start with a broken config prints the in-process problems and exits 2', async () => {
    const path = file('start-broken.yaml', broken.replace('${UNSET_FOR_THIS_TEST}', 'a-test-only-token-value'));
    const { code, stderr } = await runCli(['start', '--config', path]);
    expect(code).toBe(Exit.error);
    expect(stderr).toBe(`chokepoint: ${inProcessError(path, process.env as Record<string, string>).message}\n`);
  });

  test('a reload of the running CLI is judged by the child too: a broken file is refused with its problems, a fixed one taken', async () => {
    const good = `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
stateDir: ${JSON.stringify(join(dir, 'reload-state'))}
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: audit
    allow: []
`;
    const path = file('reload.yaml', good);
    const cli = spawnCli(['start', '--config', path]);
    try {
      await startedLine(cli);
      writeFileSync(path, good.replace('mode: audit', 'mode: enforse'));
      const expected = inProcessError(path, process.env as Record<string, string>).message;
      cli.child.kill('SIGHUP');
      const rejected = await logLine(cli, 'config reload rejected; the running config stays');
      expect(rejected.error).toBe(expected);
      writeFileSync(path, good.replace('mode: audit', 'mode: enforce'));
      cli.child.kill('SIGHUP');
      expect((await logLine(cli, 'config reloaded')).source).toBe(path);
    } finally {
      await cli.stop('SIGTERM');
    }
  });
});

/** The first JSON log line on the CLI's stdout with this msg; bounded: rejects after 20 s or when the CLI exits. */
async function logLine(cli: CliChild, msg: string): Promise<Record<string, unknown>> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    for (const line of cli.stdout().split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.msg === msg) return entry;
    }
    if (cli.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no '${msg}' line; stdout:\n${cli.stdout()}\nstderr:\n${cli.stderr()}`);
}
