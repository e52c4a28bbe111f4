// The README's "Using it" block names every subcommand `chokepoint --help` lists, one line
// each, and nothing --help does not know (issue #18: `mask` was missing).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runCli } from './helpers/cli.js';

/** `policy suggest`, `config schema`, `ca` (init|show|… are its arguments), `start`, … */
function commandName(line: string): string | undefined {
  return /^\s*chokepoint ([a-z-]+(?: [a-z-]+(?=\s))?)/.exec(line)?.[1];
}

function readmeUsingIt(): string[] {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const section = readme.split('\n## Using it\n')[1];
  if (section === undefined) throw new Error('README.md has no "## Using it" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error('the "Using it" section has no ```sh block');
  return block.split('\n').filter((l) => l.startsWith('chokepoint '));
}

test('README lists every subcommand of `chokepoint --help`, one line each with what it does', async () => {
  const help = await runCli(['--help']);
  expect(help.code).toBe(0);
  const fromHelp = help.stdout.split('\n').map(commandName).filter((n): n is string => n !== undefined);
  expect(fromHelp).toContain('mask');
  expect(fromHelp.length).toBeGreaterThanOrEqual(7);

  const lines = readmeUsingIt();
  // A README line is an example call: `chokepoint ca env …` is the `ca` command.
  const fromReadme = lines.map((line) => fromHelp.filter((name) => line.startsWith(`chokepoint ${name} `)).sort((a, b) => b.length - a.length)[0] ?? line);
  expect([...fromReadme].sort()).toEqual([...fromHelp].sort());
  for (const line of lines) expect(line, `README line without a description: ${line}`).toMatch(/ # \S/);
});
