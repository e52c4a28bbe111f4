// `npx tsx bench/ingest.ts [--quick] [--mib N] [--only NAME,...] [--cpu-prof FILE]`
//
// The log ingest and the body scan in-process, without sockets: what the proxy's own code
// costs around the engine's scan (issue #19).
//
//   ingest       the CI log text (bench/lib/cilog.ts, seed 6 as in `npm run bench` test 6)
//                written to a LogStreams job stream in 64 KiB chunks, as POST /v1/logs
//                hands them over (ANSI normalisation, line counting, the stream scanner)
//   ingest-nd    the same text as NDJSON records ({"message": line}), through the ingest's
//                own line splitter, record parser and JobStream.writeRecord
//   engine       one StreamScanner fed the same chunks: the engine's part of both
//   body         test 5's body (1 MiB of JSON, the CI log's lines, seed 5) through
//                scanContent as the proxy scans a held body (JSON decoding, base64 runs)
//   body engine  one engine.scan of the same bytes
//
// --cpu-prof FILE writes a .cpuprofile of the timed repeats only (not of building the text).
// Repeats are interleaved; MB/s per core (CPU time of the process) median (min–max),
// MB = 10^6 bytes, the engine built as the proxy builds it (lazy regexes). The ratio of a
// case to its engine-only case is the figure to compare across runs on a busy machine.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Engine } from '../detectors/engine.js';
import { scanContent } from '../detectors/decode.js';
import { defaultRules } from '../detectors/rules/index.js';
import { LineSplitter, recordMessage } from '../proxy/logs/ingest-parse.js';
import { LogStreams } from '../proxy/logs/streams.js';
import { generateCiLog } from './lib/cilog.js';
import { formatStats, mbPerSecond, stats } from './lib/stats.js';

const MiB = 2 ** 20;
const CHUNK = 64 * 1024;
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const mibArg = args.indexOf('--mib');
const mib = mibArg >= 0 ? Number(args[mibArg + 1]) : quick ? 8 : 32;
const repeats = quick ? 3 : 7;
const only = (() => {
  const i = args.indexOf('--only');
  return i >= 0 ? new Set((args[i + 1] ?? '').split(',')) : undefined;
})();

const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 1), lazyRegexes: true });
const text = generateCiLog({ bytes: mib * MiB, seed: 6 }).text;
const chunks: Buffer[] = [];
for (let o = 0; o < text.length; o += CHUNK) chunks.push(text.subarray(o, o + CHUNK));
const ndText = Buffer.from(
  text
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((message) => JSON.stringify({ message, stream: 'stdout' }))
    .join('\n') + '\n',
);
const ndChunks: Buffer[] = [];
for (let o = 0; o < ndText.length; o += CHUNK) ndChunks.push(ndText.subarray(o, o + CHUNK));
const lines = generateCiLog({ bytes: MiB, seed: 5 }).text.toString('utf8').split('\n');
const json = Buffer.from(JSON.stringify({ job: 'bench', lines }));
const bodyRounds = Math.max(4, mib / 2);

const streams = new LogStreams({ engine, maxStreams: 16, idleFlushMs: 0 });
let serial = 0;

// CPU time of the process (user + system), not wall clock: the figure is per core, and
// a machine shared with other work stretches wall clock far more than CPU time.
function cpuMs(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

function ms(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  return cpuMs(t0);
}

async function msAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = process.cpuUsage();
  await fn();
  return cpuMs(t0);
}

const cases: Array<{ name: string; bytes: number; run: () => number | Promise<number> }> = [
  {
    name: 'ingest (text)',
    bytes: text.length,
    run: () =>
      ms(() => {
        const stream = streams.open(`b:${++serial}`, { pool: 'bench', client: '', host: 'ingest', kind: 'log', job: 'bench', source: 'ingest' });
        if (!stream) throw new Error('no stream');
        for (const c of chunks) stream.write(c);
        stream.end();
      }),
  },
  {
    name: 'ingest (NDJSON)',
    bytes: ndText.length,
    run: () =>
      ms(() => {
        const stream = streams.open(`b:${++serial}`, { pool: 'bench', client: '', host: 'ingest', kind: 'log', job: 'bench', source: 'ingest' });
        if (!stream) throw new Error('no stream');
        const splitter = new LineSplitter(MiB);
        let records = 0;
        const record = (line: Buffer | null): void => {
          records++;
          if (line === null || line.length === 0) return;
          const message = recordMessage(line.toString('utf8'));
          if (message === undefined) return;
          stream.writeRecord(records, message);
        };
        for (const c of ndChunks) {
          for (const line of splitter.write(c)) record(line);
          stream.flushRecords();
        }
        const last = splitter.end();
        if (last !== undefined) record(last);
        stream.flushRecords();
        stream.end();
      }),
  },
  {
    name: 'engine stream (text)',
    bytes: text.length,
    run: () =>
      ms(() => {
        const s = engine.stream();
        for (const c of chunks) s.write(c);
        s.end();
      }),
  },
  {
    name: 'body: scanContent (JSON)',
    bytes: json.length * bodyRounds,
    run: () =>
      msAsync(async () => {
        for (let i = 0; i < bodyRounds; i++) await scanContent(engine, json, { contentType: 'application/json' });
      }),
  },
  {
    name: 'body: engine.scan (JSON)',
    bytes: json.length * bodyRounds,
    run: () =>
      ms(() => {
        for (let i = 0; i < bodyRounds; i++) engine.scan(json);
      }),
  },
];

const selected = cases.filter((c) => !only || [...only].some((o) => c.name.includes(o)));
// Warm-up: V8 and RE2's lazily built DFA states.
for (const c of selected) await c.run();
const profFile = args.indexOf('--cpu-prof') >= 0 ? args[args.indexOf('--cpu-prof') + 1] : undefined;
const session = profFile ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const samples = new Map<string, number[]>(selected.map((c) => [c.name, []]));
for (let r = 0; r < repeats; r++) {
  for (const c of selected) samples.get(c.name)?.push(mbPerSecond(c.bytes, await c.run()));
}
if (session && profFile) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(profFile, JSON.stringify(profile));
  session.disconnect();
}
console.log(`${mib} MiB CI log, ${repeats} interleaved repeats, MB/s per core (CPU time) median (min–max)`);
for (const c of selected) console.log(`${c.name.padEnd(28)} ${formatStats(stats(samples.get(c.name) ?? []))}`);
