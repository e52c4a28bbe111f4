// `chokepoint scan DIR | head -1`: a reader that closes the pipe early ends the scan
// quietly with status 0 (as grep does), not with an EPIPE stack trace (issue #18).
// The CLI runs from dist/ (built by `npm run build`, the pretest step) over a temp
// tree holding enough synthetic findings to overflow a pipe many times over.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/bin/chokepoint.js');

const rng = createRng(1818);
/** A GitHub-token-shaped string with a valid checksum, made at run time. */
function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return ['ghp', '_', body, tokenChecksum(body)].join('');
}

const FILES = 200;
const TOKENS_PER_FILE = 20;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chokepoint-epipe-'));
  for (let f = 0; f < FILES; f++) {
    const lines: string[] = [];
    for (let t = 0; t < TOKENS_PER_FILE; t++) lines.push(`export GITHUB_TOKEN_${t}=${ghToken()}`);
    writeFileSync(join(dir, `f${String(f).padStart(4, '0')}.env`), lines.join('\n') + '\n');
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  first: string;
  stderr: string;
}

/** Runs the CLI; its stdout reader takes one line, then destroys its end of the pipe. */
function runClosingAfterFirstLine(args: string[]): Promise<Outcome> {
  return new Promise((done, failed) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let first = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      out += text;
      const nl = out.indexOf('\n');
      if (nl >= 0 && first === '') {
        first = out.slice(0, nl);
        child.stdout.destroy();
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', failed);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, first, stderr });
    });
  });
}

/** Runs the CLI as a shell user does, `| head -1`, reporting the CLI's own status. */
function runThroughHead(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, failed) => {
    const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('sh', ['-c', `{ ${quoted}; echo "status=$?" >&2; } | head -1`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', failed);
    child.on('close', () => {
      clearTimeout(timer);
      done({ stdout, stderr });
    });
  });
}

describe('chokepoint scan with its standard output closed early', () => {
  test('the CLI is built', () => {
    expect(existsSync(CLI), `${CLI} missing: run npm run build`).toBe(true);
  });

  test.each(['text', 'jsonl'])('--format %s: the reader closes after one line; exit 0, nothing on stderr', async (format) => {
    const r = await runClosingAfterFirstLine(['scan', '--format', format, dir]);
    expect(r.first).toContain('github');
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
  }, 70_000);

  test('`chokepoint scan DIR | head -1` in a shell: one line out, status 0, no stack trace', async () => {
    const r = await runThroughHead(['scan', dir]);
    expect(r.stdout.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(r.stderr.trim()).toBe('status=0');
  }, 70_000);
});
