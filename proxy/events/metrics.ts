// Prometheus metrics: a sink of the event bus. Labels are bounded: pools and decisions
// come from the config and closed sets; a destination is the allowlist entry or group
// that matched, else `unlisted` — never a raw host name, URL or client address. One
// exception, bounded by count: chokepoint_denied_destinations_total names the hosts a pool
// was denied, the first DENIED_HOSTS_PER_POOL of them (then `other`), reset on reload.
import client, { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../../config/index.js';
import { SCAN_SKIP_REASONS, SCAN_SOURCES, type ProxyEvent } from './events.js';
import { version } from '../version.js';
import { UPSTREAM_REASONS } from '../decide/reasons.js';
import { TLS_ALERT_NAMES } from '../decide/tls-alert.js';

export interface Metrics {
  registry: Registry;
  sink: (event: ProxyEvent) => void;
  /** Start the known series at 0 for the pools of a (new) config. */
  initPools(config: Config): void;
}

export interface MetricsOptions {
  /** Open CONNECT tunnels of a pool (read at scrape time). */
  activeTunnels: (pool: string) => number;
  /** Open CI log streams (read at scrape time); the log ingest provides it. Absent: 0. */
  logStreamsActive?: () => number;
  /**
   * The interception CA's expiry (LeafIssuer.caNotAfter). Absent when no pool intercepts:
   * then `chokepoint_ca_certificate_expiry_timestamp_seconds` is not exported at all (an
   * alert on it sees no series rather than a false 0).
   */
  caNotAfter?: () => Date | undefined;
  defaultMetrics?: boolean;
}

const KINDS = ['http', 'connect', 'intercept', 'websocket'] as const;

/** How many distinct hosts chokepoint_denied_destinations_total names per pool before `other`. */
export const DENIED_HOSTS_PER_POOL = 100;
/** The host label for every denied host past the bound (and for one that is no host name). */
export const OTHER_HOST = 'other';

/** A host as a label value: lower case, no trailing dot; `other` for nothing or over 253 characters. */
function hostLabel(host: string): string {
  const lower = host.toLowerCase();
  const h = lower.endsWith('.') ? lower.slice(0, -1) : lower;
  return h.length === 0 || h.length > 253 ? OTHER_HOST : h;
}

// Seconds: DNS answers and connects are mostly milliseconds; timeouts are seconds.
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One metric of the table: what every metric states. */
interface Spec<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}
interface CounterSpec<L extends string> extends Spec<L> {
  type: 'counter';
}
interface HistogramSpec<L extends string> extends Spec<L> {
  type: 'histogram';
  buckets: readonly number[];
}
interface GaugeSpec<L extends string> extends Spec<L> {
  type: 'gauge';
  /**
   * With `workers: N` the primary serves the sum of the workers' registries (cluster.ts,
   * prom-client's AggregatorRegistry): counters and histograms add up; a gauge says how
   * its workers' values combine. Things each worker holds (tunnels, log streams) add up;
   * facts every worker shares are not multiplied: build_info takes the max (1), timestamps
   * the oldest worker's value (`min`), so a worker that missed a reload shows.
   */
  aggregator: 'sum' | 'min' | 'max';
}
type AnySpec = CounterSpec<string> | HistogramSpec<string> | GaugeSpec<string>;

const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): CounterSpec<L> => ({ type: 'counter', name, help, labelNames });
const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]): HistogramSpec<L> => ({ type: 'histogram', name, help, labelNames, buckets });
const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], aggregator: GaugeSpec<L>['aggregator']): GaugeSpec<L> => ({ type: 'gauge', name, help, labelNames, aggregator });

/** Every metric Chokepoint exports, declared once. docs/observability.md describes each. */
export const METRICS = {
  requests: counter('chokepoint_requests_total', 'Requests and tunnels that ended, by pool, kind, decision, reason and matched allowlist entry.', ['pool', 'kind', 'decision', 'reason', 'destination']),
  bytes: counter('chokepoint_transferred_bytes_total', 'Bytes relayed, upstream (client to destination) and downstream.', ['pool', 'direction']),
  duration: histogram('chokepoint_request_duration_seconds', 'Time from request (or CONNECT) to the end of the exchange.', ['pool', 'kind'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]),
  connectDuration: histogram('chokepoint_upstream_connect_duration_seconds', 'Time to open a new upstream connection: TCP, plus the TLS handshake for HTTPS requests.', ['pool', 'kind'], FAST_BUCKETS),
  dnsDuration: histogram('chokepoint_dns_lookup_duration_seconds', 'Time to resolve a destination name, answered or failed.', ['pool'], FAST_BUCKETS),
  clientTlsFailures: counter('chokepoint_client_tls_failures_total', 'Intercepted tunnels whose client failed the TLS handshake with our leaf certificate (does not trust the CA, no common ALPN protocol), by pool and the TLS alert.', ['pool', 'alert']),
  upstreamErrors: counter('chokepoint_upstream_errors_total', 'Upstream failures by reason (DNS, refused, reset, timeout, TLS).', ['reason']),
  newDestinations: counter('chokepoint_new_destinations_total', 'Destinations (host:port) a pool reached for the first time since start.', ['pool']),
  deniedDestinations: counter('chokepoint_denied_destinations_total', 'Denied requests and tunnels (decision deny) by pool and destination host: the first 100 hosts each pool was denied since start or the last reload, every later one as host="other".', ['pool', 'host']),
  tunnelsActive: gauge('chokepoint_tunnels_active', 'Open CONNECT tunnels by pool.', ['pool'], 'sum'),
  logStreamsActive: gauge('chokepoint_log_streams_active', 'Open CI log streams being scanned.', [], 'sum'),
  findings: counter('chokepoint_secret_findings_total', 'Credentials found in what leaves (url, header, body, websocket, host names, DNS query names) or in CI logs, by rule and verdict.', ['pool', 'source', 'rule', 'severity', 'verdict', 'action']),
  canaries: counter('chokepoint_canary_triggers_total', 'Sightings of a canary value: always an incident.', ['pool']),
  scanBytes: counter('chokepoint_scan_bytes_total', 'Bytes the secret scanner read, by source (url, header, body, log).', ['source']),
  scanSkipped: counter('chokepoint_scan_skipped_total', 'Content not (wholly) scanned, by reason (oversize, undecodable or unknown encoding, decoded too large, depth limit).', ['reason']),
  logDrops: counter('chokepoint_log_dropped_total', 'What CI log streams could not take, by reason (too-many-streams, oversize, idle-expired, gap, malformed).', ['reason']),
  dnsQueries: counter('chokepoint_dns_queries_total', 'DNS queries the DNS listener answered, by pool (none: a client in no pool), decision (allow, deny, audit, refused) and qtype (A, AAAA, CNAME, TXT, MX, SRV, HTTPS, other).', ['pool', 'decision', 'qtype']),
  dnsUpstreamDuration: histogram('chokepoint_dns_upstream_duration_seconds', "Time the DNS listener's upstream servers took to answer a forwarded query, answered or failed.", [], FAST_BUCKETS),
  dnsRateLimited: counter('chokepoint_dns_rate_limited_total', 'DNS queries dropped (UDP) or refused (TCP) because their source sent more than dns.rateLimit allows.', ['pool']),
  reloads: counter('chokepoint_config_reloads_total', 'Config reloads by result.', ['result']),
  lastReload: gauge('chokepoint_config_last_reload_success_timestamp_seconds', 'Unix time of the last config load that took effect.', [], 'min'),
  caExpiry: gauge('chokepoint_ca_certificate_expiry_timestamp_seconds', 'Unix time at which the interception CA certificate expires.', [], 'min'),
  buildInfo: gauge('chokepoint_build_info', 'Always 1; the version label says which build runs.', ['version'], 'max'),
} as const;

type Declared<T> = T extends CounterSpec<infer L> ? Counter<L> : T extends HistogramSpec<infer L> ? Histogram<L> : T extends GaugeSpec<infer L> ? Gauge<L> : never;
type MetricSet = { [K in keyof typeof METRICS]: Declared<(typeof METRICS)[K]> };
/** What a gauge reads at scrape time, for the gauges that are read rather than set. */
type Collectors = Partial<Record<keyof typeof METRICS, (g: Gauge<string>) => void>>;
/** Metrics left out of this registry (the CA expiry when nothing intercepts). */
type Omitted = ReadonlySet<keyof typeof METRICS>;

/** Counters whose per-request increments are added up outside prom-client: what hands them over when the counter is read. */
type Flushers = Partial<Record<keyof typeof METRICS, () => void>>;

function declare(spec: AnySpec, registry: Registry, collect: ((g: Gauge<string>) => void) | undefined, flush?: () => void): Counter<string> | Histogram<string> | Gauge<string> {
  const common = { name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [registry] };
  if (spec.type === 'counter') return new Counter(flush ? { ...common, collect: flush } : common);
  if (spec.type === 'histogram') return new Histogram({ ...common, buckets: [...spec.buckets] });
  return new Gauge({
    ...common,
    aggregator: spec.aggregator,
    ...(collect
      ? {
          collect(this: Gauge<string>) {
            collect(this);
          },
        }
      : {}),
  });
}

/** The table, declared into one registry. An omitted metric is declared into none (never exported). */
function declareAll(registry: Registry, collectors: Collectors, omitted: Omitted, flushers: Flushers = {}): MetricSet {
  const out: Record<string, Counter<string> | Histogram<string> | Gauge<string>> = {};
  for (const [key, spec] of Object.entries(METRICS) as Array<[keyof typeof METRICS, AnySpec]>) {
    out[key] = declare(spec, omitted.has(key) ? new Registry() : registry, collectors[key], flushers[key]);
  }
  // The table's keys and types are METRICS' own: the record built from it has them all.
  return out as unknown as MetricSet;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) client.collectDefaultMetrics({ register: registry });
  let pools: string[] = [];
  const caNotAfter = options.caNotAfter;
  // The counters every request adds to, added up here per label set and handed to
  // prom-client when it is read: its inc hashes and checks the labels on every call (the
  // metrics sink was ~4 us of CPU per request, most of it that: issue #19). A scrape sees
  // the same totals. Bounded as the label sets are.
  const tallies = {
    requests: new Tally(() => m.requests),
    bytes: new Tally(() => m.bytes),
    scanBytes: new Tally(() => m.scanBytes),
  };
  const m = declareAll(
    registry,
    {
      tunnelsActive: (g) => {
        for (const pool of pools) g.set({ pool }, options.activeTunnels(pool));
      },
      logStreamsActive: (g) => g.set(options.logStreamsActive?.() ?? 0),
      caExpiry: (g) => {
        const notAfter = caNotAfter?.();
        if (notAfter) g.set(Math.floor(notAfter.getTime() / 1000));
      },
    },
    new Set(caNotAfter ? [] : ['caExpiry'] as const),
    // Read at scrape time (prom-client calls collect before it reads a counter).
    { requests: () => tallies.requests.flush(), bytes: () => tallies.bytes.flush(), scanBytes: () => tallies.scanBytes.flush() },
  );
  const { clientTlsFailures } = m;
  const { deniedDestinations } = m;
  const { requests, bytes, duration, connectDuration, dnsDuration, upstreamErrors, newDestinations, findings, canaries, scanBytes, scanSkipped, logDrops, reloads, lastReload, buildInfo, dnsQueries, dnsUpstreamDuration, dnsRateLimited } = m;

  for (const reason of ['too-many-streams', 'oversize', 'idle-expired', 'gap', 'malformed']) logDrops.inc({ reason }, 0);
  buildInfo.set({ version }, 1);
  lastReload.setToCurrentTime();
  for (const result of ['success', 'failure']) reloads.inc({ result }, 0);
  for (const reason of UPSTREAM_REASONS) upstreamErrors.inc({ reason }, 0);
  dnsQueries.inc({ pool: 'none', decision: 'refused', qtype: 'A' }, 0);
  dnsRateLimited.inc({ pool: 'none' }, 0);
  for (const source of SCAN_SOURCES) scanBytes.inc({ source }, 0);
  for (const reason of SCAN_SKIP_REASONS) scanSkipped.inc({ reason }, 0);

  // Bounded: one entry per pool and destination actually reached; cleared on reload.
  const seen = new Set<string>();
  // Per pool, the hosts chokepoint_denied_destinations_total names (at most DENIED_HOSTS_PER_POOL).
  const deniedHosts = new Map<string, Set<string>>();

  return {
    registry,
    initPools(config) {
      pools = config.pools.map((p) => p.name);
      // A new config starts the denied hosts afresh: the bound holds per config, not forever.
      deniedDestinations.reset();
      deniedHosts.clear();
      for (const pool of pools) {
        for (const kind of KINDS) {
          requests.inc({ pool, kind, decision: 'allow', reason: '', destination: 'unlisted' }, 0);
          requests.inc({ pool, kind, decision: 'deny', reason: 'not-allowlisted', destination: 'unlisted' }, 0);
          requests.inc({ pool, kind, decision: 'audit', reason: 'not-allowlisted', destination: 'unlisted' }, 0);
          duration.zero({ pool, kind });
          connectDuration.zero({ pool, kind });
        }
        dnsDuration.zero({ pool });
        for (const decision of ['allow', 'deny', 'audit']) dnsQueries.inc({ pool, decision, qtype: 'A' }, 0);
        dnsRateLimited.inc({ pool }, 0);
        for (const direction of ['upstream', 'downstream']) bytes.inc({ pool, direction }, 0);
        newDestinations.inc({ pool }, 0);
        deniedDestinations.inc({ pool, host: OTHER_HOST }, 0);
        canaries.inc({ pool }, 0);
        clientTlsFailures.inc({ pool, alert: 'unknown_ca' }, 0);
      }
    },
    sink(event) {
      if (event.type === 'reload') {
        reloads.inc({ result: event.result });
        if (event.result === 'success') lastReload.setToCurrentTime();
        return;
      }
      if (event.type === 'finding') {
        const pool = event.pool || 'none';
        // `rule` is bounded by the rule pack (shipped and the operator's files).
        findings.inc({ pool, source: event.source, rule: event.rule, severity: event.severity, verdict: event.verdict, action: event.action });
        if (event.known === 'canary') canaries.inc({ pool });
        return;
      }
      if (event.type === 'dns') {
        dnsQueries.inc({ pool: event.pool || 'none', decision: event.decision, qtype: event.qtypeLabel });
        if (event.upstreamMs !== undefined) dnsUpstreamDuration.observe(event.upstreamMs / 1000);
        return;
      }
      if (event.type === 'dns-rate-limited') {
        dnsRateLimited.inc({ pool: event.pool || 'none' }, event.count);
        return;
      }
      if (event.type === 'log-drop') {
        logDrops.inc({ reason: event.reason }, event.count);
        return;
      }
      if (event.type === 'scan') {
        if (event.bytes > 0) scanBytes.inc({ source: event.source }, event.bytes);
        if (event.skipped) scanSkipped.inc({ reason: event.skipped });
        return;
      }
      const pool = event.pool || 'none';
      const reason = event.reason ?? '';
      tallies.requests.add(`${pool}\0${event.kind}\0${event.decision}\0${reason}\0${event.destination}`, 1, () => ({ pool, kind: event.kind, decision: event.decision, reason, destination: event.destination }));
      if (event.bytesUp) tallies.bytes.add(`${pool}\0u`, event.bytesUp, () => ({ pool, direction: 'upstream' }));
      if (event.bytesDown) tallies.bytes.add(`${pool}\0d`, event.bytesDown, () => ({ pool, direction: 'downstream' }));
      duration.observe({ pool, kind: event.kind }, event.durationMs / 1000);
      if (event.connectMs !== undefined) connectDuration.observe({ pool, kind: event.kind }, event.connectMs / 1000);
      if (event.dnsMs !== undefined) dnsDuration.observe({ pool }, event.dnsMs / 1000);
      if (event.scanned) {
        for (const source of SCAN_SOURCES) {
          const n = event.scanned[source];
          if (n !== undefined && n > 0) tallies.scanBytes.add(source, n, () => ({ source }));
        }
      }
      for (const reason of event.scanSkipped ?? []) scanSkipped.inc({ reason });
      if (event.reason === 'client-tls-failed') {
        const alert = event.tlsAlert !== undefined && TLS_ALERT_NAMES.includes(event.tlsAlert) ? event.tlsAlert : 'other';
        clientTlsFailures.inc({ pool, alert });
      }
      if (event.reason && (UPSTREAM_REASONS as readonly string[]).includes(event.reason)) upstreamErrors.inc({ reason: event.reason });
      if (event.decision === 'deny') {
        let hosts = deniedHosts.get(pool);
        if (!hosts) deniedHosts.set(pool, (hosts = new Set()));
        let host = hostLabel(event.host);
        if (!hosts.has(host)) {
          if (hosts.size < DENIED_HOSTS_PER_POOL && host !== OTHER_HOST) hosts.add(host);
          else host = OTHER_HOST;
        }
        deniedDestinations.inc({ pool, host });
      }
      if ((event.decision === 'allow' || event.decision === 'audit') && event.host) {
        const key = `${pool}\u0000${event.host}:${event.port}`;
        if (!seen.has(key) && seen.size < 100_000) {
          seen.add(key);
          newDestinations.inc({ pool });
        }
      }
    },
  };
}

/**
 * Increments of one counter added up per label set (keyed by the caller's join of the
 * label values), handed to the counter when it is read. `labels` is called once per new
 * label set.
 */
class Tally {
  private readonly sets = new Map<string, { labels: Record<string, string>; n: number }>();
  constructor(private readonly counter: () => Counter<string>) {}

  add(key: string, n: number, labels: () => Record<string, string>): void {
    const set = this.sets.get(key);
    if (set) set.n += n;
    else this.sets.set(key, { labels: labels(), n });
  }

  flush(): void {
    const counter = this.counter();
    for (const set of this.sets.values()) if (set.n > 0) counter.inc(set.labels, set.n);
    this.sets.clear(); // what a scrape saw is the counter's; label sets gone after a reload go too
  }
}
