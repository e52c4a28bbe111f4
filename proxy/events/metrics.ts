// Prometheus metrics: a sink of the event bus. Labels are bounded: pools and decisions
// come from the config and closed sets; a destination is the allowlist entry or group
// that matched, else `unlisted` — never a raw host name, URL or client address.
import client, { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../../config/index.js';
import { SCAN_SKIP_REASONS, SCAN_SOURCES, type ProxyEvent } from './events.js';
import { version } from '../version.js';
import { UPSTREAM_REASONS } from '../decide/reasons.js';

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

// Seconds: DNS answers and connects are mostly milliseconds; timeouts are seconds.
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/*
 * With `workers: N` the primary serves the sum of the workers' registries (cluster.ts,
 * prom-client's AggregatorRegistry). Each metric says how its workers' values combine:
 * counters and histograms add up (the default); so do gauges of things each worker holds
 * (tunnels, log streams). Facts every worker shares (build, CA expiry) are not multiplied:
 * build_info stays 1; timestamps take the oldest worker's value (`min`), so a worker that
 * missed a reload shows.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) client.collectDefaultMetrics({ register: registry });
  let pools: string[] = [];

  const requests = new Counter({
    name: 'chokepoint_requests_total',
    help: 'Requests and tunnels that ended, by pool, kind, decision, reason and matched allowlist entry.',
    labelNames: ['pool', 'kind', 'decision', 'reason', 'destination'] as const,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'chokepoint_transferred_bytes_total',
    help: 'Bytes relayed, upstream (client to destination) and downstream.',
    labelNames: ['pool', 'direction'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'chokepoint_request_duration_seconds',
    help: 'Time from request (or CONNECT) to the end of the exchange.',
    labelNames: ['pool', 'kind'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const connectDuration = new Histogram({
    name: 'chokepoint_upstream_connect_duration_seconds',
    help: 'Time to open a new upstream connection: TCP, plus the TLS handshake for HTTPS requests.',
    labelNames: ['pool', 'kind'] as const,
    buckets: FAST_BUCKETS,
    registers: [registry],
  });
  const dnsDuration = new Histogram({
    name: 'chokepoint_dns_lookup_duration_seconds',
    help: 'Time to resolve a destination name, answered or failed.',
    labelNames: ['pool'] as const,
    buckets: FAST_BUCKETS,
    registers: [registry],
  });
  const upstreamErrors = new Counter({
    name: 'chokepoint_upstream_errors_total',
    help: 'Upstream failures by reason (DNS, refused, reset, timeout, TLS).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const newDestinations = new Counter({
    name: 'chokepoint_new_destinations_total',
    help: 'Destinations (host:port) a pool reached for the first time since start.',
    labelNames: ['pool'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'chokepoint_tunnels_active',
    help: 'Open CONNECT tunnels by pool.',
    labelNames: ['pool'] as const,
    aggregator: 'sum',
    registers: [registry],
    collect() {
      for (const pool of pools) this.set({ pool }, options.activeTunnels(pool));
    },
  });
  new Gauge({
    name: 'chokepoint_log_streams_active',
    help: 'Open CI log streams being scanned.',
    aggregator: 'sum',
    registers: [registry],
    collect() {
      this.set(options.logStreamsActive?.() ?? 0);
    },
  });
  const findings = new Counter({
    name: 'chokepoint_secret_findings_total',
    help: 'Credentials found in what leaves (url, header, body) or in CI logs, by rule and verdict.',
    labelNames: ['pool', 'source', 'rule', 'severity', 'verdict', 'action'] as const,
    registers: [registry],
  });
  const canaries = new Counter({
    name: 'chokepoint_canary_triggers_total',
    help: 'Sightings of a canary value: always an incident.',
    labelNames: ['pool'] as const,
    registers: [registry],
  });
  const scanBytes = new Counter({
    name: 'chokepoint_scan_bytes_total',
    help: 'Bytes the secret scanner read, by source (url, header, body, log).',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const scanSkipped = new Counter({
    name: 'chokepoint_scan_skipped_total',
    help: 'Content not (wholly) scanned, by reason (oversize, undecodable or unknown encoding, decoded too large, depth limit).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const logDrops = new Counter({
    name: 'chokepoint_log_dropped_total',
    help: 'What CI log streams could not take, by reason (too-many-streams, oversize, idle-expired, gap, malformed).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of ['too-many-streams', 'oversize', 'idle-expired', 'gap', 'malformed']) logDrops.inc({ reason }, 0);
  const reloads = new Counter({
    name: 'chokepoint_config_reloads_total',
    help: 'Config reloads by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const lastReload = new Gauge({
    name: 'chokepoint_config_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last config load that took effect.',
    aggregator: 'min',
    registers: [registry],
  });
  if (options.caNotAfter) {
    const caNotAfter = options.caNotAfter;
    new Gauge({
      name: 'chokepoint_ca_certificate_expiry_timestamp_seconds',
      help: 'Unix time at which the interception CA certificate expires.',
      aggregator: 'min',
      registers: [registry],
      collect() {
        const notAfter = caNotAfter();
        if (notAfter) this.set(Math.floor(notAfter.getTime() / 1000));
      },
    });
  }
  const buildInfo = new Gauge({
    name: 'chokepoint_build_info',
    help: 'Always 1; the version label says which build runs.',
    labelNames: ['version'] as const,
    aggregator: 'max',
    registers: [registry],
  });
  buildInfo.set({ version }, 1);
  lastReload.setToCurrentTime();
  for (const result of ['success', 'failure']) reloads.inc({ result }, 0);
  for (const reason of UPSTREAM_REASONS) upstreamErrors.inc({ reason }, 0);
  for (const source of SCAN_SOURCES) scanBytes.inc({ source }, 0);
  for (const reason of SCAN_SKIP_REASONS) scanSkipped.inc({ reason }, 0);

  // Bounded: one entry per pool and destination actually reached; cleared on reload.
  const seen = new Set<string>();

  return {
    registry,
    initPools(config) {
      pools = config.pools.map((p) => p.name);
      for (const pool of pools) {
        for (const kind of KINDS) {
          requests.inc({ pool, kind, decision: 'allow', reason: '', destination: 'unlisted' }, 0);
          requests.inc({ pool, kind, decision: 'deny', reason: 'not-allowlisted', destination: 'unlisted' }, 0);
          requests.inc({ pool, kind, decision: 'audit', reason: 'not-allowlisted', destination: 'unlisted' }, 0);
          duration.zero({ pool, kind });
          connectDuration.zero({ pool, kind });
        }
        dnsDuration.zero({ pool });
        for (const direction of ['upstream', 'downstream']) bytes.inc({ pool, direction }, 0);
        newDestinations.inc({ pool }, 0);
        canaries.inc({ pool }, 0);
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
      requests.inc({ pool, kind: event.kind, decision: event.decision, reason: event.reason ?? '', destination: event.destination });
      if (event.bytesUp) bytes.inc({ pool, direction: 'upstream' }, event.bytesUp);
      if (event.bytesDown) bytes.inc({ pool, direction: 'downstream' }, event.bytesDown);
      duration.observe({ pool, kind: event.kind }, event.durationMs / 1000);
      if (event.connectMs !== undefined) connectDuration.observe({ pool, kind: event.kind }, event.connectMs / 1000);
      if (event.dnsMs !== undefined) dnsDuration.observe({ pool }, event.dnsMs / 1000);
      if (event.scanned) {
        for (const source of SCAN_SOURCES) {
          const n = event.scanned[source];
          if (n !== undefined && n > 0) scanBytes.inc({ source }, n);
        }
      }
      for (const reason of event.scanSkipped ?? []) scanSkipped.inc({ reason });
      if (event.reason && (event.reason.startsWith('upstream-') || event.reason.startsWith('dns-'))) upstreamErrors.inc({ reason: event.reason });
      if (event.decision !== 'deny' && event.host) {
        const key = `${pool}\u0000${event.host}:${event.port}`;
        if (!seen.has(key) && seen.size < 100_000) {
          seen.add(key);
          newDestinations.inc({ pool });
        }
      }
    },
  };
}
