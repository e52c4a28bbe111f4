// `npm run bench:content [-- --quick] [-- --no-write] [-- --detectors DIR]`
//
// What decoding costs before scanning: request bodies as the proxy scans them (the
// streaming content scanner, fed 64 KiB chunks as a socket delivers them, Content-Type
// decoding included: JSON string escapes, form encoding, base64 blobs), next to the
// baseline of one engine pass over the same bytes (what a body with nothing to decode
// costs). Full rule pack, one core, repeats interleaved, median (min–max).
//
// Bodies (1 MiB each, built from the generated CI log, seed 5 as in `npm run bench` test 5):
//   json-log     the CI log as a JSON array of lines (`npm run bench` test 5's body): ANSI
//                colours as \u001b escapes, quotes escaped, so its decoded text differs
//   json-api     an npm-registry-like document: objects of names, versions, URLs, hashes
//   form         the CI log as application/x-www-form-urlencoded fields
//   text         the CI log as text/plain (base64 runs are looked for, nothing else)
//
// --detectors DIR runs the same measurement against another tree's detectors/ (built or
// source, e.g. a git worktree of an older commit), for before/after figures.
// Writes the `## Decoding before scanning` section of docs/benchmarks.md unless --no-write or --quick.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateCiLog } from './lib/cilog.js';
import { describeMachine, machine, packageVersions } from './lib/machine.js';
import { writeSection } from './lib/markdown.js';
import { formatStats, mbPerSecond, stats, timeMs, timeMsAsync } from './lib/stats.js';
import { formatTable, markdownTable, type Table } from './lib/table.js';
import type { Engine } from '../detectors/engine.js';
import type * as Decode from '../detectors/decode.js';
import type { RuleSpec } from '../detectors/types.js';

const MiB = 2 ** 20;
const CHUNK = 64 * 1024;
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const detectorsArg = args.indexOf('--detectors');
const detectorsDir = resolve(detectorsArg >= 0 ? (args[detectorsArg + 1] as string) : resolve(import.meta.dirname, '../detectors'));
const write = !quick && !args.includes('--no-write') && detectorsArg < 0;
const repeats = quick ? 3 : 7;
/** Bodies scanned per timed repeat. */
const rounds = quick ? 4 : 16;

interface Body {
  name: string;
  contentType: string;
  bytes: Buffer;
}

function bodies(): Body[] {
  const text = generateCiLog({ bytes: MiB, seed: 5 }).text;
  const lines = text.toString('utf8').split('\n');
  const api: Record<string, unknown> = {};
  for (let i = 0; JSON.stringify(api).length < MiB; i++) {
    const name = `pkg-${i.toString(36)}`;
    api[name] = {
      name,
      version: `${i % 7}.${i % 13}.${i % 5}`,
      description: lines[i % lines.length]?.slice(0, 60),
      dist: {
        tarball: `https://registry.npmjs.org/${name}/-/${name}-${i % 7}.${i % 13}.${i % 5}.tgz`,
        integrity: `sha512-${createHash('sha512').update(name).digest('base64')}`,
        shasum: createHash('sha1').update(name).digest('hex'),
      },
    };
  }
  const form = new URLSearchParams();
  lines.forEach((l, i) => form.append(`line${i}`, l));
  return [
    { name: 'json-log', contentType: 'application/json', bytes: Buffer.from(JSON.stringify({ job: 'bench', lines })) },
    { name: 'json-api', contentType: 'application/json', bytes: Buffer.from(JSON.stringify(api)) },
    { name: 'form', contentType: 'application/x-www-form-urlencoded', bytes: Buffer.from(form.toString()) },
    { name: 'text', contentType: 'text/plain', bytes: text },
  ];
}

async function main(): Promise<void> {
  const from = (file: string): string => pathToFileURL(resolve(detectorsDir, file)).href;
  const ext = detectorsDir.includes('/dist/') ? '.js' : '.ts';
  const { Engine: EngineClass } = (await import(from(`engine${ext}`))) as { Engine: typeof Engine };
  const { defaultRules } = (await import(from(`rules/index${ext}`))) as { defaultRules: RuleSpec[] };
  const decode = (await import(from(`decode${ext}`))) as typeof Decode;
  const engine = new EngineClass({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 1) });

  const list = bodies();
  const scanBody = async (b: Body): Promise<void> => {
    const scanner = decode.createContentScanner(engine, { contentType: b.contentType });
    for (let o = 0; o < b.bytes.length; o += CHUNK) scanner.write(b.bytes.subarray(o, o + CHUNK));
    await scanner.end();
  };
  // Warm-up: one pass of each (V8 and RE2's lazily built DFA states).
  for (const b of list) {
    engine.scan(b.bytes);
    await scanBody(b);
  }
  const rows: string[][] = [];
  for (const b of list) {
    const base: number[] = [];
    const content: number[] = [];
    for (let r = 0; r < repeats; r++) {
      base.push(mbPerSecond(b.bytes.length * rounds, timeMs(() => {
        for (let i = 0; i < rounds; i++) engine.scan(b.bytes);
      })));
      content.push(mbPerSecond(b.bytes.length * rounds, await timeMsAsync(async () => {
        for (let i = 0; i < rounds; i++) await scanBody(b);
      })));
    }
    const sb = stats(base);
    const sc = stats(content);
    rows.push([b.name, b.contentType, (b.bytes.length / MiB).toFixed(2), formatStats(sb), formatStats(sc), (sc.median / sb.median).toFixed(2)]);
    process.stderr.write(`${b.name}: ${formatStats(sc)} MB/s decoded and scanned, ${formatStats(sb)} MB/s one engine pass\n`);
  }
  const table: Table = {
    header: ['body', 'Content-Type', 'MiB', 'one engine pass MB/s', 'content scanner MB/s', 'ratio'],
    rows,
    align: ['left', 'left', 'right', 'right', 'right', 'right'],
  };
  console.log(`detectors: ${detectorsDir}\n`);
  console.log(formatTable(table));
  if (!write) return;
  const m = machine();
  const command = 'npm run bench:content';
  const body = [
    '',
    'Request bodies as the proxy scans them: the streaming content scanner (`detectors/decode.ts`), fed 64 KiB chunks, ' +
      'with its Content-Type decoding (JSON string escapes, form encoding, base64 blobs, each decoded text scanned again), ' +
      'next to one engine pass over the same bytes. Full rule pack, one core; ' +
      `${repeats} interleaved repeats of ${rounds} bodies each; MB/s median (min–max), MB = 10^6 bytes. ` +
      'The bodies are built from the generated CI log (seed 5); `json-log` is the body of `npm run bench` test 5.',
    '',
    markdownTable(table),
    '',
    `Machine: ${describeMachine(m, packageVersions(['re2']))}.`,
    '',
    `Command: \`${command}\` (generated ${new Date().toISOString().slice(0, 10)}).`,
  ].join('\n');
  writeSection('docs/benchmarks.md', 'Decoding before scanning', body, '# Benchmarks');
  process.stderr.write('wrote the Decoding before scanning section of docs/benchmarks.md\n');
}

await main();
