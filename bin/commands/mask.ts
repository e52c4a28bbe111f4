// `chokepoint mask`: a filter for the runner side (`some-command 2>&1 | chokepoint mask`).
// Copies standard input to standard output with every detected secret replaced by `***`,
// line by line: each line is written as soon as its newline arrives. A private key block
// (`-----BEGIN … PRIVATE KEY-----` to its END line) is held until it ends and masked whole.
// With --report, the findings (redacted) are posted to the proxy's ingest endpoint.
import { Engine, type Finding, type KnownSecret } from '../../detectors/index.js';
import { defaultRules } from '../../detectors/rules/index.js';
import type { ReportedFinding } from '../../proxy/logs/ingest.js';
import { commandFingerprintKey, KeyFileError } from '../../proxy/state.js';
import { Exit, parseCommandArgs, UsageError } from '../usage.js';

const HELP = `Usage: some-command 2>&1 | chokepoint mask [options]

Copy standard input to standard output with every detected secret replaced by ***.
Output is line by line: a line is written as soon as it ends. A private key block
(-----BEGIN ... PRIVATE KEY----- to its END line, at most ${200} lines) is held until
it ends and masked whole, line for line.

Options:
      --env NAME          also mask the value of environment variable NAME (repeatable)
      --key-file FILE     fingerprint key (default: $CHOKEPOINT_FINGERPRINT_KEY, base64;
                          else $CHOKEPOINT_STATE_DIR/fingerprint.key, else
                          ./.chokepoint/fingerprint.key, else random for this run)
      --report URL        post the findings (redacted) to the proxy's ingest endpoint,
                          e.g. http://chokepoint:9465 (POST URL/v1/findings) at the end
      --token T           bearer token for --report (default $CHOKEPOINT_INGEST_TOKEN)
      --job ID            job label for --report (default $CI_JOB_ID or $GITHUB_JOB)
      --pool NAME         pool label for --report
  -h, --help              show this help

Exit status: 0 (also when secrets were masked), 2 on bad usage or unreadable key file.
A failed report is one line on stderr; the output is not affected.
`;

/** A held key block is flushed (masked) after this many lines or bytes. */
const MAX_BLOCK_LINES = 200;
const MAX_BLOCK_BYTES = 64 * 1024;
const MASK = Buffer.from('***');

/** What mask reports is what the ingest endpoint accepts: one shape for both ends. */
export type MaskedFinding = ReportedFinding;

/**
 * The masking state machine, without I/O: feed lines (each with its `\n`), get back the
 * bytes to write now. Pure apart from the engine it scans with.
 */
export class LineMasker {
  private block: Buffer[] = [];
  private blockBytes = 0;
  private lineNo = 0;
  private blockStart = 0;
  readonly findings: MaskedFinding[] = [];

  constructor(private readonly engine: Engine) {}

  /** One line, including its `\n` (the last line of the input may lack it). */
  line(line: Buffer): Buffer[] {
    this.lineNo++;
    if (this.block.length > 0) {
      this.block.push(line);
      this.blockBytes += line.length;
      if (isKeyEnd(line) || this.block.length >= MAX_BLOCK_LINES || this.blockBytes >= MAX_BLOCK_BYTES) return this.flushBlock();
      return [];
    }
    if (isKeyBegin(line) && !isKeyEnd(line)) {
      this.block = [line];
      this.blockBytes = line.length;
      this.blockStart = this.lineNo;
      return [];
    }
    return [this.mask(line, this.lineNo)];
  }

  /** End of input: what is still held. */
  end(): Buffer[] {
    return this.block.length > 0 ? this.flushBlock() : [];
  }

  private flushBlock(): Buffer[] {
    const lines = this.block;
    this.block = [];
    this.blockBytes = 0;
    const whole = Buffer.concat(lines);
    const found = this.engine.scan(whole);
    if (found.length === 0) return lines;
    this.record(found, this.blockStart);
    // Masked whole, line for line (the log keeps its line count).
    return lines.map((l) => Buffer.concat([MASK, l.subarray(lineBody(l))]));
  }

  private mask(line: Buffer, lineNo: number): Buffer {
    const found = this.engine.scan(line);
    if (found.length === 0) return line;
    this.record(found, lineNo);
    const parts: Buffer[] = [];
    let at = 0;
    for (const f of [...found].sort((a, b) => a.offset - b.offset)) {
      if (f.offset < at) {
        at = Math.max(at, f.offset + f.length);
        continue;
      }
      parts.push(line.subarray(at, f.offset), MASK);
      at = f.offset + f.length;
    }
    parts.push(line.subarray(at));
    return Buffer.concat(parts);
  }

  private record(found: Finding[], firstLine: number): void {
    for (const f of found) {
      this.findings.push({ rule: f.ruleId, title: f.title, severity: f.severity, line: firstLine + f.line - 1, redacted: f.redacted, fingerprint: f.fingerprint });
    }
  }
}

/** Length of a line without its line ending (`\n` or `\r\n`). */
function lineBody(line: Buffer): number {
  let end = line.length;
  if (end > 0 && line[end - 1] === 0x0a) end--;
  if (end > 0 && line[end - 1] === 0x0d) end--;
  return end;
}

function isKeyBegin(line: Buffer): boolean {
  const s = line.toString('latin1');
  const i = s.indexOf('-----BEGIN ');
  return i >= 0 && s.indexOf('PRIVATE KEY-----', i) > i;
}

function isKeyEnd(line: Buffer): boolean {
  const s = line.toString('latin1');
  const i = s.indexOf('-----END ');
  return i >= 0 && s.indexOf('PRIVATE KEY-----', i) > i;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      env: { type: 'string', multiple: true },
      'key-file': { type: 'string' },
      report: { type: 'string' },
      token: { type: 'string' },
      job: { type: 'string' },
      pool: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return Exit.ok;
  }
  const token = values.token ?? process.env['CHOKEPOINT_INGEST_TOKEN'];
  if (values.report !== undefined && !token) throw new UsageError('--report needs --token (or CHOKEPOINT_INGEST_TOKEN)');
  const known: KnownSecret[] = [];
  for (const name of values.env ?? []) {
    const value = process.env[name];
    if (value !== undefined && value.length >= 8) known.push({ name, value, kind: 'secret' });
  }
  let fingerprintKey: Buffer;
  try {
    fingerprintKey = await commandFingerprintKey(values['key-file']);
  } catch (err) {
    if (err instanceof KeyFileError) throw new UsageError(err.message);
    throw err;
  }
  const engine = new Engine({ rules: defaultRules, fingerprintKey, knownSecrets: known });
  const masker = new LineMasker(engine);

  await pump(masker);

  if (values.report !== undefined && token) {
    const job = values.job ?? process.env['CI_JOB_ID'] ?? process.env['GITHUB_JOB'];
    try {
      await report(values.report, token, masker.findings, { ...(job ? { job } : {}), ...(values.pool ? { pool: values.pool } : {}) });
    } catch (err) {
      process.stderr.write(`chokepoint mask: report failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  return Exit.ok;
}

/** stdin → masker → stdout, a line at a time, honouring stdout's backpressure. */
function pump(masker: LineMasker): Promise<void> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  return new Promise((resolve) => {
    let partial: Buffer[] = [];
    const write = (chunks: Buffer[]): void => {
      for (const c of chunks) {
        if (!stdout.write(c)) {
          stdin.pause();
          stdout.once('drain', () => stdin.resume());
        }
      }
    };
    stdin.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, nl + 1);
        const line = partial.length > 0 ? Buffer.concat([...partial, piece]) : piece;
        partial = [];
        write(masker.line(line));
        start = nl + 1;
      }
      if (start < chunk.length) partial.push(Buffer.from(chunk.subarray(start)));
      // A single line without end is not held without bound: past 1 MiB it is masked and written.
      if (partial.reduce((n, b) => n + b.length, 0) > 1024 * 1024) {
        write(masker.line(Buffer.concat(partial)));
        partial = [];
      }
    });
    stdin.once('end', () => {
      if (partial.length > 0) write(masker.line(Buffer.concat(partial)));
      write(masker.end());
      if (stdout.writableNeedDrain) stdout.once('drain', () => resolve());
      else resolve();
    });
    stdin.once('error', () => resolve());
  });
}

async function report(base: string, token: string, findings: MaskedFinding[], labels: { job?: string; pool?: string }): Promise<void> {
  const url = new URL(base);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/findings';
  if (labels.job) url.searchParams.set('job', labels.job);
  if (labels.pool) url.searchParams.set('pool', labels.pool);
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ findings }),
  });
  await res.text();
  if (!res.ok) throw new Error(`ingest answered ${res.status}`);
}
