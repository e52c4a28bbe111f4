// `chokepoint scan`: files, directories and standard input through the detectors,
// each file streamed (never read whole), findings as text, JSON lines or SARIF.
import { createReadStream } from 'node:fs';
import { opendir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { createContentScanner, type ContentFinding } from '../../detectors/decode.js';
import { Engine, RuleError } from '../../detectors/engine.js';
import { checkRuleExamples, loadRulesFile, RulesFileError } from '../../detectors/load-rules.js';
import { formatRuleJsonl, formatRuleTable, ruleRows } from '../../detectors/rule-list.js';
import { defaultRules } from '../../detectors/rules/index.js';
import { formatJsonl, formatSarif, formatText, type ReportedFinding } from '../../detectors/sarif.js';
import type { RuleSpec } from '../../detectors/types.js';
import { commandFingerprintKey, KeyFileError } from '../../proxy/state.js';
import { version } from '../../proxy/version.js';
import { createProgress, scanProgressText, type ProgressDisplay } from '../progress.js';
import { Exit, parseCommandArgs, UsageError } from '../usage.js';

const HELP = `Usage: chokepoint scan [options] PATH...|-

Scan files, directories (recursively) and standard input (-) for credentials.

Options:
  -f, --format text|jsonl|sarif   output format (default text)
                                  text:  path:line:col  severity  rule  redacted  fingerprint
                                  jsonl: one JSON object per finding
                                  sarif: SARIF 2.1.0 for GitHub code scanning upload
      --rules FILE                add rules from FILE (YAML in the rule shape, or
                                  gitleaks TOML by the .toml extension); repeatable
      --key-file FILE             fingerprint key (HMAC-SHA-256, at least 16 bytes).
                                  Default: $CHOKEPOINT_FINGERPRINT_KEY (base64, the
                                  fleet's scan.fingerprintKey), else
                                  $CHOKEPOINT_STATE_DIR/fingerprint.key, else
                                  ./.chokepoint/fingerprint.key if it exists (the
                                  proxy's key, so fingerprints correlate with its
                                  findings), else a random key for this run only
      --all                       also enter .git and node_modules directories
      --list-rules                print the rules in use (the shipped pack and any
                                  --rules files): id, severity, title, destinations;
                                  with --format jsonl, one JSON object per rule
  -h, --help                      show this help

Directories are walked recursively without following symbolic links; .git and
node_modules are skipped unless --all is given. Files with a NUL byte in their first
8 KiB are binary and skipped. Base64 blobs in text are decoded and scanned too; a
finding inside one points at the blob and says what it was decoded from.
Secrets are never printed: a finding shows its first characters, its length and a
fingerprint. Columns count bytes.

When standard error is a terminal, a line there shows the progress (files, MB and
findings so far), cleared at the end; nothing of it when it is not (a pipe, a file, CI).

Exit status: 0 nothing found, 1 findings, 2 error (unreadable path, bad rules file,
bad usage; scanning continues past unreadable paths).
`;

const FORMATS = ['text', 'jsonl', 'sarif'] as const;
type Format = (typeof FORMATS)[number];

const BINARY_SNIFF_BYTES = 8 * 1024;
/** Bytes of recent input kept to tell where a finding ends (it may span lines). */
const TAIL_BYTES = 256 * 1024;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

/** An error that stops the command: one line on stderr, exit 2. */
class ScanError extends Error {}

interface Counts {
  files: number;
  binary: number;
  findings: number;
  errors: number;
  /** Bytes read so far (of text files and skipped binary ones alike). */
  bytes: number;
  /** The progress line on stderr (inert unless stderr is a terminal). */
  progress: ProgressDisplay;
  /** Standard output was closed by its reader (`| head -1`): stop scanning, quietly. */
  closed: boolean;
}

function isEpipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null | undefined)?.code === 'EPIPE';
}

/** Write to standard output; resolves once written, or once the reader has gone. */
function writeOut(text: string, counts: Counts): Promise<void> {
  return new Promise((done, failed) => {
    process.stdout.write(text, (err) => {
      if (err && !isEpipe(err)) failed(err);
      else {
        if (err) counts.closed = true;
        done();
      }
    });
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', short: 'f' },
      rules: { type: 'string', multiple: true },
      'key-file': { type: 'string' },
      all: { type: 'boolean' },
      'list-rules': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return Exit.ok;
  }
  const format = (values.format ?? 'text') as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`scan: --format must be one of ${FORMATS.join(', ')}, not '${values.format}'`);
  const listRules = values['list-rules'] === true;
  if (listRules && format === 'sarif') throw new UsageError('scan: --list-rules prints text or jsonl, not sarif');
  if (listRules && positionals.length > 0) throw new UsageError('scan: --list-rules takes no PATH');
  if (!listRules && positionals.length === 0) throw new UsageError("scan: give at least one PATH, or - for standard input (see 'chokepoint scan --help')");
  if (positionals.filter((p) => p === '-').length > 1) throw new UsageError('scan: standard input (-) can be given once');

  let engine: Engine;
  let rules: RuleSpec[];
  try {
    const user: RuleSpec[] = [];
    const files: Array<{ file: string; rules: RuleSpec[] }> = [];
    for (const file of values.rules ?? []) {
      const loaded = await loadRulesFile(file);
      for (const note of loaded.notes) process.stderr.write(`chokepoint: note: ${note}\n`);
      user.push(...loaded.rules);
      files.push({ file, rules: loaded.rules });
    }
    rules = [...defaultRules, ...user];
    engine = new Engine({ rules, fingerprintKey: await commandFingerprintKey(values['key-file']) });
    for (const f of files) checkRuleExamples(engine, f.file, f.rules);
  } catch (err) {
    if (err instanceof RulesFileError || err instanceof RuleError || err instanceof ScanError || err instanceof KeyFileError) {
      process.stderr.write(`chokepoint: scan: ${err.message}\n`);
      return Exit.error;
    }
    throw err;
  }

  if (listRules) {
    const rows = ruleRows(rules);
    process.stdout.write(format === 'jsonl' ? formatRuleJsonl(rows) : formatRuleTable(rows));
    return Exit.ok;
  }

  const counts: Counts = { files: 0, binary: 0, findings: 0, errors: 0, bytes: 0, progress: createProgress({ stream: process.stderr }), closed: false };
  // A reader that closes the pipe (`chokepoint scan . | head -1`) ends the scan with
  // status 0 and no noise, as grep does, instead of an unhandled EPIPE.
  // The error may arrive after the scan has returned its status: it sets the status too.
  process.stdout.on('error', (err: Error) => {
    if (!isEpipe(err)) throw err;
    counts.closed = true;
    process.exitCode = Exit.ok;
  });
  return scanAll(engine, rules, format, positionals, values.all === true, counts);
}

async function scanAll(engine: Engine, rules: RuleSpec[], format: Format, positionals: readonly string[], all: boolean, counts: Counts): Promise<number> {
  const colour = format === 'text' && process.stdout.isTTY === true && !process.env['NO_COLOR'];
  const sarif: ReportedFinding[] = [];
  const report = (found: readonly ReportedFinding[]): void => {
    if (counts.closed) return;
    counts.findings += found.length;
    if (format === 'sarif') {
      sarif.push(...found);
      return;
    }
    if (found.length === 0) return;
    counts.progress.clear(); // stdout may be the same terminal
    const lines = found.map((r) => (format === 'jsonl' ? formatJsonl(r) : formatText(r, colour)));
    process.stdout.write(lines.join('\n') + '\n');
  };
  const fail = (path: string, message: string): void => {
    counts.errors++;
    counts.progress.clear();
    process.stderr.write(`chokepoint: scan: ${path}: ${message}\n`);
  };

  for (const target of positionals) {
    if (counts.closed) break;
    if (target === '-') {
      await scanOne(engine, '-', process.stdin, counts, report, fail);
      continue;
    }
    let info;
    try {
      info = await stat(target);
    } catch (err) {
      fail(target, describe(err));
      continue;
    }
    if (info.isDirectory()) await walk(engine, target, all, counts, report, fail);
    else if (info.isFile()) await scanFile(engine, target, counts, report, fail);
    else fail(target, 'not a regular file or directory');
  }

  counts.progress.clear();
  if (counts.closed) return Exit.ok;
  if (format === 'sarif') {
    const log = formatSarif(
      sarif.map((r) => ({ ...r, path: sarifPath(r.path) })),
      rules,
      version,
    );
    await writeOut(JSON.stringify(log, null, 2) + '\n', counts);
    if (counts.closed) return Exit.ok;
  } else if (format === 'text') {
    const skipped = counts.binary > 0 ? `, ${counts.binary} binary skipped` : '';
    process.stderr.write(`${counts.findings} finding${counts.findings === 1 ? '' : 's'} in ${counts.files} file${counts.files === 1 ? '' : 's'} scanned${skipped}\n`);
  }
  if (counts.errors > 0) return Exit.error;
  return counts.findings > 0 ? Exit.findings : Exit.ok;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return e.code ?? (err instanceof Error ? err.message : String(err));
  }
}

/** SARIF wants a URI: relative to the working directory (the repository root in CI) when inside it. */
function sarifPath(path: string): string {
  if (path === '-') return path;
  const abs = resolve(path);
  const rel = relative(process.cwd(), abs);
  if (rel.length > 0 && !rel.startsWith('..') && !isAbsolute(rel)) return rel;
  return pathToFileURL(abs).href;
}

type Report = (found: readonly ReportedFinding[]) => void;
type Fail = (path: string, message: string) => void;

async function walk(engine: Engine, dir: string, all: boolean, counts: Counts, report: Report, fail: Fail): Promise<void> {
  let entries;
  try {
    const handle = await opendir(dir);
    entries = [];
    for await (const e of handle) entries.push(e);
  } catch (err) {
    fail(dir, describe(err));
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (counts.closed) return;
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (!all && SKIPPED_DIRS.has(e.name)) continue;
      await walk(engine, path, all, counts, report, fail);
    } else if (e.isFile()) {
      await scanFile(engine, path, counts, report, fail);
    }
    // Symbolic links, sockets, devices: not followed, not read.
  }
}

async function scanFile(engine: Engine, path: string, counts: Counts, report: Report, fail: Fail): Promise<void> {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  await scanOne(engine, path, stream, counts, report, fail);
}

/** Streams one input through the detectors; binary input (NUL early on) is skipped. */
async function scanOne(engine: Engine, path: string, input: Readable, counts: Counts, report: Report, fail: Fail): Promise<void> {
  const ends = new Map<ContentFinding, { line: number; column: number }>();
  let tail: Buffer = Buffer.alloc(0);
  let tailBase = 0;
  const scanner = createContentScanner(engine, { contentType: 'text/plain' }, {
    onFinding: (f) => {
      // Where the secret ends, from the bytes still at hand: it may span lines (a PEM key).
      if (f.decodedFrom !== undefined || f.offset < tailBase || f.offset + f.length > tailBase + tail.length) return;
      const bytes = tail.subarray(f.offset - tailBase, f.offset - tailBase + f.length);
      const lastNl = bytes.lastIndexOf(0x0a);
      if (lastNl < 0) ends.set(f, { line: f.line, column: f.column + f.length });
      else {
        let nl = 0;
        for (const b of bytes) if (b === 0x0a) nl++;
        ends.set(f, { line: f.line + nl, column: f.length - lastNl });
      }
    },
  });
  let sniffed = 0;
  try {
    for await (const data of input) {
      if (counts.closed) {
        input.destroy();
        await scanner.end();
        return;
      }
      const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
      counts.bytes += chunk.length;
      counts.progress.update(() => scanProgressText(counts));
      if (sniffed < BINARY_SNIFF_BYTES) {
        const look = chunk.subarray(0, BINARY_SNIFF_BYTES - sniffed);
        sniffed += look.length;
        if (look.includes(0)) {
          counts.binary++;
          input.destroy();
          await scanner.end();
          return;
        }
      }
      tail = tail.length + chunk.length > TAIL_BYTES ? keepLast(tail, chunk, (n) => (tailBase += n)) : Buffer.concat([tail, chunk]);
      scanner.write(chunk);
    }
  } catch (err) {
    fail(path, describe(err));
    await scanner.end();
    return;
  }
  const result = await scanner.end();
  counts.files++;
  if (result.errors.length > 0) counts.progress.clear();
  for (const e of result.errors) {
    process.stderr.write(`chokepoint: scan: ${path}: note: ${e.message}\n`);
  }
  report(
    result.findings.map((finding) => {
      const end = ends.get(finding);
      return end ? { path, finding, end } : { path, finding };
    }),
  );
  counts.progress.update(() => scanProgressText(counts));
}

/** The last TAIL_BYTES of tail + chunk; `dropped` is told how many bytes fell off the front. */
function keepLast(tail: Buffer, chunk: Buffer, dropped: (n: number) => void): Buffer {
  const joined = Buffer.concat([tail, chunk]);
  const keep = Math.max(TAIL_BYTES, chunk.length);
  if (joined.length <= keep) return joined;
  dropped(joined.length - keep);
  return Buffer.from(joined.subarray(joined.length - keep));
}
