// `npx tsx bench/engine-parts.ts [--rounds N] [--mib N]`
//
// Where a whole scan of the CI-log text (bench/lib/cilog.ts) goes, by taking parts away:
// the shipped pack against the same pack without one costly rule (or family) at a time, and
// the keyword pass alone (Prefilter.countHits: the alternation and the indexOf literals, no
// rule run), in one process on the same bytes, rounds interleaved. MB per CPU-second of this
// process (user + system), so it holds on a loaded machine; the figure to read is each row's
// share of the whole scan's time. Issue #19's "what limits the engine" (docs/benchmarks.md).
import { Engine } from '../detectors/engine.js';
import { defaultRules } from '../detectors/rules/index.js';
import type { RuleSpec } from '../detectors/types.js';
import { generateCiLog } from './lib/cilog.js';
import { formatStats, stats } from './lib/stats.js';
import { formatTable } from './lib/table.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const ROUNDS = opt('--rounds', 5);
const MIB = opt('--mib', 16);

const key = Buffer.alloc(32, 0x42);
const text = generateCiLog({ bytes: MIB * 2 ** 20 }).text;

const without = (label: string, drop: (r: RuleSpec) => boolean): { name: string; engine: Engine } => ({
  name: `without ${label}`,
  engine: new Engine({ rules: defaultRules.filter((r) => !drop(r)), fingerprintKey: key }),
});
const full = new Engine({ rules: defaultRules, fingerprintKey: key });
const variants: Array<{ name: string; engine: Engine; run?: (e: Engine) => void }> = [
  { name: 'the shipped pack', engine: full },
  { name: 'keyword pass alone', engine: full, run: (e) => e.keywordHits(text) },
  without('url-credentials (keyword `://`)', (r) => r.id === 'url-credentials'),
  without('maven-repository-password (keyword `maven`)', (r) => r.id === 'maven-repository-password'),
  without('the generic rules (`generic: true`)', (r) => r.generic === true),
];

function cpuMs(fn: () => void): number {
  const c = process.cpuUsage();
  fn();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
}

const ms = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (const v of variants) (v.run ?? ((e: Engine) => e.scan(text)))(v.engine); // warm-up: rules compiled, DFA caches filled
for (let r = 0; r < ROUNDS; r++) {
  for (const v of variants) (ms.get(v.name) as number[]).push(cpuMs(() => (v.run ?? ((e: Engine) => e.scan(text)))(v.engine)));
}
const whole = stats(ms.get('the shipped pack') as number[]).median;
const rows = variants.map((v) => {
  const t = stats(ms.get(v.name) as number[]);
  const mbps = stats((ms.get(v.name) as number[]).map((x) => text.length / 1e6 / (x / 1000)));
  return [v.name, formatStats(mbps), t.median.toFixed(1), `${((100 * t.median) / whole).toFixed(0)} %`];
});
console.log(`\nCI-log text, ${MIB} MiB, ${defaultRules.length} rules, ${ROUNDS} interleaved rounds: MB per CPU-second, median (min–max)\n`);
console.log(formatTable({ header: ['scan', 'MB/s', 'ms (median)', 'of the whole scan'], rows }));
