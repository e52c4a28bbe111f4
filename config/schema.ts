// The config schema: every key, its type, its default. docs/config.md documents the
// same keys for people, and `chokepoint config schema` exports it as JSON Schema for editors.
import { z } from 'zod';
import { parseEntry } from './entries.js';
import { shippedGroups } from './groups.js';
import { parseListen } from './listen.js';
import { parseBase64Key, parseDuration, parseSize } from './units.js';

export { parseListen };

/** A `host:port` or `[v6]:port` listen address. */
const listenAddress = z
  .string()
  .refine((s) => parseListen(s) !== undefined, { message: "expected 'host:port', e.g. 127.0.0.1:3128 or [::1]:3128" });

const duration = (fallback: string) =>
  z
    .string()
    .refine((s) => parseDuration(s) !== undefined, { message: "expected a duration like '300ms', '5s', '5m' or '1h'" })
    .default(fallback)
    .transform((s) => parseDuration(s) as number);

const size = (fallback: number) =>
  z
    .union([z.number(), z.string()])
    .refine((v) => parseSize(v) !== undefined, { message: "expected a size in bytes, or like '8MiB'" })
    .default(fallback)
    .transform((v) => parseSize(v) as number);

/** One allowlist or denylist entry, checked for syntax here so errors carry their line. */
const entry = z.string().superRefine((text, ctx) => {
  try {
    parseEntry(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const cidr = z.string().superRefine((text, ctx) => {
  try {
    const parsed = parseEntry(text);
    if (parsed.kind !== 'cidr' || parsed.ports.kind !== 'default') throw new Error(`'${text}' is not an IP or CIDR`);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** A host entry (no IP, no group): a name pattern. */
const hostEntry = z.string().superRefine((text, ctx) => {
  try {
    const parsed = parseEntry(text);
    if (parsed.kind !== 'host' || parsed.ports.kind !== 'default') throw new Error(`'${text}' is not a host name or pattern (no port, IP or group)`);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const interceptSetting = z.union([z.enum(['none', 'all']), z.array(entry)]);

const poolSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a pool name is letters, digits, `_.-`, at most 63'),
    token: z.string().min(1).optional().describe('Proxy-Authorization: Basic <name>:<token> identifies the pool'),
    tokenHash: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, "expected 'sha256:' and 64 lowercase hex digits")
      .optional()
      .describe('the token as sha256:<hex>, instead of `token`'),
    sources: z.array(cidr).default([]).describe('source CIDRs whose clients belong to this pool without credentials'),
    anonymous: z.boolean().default(false).describe('clients that match no other pool fall into this one'),
    mode: z.enum(['enforce', 'audit']).default('audit'),
    allow: z.array(entry).default([]),
    deny: z.array(entry).default([]),
    maxTunnels: z.number().int().positive().optional().describe('concurrent tunnels; default limits.maxTunnelsPerPool'),
    tls: z
      .object({
        intercept: interceptSetting.optional().describe('default: the global tls.intercept'),
        bypass: z.array(entry).default([]),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        action: z.enum(['alert', 'block']).default('alert').describe('for exfiltration findings'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const configSchema = z
  .object({
    listen: listenAddress.default('127.0.0.1:3128'),
    admin: z
      .object({
        listen: listenAddress.default('127.0.0.1:9464'),
        token: z.string().default('').describe('empty: /healthz and /readyz need no token'),
        metricsToken: z.string().default('').describe('empty: /metrics needs no token'),
      })
      .strict()
      .prefault({}),
    ingest: z
      .object({
        listen: listenAddress,
        token: z.string().min(1, 'the ingest listener needs a token'),
        maxStreams: z.number().int().positive().default(1000),
      })
      .strict()
      .optional(),
    logs: z
      .object({
        idleFlush: duration('500ms').describe("a live log stream idle this long is scanned as if it had ended (findings reported while the job runs); '0s': only at the stream's end"),
      })
      .strict()
      .prefault({})
      .describe('live CI log scanning'),
    stateDir: z.string().min(1).default('./.chokepoint'),
    workers: z.number().int().min(1).max(256).default(1),
    requireSni: z.boolean().default(false).describe('deny CONNECT tunnels whose first bytes carry no TLS SNI'),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
        file: z.string().optional().describe('also append access log lines to this file'),
      })
      .strict()
      .prefault({}),
    dns: z
      .object({
        timeout: duration('5s'),
        servers: z.array(z.string()).optional().describe('resolver addresses; default: the system resolver'),
        cacheTtl: duration('30s').describe("longest reuse of an answer (answers from dns.servers keep their TTL when shorter); '0s' looks up every request"),
        listen: listenAddress
          .optional()
          .describe("the DNS listener (UDP and TCP), 'host:port': runners' lookups are decided by their pool's allowlist. Absent: no DNS listener. Changes need a restart"),
        localNames: z
          .array(hostEntry)
          .default([])
          .describe("names every pool's runners may look up through the DNS listener, answers unfiltered (private addresses kept): the proxy's own name, e.g. chokepoint.ci.svc.cluster.local"),
        rateLimit: z
          .object({
            perSecond: z.number().min(0).default(200).describe('queries per second one source address may send the DNS listener, sustained; 0 turns the limit off'),
            burst: z.number().int().min(1).default(400).describe('queries one source may send at once above perSecond'),
          })
          .strict()
          .prefault({})
          .describe('per-source rate limit of the DNS listener: queries over it are dropped (UDP) or REFUSED (TCP), and counted'),
      })
      .strict()
      .prefault({}),
    timeouts: z
      .object({
        connect: duration('10s'),
        idle: duration('5m'),
        headers: duration('30s'),
        shutdown: duration('30s'),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        maxHeaderBytes: size(16384),
        maxTunnelsPerPool: z.number().int().positive().default(10000),
        h2MaxConcurrentStreams: z.number().int().positive().max(10000).default(100).describe('HTTP/2 streams a client may have open at once on one intercepted connection (SETTINGS_MAX_CONCURRENT_STREAMS)'),
      })
      .strict()
      .prefault({}),
    groups: z.record(z.string(), z.array(entry)).prefault({}),
    tls: z
      .object({
        intercept: interceptSetting.default('none'),
        bypass: z.array(entry).default([]),
        ca: z
          .object({
            cert: z.string().optional(),
            key: z.string().optional(),
            certPem: z.string().optional(),
            keyPem: z.string().optional(),
          })
          .strict()
          .optional(),
        upstreamCAs: z.array(z.string()).default([]).describe('extra CA files trusted for upstream TLS'),
      })
      .strict()
      .prefault({}),
    scan: z
      .object({
        maxBufferBytes: size(8 * 1024 * 1024),
        totalBufferBytes: size(256 * 1024 * 1024),
        oversize: z.enum(['block', 'stream']).default('stream'),
        onError: z.enum(['block', 'allow']).optional().describe('default: block in enforce pools, allow in audit'),
        knownSecrets: z
          .object({
            env: z.array(z.string()).default([]),
            files: z.array(z.string()).default([]),
          })
          .strict()
          .prefault({}),
        canaries: z
          .array(z.string().min(8, 'a canary shorter than 8 characters would match ordinary text'))
          .default([]),
        rules: z.array(z.string()).default([]).describe('extra rule files, YAML or gitleaks TOML'),
        fingerprintKey: z
          .string()
          .superRefine((text, ctx) => {
            // Never echo the value: it is the key that keeps fingerprints from being guessed.
            if (parseBase64Key(text, 32) === undefined) {
              ctx.addIssue({ code: 'custom', message: 'must be base64 of at least 32 bytes (make one with: openssl rand -base64 32)' });
            }
          })
          .optional()
          .describe('HMAC key for finding fingerprints, base64 (>= 32 bytes); give every replica the same one so a secret has one fingerprint fleet-wide. Default: fingerprint.key in stateDir, made on first start'),
      })
      .strict()
      .prefault({}),
    pools: z.array(poolSchema).min(1, 'at least one pool'),
  })
  .strict()
  .strict();

export interface CrossProblem {
  path: Array<string | number>;
  message: string;
}

/**
 * Checks across keys (unique names, group references, reachability of pools). They run
 * on the raw document even when the schema found problems, so every error shows at once.
 */
export function crossCheck(raw: unknown): CrossProblem[] {
  const problems: CrossProblem[] = [];
  const doc = (raw ?? {}) as Record<string, unknown>;
  const groups = isRecord(doc.groups) ? doc.groups : {};
  const pools = Array.isArray(doc.pools) ? doc.pools : [];
  const names = new Set<string>();
  let anonymous = false;
  pools.forEach((value, i) => {
    if (!isRecord(value)) return;
    const pool = value;
    if (typeof pool.name === 'string') {
      if (names.has(pool.name)) problems.push({ path: ['pools', i, 'name'], message: `duplicate pool name '${pool.name}'` });
      names.add(pool.name);
    }
    const hasToken = pool.token !== undefined;
    const hasHash = pool.tokenHash !== undefined;
    const hasSources = Array.isArray(pool.sources) && pool.sources.length > 0;
    if (hasToken && hasHash) problems.push({ path: ['pools', i], message: 'give token or tokenHash, not both' });
    if (!hasToken && !hasHash && !hasSources && pool.anonymous !== true) {
      problems.push({ path: ['pools', i], message: 'no client can reach this pool: give token, tokenHash, sources or anonymous: true' });
    }
    if (pool.anonymous === true) {
      if (anonymous) problems.push({ path: ['pools', i, 'anonymous'], message: 'only one pool can be anonymous' });
      anonymous = true;
    }
    for (const list of ['allow', 'deny'] as const) {
      const entries = pool[list];
      if (!Array.isArray(entries)) continue;
      entries.forEach((text, j) => {
        if (typeof text !== 'string' || !text.startsWith('@')) return;
        const name = text.slice(1);
        if (!Object.hasOwn(groups, name) && !Object.hasOwn(shippedGroups, name)) {
          problems.push({ path: ['pools', i, list, j], message: `unknown group '${text}'` });
        }
      });
    }
  });
  for (const [name, entries] of Object.entries(groups)) {
    if (!Array.isArray(entries)) continue;
    entries.forEach((text, j) => {
      if (typeof text === 'string' && text.startsWith('@')) {
        problems.push({ path: ['groups', name, j], message: 'a group cannot contain another group' });
      }
    });
  }
  const tls = isRecord(doc.tls) ? doc.tls : {};
  if (isRecord(tls.ca)) {
    const ca = tls.ca;
    if (!((ca.cert && ca.key) || (ca.certPem && ca.keyPem))) {
      problems.push({ path: ['tls', 'ca'], message: 'give cert and key (paths), or certPem and keyPem' });
    }
  }
  return problems;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type PoolConfig = Config['pools'][number];
export type InterceptSetting = z.output<typeof interceptSetting>;
