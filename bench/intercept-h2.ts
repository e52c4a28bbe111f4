// Interception keep-alive, HTTP/1.1 against HTTP/2: the same 1 KiB GET through an
// intercepting Chokepoint (the built CLI, its own process), by HTTP/1.1 keep-alive
// connections (one request in flight each) and by h2 streams (many in flight on one
// connection, and spread over as many connections as HTTP/1.1 uses). The origin is a
// Node server in its own process speaking h2 and HTTP/1.1 (ALPN) on one port, so the
// proxy's upstream is h2 for h2 clients and HTTP/1.1 for HTTP/1.1 clients. Interleaved,
// repeated. `npm run bench -- --tests 8` runs the same measurement against nginx.
//
//   npx tsx bench/intercept-h2.ts [--seconds N] [--repeats N] [--no-docs]
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestCa } from '../test/helpers/certs.js';
import { interceptH1H2, type H1H2Figures } from './lib/h2load.js';
import { describeMachine, machine, packageVersions } from './lib/machine.js';
import { writeSection } from './lib/markdown.js';
import { freePort, startServer, stopAll } from './lib/proc.js';
import { formatTable, markdownTable } from './lib/table.js';
import { chokepointConf } from './peers/configs.js';

const args = process.argv.slice(2);
const num = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SECONDS = num('--seconds', 5);
const REPEATS = num('--repeats', 3);
const CONNECTIONS = 8;
const STREAMS = 64;

const ORIGIN = `
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
const body = Buffer.alloc(1024, 'x');
const server = http2.createSecureServer({ cert: readFileSync(process.argv[2]), key: readFileSync(process.argv[3]), allowHTTP1: true, settings: { maxConcurrentStreams: 1000 } });
server.on('request', (req, res) => { res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }); res.end(body); });
server.listen(Number(process.argv[4]), '127.0.0.1');
`;

async function main(): Promise<void> {
  const root = resolve(import.meta.dirname, '..');
  const cli = join(root, 'dist/bin/chokepoint.js');
  if (!existsSync(cli)) throw new Error('dist/bin/chokepoint.js is missing: npm run build');
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-h2bench-'));
  try {
    const ca = createTestCa('Bench h2 Origin CA');
    const leaf = ca.issue(['localhost'], ['127.0.0.1']);
    writeFileSync(join(dir, 'origin.pem'), leaf.certPem);
    writeFileSync(join(dir, 'origin-key.pem'), leaf.keyPem);
    writeFileSync(join(dir, 'origin-ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'origin.mjs'), ORIGIN);
    const originPort = await freePort();
    await startServer('origin', process.execPath, [join(dir, 'origin.mjs'), join(dir, 'origin.pem'), join(dir, 'origin-key.pem'), String(originPort)], originPort);
    const port = await freePort();
    writeFileSync(join(dir, 'cp.yaml'), chokepointConf({ port, stateDir: join(dir, 'state'), upstreamCa: join(dir, 'origin-ca.pem'), originPorts: [originPort], intercept: true, workers: 1 }));
    await startServer('chokepoint', process.execPath, [cli, 'start', '--config', join(dir, 'cp.yaml')], port);
    const proxyCa = readFileSync(join(dir, 'state', 'ca.pem'), 'utf8');
    const dest = { host: '127.0.0.1', port: originPort };

    const runs: H1H2Figures[] = [];
    // warm-up (certificate, JIT, upstream sessions)
    await interceptH1H2(port, dest, proxyCa, '/1k', { connections: CONNECTIONS, streams: STREAMS, durationMs: 1000 });
    for (let r = 0; r < REPEATS; r++) {
      const figures = await interceptH1H2(port, dest, proxyCa, '/1k', { connections: CONNECTIONS, streams: STREAMS, durationMs: SECONDS * 1000 });
      runs.push(figures);
      const rate = (x: { requests: number; ms: number }): string => (x.requests / (x.ms / 1000)).toFixed(0);
      console.log(`run ${r + 1}: HTTP/1.1 ${rate(figures.h1)} req/s, h2 1×${STREAMS} ${rate(figures.h2One)} req/s, h2 ${CONNECTIONS}×${STREAMS / CONNECTIONS} ${rate(figures.h2Many)} req/s (errors ${figures.h1.errors}/${figures.h2One.errors}/${figures.h2Many.errors})`);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const rps = (k: keyof H1H2Figures): number => median(runs.map((x) => x[k].requests / (x[k].ms / 1000)));
    const p50 = (k: keyof H1H2Figures): number => median(runs.map((x) => percentile(x[k].latenciesMs, 0.5)));
    const h1 = rps('h1');
    const table = {
      header: ['client', 'in flight', 'req/s (median)', 'p50 ms', 'vs HTTP/1.1'],
      rows: [
        [`HTTP/1.1 keep-alive, ${CONNECTIONS} connections`, String(CONNECTIONS), h1.toFixed(0), p50('h1').toFixed(2), '1.00'],
        [`h2, 1 connection × ${STREAMS} streams`, String(STREAMS), rps('h2One').toFixed(0), p50('h2One').toFixed(2), (rps('h2One') / h1).toFixed(2)],
        [`h2, ${CONNECTIONS} connections × ${STREAMS / CONNECTIONS} streams`, String(STREAMS), rps('h2Many').toFixed(0), p50('h2Many').toFixed(2), (rps('h2Many') / h1).toFixed(2)],
      ],
    };
    console.log(formatTable(table));
    if (!args.includes('--no-docs')) {
      const body = [
        `Command: \`npx tsx bench/intercept-h2.ts --seconds ${SECONDS} --repeats ${REPEATS}\` — a 1 KiB GET through an intercepting Chokepoint`,
        '(the built CLI, one process), interleaved: HTTP/1.1 keep-alive (one request in flight per connection) and h2 streams',
        '(many in flight per connection). Origin: a Node h2 + HTTP/1.1 server in its own process; Chokepoint speaks h2 upstream',
        'to h2 clients and HTTP/1.1 to HTTP/1.1 clients. The load generator is one Node process. Medians of the runs.',
        '',
        markdownTable(table),
        '',
        `The machine was shared with other engineers' builds and tests while this ran: absolute figures move between runs, the ratios within a run are what to read. ${describeMachine(machine(), packageVersions([]))}`,
      ].join('\n');
      writeSection('docs/benchmarks.md', 'Interception keep-alive: HTTP/1.1 and HTTP/2', body, '# Benchmarks\n');
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
