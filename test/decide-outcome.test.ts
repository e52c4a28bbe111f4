// What happens to an exchange after the gate (proxy/decide/outcome.ts), without sockets:
// the decision a refusal leaves on the log line, and the reason and status an upstream
// failure is answered with (one classifier for requests, tunnels, h2 streams, WebSockets).
import { describe, expect, test } from 'vitest';
import { isPolicyReason, refusalDecision, upstreamFailure } from '../proxy/decide/outcome.js';
import { POLICY_REASONS, REASONS } from '../proxy/decide/reasons.js';

describe('the decision a refusal leaves', () => {
  test('a 407 challenge is auth-required, not a denial', () => {
    expect(refusalDecision(407, 'unauthenticated')).toBe('auth-required');
  });

  test("the proxy's own refusals deny", () => {
    for (const [status, reason] of [
      [403, 'not-allowlisted'],
      [403, 'host-mismatch'],
      [400, 'bad-request'],
      [431, 'bad-request'],
      [413, 'body-too-large'],
      [400, 'h2c-not-supported'],
    ] as const) {
      expect(refusalDecision(status, reason)).toBe('deny');
    }
  });

  test('a credential or a scan error denies however it was answered (a cut stream has no 403)', () => {
    expect(refusalDecision(0, 'secret-exfiltration')).toBe('deny');
    expect(refusalDecision(502, 'scan-error')).toBe('deny');
  });

  test("a full pool, a failed upstream or a draining proxy leave the policy's decision", () => {
    expect(refusalDecision(429, 'too-many-tunnels')).toBeUndefined();
    expect(refusalDecision(502, 'upstream-refused')).toBeUndefined();
    expect(refusalDecision(504, 'upstream-timeout')).toBeUndefined();
    expect(refusalDecision(503, 'shutting-down')).toBeUndefined();
    expect(refusalDecision(500, 'internal-error')).toBeUndefined();
  });
});

describe('an upstream failure, by its error code', () => {
  test('each code gets its reason and status', () => {
    expect(upstreamFailure('ECONNREFUSED')).toEqual({ reason: 'upstream-refused', status: 502 });
    expect(upstreamFailure('ECONNRESET')).toEqual({ reason: 'upstream-reset', status: 502 });
    expect(upstreamFailure('EPIPE')).toEqual({ reason: 'upstream-reset', status: 502 });
    expect(upstreamFailure('ETIMEDOUT')).toEqual({ reason: 'upstream-timeout', status: 504 });
    expect(upstreamFailure('ESOCKETTIMEDOUT')).toEqual({ reason: 'upstream-timeout', status: 504 });
    expect(upstreamFailure('CERT_HAS_EXPIRED')).toEqual({ reason: 'upstream-tls-error', status: 502 });
    expect(upstreamFailure('ERR_TLS_CERT_ALTNAME_INVALID')).toEqual({ reason: 'upstream-tls-error', status: 502 });
    expect(upstreamFailure('ERR_SSL_SOMETHING_NEW')).toEqual({ reason: 'upstream-tls-error', status: 502 });
    expect(upstreamFailure('EHOSTUNREACH')).toEqual({ reason: 'upstream-error', status: 502 });
    expect(upstreamFailure(undefined)).toEqual({ reason: 'upstream-error', status: 502 });
  });

  test('our own timer firing is a timeout whatever the code', () => {
    expect(upstreamFailure('ECONNRESET', true)).toEqual({ reason: 'upstream-timeout', status: 504 });
  });
});

test("policyReason takes exactly the policy's reasons", () => {
  expect(REASONS.filter((r) => isPolicyReason(r))).toEqual([...POLICY_REASONS]);
  expect(isPolicyReason(undefined)).toBe(false);
});
