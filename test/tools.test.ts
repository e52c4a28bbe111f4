// The tools the suite drives are installed, and `.ci/run` (the README's test command)
// installs each of their Debian packages: a missing tool fails here with the package to
// install, instead of a test somewhere else skipping or failing obscurely.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { FILES, TOOLS, findTool, missingToolMessage, requireFile, requireTool } from './helpers/tools.js';

const ciPackages = (): string[] => {
  const line = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8').match(/^PACKAGES="([^"]*)"/m);
  return line?.[1]?.split(/\s+/).filter(Boolean) ?? [];
};

describe('the Debian tools the tests drive', () => {
  test.each(Object.entries(TOOLS))('%s (Debian package %s) is installed', (command, pkg) => {
    expect(findTool(command), missingToolMessage(command, pkg)).toBeDefined();
  });

  test.each(Object.entries(FILES))('%s (Debian package %s) is there', (path, pkg) => {
    expect(() => requireFile(path), missingToolMessage(path, pkg)).not.toThrow();
  });

  test("Python's requests (Debian package python3-requests) is importable by /usr/bin/python3", () => {
    let ok = true;
    try {
      execFileSync(requireTool('/usr/bin/python3'), ['-c', 'import requests'], { stdio: 'ignore' });
    } catch {
      ok = false;
    }
    expect(ok, missingToolMessage("/usr/bin/python3's requests module", 'python3-requests')).toBe(true);
  });

  test(".ci/run's PACKAGES installs every package a tool comes from", () => {
    const packages = ciPackages();
    const needed = [...new Set([...Object.values(TOOLS), ...Object.values(FILES), 'python3-requests'])];
    expect(needed.filter((p) => !packages.includes(p))).toEqual([]);
  });

  test('a missing tool fails naming its package, never silently', () => {
    TOOLS['no-such-tool-chokepoint'] = 'chokepoint-fake-package';
    try {
      expect(() => requireTool('no-such-tool-chokepoint')).toThrow(/no-such-tool-chokepoint is not installed: .*package chokepoint-fake-package \(apt-get install -y chokepoint-fake-package\)/);
    } finally {
      delete TOOLS['no-such-tool-chokepoint'];
    }
  });
});

test("the README's quick start is two commands: the proxy on its default config, and `bash .ci/run` for the tests", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const quick = readme.split('## Quick start')[1]?.match(/```sh\n([\s\S]*?)```/)?.[1] ?? '';
  const commands = quick.split('\n').filter(Boolean).map((l) => l.replace(/\s+#.*$/, ''));
  expect(commands).toEqual(['npm ci && npm start', 'bash .ci/run']);
});
