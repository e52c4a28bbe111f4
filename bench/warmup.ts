// `npx tsx bench/warmup.ts [MiB]`: how fast a new engine scans while it warms up. RE2
// builds its DFA states as input arrives, so a freshly built engine (at start, or after a
// reload that changed the rules) is slow for its first tens of MiB. Prints MB/s for each
// 2 MiB piece of generated CI-log text, in order, for the whole engine and for its keyword
// pass alone (each on an engine of its own, fresh), and the last quarter's median as the
// warm baseline they tend to.
import type RE2 from 're2';
import { Engine } from '../detectors/engine.js';
import { defaultRules } from '../detectors/rules/index.js';
import { generateCiLog } from './lib/cilog.js';
import { stats } from './lib/stats.js';

const PIECE = 2 * 2 ** 20;
const total = Number(process.argv[2] ?? 48) * 2 ** 20;
const text = generateCiLog({ bytes: total, seed: 9 }).text;
const pieces: Buffer[] = [];
for (let o = 0; o + PIECE <= text.length; o += PIECE) pieces.push(text.subarray(o, o + PIECE));

function series(scan: (piece: Buffer) => void): number[] {
  return pieces.map((p) => {
    const start = process.hrtime.bigint();
    scan(p);
    return p.length / 1e6 / (Number(process.hrtime.bigint() - start) / 1e9);
  });
}

const fresh = (): Engine => new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 1) });
const whole = fresh();
const engineSeries = series((p) => whole.scan(p));
const keywords = (fresh() as unknown as { core: { prefilter: { re: RE2 } } }).core.prefilter.re;
const keywordSeries = series((p) => {
  for (let from = 0; ; ) {
    const r = keywords.search(from === 0 ? p : p.subarray(from));
    if (r < 0) break;
    from += r + 1;
  }
});

for (const [name, s] of [['whole engine', engineSeries], ['keyword pass', keywordSeries]] as const) {
  const warm = stats(s.slice(Math.floor((s.length * 3) / 4))).median;
  console.log(`${name.padEnd(13)} MB/s per 2 MiB: ${s.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`${''.padEnd(13)} first piece ${(((s[0] ?? 0) / warm) * 100).toFixed(0)}% of the last quarter's median (${warm.toFixed(0)} MB/s)`);
}
