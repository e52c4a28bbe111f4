// Real text to scan: files of the project's own node_modules, read into memory first
// so that benchmarks time scanning, not I/O. Deterministic: sorted by path.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface TextFile {
  /** Path relative to the root it was read from. */
  path: string;
  content: Buffer;
}

export interface ReadTextOptions {
  /** File name endings to keep, e.g. ['.js', '.md']. */
  extensions: readonly string[];
  /** Stop once this many bytes are read. */
  maxBytes: number;
  /** Skip single files larger than this (bundles, generated data). Default 4 MiB. */
  maxFileBytes?: number;
  /** Stop after this many files. */
  maxFiles?: number;
}

/** Every file path under `dir`, depth-first, each directory's entries sorted by name. */
function* walk(dir: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

/** NUL bytes in the first 8 KiB: a binary file. */
function looksBinary(b: Buffer): boolean {
  return b.subarray(0, 8192).includes(0);
}

/** Text files under `root` with the given extensions, in path order, up to the byte cap. */
export function readTextFiles(root: string, opts: ReadTextOptions): TextFile[] {
  const out: TextFile[] = [];
  let total = 0;
  const maxFile = opts.maxFileBytes ?? 4 * 2 ** 20;
  for (const path of walk(root)) {
    if (!opts.extensions.some((ext) => path.endsWith(ext))) continue;
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      continue;
    }
    if (size === 0 || size > maxFile) continue;
    if (total + size > opts.maxBytes) break;
    const content = readFileSync(path);
    if (looksBinary(content)) continue;
    out.push({ path: relative(root, path), content });
    total += content.length;
    if (opts.maxFiles !== undefined && out.length >= opts.maxFiles) break;
  }
  return out;
}

export function totalBytes(files: readonly { content: Buffer }[]): number {
  return files.reduce((n, f) => n + f.content.length, 0);
}
