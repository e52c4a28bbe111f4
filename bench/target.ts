// `npx tsx bench/target.ts`: what normalising a destination costs per request
// (proxy/decide/target.ts `normalizeHost`, `parseAddress`), next to the WHATWG host parser it is
// built on (`domainToASCII`) as the baseline, for names and IP forms a fleet sends.
// Median of 5 runs of 200,000 calls each, nanoseconds per call.
import { domainToASCII } from 'node:url';
import { normalizeHost, parseAddress } from '../proxy/decide/target.js';
import { stats } from './lib/stats.js';

const CALLS = 200_000;
const RUNS = 5;

function nsPerCall(fn: () => unknown): number {
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) fn();
    runs.push(Number(process.hrtime.bigint() - start) / CALLS);
  }
  return stats(runs).median;
}

const hosts = ['registry.npmjs.org', 'Objects.GitHubUserContent.com.', 'bücher.example', '127.0.0.1', '0x7f.1', '[::ffff:10.0.0.1]'];
console.log('host'.padEnd(32), 'normalizeHost ns', 'domainToASCII ns', 'ratio');
for (const h of hosts) {
  const ours = nsPerCall(() => normalizeHost(h));
  const base = nsPerCall(() => domainToASCII(h.startsWith('[') ? h.slice(1, -1) : h));
  console.log(h.padEnd(32), ours.toFixed(0).padStart(16), base.toFixed(0).padStart(16), (ours / base).toFixed(2).padStart(6));
}
for (const a of ['140.82.112.6', '2606:50c0:8000::154', '::ffff:140.82.112.6']) {
  console.log(`parseAddress ${a}`.padEnd(32), nsPerCall(() => parseAddress(a)).toFixed(0).padStart(16));
}
