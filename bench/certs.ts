// Leaf certificates for interception: time to issue one for a new host and to fetch a
// cached one (100 each), plus the one-off costs and, for reference, what a pure-JS
// (node-forge) RSA signature would cost per new host.
// Run: npx tsx bench/certs.ts [N]
import { createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { createCa, createLeafIssuer } from '../proxy/wire/ca.js';
import { timeMs } from './lib/stats.js';

const n = Number(process.argv[2] ?? 100);

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return `median ${at(0.5).toFixed(3)} ms, p99 ${at(0.99).toFixed(3)} ms, max ${(sorted[sorted.length - 1] as number).toFixed(3)} ms (n=${sorted.length})`;
}

let ca: ReturnType<typeof createCa> | undefined;
const caMs = timeMs(() => {
  ca = createCa();
});
if (!ca) throw new Error('no CA');
const material = ca;
let issuer: ReturnType<typeof createLeafIssuer> | undefined;
const issuerMs = timeMs(() => {
  issuer = createLeafIssuer(material, { cacheSize: 10_000 });
});
if (!issuer) throw new Error('no issuer');
const leaves = issuer;

// Warm-up: the first issuance pays for lazy initialisation (forge OIDs, JIT).
for (let i = 0; i < 20; i++) leaves.contextFor(`warmup-${i}.bench.test`);

const fresh: number[] = [];
for (let i = 0; i < n; i++) fresh.push(timeMs(() => leaves.contextFor(`host-${i}.bench.test`)));
const cached: number[] = [];
for (let i = 0; i < n; i++) cached.push(timeMs(() => leaves.contextFor(`host-${i}.bench.test`)));
const ips: number[] = [];
for (let i = 0; i < n; i++) ips.push(timeMs(() => leaves.contextFor(`10.0.${i >> 8}.${i & 255}`)));

// Reference: the same RSA-2048 signature in node-forge's pure JavaScript.
const forgeKey = forge.pki.privateKeyFromPem(createPrivateKey(material.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString());
const forgeSign: number[] = [];
for (let i = 0; i < Math.min(n, 30); i++) {
  const md = forge.md.sha256.create();
  md.update(`tbs ${i}`);
  forgeSign.push(timeMs(() => forgeKey.sign(md)));
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
console.log(`createCa (RSA 2048 key + self-signed cert):       ${caMs.toFixed(1)} ms`);
console.log(`createLeafIssuer (the one leaf key pair):          ${issuerMs.toFixed(1)} ms`);
console.log(`contextFor, new host (sign + secure context):      ${summary(fresh)}`);
console.log(`contextFor, new IP literal:                        ${summary(ips)}`);
console.log(`contextFor, cached host:                           ${summary(cached)}`);
console.log(`reference: node-forge pure-JS RSA-2048 signature:  ${summary(forgeSign)}`);
console.log(`issued ${leaves.stats.issued}, hits ${leaves.stats.hits}`);
