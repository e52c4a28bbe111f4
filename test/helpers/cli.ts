// The built CLI (dist/bin/chokepoint.js) as a child process, the way an operator runs it.
// Everything it prints on stderr is collected, and any runtime warning Node prints there
// ("(node:1234) [DEP0123] DeprecationWarning: ...", "(node:1234) Warning: ...") fails the test.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'chokepoint.js');

const WARNING = /^\(node:\d+\) (?:\[[A-Z0-9]+\] )?\w*Warning: .*$/m;

/** The first runtime warning line in `stderr`, or undefined. */
export function runtimeWarning(stderr: string): string | undefined {
  return WARNING.exec(stderr)?.[0];
}

/** Throw when `stderr` holds a runtime warning; the message quotes it. */
export function assertNoRuntimeWarning(stderr: string): void {
  const warning = runtimeWarning(stderr);
  if (warning !== undefined) throw new Error(`the proxy printed a runtime warning on stderr: ${warning}`);
}

export interface CliChild {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Resolves with the exit code once the process has exited and its pipes closed. */
  exited: Promise<number>;
  /** Stop (SIGKILL unless told), wait for it, then fail on any runtime warning it printed. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Spawn the built CLI with `args`; stdout and stderr are collected. */
export function spawnCli(args: string[], options: { env?: Record<string, string>; cwd?: string; stdio?: SpawnOptions['stdio'] } = {}): CliChild {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      assertNoRuntimeWarning(err);
      return code;
    },
  };
}

/** Run the built CLI to completion; fails on any runtime warning on its stderr. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = spawnCli(args, { env });
  const code = await c.exited;
  assertNoRuntimeWarning(c.stderr());
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

/**
 * The `chokepoint started` line of a spawned `chokepoint start` (its stdout read as JSON
 * lines); rejects with its stderr if it exits first.
 */
export function startedLine(cli: CliChild): Promise<Record<string, unknown>> {
  const stdout = cli.child.stdout;
  if (!stdout) return Promise.reject(new Error('no stdout pipe'));
  const lines = createInterface({ input: stdout });
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    lines.on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg === 'chokepoint started') resolve(parsed);
    });
    void cli.exited.then((code) => reject(new Error(`chokepoint start exited ${code}: ${cli.stderr()}`)));
  });
}
