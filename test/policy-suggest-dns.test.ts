// `policy suggest` learns names from the DNS listener's lines too (issue #16).
import { describe, expect, test } from 'vitest';
import { suggestPolicy } from '../proxy/decide/suggest.js';

const egress = (fields: Record<string, unknown>): string => JSON.stringify({ level: 'info', time: '2026-12-07T06:00:00.000Z', msg: 'egress', ...fields });
const dns = (pool: string, host: string, extra: Record<string, unknown> = {}): string =>
  egress({ kind: 'dns', pool, client: '10.1.0.5', protocol: 'udp', host, qtype: 'A', decision: 'audit', reason: 'not-allowlisted', destination: 'unlisted', rcode: 'NOERROR', answers: 1, findings: 0, durationMs: 1, ...extra });

describe('policy suggest with DNS lines', () => {
  test('a name looked up and answered becomes an entry; one reached through the proxy keeps the egress entry only', () => {
    const lines = [
      dns('ci', 'mirror.internal.example'),
      dns('ci', 'mirror.internal.example'),
      dns('ci', 'db.internal.example'),
      egress({ kind: 'connect', pool: 'ci', host: 'db.internal.example', port: 5432, decision: 'audit', reason: 'not-allowlisted', destination: 'unlisted', status: 200 }),
    ];
    const { suggestion, yaml } = suggestPolicy(lines);
    expect(suggestion.pools).toHaveLength(1);
    expect(suggestion.pools[0]?.allow.map((e) => [e.entry, e.requests])).toEqual([
      ['db.internal.example:5432', 1],
      ['mirror.internal.example', 2],
    ]);
    expect(yaml).toContain('- mirror.internal.example');
  });

  test('denied, refused, NXDOMAIN answers, names with findings, localhost and the no-pool client teach nothing', () => {
    const { suggestion } = suggestPolicy([
      dns('ci', 'denied.example', { decision: 'deny', rcode: 'NXDOMAIN' }),
      dns('ci', 'gone.example', { rcode: 'NXDOMAIN' }),
      dns('ci', '[redacted 40].attacker.example', { findings: 1 }),
      dns('ci', 'localhost', { decision: 'allow' }),
      dns('none', 'anything.example', { decision: 'refused', rcode: 'REFUSED' }),
    ]);
    expect(suggestion.pools).toEqual([]);
  });

  test('many sibling names fold like egress hosts do', () => {
    const { suggestion } = suggestPolicy(['a', 'b', 'c'].map((l) => dns('ci', `${l}.pkg.example.org`)));
    expect(suggestion.pools[0]?.allow.map((e) => e.entry)).toEqual(['*.pkg.example.org']);
  });
});
