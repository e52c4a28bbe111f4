// `npx tsx bench/request-path.ts`: which of our source files one plain HTTP request runs
// code in, measured with V8's precise coverage (function call counts) around a single
// request through a real proxy, after a warm-up request (another URL, so the scan caches
// do not skip the scan). Prints the files, sorted, and how many there are.
// This is the "files a plain HTTP request passes through" figure of docs/architecture.md.
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestProxy } from '../test/helpers/proxy.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const OURS = /^(proxy|detectors|config)\//;

async function main(): Promise<void> {
  const origin = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  const port = (origin.address() as { port: number }).port;
  const proxy = await startTestProxy(`pools:\n  - name: p\n    sources: [127.0.0.1/32]\n    allow: [127.0.0.1/32:${port}]\n`);
  const get = (path: string): Promise<void> =>
    new Promise((done, fail) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${port}${path}`, agent: false }, (res) => {
        res.resume();
        res.on('end', () => done());
      });
      req.on('error', fail);
      req.end();
    });
  await get('/warm-up?n=0'); // warm-up: lazy initialisation is not the request's path
  await proxy.waitForEgress(1);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
  await session.post('Profiler.takePreciseCoverage'); // resets the counts
  await get('/measured?n=1');
  await proxy.waitForEgress(2);
  const { result } = await session.post('Profiler.takePreciseCoverage');
  await session.post('Profiler.stopPreciseCoverage');
  session.disconnect();
  await proxy.close();
  origin.close();

  const files: string[] = [];
  for (const script of result) {
    if (!script.url.startsWith('file://')) continue;
    const path = relative(ROOT, fileURLToPath(script.url));
    if (!OURS.test(path)) continue;
    const called = script.functions.some((f) => (f.ranges[0]?.count ?? 0) > 0);
    if (called) files.push(path);
  }
  files.sort();
  for (const f of files) console.log(f);
  console.log(`${files.length} files of proxy/, detectors/ and config/ ran code for one plain HTTP request`);
}

await main();
