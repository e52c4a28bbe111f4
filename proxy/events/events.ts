// The one typed stream of what happened. The proxy emits; the access log and the metrics
// are sinks. No module logs or counts on its own.
import type { Verdict } from '../decide/policy.js';
import type { Reason } from '../decide/reasons.js';
import type { ContentScanErrorCode } from '../../detectors/decode.js';
import type { FindingAction, FindingSource, FindingVerdict } from '../decide/judge.js';
import type { DnsDecision, DnsReason, QtypeLabel } from '../decide/dns.js';

export type EgressKind = 'http' | 'connect' | 'intercept' | 'websocket';

export type { Reason } from '../decide/reasons.js';

/**
 * What became of a request or tunnel: the policy's verdict, or `auth-required` for a 407
 * challenge (no or wrong proxy credentials where a pool needs them). A challenge is not a
 * denial: clients such as git send their first CONNECT without credentials and retry with
 * them, so counting it as `deny` would fill the denied panel and alert with no-ops.
 */
export type Decision = Verdict | 'auth-required';
export const DECISIONS: readonly Decision[] = ['allow', 'deny', 'audit', 'auth-required'];

/** One request or tunnel, emitted once when it ends. */
export interface EgressEvent {
  type: 'egress';
  /** ms since epoch at the start. */
  start: number;
  pool: string;
  client: string;
  kind: EgressKind;
  method: string;
  host: string;
  port: number;
  /** The address connected to (or that would have been). */
  address?: string;
  sni?: string;
  /** A CONNECT tunnel that was opened (TLS intercepted); its requests have lines of their own. */
  intercepted?: boolean;
  /** Intercepted requests: the HTTP version the client spoke inside the tunnel (`1.1` or `2`). */
  httpVersion?: '1.1' | '2';
  /**
   * Reason `client-tls-failed`: the TLS alert that ended the client's handshake with our
   * leaf certificate (decide/tls-alert.ts names: `unknown_ca`, `bad_certificate`,
   * `no_application_protocol`..., `none` when the client went away without one).
   */
  tlsAlert?: string;
  /** Path without its query string (plain HTTP and intercepted requests). */
  path?: string;
  decision: Decision;
  reason?: Reason;
  /** Allowlist entry or group that matched, else `unlisted` (bounded: used as a metric label). */
  destination: string;
  status: number;
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
  findings: number;
  /**
   * Time spent resolving the destination name (ms), when a lookup happened. Set by the
   * gate (proxy/decide/gate.ts `admit(..., timing)`): the caller passes the exchange as `timing`.
   */
  dnsMs?: number;
  /**
   * Time to connect upstream (ms): TCP, plus the TLS handshake for HTTPS. Only when a new
   * connection was made (a reused keep-alive socket has none). HTTP requests: set by
   * proxy/wire/forward.ts (`Forwarder.request(..., timing)`: the exchange passes itself).
   * CONNECT tunnels: set by proxy/wire/tunnel.ts as `ex.connectMs` once `net.connect` to the
   * checked address succeeds (TCP only; the client does its own TLS).
   */
  connectMs?: number;
  /** Bytes the secret scanner read, by where they were (see `noteScanned`). */
  scanned?: ScanBytes;
  /** Content the scanner could not (wholly) read, and why (see `noteScanSkipped`). */
  scanSkipped?: ScanSkipReason[];
}

/** Where scanned bytes were: request target, forwarded headers, body; `log` for CI logs. */
export type ScanSource = FindingSource;
export type ScanBytes = Partial<Record<ScanSource, number>>;

/**
 * Why content was not (wholly) scanned. A closed set: it is a metric label.
 * - `oversize`: a body over scan.maxBufferBytes (refused, or streamed and scanned raw).
 * - `undecodable-encoding`, `unknown-encoding`, `decoded-too-large`, `depth-limit`: the
 *   content scanner's error codes (detectors/decode.ts ContentScanErrorCode).
 */
export type ScanSkipReason = 'oversize' | ContentScanErrorCode;
export const SCAN_SKIP_REASONS: readonly ScanSkipReason[] = ['oversize', 'undecodable-encoding', 'unknown-encoding', 'decoded-too-large', 'depth-limit'];
export const SCAN_SOURCES: readonly ScanSource[] = ['url', 'header', 'body', 'log', 'websocket'];

/**
 * Record scanned bytes on an exchange (or anything carrying `scanned`). Where the HTTP
 * exchange (proxy/wire/http-exchange.ts) calls it: after scanUrl, `noteScanned(ex, 'url',
 * Buffer.byteLength(path))`; after scanHeaders, the bytes of the scanned header names and
 * values; for a held body, `result.scannedBytes` of scanContent; for a streamed body, the
 * scanner's `scannedBytes` at the end.
 */
export function noteScanned(ex: { scanned?: ScanBytes }, source: ScanSource, bytes: number): void {
  if (!(bytes > 0)) return;
  const scanned = (ex.scanned ??= {});
  scanned[source] = (scanned[source] ?? 0) + bytes;
}

/**
 * Record content that was not (wholly) scanned. The HTTP exchange calls it for each
 * `result.errors[].code` of a body scan, and with `oversize` when a body passes
 * scan.maxBufferBytes (refused with 413 or streamed).
 */
export function noteScanSkipped(ex: { scanSkipped?: ScanSkipReason[] }, reason: ScanSkipReason): void {
  (ex.scanSkipped ??= []).push(reason);
}

/**
 * Scanning that belongs to no egress event: CI log streams (source `log`). The log ingest
 * emits one when it has scanned a chunk (or at the end of a stream); `skipped` says a
 * part was not scanned and why.
 */
export interface ScanEvent {
  type: 'scan';
  pool: string;
  source: ScanSource;
  bytes: number;
  skipped?: ScanSkipReason;
}

/**
 * Something a CI log stream could not take: a refused stream, unscanned bytes, an idle
 * stream closed, a gap that never filled, malformed lines. Counted, logged, never fatal.
 */
export interface LogDropEvent {
  type: 'log-drop';
  pool: string;
  /** DropReason of proxy/logs/streams.ts: too-many-streams | oversize | idle-expired | gap | malformed. */
  reason: string;
  count: number;
  job?: string;
}

/** One credential found in what leaves (or in a log). Never carries the value. */
export interface FindingEvent {
  type: 'finding';
  pool: string;
  client: string;
  host: string;
  kind: EgressKind | 'log' | 'dns';
  source: FindingSource;
  /** For header findings: which header. */
  header?: string;
  rule: string;
  title: string;
  severity: string;
  verdict: FindingVerdict;
  action: FindingAction;
  fingerprint: string;
  redacted: string;
  /** Set for known-secret and canary matches. */
  known?: 'secret' | 'canary';
  decodedFrom?: string[];
  /** Found while the body was already streaming upstream: part of it may have left. */
  partial?: boolean;
  /** For log findings: the job and its line. */
  job?: string;
  line?: number;
}

export interface ReloadEvent {
  type: 'reload';
  result: 'success' | 'failure';
  source: string;
  /** On failure: the problems, already free of secret values (config errors name keys and lines). */
  error?: string;
}

/**
 * One DNS query the DNS listener answered (proxy/wire/dns-listener.ts), emitted once when
 * answered. The access log writes it as an `egress` line with `"kind":"dns"`.
 */
export interface DnsEvent {
  type: 'dns';
  start: number;
  /** The pool that owns the client by its source address; `none` when no pool does. */
  pool: string;
  client: string;
  kind: 'dns';
  protocol: 'udp' | 'tcp';
  /** The query name, lower case, no trailing dot; labels before the last two redacted when it held a finding. */
  host: string;
  /** The query type as the wire names it (`A`, `HTTPS`, `TYPE65534`). */
  qtype: string;
  /** The bounded metric label of qtype. */
  qtypeLabel: QtypeLabel;
  decision: DnsDecision;
  reason?: DnsReason;
  /** Allowlist entry or group that matched, else `unlisted` (as egress lines). */
  destination: string;
  rcode: string;
  /** Records in the answer section sent. */
  answers: number;
  /** Records removed by the address policy. */
  stripped?: number;
  /** Time the upstream took, when this query asked one (not from the cache). */
  upstreamMs?: number;
  /** Answered from the cache (or a query in flight for the same question). */
  cached?: boolean;
  /** The answer did not fit the client's UDP size: sent with TC, the client retries over TCP. */
  truncated?: boolean;
  findings: number;
  durationMs: number;
}

/** Queries the DNS listener dropped (UDP) or refused (TCP) for a source over its rate. */
export interface DnsRateLimitedEvent {
  type: 'dns-rate-limited';
  pool: string;
  count: number;
}

export type ProxyEvent = EgressEvent | FindingEvent | ReloadEvent | ScanEvent | LogDropEvent | DnsEvent | DnsRateLimitedEvent;

export type Sink = (event: ProxyEvent) => void;

/** A minimal synchronous fan-out: sinks are few and fixed, so an array beats an EventEmitter. */
export class EventBus {
  private sinks: Sink[] = [];

  subscribe(sink: Sink): () => void {
    this.sinks.push(sink);
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  emit(event: ProxyEvent): void {
    for (const sink of this.sinks) {
      try {
        sink(event);
      } catch {
        // A failing sink must not break the request path or the other sinks.
      }
    }
  }
}
