// Which CONNECT tunnels are intercepted: the choice is compiled once per config
// (proxy/decide/runtime.ts) and asked per tunnel, with no sockets.
import { describe, expect, test } from 'vitest';
import { compileInterceptChoice, compileRuntime } from '../proxy/decide/runtime.js';
import { parseConfig } from '../config/full.js';

describe('compileInterceptChoice', () => {
  test("'none' intercepts nothing, 'all' everything but the bypass list", () => {
    expect(compileInterceptChoice('none', [])('api.github.com')).toBe(false);
    const all = compileInterceptChoice('all', ['*.pinned.example', 'bank.example']);
    expect(all('api.github.com')).toBe(true);
    expect(all('cdn.pinned.example')).toBe(false);
    expect(all('bank.example')).toBe(false);
  });

  test('a host list intercepts only its hosts, wildcards included, and bypass wins', () => {
    const some = compileInterceptChoice(['*.githubusercontent.com', 'registry.npmjs.org'], ['objects.githubusercontent.com']);
    expect(some('raw.githubusercontent.com')).toBe(true);
    expect(some('registry.npmjs.org')).toBe(true);
    expect(some('objects.githubusercontent.com')).toBe(false);
    expect(some('pypi.org')).toBe(false);
  });

  test('IP entries in a bypass list never match a name', () => {
    expect(compileInterceptChoice('all', ['10.0.0.0/8'])('internal.example')).toBe(true);
  });
});

describe('compileRuntime', () => {
  test("each pool gets its own choice: its tls.intercept, else the global one, minus both bypass lists", () => {
    const config = parseConfig(
      [
        'tls: { intercept: all, bypass: [pinned.example] }',
        'pools:',
        "  - { name: a, sources: ['10.0.0.0/8'], allow: [pypi.org] }",
        "  - { name: b, sources: ['10.1.0.0/16'], allow: [pypi.org], tls: { intercept: [api.github.com], bypass: [uploads.github.com] } }",
      ].join('\n'),
      'test.yaml',
      {},
    );
    const rt = compileRuntime(config);
    const a = rt.pools.get('a')!;
    const b = rt.pools.get('b')!;
    expect(a.intercepts('pypi.org')).toBe(true);
    expect(a.intercepts('pinned.example')).toBe(false);
    expect(b.intercepts('api.github.com')).toBe(true);
    expect(b.intercepts('pypi.org')).toBe(false);
  });
});
