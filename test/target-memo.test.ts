// normalizeHost remembers its answers per host as written (issue #19): a remembered answer
// must be the answer it gave the first time, for names, IP forms and refusals alike, and
// must not change when the memory fills and starts over.
import { describe, expect, test } from 'vitest';
import { normalizeHost, parseAbsoluteUri } from '../proxy/decide/target.js';

const inputs = ['Registry.NPMjs.org.', 'bücher.example', '2130706433', '0x7f.1', '[::ffff:10.0.0.1]', '[2001:db8::1]', 'bad%2ehost', 'a..b', '', 'x'.repeat(256), 'under_score.example'];
const view = (n: ReturnType<typeof normalizeHost>): unknown => n && { host: n.host, ip: n.ip?.toString(), kind: n.ip?.kind() };

describe('normalizeHost memory', () => {
  test('the second answer for a host is the first, valid or not', () => {
    const first = inputs.map((h) => view(normalizeHost(h)));
    expect(inputs.map((h) => view(normalizeHost(h)))).toEqual(first);
    expect(first[0]).toEqual({ host: 'registry.npmjs.org', ip: undefined, kind: undefined });
    expect(first[2]).toEqual({ host: '127.0.0.1', ip: '127.0.0.1', kind: 'ipv4' });
    expect(first[4]).toEqual({ host: '10.0.0.1', ip: '10.0.0.1', kind: 'ipv4' });
    expect(first[6]).toBeUndefined();
    expect(first[7]).toBeUndefined();
  });

  test('answers stay right after the memory has filled and started over', () => {
    const before = inputs.map((h) => view(normalizeHost(h)));
    for (let i = 0; i < 10_000; i++) expect(normalizeHost(`h${i}.example`)?.host).toBe(`h${i}.example`);
    expect(inputs.map((h) => view(normalizeHost(h)))).toEqual(before);
  });

  test('a remembered answer cannot be changed by a caller', () => {
    const a = normalizeHost('frozen.example');
    expect(() => Object.assign(a as object, { host: 'other.example' })).toThrow();
    expect(normalizeHost('frozen.example')?.host).toBe('frozen.example');
    // Targets are the caller's own copies (ports differ per request).
    const t1 = parseAbsoluteUri('http://frozen.example:8080/a');
    const t2 = parseAbsoluteUri('http://frozen.example/b');
    expect([t1?.target.port, t2?.target.port]).toEqual([8080, 80]);
  });
});
