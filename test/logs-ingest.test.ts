// The ingest listener: POST /v1/logs with a streamed body, token auth, NDJSON records.
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';
import { startTestProxy, type TestProxy } from './helpers/proxy.js';

let proxy: TestProxy;
let port: number;
const TOKEN = 'ingest-token-0123456789abcdef';

const make = generators['github-pat-classic'];
if (!make) throw new Error('no generator for github-pat-classic');
const rng = createRng(717);
const tokenA = make(rng);
const tokenB = make(rng);

beforeAll(async () => {
  proxy = await startTestProxy(
    `
ingest:
  listen: 127.0.0.1:0
  token: ${TOKEN}
  maxStreams: 4
pools:
  - name: runners
    token: runners-token-0123456789
    mode: enforce
    allow: []
`,
  );
  const addr = proxy.app.ingestAddress;
  if (!addr) throw new Error('no ingest listener');
  port = addr.port;
});

afterAll(async () => {
  await proxy?.close();
});

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** POST with a chunked body produced by `write` (called with a function that honours backpressure). */
function post(path: string, headers: Record<string, string>, write: (send: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'transfer-encoding': 'chunked', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    const send = (chunk: Buffer): Promise<void> => new Promise((ok) => (req.write(chunk) ? ok() : req.once('drain', () => ok())));
    write(send).then(
      () => req.end(),
      (err: unknown) => reject(err as Error),
    );
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };

test('a bad or missing token is 401', async () => {
  const bad = await post('/v1/logs', { authorization: 'Bearer nope' }, async (send) => send(Buffer.from(`x=${tokenA}\n`)));
  expect(bad.status).toBe(401);
  const none = await post('/v1/logs', {}, async (send) => send(Buffer.from('hello\n')));
  expect(none.status).toBe(401);
  expect(JSON.stringify(bad.body)).not.toContain(tokenA.slice(4));
});

test('an unknown pool label is 400; a known one is kept', async () => {
  const r = await post('/v1/logs?pool=nope', auth, async (send) => send(Buffer.from('x\n')));
  expect(r.status).toBe(400);
  const ok = await post('/v1/logs?job=q-1', { ...auth, 'x-chokepoint-pool': 'runners', 'x-chokepoint-step': 'build' }, async (send) => send(Buffer.from(`a\nb\ntoken ${tokenA}\n`)));
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ job: 'q-1', pool: 'runners', step: 'build', findingCount: 1 });
  expect(ok.body.findings).toEqual([expect.objectContaining({ rule: 'github-pat-classic', line: 3, job: 'q-1', step: 'build' })]);
});

test('a 50 MiB chunked body is scanned with bounded memory; the findings come back redacted', async () => {
  const line = Buffer.from('2024-01-01T00:00:00Z INFO building module with some ordinary log output, nothing secret here at all\n');
  const block = Buffer.concat(Array.from({ length: Math.ceil((256 * 1024) / line.length) }, () => line));
  const linesPerBlock = block.length / line.length;
  const total = 50 * 1024 * 1024;
  const blocks = Math.ceil(total / block.length);
  const secretAfter = [10, blocks - 3];
  // What the proxy holds for the stream (scanner carry-over, out-of-order pieces), sampled
  // as the body goes in: a figure of its own, not the test process's RSS (which a loaded
  // machine's garbage collector moves by tens of MB).
  let peak = 0;
  let sampled = 0;
  const r = await post('/v1/logs', { ...auth, 'x-chokepoint-job': 'big-1', 'content-type': 'text/plain' }, async (send) => {
    for (let i = 0; i < blocks; i++) {
      await send(block);
      if (secretAfter[0] === i) await send(Buffer.from(`\x1b[33mexport TOKEN=${tokenA}\x1b[0m\n`));
      if (secretAfter[1] === i) await send(Buffer.from(`curl -H "Authorization: token ${tokenB}"\r\n`));
      if (proxy.app.logStreams.activeStreams() > 0) sampled++;
      peak = Math.max(peak, proxy.app.logStreams.bufferedBytes());
    }
  });
  expect(sampled).toBeGreaterThan(blocks / 2); // the samples were taken while the stream was open
  // Held bytes stay at the scanner's window: well under one 256 KiB block, let alone 50 MiB.
  expect(peak).toBeLessThan(256 * 1024);
  expect(r.status).toBe(200);
  expect(r.body.bytes).toBeGreaterThanOrEqual(total);
  const findings = r.body.findings as Array<Record<string, unknown>>;
  expect(findings.map((f) => [f.rule, f.line])).toEqual([
    ['github-pat-classic', 11 * linesPerBlock + 1],
    ['github-pat-classic', (blocks - 2) * linesPerBlock + 2],
  ]);
  const text = JSON.stringify(r.body);
  expect(text).not.toContain(tokenA.slice(4));
  expect(text).not.toContain(tokenB.slice(4));
  expect(proxy.app.logStreams.activeStreams()).toBe(0);
});

test('NDJSON: records with a message are scanned at their record line; malformed lines counted and skipped', async () => {
  const records = [
    JSON.stringify({ message: 'starting job', host: 'r1' }),
    '{not json',
    JSON.stringify({ message: `echo ${tokenB}` }),
    JSON.stringify({ level: 'info' }),
    '',
    JSON.stringify({ log: `fluent-bit style ${tokenA}` }),
    '[1,2,3]',
  ];
  const body = Buffer.from(records.join('\n') + '\n');
  const r = await post('/v1/logs?job=nd-1', { ...auth, 'content-type': 'application/x-ndjson' }, async (send) => {
    // Split inside a record, byte by byte around the boundary.
    for (let i = 0; i < body.length; i += 7) await send(body.subarray(i, i + 7));
  });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ job: 'nd-1', records: 7, malformed: 3 });
  expect((r.body.findings as Array<Record<string, unknown>>).map((f) => f.line)).toEqual([3, 6]);
  // What was skipped is logged, and counted for the metrics.
  const drops = proxy.lines().filter((l) => l.msg === 'log stream drop' && l.reason === 'malformed' && l.job === 'nd-1');
  expect(drops.reduce((n, l) => n + Number(l.count), 0)).toBe(3);
  const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
  expect(metrics).toMatch(/chokepoint_log_dropped_total\{reason="malformed"\} [1-9]/);
});

test('findings reach the access log as log leaks with job and line', async () => {
  const lines = proxy.lines().filter((l) => l.msg === 'finding' && l.job === 'q-1');
  expect(lines).toEqual([expect.objectContaining({ source: 'log', verdict: 'leak', action: 'alert', line: 3, pool: 'runners', kind: 'log' })]);
});
