// The gate every request and tunnel passes: identify the pool, decide by name, resolve,
// decide by address. It returns what to do; the listeners do it.
import type { Finding } from '../../detectors/index.js';
import type { Verdict } from './policy.js';
import { decide } from './policy.js';
import type { Reason } from './reasons.js';
import type { PoolRuntime, Runtime } from './runtime.js';
import { parseAddress, type Ip, type Target } from './target.js';

/** All addresses of a name (IPv4 and IPv6, in resolver order). */
export type Resolve = (host: string) => Promise<string[]>;

export class ResolveError extends Error {
  constructor(
    readonly code: 'dns-failure' | 'dns-timeout',
    host: string,
  ) {
    super(`${code} for ${host}`);
  }
}

/** Resolve with a timeout; failures become a ResolveError with a reason the proxy reports. */
export async function resolveWithin(resolve: Resolve, host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ResolveError('dns-timeout', host)), timeoutMs);
  });
  try {
    const addresses = await Promise.race([resolve(host), timeout]);
    if (addresses.length === 0) throw new ResolveError('dns-failure', host);
    return addresses;
  } catch (err) {
    if (err instanceof ResolveError) throw err;
    throw new ResolveError('dns-failure', host);
  } finally {
    clearTimeout(timer);
  }
}

export type Admission =
  | {
      ok: true;
      pool: PoolRuntime;
      /** allow, or audit (would have been denied: reason says why). */
      verdict: Verdict;
      reason?: Reason;
      destination: string;
      /** The checked address to connect to. */
      address: string;
    }
  | {
      ok: false;
      pool?: PoolRuntime;
      status: number;
      verdict: Verdict;
      reason: Reason;
      destination: string;
      address?: string;
      /** A refusal for a secret (in the host name, judged before any lookup): the finding, named in the answer. */
      finding?: Finding;
    };

export interface GateContext {
  runtime: Runtime;
  resolve: Resolve;
  self: ReadonlySet<string>;
}

/** Pool of a client, or undefined (answer 407). */
export function identifyPool(runtime: Runtime, proxyAuthorization: string | undefined, client: string | undefined): PoolRuntime | undefined {
  const pool = runtime.identifier.identify(proxyAuthorization, client);
  return pool && runtime.pools.get(pool.name);
}

/** Where the gate notes how long its name lookup took (an exchange passes itself). */
export interface GateTiming {
  dnsMs?: number;
}

/**
 * The gate's answer for a target. An IP literal needs no lookup, so its answer is given
 * at once, not as a promise (one promise and its turns fewer per request: issue #19);
 * a name is looked up, and the answer comes when the lookup does. Callers `await` either.
 */
export function admit(ctx: GateContext, pool: PoolRuntime, target: Target, timing?: GateTiming): Admission | Promise<Admission> {
  if (target.ip) return admitLiteral(ctx, pool, target);
  return admitName(ctx, pool, target, timing);
}

/**
 * An IP literal's answer depends on nothing but the pool's policy, the literal and port,
 * and the proxy's own addresses (decide is pure), so it is remembered per pool (a reload
 * makes new pools) and per set of own addresses, at most 4,096 (issue #19). Frozen: the
 * same answer is handed to every request that asks.
 */
const LITERALS_MAX = 4096;
const literalAnswers = new WeakMap<PoolRuntime, { self: ReadonlySet<string>; answers: Map<string, Admission> }>();

function admitLiteral(ctx: GateContext, pool: PoolRuntime, target: Target): Admission {
  let memo = literalAnswers.get(pool);
  if (!memo || memo.self !== ctx.self) {
    memo = { self: ctx.self, answers: new Map() };
    literalAnswers.set(pool, memo);
  }
  // target.host is the literal's canonical text (target.ts normalizeHost).
  const key = `${target.host}\0${target.port}`;
  let answer = memo.answers.get(key);
  if (!answer) {
    answer = Object.freeze(admitName(ctx, pool, target) as Admission);
    if (memo.answers.size >= LITERALS_MAX) memo.answers.clear();
    memo.answers.set(key, answer);
  }
  return answer;
}

function admitName(ctx: GateContext, pool: PoolRuntime, target: Target, timing?: GateTiming): Admission | Promise<Admission> {
  const first = decide({ pool: pool.policy, target, self: ctx.self });
  if (first !== 'resolve' && first.verdict === 'deny') {
    return { ok: false, pool, status: 403, verdict: 'deny', reason: first.reason ?? 'not-allowlisted', destination: first.destination };
  }
  if (target.ip) return byAddresses(ctx, pool, target, [target.ip]);
  return resolveAndAdmit(ctx, pool, target, timing);
}

async function resolveAndAdmit(ctx: GateContext, pool: PoolRuntime, target: Target, timing?: GateTiming): Promise<Admission> {
  let addresses: Ip[];
  {
    let answers: string[];
    const started = performance.now();
    try {
      answers = await resolveWithin(ctx.resolve, target.host, ctx.runtime.config.dns.timeout);
      if (timing) timing.dnsMs = performance.now() - started;
    } catch (err) {
      // A failed lookup took time too (a timeout most of all): it is part of the histogram.
      if (timing) timing.dnsMs = performance.now() - started;
      // A name that nothing allows is refused as such, whether or not it resolves: the
      // lookup only happened because an IP/CIDR entry might have admitted its addresses.
      const byName = decide({ pool: pool.policy, target, addresses: [], self: ctx.self });
      if (byName !== 'resolve' && byName.verdict === 'deny') {
        return { ok: false, pool, status: 403, verdict: 'deny', reason: byName.reason ?? 'not-allowlisted', destination: byName.destination };
      }
      const reason = err instanceof ResolveError ? err.code : 'dns-failure';
      const verdict = byName === 'resolve' ? 'allow' : byName.verdict;
      const destination = byName === 'resolve' ? 'unlisted' : byName.destination;
      return { ok: false, pool, status: reason === 'dns-timeout' ? 504 : 502, verdict, reason, destination };
    }
    addresses = answers.map(parseAddress).filter((ip): ip is Ip => ip !== undefined);
    if (addresses.length === 0) {
      return { ok: false, pool, status: 502, verdict: 'allow', reason: 'dns-failure', destination: 'unlisted' };
    }
  }
  return byAddresses(ctx, pool, target, addresses);
}

/** The decision by the addresses (the literal, or all the name resolved to). */
function byAddresses(ctx: GateContext, pool: PoolRuntime, target: Target, addresses: Ip[]): Admission {
  const final = decide({ pool: pool.policy, target, addresses, self: ctx.self });
  if (final === 'resolve') throw new Error('policy asked to resolve with addresses given');
  const address = (addresses[0] as Ip).toString();
  if (final.verdict === 'deny') {
    return { ok: false, pool, status: 403, verdict: 'deny', reason: final.reason ?? 'not-allowlisted', destination: final.destination, address };
  }
  return final.reason
    ? { ok: true, pool, verdict: final.verdict, reason: final.reason, destination: final.destination, address }
    : { ok: true, pool, verdict: final.verdict, destination: final.destination, address };
}
