// Start a real Chokepoint (proxy, admin, access log) on ephemeral loopback ports, with a
// resolver the test controls and the access log captured line by line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach } from 'vitest';
import { loadConfigFile } from '../../config/full.js';
import { createLogger } from '../../proxy/events/access-log.js';
import { startApp, type App } from '../../proxy/app.js';

// Any runtime warning the proxy prints (Node's `(node:…) [DEP…] DeprecationWarning`,
// MaxListenersExceededWarning, …) fails the test it happened in: a test file that starts a
// proxy through this helper imports it, which registers the check for that file. The
// proxy runs in the test's process, so its warnings are this process's 'warning' events;
// `warningsIn()` does the same for a Chokepoint the test spawned (its stderr).
const seenWarnings: string[] = [];
process.on('warning', (w: Error) => seenWarnings.push(`${w.name}: ${w.message}${'code' in w ? ` (${String(w.code)})` : ''}`));

/** Throw (failing the current test or hook) if a runtime warning was printed since the last check. */
export function failOnWarnings(when: string): void {
  if (seenWarnings.length === 0) return;
  const found = seenWarnings.splice(0);
  throw new Error(`the proxy printed ${found.length} runtime warning(s) ${when}:\n  ${found.join('\n  ')}`);
}

/** The Node runtime warnings in a spawned Chokepoint's stderr (`(node:PID) …Warning: …`). */
export function warningsIn(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^\(node:\d+\)( \[[A-Z0-9]+\])? \w*Warning\b/.test(l));
}

// Warnings are emitted on the next tick: let them arrive before the check.
afterEach(async () => {
  await new Promise((r) => setImmediate(r));
  failOnWarnings('during this test');
});
afterAll(async () => {
  await new Promise((r) => setImmediate(r));
  failOnWarnings('while the file set up or closed its servers');
});

export interface TestProxy {
  app: App;
  port: number;
  adminPort: number;
  url: string;
  dir: string;
  configPath: string;
  /** Every log line written so far, parsed. */
  lines(): Array<Record<string, unknown>>;
  /** The raw text of everything logged so far. */
  rawLog(): string;
  /** Egress lines only. */
  egress(): Array<Record<string, unknown>>;
  /** Wait until `count` egress lines exist (events are emitted when an exchange closes). */
  waitForEgress(count: number, timeoutMs?: number): Promise<Array<Record<string, unknown>>>;
  /** Wait for the first egress line that matches. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Replace the config file (same substitutions) and reload. */
  rewrite(yaml: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Fixed answers for names; anything else fails as NXDOMAIN would. */
export function fakeResolver(table: Record<string, string[]>): (host: string) => Promise<string[]> {
  return async (host) => {
    const answer = table[host];
    if (!answer) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answer;
  };
}

/**
 * `yaml` is a config without `listen`, `admin` and `stateDir` (the helper sets them).
 */
export async function startTestProxy(
  yaml: string,
  options: { resolve?: (host: string) => Promise<string[]>; env?: Record<string, string> } = {},
): Promise<TestProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-test-'));
  const configPath = join(dir, 'chokepoint.yaml');
  const full = (body: string): string => `listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\nstateDir: ${join(dir, 'state')}\n${body}`;
  writeFileSync(configPath, full(yaml));
  const env = { ...process.env, ...options.env };
  const config = loadConfigFile(configPath, env);

  let raw = '';
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
  const logger = createLogger({ destination: sink, level: 'debug' });
  const app = await startApp({ config, configPath, logger, env, ...(options.resolve ? { resolve: options.resolve } : {}) });

  const lines = (): Array<Record<string, unknown>> =>
    raw
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const egress = (): Array<Record<string, unknown>> => lines().filter((l) => l.msg === 'egress');

  return {
    app,
    port: app.proxyAddress.port,
    adminPort: app.adminAddress.port,
    url: `http://127.0.0.1:${app.proxyAddress.port}`,
    dir,
    configPath,
    lines,
    rawLog: () => raw,
    egress,
    async waitForEgress(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (egress().length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} egress lines, have ${egress().length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return egress();
    },
    async waitForLine(match, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = egress().find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error('no matching egress line');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    rewrite(body) {
      writeFileSync(configPath, full(body));
      return app.reload();
    },
    async close() {
      await app.close(500);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
