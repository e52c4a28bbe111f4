// DNS over TLS and DNS over HTTPS (issue #16): port 853 is refused with reason
// dns-over-tls unless an allow entry names the port; the shipped @doh group denies the
// well-known DoH/DoT resolvers by name.
import { describe, expect, test } from 'vitest';
import { parseConfig, shippedGroups } from '../config/full.js';
import { compilePool, decide, type Decision } from '../proxy/decide/policy.js';
import { POLICY_REASONS, REASONS } from '../proxy/decide/reasons.js';
import { normalizeHost, parseAddress } from '../proxy/decide/target.js';

const config = parseConfig(
  `
pools:
  - name: strict
    token: t0ken-for-tests
    mode: enforce
    allow:
      - "*.example.com:*"
      - dot.example.net:853
      - "range.example.net:800-900"
      - "198.51.100.0/24:*"
      - "192.0.2.53/32:853"
      - "@npm"
      - dns.google
    deny: ["@doh"]
  - name: watch
    sources: [127.0.0.0/8]
    mode: audit
    allow: ["*.example.com:*"]
`,
  'test.yaml',
  {},
);
const pools = new Map(config.pools.map((p) => [p.name, compilePool(p, config.groups)]));

function judge(pool: string, host: string, port: number, dns = ['93.184.216.34']): Decision {
  const p = pools.get(pool)!;
  const norm = normalizeHost(host)!;
  const target = { ...norm, port };
  const first = decide({ pool: p, target });
  if (first !== 'resolve') return first;
  const second = decide({ pool: p, target, addresses: dns.map((a) => parseAddress(a)!) });
  if (second === 'resolve') throw new Error('asked to resolve twice');
  return second;
}

describe('port 853 (DNS over TLS)', () => {
  test.each([
    // `:*` does not reach 853; the same host on 443 still goes
    ['strict', 'a.example.com', 853, { verdict: 'deny', reason: 'dns-over-tls' }],
    ['strict', 'a.example.com', 443, { verdict: 'allow' }],
    // unlisted names and IPs on 853: dns-over-tls, not not-allowlisted
    ['strict', 'dot.attacker.example', 853, { verdict: 'deny', reason: 'dns-over-tls' }],
    ['strict', '203.0.113.9', 853, { verdict: 'deny', reason: 'dns-over-tls' }],
    ['strict', '198.51.100.7', 853, { verdict: 'deny', reason: 'dns-over-tls' }],
    ['strict', 'registry.npmjs.org', 853, { verdict: 'deny', reason: 'dns-over-tls' }],
    // an entry naming the port (or a range holding it) re-allows it
    ['strict', 'dot.example.net', 853, { verdict: 'allow', destination: 'dot.example.net:853' }],
    ['strict', 'range.example.net', 853, { verdict: 'allow' }],
    ['strict', '192.0.2.53', 853, { verdict: 'allow', destination: '192.0.2.53/32:853' }],
    // audit mode records it and lets it through, as any refusal
    ['watch', 'a.example.com', 853, { verdict: 'audit', reason: 'dns-over-tls' }],
  ] as const)('%s %s:%d', (pool, host, port, want) => {
    expect(judge(pool, host, port)).toMatchObject(want);
  });

  test('a deny entry still wins over an explicit 853 allow, with its own reason', () => {
    expect(judge('strict', 'dns.google', 853)).toMatchObject({ verdict: 'deny', reason: 'denylisted', destination: '@doh' });
  });

  test('dns-over-tls is one of the closed set of reasons', () => {
    expect(POLICY_REASONS).toContain('dns-over-tls');
    expect(REASONS).toContain('dns-over-tls');
  });
});

describe('@doh', () => {
  test('as a deny entry it refuses the well-known DoH resolvers by name, over any allow', () => {
    for (const host of ['dns.google', 'cloudflare-dns.com', 'mozilla.cloudflare-dns.com', 'dns.quad9.net', 'doh.opendns.com', 'dns.nextdns.io', 'doh.cleanbrowsing.org', 'dns.adguard-dns.com']) {
      expect(judge('strict', host, 443), host).toMatchObject({ verdict: 'deny', reason: 'denylisted', destination: '@doh' });
    }
  });

  test('it holds names only (no IPs, no ports), so it never denies more than the resolvers', () => {
    for (const m of shippedGroups.doh!) expect(m).toMatch(/^(\*\.)?[a-z0-9.-]+$/);
    expect(judge('strict', 'registry.npmjs.org', 443)).toMatchObject({ verdict: 'allow' });
  });
});
