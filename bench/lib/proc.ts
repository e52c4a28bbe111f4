// Processes for benchmarks: CPU time and RSS of a process tree read from /proc (so the
// figures hold although the load generator shares the machine), and starting and
// stopping servers (peers, origins) with a readiness check and a bounded stop.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

interface StatLine {
  ppid: number;
  /** utime + stime, in ticks. */
  ticks: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

/** `pid` and all its descendants, alive now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p) || p <= 0) continue;
    const st = readStat(p);
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(p);
    else children.set(st.ppid, [p]);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU time (user + system) in milliseconds of a process and its live descendants. */
export function cpuMs(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) ticks += readStat(p)?.ticks ?? 0;
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** Resident set size in bytes of one process (VmRSS), 0 when it is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** RSS in bytes of a process and its live descendants. */
export function treeRss(pid: number): number {
  return processTree(pid).reduce((n, p) => n + rssOf(p), 0);
}

/** A free loopback TCP port (bound and released; good enough for a benchmark). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolve once a TCP connection to 127.0.0.1:port succeeds; reject after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`process exited before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Server {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Stop: SIGTERM, then SIGKILL after `graceMs`. Resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Server>();

/** Start a long-running process and wait until it listens on `port`. */
export async function startServer(
  name: string,
  command: string,
  args: readonly string[],
  port: number,
  options: SpawnOptions & { readyTimeoutMs?: number } = {},
): Promise<Server> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    if (stderr.length < 4000) stderr += b.toString();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  const server: Server = {
    name,
    child,
    pid: child.pid ?? -1,
    async stop(graceMs = 3000) {
      running.delete(server);
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
  running.add(server);
  try {
    await waitForPort(port, options.readyTimeoutMs ?? 30_000, () => !exited);
  } catch (err) {
    await server.stop(500);
    throw new Error(`${name} did not start: ${(err as Error).message}\n${stderr.trim()}`, { cause: err });
  }
  return server;
}

/** Stop every server started here and not stopped yet (also on error paths). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/** Run a command to its end; resolves with stdout, rejects on a non-zero exit or after `timeoutMs`. */
export function run(command: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 4000) err += b.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')}: exit ${code ?? signal}\n${err.trim()}`));
    });
  });
}
