// A Chokepoint for a benchmark: the built CLI (`chokepoint start`) on a config written to a
// temporary directory (its stateDir inside it), started and stopped with a bounded wait.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface RunningCli {
  child: ChildProcess;
  /** The port of the `chokepoint started` line's `field` address. */
  port: number;
  dir: string;
}

/**
 * Start `cli` with the config `config(dir)` returns (write `stateDir: ${dir}/state`), and
 * resolve with the port of the address the started line gives as `field` (`listen`, `dns`).
 * The access log is drained unread from then on, written as in production.
 */
export async function startCli(cli: string, config: (dir: string) => string, field: string, nodeArgs: readonly string[] = []): Promise<RunningCli> {
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-bench-'));
  const configPath = join(dir, 'chokepoint.yaml');
  writeFileSync(configPath, config(dir));
  const child = spawn(process.execPath, [...nodeArgs, cli, 'start', '--config', configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const address = new RegExp(`"${field}":"[^"]*:(\\d+)"`);
  const port = await new Promise<number>((done, fail) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => fail(new Error('chokepoint did not start')), 15_000);
    rl.on('line', (line) => {
      if (!line.includes('chokepoint started')) return;
      clearTimeout(timer);
      rl.close();
      const m = address.exec(line);
      if (m) done(Number(m[1]));
      else fail(new Error(`no ${field} address in: ${line}`));
    });
  });
  child.stdout?.resume();
  return { child, port, dir };
}

/** Stop it (SIGTERM, wait for the exit) and remove its directory. */
export async function stopCli(r: RunningCli): Promise<void> {
  if (r.child.exitCode === null) {
    const exited = new Promise((done) => r.child.once('close', done));
    r.child.kill('SIGTERM');
    await exited;
  }
  rmSync(r.dir, { recursive: true, force: true });
}
