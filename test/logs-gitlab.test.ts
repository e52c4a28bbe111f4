// A GitLab-style job behind the proxy: the runner sends its trace in PATCHes through an
// intercepted tunnel to a fake GitLab on loopback. A token split across two PATCHes, with
// ANSI colour codes inside its line, a retried range and an overlapping one: exactly one
// log finding, for the right job and line; the origin receives the bytes unchanged.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { fetch, ProxyAgent } from 'undici';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';
import { createTestCa } from './helpers/certs.js';
import { basicAuth, writeCa } from './helpers/clients.js';
import { startHttpsOrigin, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

let origin: Origin;
let proxy: TestProxy;
let agent: ProxyAgent;

const make = generators['github-pat-classic'];
if (!make) throw new Error('no generator for github-pat-classic');
const token = make(createRng(515));

beforeAll(async () => {
  const upstreamCa = createTestCa('Upstream Test CA');
  origin = await startHttpsOrigin(upstreamCa.issue(['gitlab.test']));
  const caFile = writeCa(mkdtempSync(join(tmpdir(), 'chokepoint-up-')), upstreamCa.certPem);
  proxy = await startTestProxy(
    `
tls:
  intercept: all
  upstreamCAs: [${caFile}]
pools:
  - name: runners
    token: runners-token-0123456789
    mode: enforce
    allow: ["gitlab.test:${origin.port}", "127.0.0.1/32:${origin.port}"]
    secrets:
      action: alert
`,
    { resolve: fakeResolver({ 'gitlab.test': ['127.0.0.1'] }) },
  );
  const proxyCa = readFileSync(join(proxy.dir, 'state', 'ca.pem'), 'utf8');
  agent = new ProxyAgent({ uri: proxy.url, token: basicAuth('runners', 'runners-token-0123456789'), requestTls: { ca: proxyCa } });
});

afterAll(async () => {
  await agent?.close();
  await proxy?.close();
  await origin?.close();
});

async function patch(job: number, start: number, bytes: Buffer): Promise<number> {
  const r = await fetch(`https://gitlab.test:${origin.port}/api/v4/jobs/${job}/trace`, {
    method: 'PATCH',
    body: bytes,
    headers: { 'content-range': `${start}-${start + bytes.length - 1}`, 'content-type': 'text/plain', 'job-token': 'x' },
    dispatcher: agent,
  });
  await r.text();
  return r.status;
}

function logFindings(): Array<Record<string, unknown>> {
  return proxy.lines().filter((l) => l.msg === 'finding' && l.source === 'log');
}

test('a token split across PATCHes, retried and overlapping ranges, ANSI codes: one finding at the job line', async () => {
  const trace = Buffer.from(
    [
      '\x1b[0KRunning with gitlab-runner 17.0.0\x1b[0;m',
      'section_start:1700000000:step_script\r\x1b[0K\x1b[32;1m$ env | sort\x1b[0;m',
      'CI_JOB_ID=4711',
      `GITHUB_TOKEN=${token.slice(0, 12)}\x1b[31;1m${token.slice(12, 25)}\x1b[0m${token.slice(25)}`,
      'Downloading 10%\rDownloading 50%\rDownloading 100%',
      'section_end:1700000001:step_script\r\x1b[0K',
      '\x1b[32;1mJob succeeded\x1b[0;m',
      '',
    ].join('\n'),
  );
  const tokenAt = trace.indexOf(Buffer.from(token.slice(12, 25)));
  const cut = tokenAt + 5; // inside the token, after the colour code
  const later = trace.indexOf(Buffer.from('Downloading 50%'));
  const pieces: Array<[number, number]> = [
    [0, cut], // first half of the token
    [cut, later], // second half
    [cut, later], // retried range
    [later - 20, trace.length], // overlapping range
  ];
  for (const [from, to] of pieces) expect(await patch(4711, from, trace.subarray(from, to))).toBe(200);

  // The job ends: its stream is flushed and closed.
  const r = await fetch(`https://gitlab.test:${origin.port}/api/v4/jobs/4711`, {
    method: 'PUT',
    body: JSON.stringify({ token: 'x', state: 'success' }),
    headers: { 'content-type': 'application/json' },
    dispatcher: agent,
  });
  await r.text();
  expect(r.status).toBe(200);
  const deadline = Date.now() + 5000;
  while (proxy.app.logStreams.activeStreams() > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  expect(proxy.app.logStreams.activeStreams()).toBe(0);

  const found = logFindings();
  expect(found).toHaveLength(1);
  expect(found[0]).toMatchObject({ rule: 'github-pat-classic', job: '4711', line: 4, verdict: 'leak', action: 'alert', kind: 'log', pool: 'runners', host: 'gitlab.test' });
  expect(String(found[0]?.redacted)).not.toContain(token.slice(4));
  expect(proxy.rawLog()).not.toContain(token.slice(12, 25));
  expect(proxy.app.logStreams.stats.duplicateBytes).toBe(later - cut + 20);

  // The origin received each PATCH body exactly as sent.
  const received = origin.received.filter((x) => x.method === 'PATCH');
  expect(received.map((x) => x.body)).toEqual(pieces.map(([from, to]) => trace.subarray(from, to).toString('utf8')));
  expect(received.map((x) => x.headers['content-range'])).toEqual(pieces.map(([from, to]) => `${from}-${to - 1}`));
});

test('a token split across two PATCHes and nothing after: the finding is logged while the job stream is still open (idle flush)', async () => {
  const trace = Buffer.from(`Running with gitlab-runner 17.0.0\n$ deploy\nDEPLOY_TOKEN=${token}`);
  const cut = trace.indexOf(Buffer.from(token)) + 10;
  expect(await patch(4712, 0, trace.subarray(0, cut))).toBe(200);
  expect(await patch(4712, cut, trace.subarray(cut))).toBe(200);
  // No job PUT, no more log, no drain: the idle flush (logs.idleFlush, default 500ms) reports it.
  const deadline = Date.now() + 10_000;
  const mine = (): Array<Record<string, unknown>> => logFindings().filter((l) => l.job === '4712');
  while (mine().length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  expect(mine()).toHaveLength(1);
  expect(mine()[0]).toMatchObject({ rule: 'github-pat-classic', job: '4712', line: 3, verdict: 'leak', action: 'alert' });
  // The stream has not ended: the finding came before it.
  const stream = proxy.app.logStreams.get(`gitlab:gitlab.test:${origin.port}:4712`);
  expect(stream?.closed).toBe(false);
});
