// An unknown config key is reported at its own line (not its parent's), with a
// "did you mean" for a known sibling name within edit distance 2 (issue #18).
import { describe, expect, test } from 'vitest';
import { ConfigError, parseConfig, type ConfigProblem } from '../config/full.js';

function problemsOf(text: string): ConfigProblem[] {
  try {
    parseConfig(text, 'test.yaml', {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the config to be rejected');
}

const text = [
  'listn: 127.0.0.1:3128', // line 1
  'scan:', // line 2
  '  oversize: stream', // line 3
  '  maxBuferBytes: 1MiB', // line 4
  'pools:', // line 5
  '  - name: a', // line 6
  '    sources: [10.0.0.0/8]', // line 7
  '    tls:', // line 8
  '      bypas: []', // line 9
  '    zzzzqqqqxxxx: 1', // line 10
  '',
].join('\n');

describe('check-config: unknown keys', () => {
  const problems = problemsOf(text);
  const byPath = new Map(problems.map((p) => [p.path, p]));

  test('a misspelled top-level key is reported at its own line, with a suggestion', () => {
    expect(byPath.get('listn')).toEqual({ path: 'listn', line: 1, message: 'unknown key (did you mean `listen`?)' });
  });

  test('a misspelled nested key is reported at its own line, not its parent', () => {
    expect(byPath.get('scan.maxBuferBytes')).toEqual({ path: 'scan.maxBuferBytes', line: 4, message: 'unknown key (did you mean `maxBufferBytes`?)' });
    expect(byPath.get('pools[0].tls.bypas')).toEqual({ path: 'pools[0].tls.bypas', line: 9, message: 'unknown key (did you mean `bypass`?)' });
  });

  test('a key far from every known name gets no suggestion', () => {
    expect(byPath.get('pools[0].zzzzqqqqxxxx')).toEqual({ path: 'pools[0].zzzzqqqqxxxx', line: 10, message: 'unknown key' });
  });

  test('the formatted message names the file line of each key', () => {
    const message = new ConfigError('test.yaml', problems).message;
    expect(message).toContain('test.yaml:1: listn: unknown key (did you mean `listen`?)');
    expect(message).toContain('test.yaml:4: scan.maxBuferBytes: unknown key (did you mean `maxBufferBytes`?)');
    expect(problems).toHaveLength(4);
  });
});
