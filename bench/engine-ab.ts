// `npx tsx bench/engine-ab.ts --baseline DIR [--rounds N] [--mib N]`
//
// The detection engine of this tree against the engine of another (DIR: a git worktree of an
// older commit; its TypeScript sources are loaded, nothing needs building), side by side in
// one process on the same bytes, rounds interleaved (this, baseline, this, ...). The figure is
// MB per second of this process's CPU time (user + system), so it holds on a machine others
// load; the best round is the least disturbed, the median the typical one. Each shape is also checked
// to give the same findings in both trees.
//   - CI-log text (bench/lib/cilog.ts) and node_modules text, scanned whole (`engine.scan`);
//   - the CI-log text as a stream written in 16 KiB and 1 KiB pieces with a flush after each
//     (the shape of WebSocket messages: issue #15).
import { resolve } from 'node:path';
import { Engine } from '../detectors/engine.js';
import { defaultRules } from '../detectors/rules/index.js';
import type { Finding, RuleSpec } from '../detectors/types.js';
import { generateCiLog } from './lib/cilog.js';
import { formatStats, stats } from './lib/stats.js';
import { formatTable } from './lib/table.js';
import { readTextFiles } from './lib/textfiles.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const baseDir = opt('--baseline');
if (baseDir === undefined) {
  process.stderr.write('usage: npx tsx bench/engine-ab.ts --baseline DIR [--rounds N] [--mib N]\n');
  process.exit(2);
}
const ROUNDS = Number(opt('--rounds') ?? 9);
const MIB = Number(opt('--mib') ?? 16);

/** What both trees' engines offer (the baseline's is another module, of the same shape). */
interface AnyEngine {
  scan(input: Buffer): Finding[];
  stream(): { write(b: Buffer): Finding[]; flush(): Finding[]; end(): Finding[] };
}
type EngineClass = new (o: { rules: readonly RuleSpec[]; fingerprintKey: Buffer }) => AnyEngine;

const key = Buffer.alloc(32, 0x42);
const base = resolve(baseDir);
const baseEngine = (await import(resolve(base, 'detectors/engine.ts'))) as { Engine: EngineClass };
const baseRules = (await import(resolve(base, 'detectors/rules/index.ts'))) as { defaultRules: RuleSpec[] };
const engines = {
  this: new Engine({ rules: defaultRules, fingerprintKey: key }) as AnyEngine,
  baseline: new baseEngine.Engine({ rules: baseRules.defaultRules, fingerprintKey: key }),
};

const ci = generateCiLog({ bytes: MIB * 2 ** 20 }).text;
const real = readTextFiles('node_modules', { extensions: ['.js', '.mjs', '.cjs', '.ts', '.json', '.md'], maxBytes: MIB * 2 ** 20 });
const realBytes = real.reduce((n, f) => n + f.content.length, 0);

function streamed(e: AnyEngine, text: Buffer, piece: number): Finding[] {
  const s = e.stream();
  const out: Finding[] = [];
  for (let at = 0; at < text.length; at += piece) out.push(...s.write(text.subarray(at, at + piece)), ...s.flush());
  out.push(...s.end());
  return out;
}

const shapes: Array<{ name: string; bytes: number; run: (e: AnyEngine) => Finding[] }> = [
  { name: `CI-log text, ${MIB} MiB, whole`, bytes: ci.length, run: (e) => e.scan(ci) },
  { name: `node_modules text, ${real.length} files, whole`, bytes: realBytes, run: (e) => real.flatMap((f) => e.scan(f.content)) },
  { name: 'CI-log text, 16 KiB writes + flush', bytes: ci.length, run: (e) => streamed(e, ci, 16 * 1024) },
  { name: 'CI-log text, 1 KiB writes + flush', bytes: ci.length, run: (e) => streamed(e, ci, 1024) },
];

function cpuMs(fn: () => void): number {
  const c = process.cpuUsage();
  fn();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
}

const shape = (fs: Finding[]): string => JSON.stringify(fs.map((f) => [f.ruleId, f.offset, f.length, f.fingerprint]));
const rows: string[][] = [];
for (const s of shapes) {
  const same = shape(s.run(engines.this)) === shape(s.run(engines.baseline)); // also the untimed warm-up
  const mbps = { this: [] as number[], baseline: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const which of ['this', 'baseline'] as const) mbps[which].push(s.bytes / 1e6 / (cpuMs(() => s.run(engines[which])) / 1000));
  }
  const [a, b] = [stats(mbps.this), stats(mbps.baseline)];
  rows.push([s.name, formatStats(a), formatStats(b), (a.median / b.median).toFixed(2), (a.max / b.max).toFixed(2), same ? 'same' : 'DIFFER']);
  process.stderr.write(`${s.name}: done\n`);
}
console.log(`\nDetection engine, this tree against ${base}: MB per CPU-second, ${ROUNDS} interleaved rounds, median (min–max)\n`);
console.log(formatTable({ header: ['input', 'this tree', 'baseline', 'ratio of medians', 'ratio of best rounds', 'findings'], rows }));
