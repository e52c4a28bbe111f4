// The gate remembers its answer for an IP literal per pool (issue #19): the remembered
// answer must be the one the policy gives, per port, and a new config or a proxy listening
// elsewhere must be judged afresh.
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../config/full.js';
import { admit, type Admission } from '../proxy/decide/gate.js';
import { compileRuntime } from '../proxy/decide/runtime.js';
import { normalizeHost, type Target } from '../proxy/decide/target.js';

const yaml = (allow: string): string => `listen: 127.0.0.1:3128\npools:\n  - name: ci\n    sources: [10.0.0.0/8]\n    mode: enforce\n    allow: [${allow}]\n`;
const literal = (host: string, port: number): Target => ({ ...(normalizeHost(host) as { host: string }), port });
const noResolve = (): Promise<string[]> => Promise.reject(new Error('no lookups for literals'));
const view = (a: Admission): unknown => ({ ok: a.ok, verdict: a.verdict, reason: a.reason, destination: a.destination, address: a.address });

describe('the gate on IP literals', () => {
  test('answers at once, the same answer every time, per port', async () => {
    const runtime = compileRuntime(parseConfig(yaml('"192.0.2.0/24:443"'), 'test.yaml', {}));
    const pool = runtime.pools.get('ci');
    if (!pool) throw new Error('no pool');
    const ctx = { runtime, resolve: noResolve, self: new Set<string>() };
    const first = admit(ctx, pool, literal('192.0.2.7', 443));
    expect(first).not.toBeInstanceOf(Promise);
    expect(view(await first)).toEqual({ ok: true, verdict: 'allow', reason: undefined, destination: '192.0.2.0/24:443', address: '192.0.2.7' });
    expect(view(await admit(ctx, pool, literal('192.0.2.7', 443)))).toEqual(view(await first));
    // Another port of the same address is its own question.
    const other = await admit(ctx, pool, literal('192.0.2.7', 80));
    expect([other.ok, other.reason]).toEqual([false, 'port-not-allowed']);
    // The numeric forms of the same address are the same literal.
    expect(view(await admit(ctx, pool, literal('3221225991', 443)))).toEqual(view(await first));
  });

  test("a reloaded config and the proxy's own address are judged afresh", async () => {
    const before = compileRuntime(parseConfig(yaml('"192.0.2.0/24:443"'), 'test.yaml', {}));
    const after = compileRuntime(parseConfig(yaml('"198.51.100.0/24:443"'), 'test.yaml', {}));
    const self = new Set<string>();
    const at = (runtime: typeof before, own: Set<string>): Promise<Admission> | Admission => admit({ runtime, resolve: noResolve, self: own }, runtime.pools.get('ci') as NonNullable<ReturnType<typeof runtime.pools.get>>, literal('192.0.2.7', 443));
    expect((await at(before, self)).ok).toBe(true);
    expect((await at(after, self)).ok).toBe(false);
    // Listening on that very address: a request to it would loop.
    const looped = await at(before, new Set(['192.0.2.7:443']));
    expect(looped.ok).toBe(false);
    expect((await at(before, self)).ok).toBe(true);
  });
});
