// A 407 challenge is not a denial. git (and other clients) send their first request or
// CONNECT without proxy credentials and retry with them once challenged: that first try
// is logged and counted with decision `auth-required`, so the "denied" panel and the
// ChokepointEgressBlocked alert (which select decision="deny") show only real denials.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { basicAuth, curl, openTunnel, scrapeMetrics } from './helpers/clients.js';
import { startHttpOrigin, type Origin } from './helpers/origin.js';
import { fakeResolver, startTestProxy, type TestProxy } from './helpers/proxy.js';

const TOKEN = 'ci-token-0123456789abcdef';
let origin: Origin;
let proxy: TestProxy;

/** The value of every chokepoint_requests_total sample whose labels include `decision="…"`. */
function requestsByDecision(exposition: string, decision: string): number {
  return exposition
    .split('\n')
    .filter((l) => l.startsWith('chokepoint_requests_total{') && l.includes(`decision="${decision}"`))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

beforeAll(async () => {
  origin = await startHttpOrigin();
  proxy = await startTestProxy(
    `
pools:
  - name: ci
    token: ${TOKEN}
    mode: enforce
    # The origin listens on loopback, a special address: only an IP entry admits it.
    allow: ["git.test:${origin.port}", "127.0.0.1/32:${origin.port}"]
`,
    { resolve: fakeResolver({ 'git.test': ['127.0.0.1'] }) },
  );
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
});

test('a request and a CONNECT without credentials are auth-required (407), not deny, in the log and the metrics; the retry with credentials is allowed', async () => {
  const plain = await curl(['-x', proxy.url, `http://git.test:${origin.port}/info/refs`]);
  expect(plain.status).toBe(407);
  expect(plain.headers['proxy-authenticate']).toContain('Basic');
  const tunnel = await openTunnel(proxy.port, `git.test:${origin.port}`);
  expect(tunnel.status).toBe(407);
  tunnel.socket.destroy();
  const retried = await curl(['-x', proxy.url, '-U', `ci:${TOKEN}`, `http://git.test:${origin.port}/info/refs`]);
  expect(retried.status).toBe(200);

  const lines = await proxy.waitForEgress(3);
  const challenged = lines.filter((l) => l.status === 407);
  expect(challenged.map((l) => [l.kind, l.decision, l.reason])).toEqual([
    ['http', 'auth-required', 'unauthenticated'],
    ['connect', 'auth-required', 'unauthenticated'],
  ]);
  expect(lines.filter((l) => l.decision === 'deny')).toEqual([]);
  expect(lines.find((l) => l.status === 200)).toMatchObject({ decision: 'allow', pool: 'ci' });

  const metrics = await scrapeMetrics(proxy.adminPort);
  expect(requestsByDecision(metrics, 'auth-required')).toBe(2);
  expect(requestsByDecision(metrics, 'deny')).toBe(0);
  expect(requestsByDecision(metrics, 'allow')).toBe(1);
});

test('wrong credentials are challenged the same way', async () => {
  const before = proxy.egress().length;
  const { socket, status } = await openTunnel(proxy.port, `git.test:${origin.port}`, { 'Proxy-Authorization': basicAuth('ci', 'not-the-token') });
  socket.destroy();
  expect(status).toBe(407);
  const [line] = (await proxy.waitForEgress(before + 1)).slice(before);
  expect(line).toMatchObject({ kind: 'connect', status: 407, decision: 'auth-required' });
});
