// What happens to an exchange after the gate: what a refusal does to its decision, and
// which reason (and status) an upstream failure is reported with. Pure: the exchange
// (proxy/wire/exchange.ts) asks here, for HTTP/1.1, tunnels, intercepted requests and
// HTTP/2 streams alike.
import { POLICY_REASONS, type PolicyReason, type Reason, type UpstreamReason } from './reasons.js';

/** Is this one of the policy's own reasons (as opposed to a transport, scan or lifecycle one)? */
export function isPolicyReason(reason: Reason | undefined): reason is PolicyReason {
  return reason !== undefined && (POLICY_REASONS as readonly string[]).includes(reason);
}

/** Reasons that are the content's fault: the request is refused whatever its status says. */
const CONTENT_REFUSALS: ReadonlySet<Reason> = new Set<Reason>(['secret-exfiltration', 'scan-error', 'body-too-large']);

/** Statuses that are the proxy's own refusal of the request (not a failure it reports). */
const DENYING_STATUSES: ReadonlySet<number> = new Set([400, 403, 413, 421, 431]);

/**
 * What a refusal makes of the exchange's decision: `auth-required` for a 407 challenge,
 * `deny` for the proxy's own refusals (400, 403, 413, 421, 431, or a credential, a scan
 * error or an oversized body however answered); undefined when the decision stays what
 * the policy said (429 too-many-tunnels, 5xx: the policy let it through, the way failed).
 */
export function refusalDecision(status: number, reason: Reason): 'deny' | 'auth-required' | undefined {
  if (status === 407) return 'auth-required';
  if (DENYING_STATUSES.has(status) || CONTENT_REFUSALS.has(reason)) return 'deny';
  return undefined;
}

/** Error codes of a failed TLS handshake with the upstream (certificate, protocol). */
const TLS_ERRORS: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/** An upstream failure as the client is told of it: the reason and the status (504 for timeouts). */
export interface UpstreamFailure {
  reason: UpstreamReason;
  status: 502 | 504;
}

/** The one classifier of upstream socket errors, by their code (`timedOut`: our own timer fired). */
export function upstreamFailure(code: string | undefined, timedOut = false): UpstreamFailure {
  if (timedOut || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return { reason: 'upstream-timeout', status: 504 };
  if (code === 'ECONNREFUSED') return { reason: 'upstream-refused', status: 502 };
  if (code === 'ECONNRESET' || code === 'EPIPE') return { reason: 'upstream-reset', status: 502 };
  if (code !== undefined && (TLS_ERRORS.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))) return { reason: 'upstream-tls-error', status: 502 };
  return { reason: 'upstream-error', status: 502 };
}
