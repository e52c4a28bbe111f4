// What reading a request's host name for secrets costs the proxy listener per request
// (proxy/wire/server.ts showHost: decide/target.ts asWritten, then the DNS name reader's
// secretsIn, remembered per name). A fleet repeats its hosts: the cost that matters is a
// host seen before, which must stay well under 1 µs. Shown beside: a name never seen
// (a full read: the engine on the name, its joined labels and decodings).
// Run: npx tsx bench/host-names.ts [seconds per case, default 2]
import { DnsNameReader } from '../detectors/dns-names.js';
import { Engine } from '../detectors/engine.js';
import { defaultRules } from '../detectors/rules/index.js';
import { asWritten, parseAuthority } from '../proxy/decide/target.js';

const seconds = Number(process.argv[2] ?? 2);
const key = Buffer.alloc(32, 3);
const engine = new Engine({ rules: defaultRules, fingerprintKey: key });

const everyday = [
  'api.github.com', 'objects.githubusercontent.com', 'registry.npmjs.org', 'files.pythonhosted.org',
  'd1abc2defgh3ij.cloudfront.net', 'abcdefgh.execute-api.us-east-1.amazonaws.com', 'my-bucket-name.s3.us-east-1.amazonaws.com',
  'productionresultssa0.blob.core.windows.net', 'production.cloudflare.docker.com', 'storage.googleapis.com',
  'Pipelines.Actions.GitHubUserContent.com', 'ghcr.io', 'proxy.golang.org', 'index.crates.io',
];
const targets = everyday.map((written) => ({ written, target: parseAuthority(`${written}:443`)! }));
const fresh = Array.from({ length: 200_000 }, (_, i) => `build-${i}.cache.example${i % 97}.com`);

function nsPerOp(n: number, op: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(n, 5000); i++) op(i); // warm up (JIT, RE2 states)
  let count = 0;
  let sink = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < until) {
    for (let k = 0; k < 1000; k++, count++) if (op(count % n)) sink++;
    now = process.hrtime.bigint();
  }
  if (sink < 0) console.log(sink);
  return Number(now - start) / count;
}

const names = new DnsNameReader({ engine, fingerprintKey: key });
const repeated = nsPerOp(targets.length, (i) => {
  const { written, target } = targets[i] as (typeof targets)[number];
  return names.secretsIn(asWritten(written, target.host)).length;
});
const unseen = new DnsNameReader({ engine, fingerprintKey: key, cacheNames: 1 });
const once = nsPerOp(fresh.length, (i) => unseen.secretsIn(fresh[i] as string).length);

console.log(`host name read for secrets, one core, ${seconds}s per case (node ${process.version})`);
console.log(`repeated hosts (${targets.length}, remembered): ${repeated.toFixed(0)} ns per request`);
console.log(`a host never seen (full read):      ${(once / 1000).toFixed(1)} µs per request`);
