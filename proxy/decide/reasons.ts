// Why an exchange ended the way it did, when not plainly allowed: one closed set, each
// name documented in docs/config.md ("Refusal reasons"). The types are derived from the
// lists, so a reason exists once.

/** The policy's own reasons: why a destination was (or, in audit mode, would have been) refused. */
export const POLICY_REASONS = ['not-allowlisted', 'denylisted', 'private-address', 'port-not-allowed', 'proxy-loop', 'dns-over-tls'] as const;
export type PolicyReason = (typeof POLICY_REASONS)[number];

/** Why the way to the destination failed: name resolution, connection, TLS. A metric label. */
export const UPSTREAM_REASONS = [
  'dns-failure',
  'dns-timeout',
  'upstream-refused',
  'upstream-reset',
  'upstream-timeout',
  'upstream-error',
  'upstream-tls-error',
] as const;
export type UpstreamReason = (typeof UPSTREAM_REASONS)[number];

/** Every reason an egress line can carry: the policy's, then transport, scanning and lifecycle. */
export const REASONS = [
  ...POLICY_REASONS,
  'sni-mismatch',
  'sni-required',
  'unauthenticated',
  'bad-request',
  ...UPSTREAM_REASONS,
  'too-many-tunnels',
  'internal-error',
  'host-mismatch',
  'client-tls-failed',
  'h2c-not-supported',
  'h2-prior-knowledge-not-supported',
  'secret-exfiltration',
  'scan-error',
  'body-too-large',
  'shutting-down',
  // How an established tunnel ended (proxy/decide/close-reason.ts); 'upstream-reset' above.
  'closed',
  'client-closed',
  'upstream-closed',
] as const;
export type Reason = (typeof REASONS)[number];
