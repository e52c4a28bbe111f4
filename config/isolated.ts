// Loading the config in a short-lived child process (issue #19, idle memory).
//
// yaml and zod are about a fifth of an idle proxy's resident memory once loaded, and
// `chokepoint start` needs them only to read the config, at start and on each reload. So
// the proxy's process does not load them: a child `node config/load-main.js` reads and
// validates the file (config/load.ts, the same code `check-config` runs), writes the
// validated config back on stdout (v8.serialize: plain data, Buffers and all) and exits,
// and its memory goes with it. A worker thread was tried first: it left about 4 MiB
// resident after it exited (its malloc arena and thread stacks stay with the process);
// a child leaves nothing (docs/benchmarks.md, "Idle memory: where it goes").
//
// Problems come back as they were found (source, key path, line, message) and are thrown
// as the same ConfigError, so what an operator reads is word for word what an in-process
// load prints. Run from the TypeScript sources (tests under vitest, tsx) there is no built
// child to start: the config is then loaded in this process, with the same result.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deserialize } from 'node:v8';
import { ConfigError, type ConfigProblem, type Env } from './errors.js';
import type { Config } from './schema.js';

/** What config/load-main.ts writes on stdout (v8.serialize). */
export type LoadReply =
  | { ok: true; config: Config }
  | { ok: false; configError: { source: string; problems: ConfigProblem[] } }
  | { ok: false; error: string };

/** Longer than any config takes (a cold node and the schema: about 0.2 s here). */
const CHILD_TIMEOUT_MS = 30_000;
/** A config is kilobytes; inline PEMs and long allowlists stay far below this. */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

const childScript = fileURLToPath(new URL('./load-main.js', import.meta.url));

/** Whether this module runs built (dist/, the child script next to it) rather than from its sources. */
export function canIsolate(): boolean {
  return import.meta.url.endsWith('.js') && existsSync(childScript);
}

/**
 * Read and validate the config file at `path` (the built-in default when undefined) in a
 * child process. Throws ConfigError listing every problem, as loadConfigFile does.
 */
export async function loadConfigIsolated(path: string | undefined, env: Env = process.env): Promise<Config> {
  if (!canIsolate()) {
    const load = await import('./load.js');
    return path === undefined ? load.defaultConfig() : load.loadConfigFile(path, env);
  }
  const reply = await runChild(path, env);
  if (reply.ok) return reply.config;
  if ('configError' in reply) throw new ConfigError(reply.configError.source, reply.configError.problems);
  throw new Error(reply.error);
}

function runChild(path: string | undefined, env: Env): Promise<LoadReply> {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  // Not this process's execArgv: --inspect or --cpu-prof are meant for the proxy, not its loader.
  const args = [childScript, ...(path === undefined ? [] : ['--', path])];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { env: childEnv, encoding: 'buffer', maxBuffer: MAX_REPLY_BYTES, timeout: CHILD_TIMEOUT_MS, windowsHide: true },
      (err, stdout, stderr) => {
        if (err) {
          const why = stderr.toString('utf8').trim().split('\n')[0] ?? '';
          const how = err.killed ? `did not answer in ${CHILD_TIMEOUT_MS / 1000} s` : `failed (${err.code ?? err.signal ?? 'error'})`;
          reject(new Error(`reading the config${path === undefined ? '' : ` ${path}`}: the config loader ${how}${why === '' ? '' : `: ${why}`}`));
          return;
        }
        try {
          resolve(deserialize(stdout) as LoadReply);
        } catch {
          reject(new Error(`reading the config${path === undefined ? '' : ` ${path}`}: the config loader answered something unreadable`));
        }
      },
    );
  });
}
