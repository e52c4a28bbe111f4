// Names per second the DNS name reader (detectors/dns-names.ts) reads on one core, beside
// the baseline of the plain engine scanning the same names as they are (what the DNS
// listener does without the reader). Three name sets: everyday CI names (cloud, CDN,
// registries), unique names (every one new: no remembered scan), and exfiltration-shaped
// names (base32 labels under one parent). Each is read with a fresh reader, so repeated
// names hit its cache of scanned names only where the set repeats them.
// Run: npx tsx bench/dns-names.ts [seconds per case, default 2]
import { DnsNameReader } from '../detectors/dns-names.js';
import { Engine } from '../detectors/engine.js';
import { defaultRules } from '../detectors/rules/index.js';
import { ALPHA_NUM, createRng } from '../test/corpus/rng.js';

const seconds = Number(process.argv[2] ?? 2);
const key = Buffer.alloc(32, 3);
const rng = createRng(53);
const engine = new Engine({
  rules: defaultRules,
  fingerprintKey: key,
  knownSecrets: [{ name: 'canary-1', value: `cnry-${rng.chars(ALPHA_NUM, 24)}`, kind: 'canary' }],
});

const everyday = [
  'api.github.com', 'objects.githubusercontent.com', 'registry.npmjs.org', 'files.pythonhosted.org',
  'd1abc2defgh3ij.cloudfront.net', 'abcdefgh.execute-api.us-east-1.amazonaws.com', 'my-bucket-name.s3.us-east-1.amazonaws.com',
  'productionresultssa0.blob.core.windows.net', 'production.cloudflare.docker.com', 'storage.googleapis.com',
  'A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6.gr7.us-east-1.eks.amazonaws.com', 'ghcr.io', 'proxy.golang.org', 'index.crates.io',
];
const words = ['build', 'cache', 'api', 'eu', 'west', 'prod', 'runner', 'artifacts', 'mirror', 'svc'];
const unique = Array.from({ length: 50_000 }, (_, i) => `${rng.pick(words)}-${i}.${rng.pick(words)}.example${i % 97}.com`);
const b32 = 'abcdefghijklmnopqrstuvwxyz234567';
const exfil = Array.from({ length: 50_000 }, () => `${rng.chars(b32, 60)}.${rng.chars(b32, 60)}.${rng.chars(b32, 40)}.t.attacker.example`);

function rate(names: readonly string[], read: (name: string, i: number) => unknown): number {
  for (let i = 0; i < Math.min(names.length, 2000); i++) read(names[i] as string, i); // warm up (JIT, RE2 states)
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < until) {
    for (let k = 0; k < 500; k++, n++) read(names[n % names.length] as string, n);
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(12);
console.log(`DNS name reader, one core, ${seconds}s per case (node ${process.version})`);
console.log(`${'names'.padEnd(34)}${'engine.scan/s'.padStart(14)}${'reader/s'.padStart(14)}   reader/engine`);
for (const [label, names] of [
  ['everyday CI names (repeat)', everyday],
  ['unique names (no repeat)', unique],
  ['exfil, 160 base32 chars (unique)', exfil],
] as const) {
  const base = rate(names, (name) => engine.scan(Buffer.from(name, 'latin1')));
  const reader = new DnsNameReader({ engine, fingerprintKey: key });
  const read = rate(names, (name, i) => reader.read({ pool: 'ci', qname: name, qtype: 'A', listed: false, nowMs: i }));
  console.log(`${label.padEnd(34)}${fmt(base)}  ${fmt(read)}   ${(read / base).toFixed(2)}x`);
}
