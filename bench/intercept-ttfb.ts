// Time to first byte through TLS interception: a host seen for the first time (a leaf
// certificate is made) against a host whose certificate is cached, both against going
// direct. Each request is a fresh curl process with a new connection (the CI pattern).
//
//   npx tsx bench/intercept-ttfb.ts [--hosts N]
//
// Prints a table and rewrites the "Interception: time to first byte" section of
// docs/benchmarks.md.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/full.js';
import { startApp } from '../proxy/app.js';
import { createLogger } from '../proxy/events/access-log.js';
import { createTestCa } from '../test/helpers/certs.js';
import { startHttpsOrigin } from '../test/helpers/origin.js';
import { describeMachine, machine, packageVersions } from './lib/machine.js';
import { writeSection } from './lib/markdown.js';
import { stats, type Stats } from './lib/stats.js';
import { formatTable, markdownTable } from './lib/table.js';

const args = process.argv.slice(2);
const hostsArg = args.indexOf('--hosts');
const HOSTS = hostsArg >= 0 ? Number(args[hostsArg + 1]) : 30;

function curlTtfb(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_starttransfer}', ...args], (err, stdout) => {
      if (err) return reject(err);
      const [code, t] = stdout.trim().split(' ');
      if (code !== '200') return reject(new Error(`status ${code}`));
      resolve(Number(t) * 1000);
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-ttfb-'));
  const upstream = createTestCa('Bench Upstream CA');
  const names = Array.from({ length: HOSTS }, (_, i) => `host${i}.bench.test`);
  const origin = await startHttpsOrigin(upstream.issue(['*.bench.test']));
  const upstreamCaFile = join(dir, 'upstream-ca.pem');
  writeFileSync(upstreamCaFile, upstream.certPem);

  const config = parseConfig(
    `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
stateDir: ${join(dir, 'state')}
tls: { upstreamCAs: [${upstreamCaFile}] }
pools:
  - name: bench
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["*.bench.test:${origin.port}", "127.0.0.1/32:${origin.port}"]
    tls: { intercept: all }
`,
    'bench',
    {},
  );
  const logger = createLogger({ level: 'warn', destination: (await import('node:fs')).createWriteStream('/dev/null') });
  const app = await startApp({ config, logger, resolve: async () => ['127.0.0.1'] });
  const proxyCaFile = join(dir, 'state', 'ca.pem');
  const proxy = `http://127.0.0.1:${app.proxyAddress.port}`;

  const direct: number[] = [];
  const fresh: number[] = [];
  const cached: number[] = [];
  // Interleaved: direct, new host, cached host, so drift hits all three alike.
  for (const name of names) {
    const url = `https://${name}:${origin.port}/`;
    direct.push(await curlTtfb(['--cacert', upstreamCaFile, '--resolve', `${name}:${origin.port}:127.0.0.1`, url]));
    fresh.push(await curlTtfb(['-x', proxy, '--cacert', proxyCaFile, url]));
    cached.push(await curlTtfb(['-x', proxy, '--cacert', proxyCaFile, url]));
  }
  await app.close(100);
  await origin.close();

  const d = stats(direct);
  const row = (label: string, s: Stats): string[] => [
    label,
    s.median.toFixed(2),
    percentile(label === 'direct' ? direct : label.includes('first') ? fresh : cached, 0.99).toFixed(2),
    `${s.min.toFixed(2)}–${s.max.toFixed(2)}`,
    label === 'direct' ? '' : `+${(s.median - d.median).toFixed(2)}`,
  ];
  const table = {
    header: ['path', 'TTFB p50 ms', 'p99 ms', 'min–max ms', 'added p50 ms'],
    rows: [row('direct', d), row('intercepted, host seen the first time', stats(fresh)), row('intercepted, cached certificate', stats(cached))],
  };
  console.log(formatTable(table));
  const issued = app.issuer?.stats.issued ?? 0;
  console.log(`certificates issued: ${issued} for ${HOSTS} hosts`);
  const m = machine();
  const body = [
    `Command: \`npx tsx bench/intercept-ttfb.ts --hosts ${HOSTS}\` — ${HOSTS} distinct host names, each fetched once direct, once through`,
    'interception the first time (a leaf certificate is made) and once more (cached), interleaved; every',
    'request is a new curl process and a new TCP+TLS connection. Origin: a Node HTTPS server on loopback.',
    '',
    markdownTable(table),
    '',
    `Certificates issued: ${issued} for ${HOSTS} hosts. ${describeMachine(m, packageVersions(['node-forge']))}`,
  ].join('\n');
  writeSection('docs/benchmarks.md', 'Interception: time to first byte', body, '# Benchmarks\n');
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
