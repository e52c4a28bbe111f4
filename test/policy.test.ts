// Table-driven tests of the pure access decision: no sockets, no DNS.
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../config/full.js';
import { compilePool, decide, type Decision, type PoolPolicy } from '../proxy/decide/policy.js';
import { normalizeHost, parseAddress, type Target } from '../proxy/decide/target.js';

const config = parseConfig(
  `
groups:
  origin: [127.0.0.1/32:18080]
  db: [10.20.0.0/16:5432]
pools:
  - name: strict
    token: t0ken-for-tests
    mode: enforce
    allow:
      - "@origin"
      - "@db"
      - api.github.com
      - "*.githubusercontent.com"
      - productionresultssa*.blob.core.windows.net
      - registry.example.com:5000
      - bücher.de
      - "[2001:4860::]/32:443"
      - 203.0.113.7
      - "@npm"
      - localhost:18081
    deny:
      - gist.githubusercontent.com
      - 10.20.5.0/24
  - name: watch
    sources: [127.0.0.0/8]
    mode: audit
    allow: [api.github.com]
`,
  'test.yaml',
  {},
);

const pools = new Map<string, PoolPolicy>(config.pools.map((p) => [p.name, compilePool(p, config.groups)]));

function target(host: string, port: number): Target {
  const norm = normalizeHost(host);
  if (!norm) throw new Error(`test target ${host} is not a valid host`);
  return { ...norm, port };
}

/** Decide as the proxy does: by name, then (if asked) with the given DNS answer. */
function judge(pool: string, host: string, port: number, dns: string[] = ['93.184.216.34']): Decision {
  const p = pools.get(pool);
  if (!p) throw new Error(pool);
  const t = target(host, port);
  const first = decide({ pool: p, target: t });
  if (first !== 'resolve') return first;
  const addresses = dns.map((a) => {
    const ip = parseAddress(a);
    if (!ip) throw new Error(a);
    return ip;
  });
  const second = decide({ pool: p, target: t, addresses });
  if (second === 'resolve') throw new Error('asked to resolve twice');
  return second;
}

const allow = (destination: string) => ({ verdict: 'allow', destination });
const deny = (reason: string) => expect.objectContaining({ verdict: 'deny', reason });

describe('enforce pool', () => {
  test.each([
    // exact hosts, case, trailing dot
    ['api.github.com', 443, undefined, allow('api.github.com')],
    ['API.GitHub.COM', 443, undefined, allow('api.github.com')],
    ['api.github.com.', 80, undefined, allow('api.github.com')],
    ['github.com', 443, undefined, deny('not-allowlisted')],
    // matched whole, never as a prefix or suffix
    ['api.github.com.evil.net', 443, undefined, deny('not-allowlisted')],
    ['evilapi.github.com', 443, undefined, deny('not-allowlisted')],
    // default ports are 80 and 443 only
    ['api.github.com', 22, undefined, deny('port-not-allowed')],
    ['registry.example.com', 5000, undefined, allow('registry.example.com:5000')],
    ['registry.example.com', 443, undefined, deny('port-not-allowed')],
    // wildcard: any depth, not the apex
    ['raw.githubusercontent.com', 443, undefined, allow('*.githubusercontent.com')],
    ['a.b.c.githubusercontent.com', 443, undefined, allow('*.githubusercontent.com')],
    ['githubusercontent.com', 443, undefined, deny('not-allowlisted')],
    ['xgithubusercontent.com', 443, undefined, deny('not-allowlisted')],
    // deny wins over allow, and covers every port
    ['gist.githubusercontent.com', 443, undefined, deny('denylisted')],
    ['GIST.githubusercontent.com.', 8443, undefined, deny('denylisted')],
    // glob inside the first label
    ['productionresultssa12.blob.core.windows.net', 443, undefined, allow('productionresultssa*.blob.core.windows.net')],
    ['productionresultssa.blob.core.windows.net', 443, undefined, allow('productionresultssa*.blob.core.windows.net')],
    ['x.productionresultssa1.blob.core.windows.net', 443, undefined, deny('not-allowlisted')],
    ['otherresultssa1.blob.core.windows.net', 443, undefined, deny('not-allowlisted')],
    // IDN: the Unicode and punycode forms are the same host; a homograph is not
    ['xn--bcher-kva.de', 443, undefined, allow('bücher.de')],
    ['BÜCHER.de', 443, undefined, allow('bücher.de')],
    ['bucher.de', 443, undefined, deny('not-allowlisted')],
    // shipped groups
    ['registry.npmjs.org', 443, undefined, allow('@npm')],
    // IP entries and CIDRs, also for names that resolve into them
    ['203.0.113.7', 443, undefined, allow('203.0.113.7')], // a special range, named by an IP entry
    ['203.0.113.8', 443, undefined, deny('not-allowlisted')],
    ['db.internal', 5432, ['10.20.1.9'], allow('@db')],
    ['db.internal', 5433, ['10.20.1.9'], deny('port-not-allowed')], // named range, other port
    ['db.public', 5433, ['140.82.112.5'], deny('not-allowlisted')],
    ['dns.public', 80, ['2001:4860:4860::8888'], deny('port-not-allowed')],
    ['db.internal', 5432, ['10.20.5.9'], deny('denylisted')],
    ['10.20.1.9', 5432, undefined, allow('@db')],
    ['[2001:4860:4860::8888]', 443, undefined, allow('[2001:4860::]/32:443')],
    // private and metadata addresses are denied whatever a host entry says
    ['api.github.com', 443, ['127.0.0.1'], deny('private-address')],
    ['api.github.com', 443, ['140.82.112.5', '10.0.0.1'], deny('private-address')],
    ['localhost', 18081, ['127.0.0.1'], deny('private-address')],
    ['169.254.169.254', 80, undefined, deny('not-allowlisted')],
    ['api.github.com', 443, ['169.254.169.254'], deny('private-address')],
    ['api.github.com', 443, ['fd00:ec2::254'], deny('private-address')],
    ['api.github.com', 443, ['::ffff:10.1.1.1'], deny('private-address')],
    ['api.github.com', 443, ['64:ff9b::a01:101'], deny('private-address')],
    ['api.github.com', 443, ['100.64.0.1'], deny('private-address')],
    // ...unless an IP/CIDR entry names the range
    ['127.0.0.1', 18080, undefined, allow('@origin')],
    ['origin.test', 18080, ['127.0.0.1'], allow('@origin')],
    ['127.0.0.1', 18081, undefined, deny('port-not-allowed')],
    // numeric forms are judged as the addresses they denote
    ['2130706433', 18080, undefined, allow('@origin')],
    ['0177.0.0.1', 18080, undefined, allow('@origin')],
    ['0x7f.1', 18080, undefined, allow('@origin')],
    ['[::ffff:127.0.0.1]', 18080, undefined, allow('@origin')],
    ['0x7f.1', 80, undefined, deny('port-not-allowed')],
  ] as const)('%s:%i (dns %j)', (host, port, dns, expected) => {
    expect(judge('strict', host, port, dns ? [...dns] : undefined)).toEqual(expected);
  });

  test('an unlisted name is refused before any DNS lookup when no IP entry could admit it', () => {
    const p = compilePool({ ...config.pools[0]!, allow: ['api.github.com'] }, config.groups);
    expect(decide({ pool: p, target: target('exfil.attacker.example', 443) })).toEqual({
      verdict: 'deny',
      reason: 'not-allowlisted',
      destination: 'unlisted',
    });
  });

  test('a request to the proxy itself is a loop', () => {
    const p = pools.get('strict')!;
    const t = target('127.0.0.1', 18080);
    expect(decide({ pool: p, target: t, self: new Set(['127.0.0.1:18080']) })).toMatchObject({ verdict: 'deny', reason: 'proxy-loop' });
  });
});

describe('audit pool', () => {
  test.each([
    ['api.github.com', 443, undefined, { verdict: 'allow', destination: 'api.github.com' }],
    ['pastebin.com', 443, undefined, { verdict: 'audit', reason: 'not-allowlisted', destination: 'unlisted' }],
    ['api.github.com', 8080, undefined, { verdict: 'audit', reason: 'port-not-allowed', destination: 'unlisted' }],
    ['api.github.com', 443, ['10.0.0.1'], { verdict: 'audit', reason: 'private-address', destination: 'api.github.com' }],
  ] as const)('%s:%i is recorded with the reason it would be denied', (host, port, dns, expected) => {
    expect(judge('watch', host, port, dns ? [...dns] : undefined)).toEqual(expected);
  });
});
