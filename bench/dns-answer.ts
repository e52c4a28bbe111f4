// `npx tsx bench/dns-answer.ts [seconds per case, default 2] [--baseline DIR]`
//
// The DNS listener's own work per cached query, without sockets (issue #16): the
// listener's `answer` (proxy/wire/dns-listener.ts) called in a loop with queries for 100
// names it has cached (a turn of the event loop every 200), wired as `chokepoint start` wires it: the DNS name reader on, the
// access log (pino, to /dev/null through the same batched destination as stdout) and the
// metrics as sinks of the event bus. Cases take the sinks away one at a time, so the table
// says what each part costs. What `npm run bench:dns` measures on top of this is the
// kernel's: a recvmsg and a sendmsg per query.
//
// The modules are the built ones (dist/, built if absent), as the CLI runs them.
//
// --baseline DIR: the same cases with the built listener, reader, sinks and engine of
// another tree (a checkout of an older commit, node_modules linked, `npm run build` done),
// interleaved with ours, ratio printed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import dnsPacket, { type Answer } from 'dns-packet';
import { startUpstream } from '../test/helpers/dns.js';
import type * as ConfigModule from '../config/full.js';
import type * as DetectionModule from '../proxy/detection.js';
import type * as EventsModule from '../proxy/events/events.js';
import type * as AccessLogModule from '../proxy/events/access-log.js';
import type * as MetricsModule from '../proxy/events/metrics.js';
import type * as ListenerModule from '../proxy/wire/dns-listener.js';
import type * as NamesModule from '../detectors/dns-names.js';

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const BASELINE = option('--baseline');
const seconds = Number(argv.find((a, i) => /^\d+(\.\d+)?$/.test(a) && argv[i - 1] !== '--baseline') ?? 2);
const ROUNDS = 3;
const NAMES = 100;

const zone: Record<string, Answer[]> = {};
const names = Array.from({ length: NAMES }, (_, i) => `host${i}.bench.example.com`);
names.forEach((n, i) => (zone[n] = [{ type: 'A', name: n, ttl: 3600, data: `104.16.${i >> 8}.${i & 255}` }]));
const queries = names.map((n, i) => dnsPacket.encode({ type: 'query', id: i, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: n }] }));

interface Tree {
  label: string;
  answer: Record<string, (msg: Buffer) => Promise<Buffer | undefined>>;
  close(): Promise<void>;
}

/** The built modules of a tree (its dist/); the types are ours (the same interfaces). */
async function loadTree(root: string, label: string, upstreamPort: number): Promise<Tree> {
  if (!existsSync(join(root, 'dist', 'proxy', 'app.js'))) {
    if (label !== 'ours') throw new Error(`--baseline: ${root}/dist does not exist (run npm run build there)`);
    spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  }
  const imp = async <T>(path: string): Promise<T> => (await import(join(root, 'dist', path))) as T;
  const { parseConfig } = await imp<typeof ConfigModule>('config/load.js');
  const { buildDetection } = await imp<typeof DetectionModule>('proxy/detection.js');
  const { EventBus } = await imp<typeof EventsModule>('proxy/events/events.js');
  const { accessLogSink, createLogger, batchedDestination } = await imp<Partial<typeof AccessLogModule> & Pick<typeof AccessLogModule, 'accessLogSink' | 'createLogger'>>('proxy/events/access-log.js');
  const { createMetrics } = await imp<typeof MetricsModule>('proxy/events/metrics.js');
  const { DnsListener } = await imp<typeof ListenerModule>('proxy/wire/dns-listener.js');
  const { DnsNameReader } = await imp<typeof NamesModule>('detectors/dns-names.js');
  const { default: pino } = await import('pino');
  const config = parseConfig(
    `dns:
  listen: 127.0.0.1:0
  servers: [127.0.0.1:${upstreamPort}]
  cacheTtl: 300s
  rateLimit: { perSecond: 0 }
pools:
  - name: bench
    sources: [127.0.0.0/8]
    mode: enforce
    allow: ["*.bench.example.com"]
`,
    'bench',
  );
  const key = Buffer.alloc(32, 7);
  const detection = await buildDetection(config, {}, key);
  const listeners: Array<{ close(): Promise<void> }> = [];
  const make = (sinks: { log: boolean; metrics: boolean }): ((msg: Buffer) => Promise<Buffer | undefined>) => {
    const bus = new EventBus();
    if (sinks.log) {
      // As stdout is written (batchedDestination, where the tree has it), to /dev/null.
      const destination = batchedDestination ? batchedDestination('/dev/null') : (pino.destination({ dest: '/dev/null', sync: false, minLength: 4096, periodicFlush: 100 }) as unknown as NodeJS.WritableStream);
      bus.subscribe(accessLogSink(createLogger({ level: 'info', destination })));
    }
    if (sinks.metrics) {
      const metrics = createMetrics({ activeTunnels: () => 0, defaultMetrics: false });
      metrics.initPools(config);
      bus.subscribe(metrics.sink);
    }
    const reader = new DnsNameReader({ engine: detection.engine, fingerprintKey: key });
    const listener = new DnsListener({ config, engine: detection.engine, bus, readName: reader.reader });
    listeners.push(listener);
    return (msg) => listener.answer(msg, '127.0.0.1', 'udp');
  };
  return {
    label,
    answer: {
      'reader, access log, metrics (as started)': make({ log: true, metrics: true }),
      'reader, metrics (no access log)': make({ log: false, metrics: true }),
      'reader, access log (no metrics)': make({ log: true, metrics: false }),
      'reader only (no sinks)': make({ log: false, metrics: false }),
    },
    async close() {
      for (const l of listeners) await l.close();
    },
  };
}

/** Cached answers per second through `answer` for `seconds`, one query at a time. */
async function rate(answer: (msg: Buffer) => Promise<Buffer | undefined>): Promise<number> {
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < until) {
    for (let k = 0; k < 200; k++, n++) {
      const out = await answer(queries[n % NAMES] as Buffer);
      if (!out || (out.readUInt16BE(2) & 0xf) !== 0) throw new Error('a query was not answered NOERROR');
    }
    // A turn of the event loop every 200 queries, as a listener under load has: timers and
    // the access log's writes run.
    await new Promise(setImmediate);
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;

const upstream = await startUpstream(zone);
const trees = [await loadTree(resolve(import.meta.dirname, '..'), 'ours', upstream.port)];
if (BASELINE) trees.push(await loadTree(resolve(BASELINE), '@base', upstream.port));
const cases = Object.keys(trees[0]?.answer ?? {});
const results = new Map<string, number[]>();
try {
  // Warm up: fill every cache, let V8 optimise.
  for (const t of trees) for (const c of cases) for (let i = 0; i < NAMES * 20; i++) await t.answer[c]?.(queries[i % NAMES] as Buffer);
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      const order = round % 2 === 0 ? trees : [...trees].reverse();
      for (const t of order) {
        const r = await rate(t.answer[c] as (msg: Buffer) => Promise<Buffer | undefined>);
        const k = `${t.label}\0${c}`;
        results.set(k, [...(results.get(k) ?? []), r]);
      }
    }
  }
} finally {
  for (const t of trees) await t.close();
  await upstream.close();
}
console.log(`DNS listener answer(), cached, one query at a time, ${seconds}s x ${ROUNDS} rounds (median), node ${process.version}`);
const head = `${'case'.padEnd(44)}${trees.map((t) => `${t.label} q/s`.padStart(14) + `${t.label} µs`.padStart(10)).join('')}${BASELINE ? '   ours/@base' : ''}`;
console.log(head);
for (const c of cases) {
  const r = trees.map((t) => median(results.get(`${t.label}\0${c}`) ?? []));
  console.log(`${c.padEnd(44)}${r.map((x) => Math.round(x).toLocaleString('en-US').padStart(14) + (1e6 / x).toFixed(2).padStart(10)).join('')}${BASELINE ? `   ${((r[0] as number) / (r[1] as number)).toFixed(2)}x` : ''}`);
}
