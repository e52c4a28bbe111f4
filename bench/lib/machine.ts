// A description of the machine and runtime a benchmark ran on.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** Installed versions of the named packages, read from `<root>/node_modules/<name>/package.json`. */
export function packageVersions(names: readonly string[], root = process.cwd()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    try {
      const path = join(root, 'node_modules', name, 'package.json');
      out[name] = (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
    } catch {
      out[name] = 'unknown';
    }
  }
  return out;
}

export function describeMachine(m: Machine, versions: Record<string, string>): string {
  const pkgs = Object.entries(versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.platform}; Node ${m.node}; ${pkgs}`;
}
