// The exchange: the one record of a request, tunnel, intercepted request, HTTP/2 stream or
// WebSocket, from the moment it is accepted until its egress event. Its fate (decision,
// reason, policyReason) is written here and nowhere else: the type makes those fields
// read-only to every other module, which records what happened through the functions
// below. The policy's reason is kept apart (policyReason), so a later refusal, scan
// verdict or upstream failure replaces `reason` without losing why the policy audited it.
import type { IncomingMessage } from 'node:http';
import type { Verdict } from '../decide/policy.js';
import type { PoolRuntime } from '../decide/runtime.js';
import { isPolicyReason, refusalDecision, upstreamFailure, type UpstreamFailure } from '../decide/outcome.js';
import type { TunnelCloseReason } from '../decide/close-reason.js';
import type { EgressEvent, EgressKind, Reason } from '../events/events.js';

/** The fields only this module writes. */
type Fate = 'decision' | 'reason' | 'policyReason';

/** What an exchange knows so far; becomes the egress event when it ends. */
export type Exchange = Omit<EgressEvent, 'type' | 'durationMs' | Fate> & Readonly<Pick<EgressEvent, Fate>>;

/** The same record with its fate writable: for this module only. */
type Writable = Omit<EgressEvent, 'type' | 'durationMs'>;
const fate = (ex: Exchange): Writable => ex as Writable;

export function newExchange(req: IncomingMessage | undefined, kind: EgressKind, client?: string): Exchange {
  return {
    start: Date.now(),
    pool: '',
    client: client ?? req?.socket.remoteAddress ?? '',
    kind,
    method: req?.method ?? '',
    host: '',
    port: 0,
    decision: 'deny',
    destination: 'unlisted',
    status: 0,
    bytesUp: 0,
    bytesDown: 0,
    findings: 0,
  };
}

/** What the gate said (decide/gate.ts Admission, either way), as an exchange records it. */
export interface AdmissionRecord {
  pool?: PoolRuntime | undefined;
  verdict: Verdict;
  reason?: Reason;
  destination: string;
  address?: string | undefined;
}

/**
 * The gate's answer, copied into the exchange: the one copy for plain requests, tunnels,
 * and the requests, streams and WebSockets inside an intercepted tunnel (which take their
 * tunnel's admission). The decision is the policy's verdict until a refusal or a scan
 * verdict changes it.
 */
export function recordAdmission(ex: Exchange, admission: AdmissionRecord): void {
  const r = fate(ex);
  if (admission.pool) r.pool = admission.pool.config.name;
  r.decision = admission.verdict;
  r.destination = admission.destination;
  if (admission.address) r.address = admission.address;
  if (admission.reason) r.reason = admission.reason;
  if (isPolicyReason(admission.reason)) r.policyReason = admission.reason;
}

/**
 * A refusal by the proxy (answered with a status, or cut once the answer had begun): its
 * reason, and the decision it implies (decide/outcome.ts refusalDecision: a 407 is
 * `auth-required`, the proxy's own refusals `deny`, a 429 or 5xx leaves the policy's).
 */
export function recordRefusal(ex: Exchange, status: number, reason: Reason): void {
  const r = fate(ex);
  r.reason = reason;
  const decision = refusalDecision(status, reason);
  if (decision) r.decision = decision;
}

/**
 * A verdict that lets bytes through or closes a tunnel without an answer: an audit pool's
 * `audit` with the reason it would have refused for (a credential, a scan error, a
 * tunnel's server name), or a tunnel's `deny` for its server name.
 */
export function recordVerdict(ex: Exchange, decision: 'audit' | 'deny', reason: Reason): void {
  const r = fate(ex);
  r.decision = decision;
  r.reason = reason;
}

/** The way failed after the gate (upstream, the client's TLS): the reason; the decision stays. */
export function recordFailure(ex: Exchange, reason: Reason): void {
  fate(ex).reason = reason;
}

/** Has something after the gate (a refusal, verdict or failure) given the exchange its reason? */
export function hasOutcome(ex: Exchange): boolean {
  return ex.reason !== undefined && ex.reason !== ex.policyReason;
}

/**
 * How an established tunnel ended. A reset is a failure (kept unless another came first);
 * a clean close only says so where nothing else gave a reason (an audited tunnel keeps
 * its policy's).
 */
export function recordClose(ex: Exchange, reason: TunnelCloseReason): void {
  if (reason === 'upstream-reset') {
    if (!hasOutcome(ex)) recordFailure(ex, reason);
  } else if (ex.reason === undefined) fate(ex).reason = reason;
}

/** The egress event of a finished exchange. */
export function egressEvent(ex: Exchange, now: number): EgressEvent {
  return { type: 'egress', ...ex, durationMs: now - ex.start };
}

/** The reason and status an upstream socket error is reported with (decide/outcome.ts). */
export function upstreamReason(err: NodeJS.ErrnoException | undefined): UpstreamFailure {
  return upstreamFailure(err?.code);
}
