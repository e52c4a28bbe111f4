// Interception keep-alive, HTTP/1.1 against HTTP/2: the same 1 KiB GET through an
// intercepting Chokepoint (the built CLI, its own process), by HTTP/1.1 keep-alive
// connections (one request in flight each) and by h2 streams (many in flight on one
// connection, and spread over as many connections as HTTP/1.1 uses). The origin is a
// Node server in its own process speaking h2 and HTTP/1.1 (ALPN) on one port, so the
// proxy's upstream is h2 for h2 clients and HTTP/1.1 for HTTP/1.1 clients. Interleaved,
// repeated. `npm run bench -- --tests 8` runs the same measurement against nginx.
//
//   npx tsx bench/intercept-h2.ts [--seconds N] [--repeats N] [--no-docs] [--baseline DIR]
//
// `--baseline DIR`: also measures the Chokepoint of another tree (a git worktree with its
// own `dist/`, built), in the same rounds and against the same origin, each round running
// both in turn; the table gains its figures and the ratio of this tree's to them.
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
const BASELINE = args.includes('--baseline') ? resolve(args[args.indexOf('--baseline') + 1] ?? '') : undefined;
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
  const trees = [root, ...(BASELINE !== undefined ? [BASELINE] : [])];
  for (const tree of trees) {
    if (!existsSync(join(tree, 'dist/bin/chokepoint.js'))) throw new Error(`${tree}/dist/bin/chokepoint.js is missing: npm run build there`);
  }
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
    const proxies: Array<{ tree: string; port: number; ca: string; runs: H1H2Figures[] }> = [];
    for (const [i, tree] of trees.entries()) {
      const port = await freePort();
      writeFileSync(join(dir, `cp${i}.yaml`), chokepointConf({ port, stateDir: join(dir, `state${i}`), upstreamCa: join(dir, 'origin-ca.pem'), originPorts: [originPort], intercept: true, workers: 1 }));
      await startServer(`chokepoint (${tree})`, process.execPath, [join(tree, 'dist/bin/chokepoint.js'), 'start', '--config', join(dir, `cp${i}.yaml`)], port);
      proxies.push({ tree, port, ca: readFileSync(join(dir, `state${i}`, 'ca.pem'), 'utf8'), runs: [] });
    }
    const dest = { host: '127.0.0.1', port: originPort };

    // warm-up (certificate, JIT, upstream sessions)
    for (const p of proxies) await interceptH1H2(p.port, dest, p.ca, '/1k', { connections: CONNECTIONS, streams: STREAMS, durationMs: 1000 });
    for (let r = 0; r < REPEATS; r++) {
      for (const p of proxies) {
        const figures = await interceptH1H2(p.port, dest, p.ca, '/1k', { connections: CONNECTIONS, streams: STREAMS, durationMs: SECONDS * 1000 });
        p.runs.push(figures);
        const rate = (x: { requests: number; ms: number }): string => (x.requests / (x.ms / 1000)).toFixed(0);
        const who = proxies.length > 1 ? ` ${p.tree}` : '';
        console.log(`run ${r + 1}${who}: HTTP/1.1 ${rate(figures.h1)} req/s, h2 1×${STREAMS} ${rate(figures.h2One)} req/s, h2 ${CONNECTIONS}×${STREAMS / CONNECTIONS} ${rate(figures.h2Many)} req/s (errors ${figures.h1.errors}/${figures.h2One.errors}/${figures.h2Many.errors})`);
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const rps = (runs: H1H2Figures[], k: keyof H1H2Figures): number => median(runs.map((x) => x[k].requests / (x[k].ms / 1000)));
    const p50 = (runs: H1H2Figures[], k: keyof H1H2Figures): number => median(runs.map((x) => percentile(x[k].latenciesMs, 0.5)));
    const runs = (proxies[0] as (typeof proxies)[number]).runs;
    const base = proxies[1]?.runs;
    const h1 = rps(runs, 'h1');
    const row = (label: string, inFlight: number, k: keyof H1H2Figures): string[] => [
      label,
      String(inFlight),
      rps(runs, k).toFixed(0),
      p50(runs, k).toFixed(2),
      (rps(runs, k) / h1).toFixed(2),
      ...(base ? [rps(base, k).toFixed(0), (rps(base, k) / rps(base, 'h1')).toFixed(2), (rps(runs, k) / rps(base, k)).toFixed(2)] : []),
    ];
    const table = {
      header: ['client', 'in flight', 'req/s (median)', 'p50 ms', 'vs HTTP/1.1', ...(base ? [`${BASELINE}: req/s`, `${BASELINE}: vs its HTTP/1.1`, 'new / baseline'] : [])],
      rows: [
        row(`HTTP/1.1 keep-alive, ${CONNECTIONS} connections`, CONNECTIONS, 'h1'),
        row(`h2, 1 connection × ${STREAMS} streams`, STREAMS, 'h2One'),
        row(`h2, ${CONNECTIONS} connections × ${STREAMS / CONNECTIONS} streams`, STREAMS, 'h2Many'),
      ],
    };
    console.log(formatTable(table));
    if (!args.includes('--no-docs')) {
      const body = [
        `Command: \`npx tsx bench/intercept-h2.ts --seconds ${SECONDS} --repeats ${REPEATS}${BASELINE !== undefined ? ` --baseline ${BASELINE}` : ''}\` — a 1 KiB GET through an intercepting Chokepoint`,
        '(the built CLI, one process), interleaved: HTTP/1.1 keep-alive (one request in flight per connection) and h2 streams',
        '(many in flight per connection). Origin: a Node h2 + HTTP/1.1 server in its own process; Chokepoint speaks h2 upstream',
        'to h2 clients and HTTP/1.1 to HTTP/1.1 clients. The load generator is one Node process. Medians of the runs.',
        ...(BASELINE !== undefined ? ['', `The baseline is the Chokepoint built in ${BASELINE}, measured in the same rounds against the same origin (each round runs this tree, then the baseline).`] : []),
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
