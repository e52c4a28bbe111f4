// `chokepoint mask` as a runner uses it: a child process (the CLI from source, tsx) with a
// pipe on each side. Each line comes out masked before the next is written; a private key
// block is masked whole; --report posts the redacted findings to the ingest endpoint.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Engine } from '../detectors/index.js';
import { defaultRules } from '../detectors/rules/index.js';
import { LineMasker } from '../bin/commands/mask.js';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';

const ROOT = join(import.meta.dirname, '..');
const ENTRY = join(ROOT, 'bin', 'chokepoint.ts');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

const make = generators['github-pat-classic'];
if (!make) throw new Error('no generator for github-pat-classic');
const rng = createRng(818);
const tokenA = make(rng);
const tokenB = make(rng);
const INGEST_TOKEN = 'ingest-token-mask-0123456789';

let proxy: TestProxy;

beforeAll(async () => {
  proxy = await startTestProxy(`
ingest:
  listen: 127.0.0.1:0
  token: ${INGEST_TOKEN}
pools:
  - name: runners
    token: runners-token-0123456789
    mode: enforce
    allow: []
`);
});

afterAll(async () => {
  await proxy?.close();
});

function mask(args: string[] = []): ChildProcessWithoutNullStreams {
  const cwd = mkdtempSync(join(tmpdir(), 'chokepoint-mask-'));
  return spawn(process.execPath, ['--import', TSX, ENTRY, 'mask', ...args], { cwd, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
}

/** Read stdout until it holds `n` more lines than it did. */
function reader(child: ChildProcessWithoutNullStreams): { next(): Promise<string>; rest(): Promise<string> } {
  let buf = '';
  const waiting: Array<() => void> = [];
  child.stdout.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    for (const w of waiting.splice(0)) w();
  });
  const ended = new Promise<void>((resolve) => child.stdout.once('end', () => resolve()));
  return {
    async next() {
      while (!buf.includes('\n')) await new Promise<void>((resolve) => waiting.push(resolve));
      const i = buf.indexOf('\n');
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      return line;
    },
    async rest() {
      await ended;
      const out = buf;
      buf = '';
      return out;
    },
  };
}

test('masks on the fly: each line is read back masked before the next is written', async () => {
  const child = mask();
  const out = reader(child);
  child.stdin.write(`export GH=${tokenA}\n`);
  expect(await out.next()).toBe('export GH=***');
  child.stdin.write('an ordinary line\n');
  expect(await out.next()).toBe('an ordinary line');
  child.stdin.write(`two: ${tokenA} and ${tokenB} end\r\n`);
  expect(await out.next()).toBe('two: *** and *** end\r');
  child.stdin.end('last line without newline');
  expect(await out.rest()).toBe('last line without newline');
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  expect(code).toBe(0);
});

test('a private key block is held until its END line and masked whole', async () => {
  const pem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const child = mask();
  const out = reader(child);
  child.stdin.write('before\n');
  expect(await out.next()).toBe('before');
  child.stdin.write(pem);
  const pemLines = pem.trimEnd().split('\n');
  for (let i = 0; i < pemLines.length; i++) expect(await out.next()).toBe('***');
  child.stdin.end('after\n');
  expect(await out.rest()).toBe('after\n');
});

test('--report posts the redacted findings to the ingest endpoint', async () => {
  const addr = proxy.app.ingestAddress;
  if (!addr) throw new Error('no ingest listener');
  const child = mask(['--report', `http://127.0.0.1:${addr.port}`, '--token', INGEST_TOKEN, '--job', 'masked-9']);
  const out = reader(child);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(`one\ntwo ${tokenB}\n`);
  expect(await out.rest()).toBe('one\ntwo ***\n');
  await new Promise((resolve) => child.once('close', resolve));
  expect(stderr).toBe('');
  const lines = proxy.lines().filter((l) => l.msg === 'finding' && l.job === 'masked-9');
  expect(lines).toEqual([expect.objectContaining({ rule: 'github-pat-classic', line: 2, source: 'log', verdict: 'leak', pool: 'ingest' })]);
  expect(proxy.rawLog()).not.toContain(tokenB);
});

test('LineMasker: overlapping findings mask once, lines count across a held block', () => {
  const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 1) });
  const m = new LineMasker(engine);
  expect(Buffer.concat(m.line(Buffer.from(`a ${tokenA}\n`))).toString()).toBe('a ***\n');
  expect(Buffer.concat(m.line(Buffer.from('-----BEGIN RSA PRIVATE KEY-----\n'))).toString()).toBe('');
  expect(Buffer.concat(m.line(Buffer.from('not really a key\n'))).toString()).toBe('');
  // A block that is not a key (no finding) comes out as it went in.
  expect(Buffer.concat(m.end()).toString()).toBe('-----BEGIN RSA PRIVATE KEY-----\nnot really a key\n');
  expect(m.findings.map((f) => f.line)).toEqual([1]);
});
