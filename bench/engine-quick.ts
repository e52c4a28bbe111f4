// Quick throughput check of the detection engine (engineer A's scratch bench; the
// formal benchmark is bench/detect.ts). ~64 MiB of CI-log-like text with a few
// planted secrets, scanned with the full rule pack (rules that compile) on one core.
// Run: npx tsx bench/engine-quick.ts [MiB]
import { Engine } from '../detectors/engine.js';
import { defaultRules } from '../detectors/rules/index.js';
import type { RuleSpec } from '../detectors/types.js';
import { createRng } from '../test/corpus/rng.js';
import { generateCiLog } from './lib/cilog.js';

const mib = Number(process.argv[2] ?? 64);
const rng = createRng(1);
const words = ['npm', 'install', 'build', 'test', 'ok', 'Downloading', 'package', 'from', 'registry', 'token',
  'key', 'cache', 'restored', 'webpack', 'compiled', 'successfully', 'in', 'ms', 'secret', 'password',
  'Run', 'actions/checkout@v4', 'with:', 'fetch-depth:', '1', 'PASS', 'src/index.test.ts', 'Step', 'auth'];
const lines: string[] = [];
let size = 0;
while (size < mib * 1024 * 1024) {
  const n = 4 + rng.int(14);
  const parts: string[] = [`2024-06-11T10:${String(rng.int(60)).padStart(2, '0')}:${String(rng.int(60)).padStart(2, '0')}.${rng.int(1000)}Z`];
  for (let i = 0; i < n; i++) parts.push(rng.pick(words));
  const line = parts.join(' ');
  lines.push(line);
  size += line.length + 1;
}
const words64 = Buffer.from(lines.join('\n'));
const cilog = generateCiLog({ bytes: mib * 1024 * 1024 });

const compiles = (r: RuleSpec): boolean => {
  try {
    new Engine({ rules: [r], fingerprintKey: Buffer.alloc(32) });
    return true;
  } catch {
    return false;
  }
};
/** Stand-ins for identifier-style generic rules while detectors/rules/generic.ts is being written. */
const ex = { positive: [], negative: [] };
const genericStandIns: RuleSpec[] = [
  { id: 'bench-generic-api-key', title: 'generic', severity: 'medium', generic: true, entropy: 3.5, secretGroup: 1, examples: ex,
    regex: String.raw`(?i)[\w.-]{0,40}(?:key|token|secret|passw(?:or)?d|auth|credential)[\w.-]{0,20}["']?\s{0,4}(?:=|:|=>)\s{0,4}["']?([A-Za-z0-9+/_.=-]{12,120})`,
    keywords: ['key', 'token', 'secret', 'passw', 'auth', 'credential'] },
  { id: 'bench-url-credentials', title: 'url creds', severity: 'high', generic: true, secretGroup: 1, examples: ex,
    regex: String.raw`[a-z][a-z0-9+.-]{1,20}://[^\s:@/]{1,64}:([^\s:@/]{3,128})@[a-zA-Z0-9.-]+`, keywords: ['://'] },
];
const withGeneric = process.argv.includes('--generic');
const rules = [...defaultRules.filter(compiles), ...(withGeneric ? genericStandIns : [])];
const engine = new Engine({ rules, fingerprintKey: Buffer.alloc(32, 9) });
console.log(`rules: ${rules.length} (pack has ${defaultRules.length})${withGeneric ? ' incl. 2 generic stand-ins' : ''}`);

for (const [name, input] of [['words', words64], ['cilog', cilog.text]] as const) {
console.log(`${name}: ${(input.length / 1048576).toFixed(1)} MiB`);
for (let run = 0; run < 3; run++) {
  const t0 = process.hrtime.bigint();
  const found = engine.scan(input);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`scan: ${(input.length / 1048576 / (ms / 1000)).toFixed(1)} MB/s (${ms.toFixed(0)} ms, ${found.length} findings)`);
}
const t0 = process.hrtime.bigint();
const s = engine.stream();
let n = 0;
for (let i = 0; i < input.length; i += 65536) n += s.write(input.subarray(i, i + 65536)).length;
n += s.end().length;
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(`stream (64 KiB chunks): ${(input.length / 1048576 / (ms / 1000)).toFixed(1)} MB/s (${n} findings)`);
}
