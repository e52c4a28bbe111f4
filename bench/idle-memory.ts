// `npx tsx bench/idle-memory.ts [--rounds N] [--baseline DIR] [--intercept]` (issue #19)
//
// Where an idle Chokepoint's memory goes, and what it comes to.
//  1. Stages: one plain `node --expose-gc` process (no tsx: its loader would count) imports
//     the built modules (dist/) and starts the app the way `chokepoint start` does, one
//     stage at a time (config, rule pack, engine with its RE2 programs, pino, prom-client,
//     CA and leaf cache, the listeners), and prints process.memoryUsage() and the
//     anonymous / file-backed split of VmRSS after a full GC at each stage.
//  2. As shipped: the built CLI (`node dist/bin/chokepoint.js start`) with the config of
//     `npm run bench` test 7 (one enforce pool, ingest on), its VmRSS read 1.5 s after it
//     listens, as bench/run.ts reads it. With --baseline DIR (another checkout, built), the
//     same for DIR's CLI, the two interleaved round by round.
// Needs `npm run build` first (and in DIR). Prints; writes nothing.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chokepointConf } from './peers/configs.js';
import { freePort, rssOf, run, startServer } from './lib/proc.js';
import { stats } from './lib/stats.js';

const MiB = 2 ** 20;
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(opt('--rounds') ?? 5);
const baseline = opt('--baseline');
const intercept = args.includes('--intercept');
/** Issue #19's target for the idle process. */
const TARGET_MIB = 60;

const root = resolve('.');
const dir = mkdtempSync(join(tmpdir(), 'chokepoint-idle-'));

/** The stage runner: plain ESM, run by node itself on the built tree. */
const STAGES = String.raw`
import { readFileSync } from 'node:fs';
const [root, configFile] = process.argv.slice(2);
const d = (p) => import(new URL('dist/' + p, root + '/').href);
const rows = [];
const status = () => {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(k + ':\\s+(\\d+)').exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
};
const mark = (stage) => {
  gc();
  const m = process.memoryUsage();
  rows.push({ stage, ...status(), heapTotal: m.heapTotal / 2 ** 20, heapUsed: m.heapUsed / 2 ** 20, external: m.external / 2 ** 20 });
};
mark('node, nothing loaded');
// As bin/chokepoint.ts does for \`start\` (issue #19); a tree without it (a baseline) goes on without.
const youngGen = await d('proxy/startup-memory.js').catch(() => undefined);
youngGen?.holdYoungGeneration();
// A tree with config/isolated.js reads the config in a child process, as \`start\` does
// there (zod and yaml never load here); an older tree (a baseline) loads them in-process.
const cfgMod = await d('config/index.js');
const config = cfgMod.loadConfigIsolated ? await cfgMod.loadConfigIsolated(configFile) : cfgMod.loadConfigFile(configFile);
mark(cfgMod.loadConfigIsolated ? 'config (read in a child process)' : 'config (zod, yaml) loaded');
const rules = await d('detectors/rules/index.js');
mark('rule pack (data)');
const state = await d('proxy/state.js');
const { buildDetection } = await d('proxy/detection.js');
state.ensureStateDir(config.stateDir);
const key = state.fingerprintKeyFor(config, { create: true });
let detection = await buildDetection(config, process.env, key);
mark('engine built (RE2 programs)');
// startApp builds its own engine: this one is let go (collected at the next mark), so it is not counted twice.
detection = undefined;
const { createLogger } = await d('proxy/events/access-log.js');
const logger = createLogger({ level: config.log.level });
mark('pino logger');
const { createMetrics } = await d('proxy/events/metrics.js');
const metrics = createMetrics({ activeTunnels: () => 0, logStreamsActive: () => 0 });
metrics.initPools(config);
mark('prom-client metrics');
// Without interception the app never loads the CA module (node-forge); a baseline tree may.
if (config.tls.intercept !== 'none') {
  const ca = await d('proxy/wire/ca.js');
  const { ca: c } = ca.loadCa(config, { create: true });
  globalThis.issuer = ca.createLeafIssuer(c);
  mark('CA (node-forge) + leaf cache');
}
const { startApp } = await d('proxy/app.js');
mark('app modules (wire, logs, dns)');
const app = await startApp({ config, logger });
mark('listening (startApp)');
await new Promise((r) => setTimeout(r, 1500));
mark('idle 1.5 s');
globalThis.keep = [metrics, logger];
process.stdout.write('\nSTAGES ' + JSON.stringify(rows) + '\n');
await app.close(0);
process.exit(0);
`;

interface Row {
  stage: string;
  rss: number;
  anon: number;
  file: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

function config(stateDir: string, port: number, ingestPort: number): string {
  const file = join(dir, `c-${port}.yaml`);
  writeFileSync(
    file,
    chokepointConf({ port, stateDir, upstreamCa: join(dir, 'none.pem'), originPorts: [8080], intercept, workers: 1, ingest: { port: ingestPort, token: 'idle-bench-token-0123456789' } }),
  );
  return file;
}

async function stages(tree: string): Promise<Row[]> {
  const runner = join(dir, 'stages.mjs');
  writeFileSync(runner, STAGES);
  const file = config(join(dir, `st-${Math.random().toString(36).slice(2)}`), await freePort(), await freePort());
  const out = await run(process.execPath, ['--expose-gc', runner, pathToFileURL(tree).href, file]);
  const line = out.split('\n').find((l) => l.startsWith('STAGES '));
  if (line === undefined) throw new Error(`the stage runner printed no result:\n${out.slice(0, 2000)}`);
  return JSON.parse(line.slice('STAGES '.length)) as Row[];
}

async function shippedRss(tree: string): Promise<number> {
  const port = await freePort();
  const file = config(join(dir, `st-${port}`), port, await freePort());
  const server = await startServer('chokepoint', process.execPath, [join(tree, 'dist/bin/chokepoint.js'), 'start', '--config', file], port);
  await new Promise((r) => setTimeout(r, 1500));
  const rss = rssOf(server.pid);
  await server.stop();
  return rss / MiB;
}

const f1 = (n: number): string => n.toFixed(1);
try {
  writeFileSync(join(dir, 'none.pem'), '');
  const load0 = loadavg()[0] as number;
  const trees: Array<[string, string]> = [['this tree', root], ...(baseline ? [['baseline', resolve(baseline)] as [string, string]] : [])];
  for (const [label, tree] of trees) {
    const rows = await stages(tree);
    console.log(`\nStages (${label}: ${tree}), MiB after a full GC at each stage; delta = VmRSS change`);
    console.log('| stage | VmRSS | delta | anon | file | heapTotal | heapUsed | external |');
    console.log('| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    let prev = 0;
    for (const r of rows) {
      console.log(`| ${r.stage} | ${f1(r.rss)} | ${prev === 0 ? '' : (r.rss - prev >= 0 ? '+' : '') + f1(r.rss - prev)} | ${f1(r.anon)} | ${f1(r.file)} | ${f1(r.heapTotal)} | ${f1(r.heapUsed)} | ${f1(r.external)} |`);
      prev = r.rss;
    }
  }
  const samples = new Map<string, number[]>(trees.map(([l]) => [l, []]));
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? trees : [...trees].reverse();
    for (const [label, tree] of order) samples.get(label)?.push(await shippedRss(tree));
  }
  console.log(`\nAs shipped: \`node dist/bin/chokepoint.js start\`${intercept ? ' (intercepting)' : ''}, VmRSS 1.5 s after it listens, ${rounds} rounds interleaved`);
  for (const [label, s] of samples) {
    const st = stats(s);
    console.log(`${label.padEnd(10)} ${f1(st.median)} MiB (${f1(st.min)}–${f1(st.max)})  target <= ${TARGET_MIB} MiB: ${st.median <= TARGET_MIB ? 'met' : 'NOT met'}`);
  }
  console.log(`load average (1 min) ${load0.toFixed(2)} before, ${(loadavg()[0] as number).toFixed(2)} after; node ${process.version}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
