// `chokepoint scan` shows its progress on stderr when stderr is a terminal (files, MB and
// findings so far, redrawn about 4 times a second, the line cleared at the end) and prints
// nothing of it otherwise (issue #18). The display is tested with a stream and a clock of
// our own; the CLI (dist/, built by `npm run build`, the pretest step) once with pipes and
// once under a pseudo-terminal made by util-linux's `script`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLEAR_LINE, createProgress, scanProgressText, type ProgressStream } from '../bin/progress.js';
import { tokenChecksum } from '../detectors/checksum.js';
import { ALPHA_NUM, createRng } from './corpus/rng.js';
import { assertNoRuntimeWarning, CLI, runCli } from './helpers/cli.js';
import { requireTool } from './helpers/tools.js';

/** A stream that records what is written; a terminal or not, as told. */
function recorder(isTTY: boolean, columns = 80): ProgressStream & { written: string[] } {
  const written: string[] = [];
  return {
    isTTY,
    columns,
    written,
    write(text: string) {
      written.push(text);
      return true;
    },
  };
}

describe('the progress display', () => {
  test('on a terminal: drawn at once, then at most every 250 ms, in place, and cleared once', () => {
    let now = 1000;
    const stream = recorder(true);
    const p = createProgress({ stream, now: () => now, env: { TERM: 'xterm' } });
    expect(p.active).toBe(true);
    let n = 0;
    const text = (): string => `step ${++n}`;
    p.update(text);
    now += 100;
    p.update(text); // too soon: not drawn, not even formatted
    now += 149;
    p.update(text);
    now += 1;
    p.update(text);
    expect(stream.written).toEqual([`${CLEAR_LINE}step 1`, `${CLEAR_LINE}step 2`]);
    p.clear();
    p.clear();
    expect(stream.written.slice(2)).toEqual([CLEAR_LINE]);
  });

  test('not a terminal (a pipe, a file): nothing is ever written', () => {
    let now = 0;
    const stream = recorder(false);
    const p = createProgress({ stream, now: () => now });
    expect(p.active).toBe(false);
    for (let i = 0; i < 10; i++) {
      p.update(() => 'scanning');
      now += 1000;
    }
    p.clear();
    expect(stream.written).toEqual([]);
    // A terminal that cannot erase a line (TERM=dumb) gets nothing either.
    const dumb = recorder(true);
    createProgress({ stream: dumb, env: { TERM: 'dumb' } }).update(() => 'scanning');
    expect(dumb.written).toEqual([]);
  });

  test('a line wider than the terminal is cut to fit, so it never wraps', () => {
    const stream = recorder(true, 30);
    const p = createProgress({ stream, now: () => 0, env: {} });
    p.update(() => 'x'.repeat(100));
    const shown = (stream.written[0] ?? '').slice(CLEAR_LINE.length);
    expect(shown.length).toBeLessThan(30);
    expect(shown.endsWith('…')).toBe(true);
  });

  test('the scan line says files, MB and findings so far', () => {
    expect(scanProgressText({ files: 1, bytes: 2_500_000, findings: 1 })).toBe('scanning: 1 file, 2.50 MB, 1 finding');
    expect(scanProgressText({ files: 12_345, bytes: 1_234_000_000, findings: 0 })).toBe('scanning: 12,345 files, 1234.0 MB, 0 findings');
  });
});

const rng = createRng(1819);
/** A GitHub-token-shaped string with a valid checksum, made at run time. */
function ghToken(): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return ['ghp', '_', body, tokenChecksum(body)].join('');
}

let dir: string;
const tokens: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chokepoint-scan-progress-'));
  const filler = 'an ordinary line of build output, nothing secret in it at all\n'.repeat(2000);
  for (let f = 0; f < 40; f++) {
    const token = ghToken();
    tokens.push(token);
    writeFileSync(join(dir, `f${String(f).padStart(3, '0')}.env`), `${filler}export GITHUB_TOKEN=${token}\n${filler}`);
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const PROGRESS = /scanning: [\d,]+ files?, [\d.]+ MB, [\d,]+ findings?/;

describe('chokepoint scan', () => {
  test('stderr not a terminal: no progress line, only the summary', async () => {
    const r = await runCli(['scan', dir], { CHOKEPOINT_STATE_DIR: join(dir, '.state') });
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(40);
    expect(r.stderr).toBe('40 findings in 40 files scanned\n');
    expect(r.stderr).not.toMatch(PROGRESS);
    expect(r.stderr).not.toContain('\r');
  });

  test('stderr a terminal (a pty): the progress line, cleared before each finding and at the end', async () => {
    const script = requireTool('script');
    const command = [process.execPath, CLI, 'scan', dir].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const out = await new Promise<{ code: number; text: string }>((resolve, reject) => {
      const child = spawn(script, ['-qec', command, '/dev/null'], {
        env: { ...process.env, CHOKEPOINT_STATE_DIR: join(dir, '.state'), NO_COLOR: '1', COLUMNS: '120', TERM: 'xterm' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (text += c.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, text });
      });
    });
    assertNoRuntimeWarning(out.text);
    expect(out.code).toBe(1); // script -e passes on the command's status
    for (const t of tokens) expect(out.text).not.toContain(t);
    expect(out.text).toMatch(PROGRESS);
    // The terminal shows, line by line, what the user ends up seeing: each \r\x1b[K erases
    // what was drawn on that line before it.
    const screen = out.text
      .split(/\r?\n/)
      .map((line) => line.split(CLEAR_LINE).at(-1) ?? '')
      .filter((line) => line.length > 0);
    expect(screen.filter((l) => l.includes('github-pat'))).toHaveLength(40);
    expect(screen.filter((l) => PROGRESS.test(l))).toEqual([]);
    expect(screen.at(-1)).toBe('40 findings in 40 files scanned');
  });
});
