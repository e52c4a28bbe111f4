// `chokepoint policy suggest [--pool NAME]... [LOGFILE...|-]`: access logs in, a per-pool
// allowlist (YAML) out. The logic is proxy/decide/suggest.ts; this is the reading and printing.
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { Suggester, renderSuggestion } from '../../proxy/decide/suggest.js';
import { Exit, parseCommandArgs, UsageError } from '../usage.js';

const HELP = `Usage: chokepoint policy suggest [--pool NAME]... [LOGFILE...|-]

Reads access-log lines (JSON, as the proxy writes them; files ending in .gz are
decompressed; '-' or no file: standard input) and prints, as YAML in the config's shape,
an allowlist per pool of every destination that was reached (decision allow or audit).
Three or more sibling hosts fold into a '*.parent' wildcard. Run a week in audit mode,
review the suggestion, merge it into the config, then switch the pool to enforce.

Options:
  --pool NAME   only this pool (repeatable)
  -h, --help    this text`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError("policy needs a subcommand: 'policy suggest' (try 'chokepoint policy --help')");
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(HELP + '\n');
    return Exit.ok;
  }
  if (sub !== 'suggest') throw new UsageError(`unknown policy subcommand '${sub}' (try 'chokepoint policy suggest')`);
  return suggest(rest);
}

async function suggest(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: { pool: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return Exit.ok;
  }
  const inputs = positionals.length === 0 ? ['-'] : positionals;
  if (inputs.filter((p) => p === '-').length > 1) throw new UsageError("policy suggest: '-' (standard input) may be given once");

  // Open every file first: an unreadable one stops the command before anything is printed.
  const handles = new Map<string, FileHandle>();
  try {
    for (const path of inputs) {
      if (path === '-' || handles.has(path)) continue;
      try {
        handles.set(path, await open(path, 'r'));
      } catch (err) {
        throw new UsageError(`policy suggest: cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
    const suggester = new Suggester({ pools: values.pool ?? [] });
    for (const path of inputs) {
      const handle = handles.get(path);
      const raw: Readable = handle ? createReadStream('', { fd: handle, autoClose: false }) : process.stdin;
      const stream = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
      try {
        for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) suggester.add(line);
      } catch (err) {
        throw new UsageError(`policy suggest: cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    const suggestion = suggester.finish();
    process.stdout.write(renderSuggestion(suggestion));
    const { notJson } = suggestion.stats;
    if (notJson > 0) process.stderr.write(`chokepoint: policy suggest: skipped ${notJson} ${notJson === 1 ? 'line that is' : 'lines that are'} not JSON\n`);
    return Exit.ok;
  } finally {
    for (const handle of handles.values()) await handle.close();
  }
}
