// The one typed stream of what happened. The proxy emits; the access log and the metrics
// are sinks. No module logs or counts on its own.
import type { Verdict } from './policy.js';
import type { FindingAction, FindingSource, FindingVerdict } from './judge.js';

export type EgressKind = 'http' | 'connect' | 'intercept' | 'websocket';

/** Why a request ended the way it did, when not plainly allowed. A closed, documented set. */
export type Reason =
  | 'not-allowlisted'
  | 'denylisted'
  | 'private-address'
  | 'port-not-allowed'
  | 'proxy-loop'
  | 'sni-mismatch'
  | 'sni-required'
  | 'unauthenticated'
  | 'bad-request'
  | 'dns-failure'
  | 'dns-timeout'
  | 'upstream-refused'
  | 'upstream-reset'
  | 'upstream-timeout'
  | 'upstream-error'
  | 'upstream-tls-error'
  | 'too-many-tunnels'
  | 'internal-error'
  | 'host-mismatch'
  | 'secret-exfiltration'
  | 'scan-error'
  | 'body-too-large'
  | 'shutting-down';

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
  /** Path without its query string (plain HTTP and intercepted requests). */
  path?: string;
  decision: Verdict;
  reason?: Reason;
  /** Allowlist entry or group that matched, else `unlisted` (bounded: used as a metric label). */
  destination: string;
  status: number;
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
  findings: number;
}

/** One credential found in what leaves (or in a log). Never carries the value. */
export interface FindingEvent {
  type: 'finding';
  pool: string;
  client: string;
  host: string;
  kind: EgressKind | 'log';
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

export type ProxyEvent = EgressEvent | FindingEvent | ReloadEvent;

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
