// Prometheus metrics: a sink of the event bus. Labels are bounded: pools and decisions
// come from the config and closed sets; a destination is the allowlist entry or group
// that matched, else `unlisted` — never a raw host name, URL or client address.
import client, { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import type { ProxyEvent } from './events.js';
import { version } from './version.js';

export interface Metrics {
  registry: Registry;
  sink: (event: ProxyEvent) => void;
  /** Start the known series at 0 for the pools of a (new) config. */
  initPools(config: Config): void;
}

export function createMetrics(options: { activeTunnels: (pool: string) => number; defaultMetrics?: boolean }): Metrics {
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
    registers: [registry],
    collect() {
      for (const pool of pools) this.set({ pool }, options.activeTunnels(pool));
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
  const reloads = new Counter({
    name: 'chokepoint_config_reloads_total',
    help: 'Config reloads by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const lastReload = new Gauge({
    name: 'chokepoint_config_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last config load that took effect.',
    registers: [registry],
  });
  const buildInfo = new Gauge({
    name: 'chokepoint_build_info',
    help: 'Always 1; the version label says which build runs.',
    labelNames: ['version'] as const,
    registers: [registry],
  });
  buildInfo.set({ version }, 1);
  lastReload.setToCurrentTime();
  for (const result of ['success', 'failure']) reloads.inc({ result }, 0);
  for (const reason of ['dns-failure', 'dns-timeout', 'upstream-refused', 'upstream-reset', 'upstream-timeout', 'upstream-error', 'upstream-tls-error']) {
    upstreamErrors.inc({ reason }, 0);
  }

  // Bounded: one entry per pool and destination actually reached; cleared on reload.
  const seen = new Set<string>();

  return {
    registry,
    initPools(config) {
      pools = config.pools.map((p) => p.name);
      for (const pool of pools) {
        for (const kind of ['http', 'connect']) {
          requests.inc({ pool, kind, decision: 'allow', reason: '', destination: 'unlisted' }, 0);
          requests.inc({ pool, kind, decision: 'deny', reason: 'not-allowlisted', destination: 'unlisted' }, 0);
          requests.inc({ pool, kind, decision: 'audit', reason: 'not-allowlisted', destination: 'unlisted' }, 0);
        }
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
      const pool = event.pool || 'none';
      requests.inc({ pool, kind: event.kind, decision: event.decision, reason: event.reason ?? '', destination: event.destination });
      if (event.bytesUp) bytes.inc({ pool, direction: 'upstream' }, event.bytesUp);
      if (event.bytesDown) bytes.inc({ pool, direction: 'downstream' }, event.bytesDown);
      duration.observe({ pool, kind: event.kind }, event.durationMs / 1000);
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
