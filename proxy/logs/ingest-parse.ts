// The pure parts of the log ingest: labels from headers and query, NDJSON lines and their
// `message`, and a line splitter with a bound on line length.
import type { IncomingHttpHeaders } from 'node:http';

export interface IngestLabels {
  pool: string;
  job?: string;
  pipeline?: string;
  step?: string;
}

/** Headers carrying labels (the query parameter of the same name is the fallback). */
export const LABEL_HEADERS = {
  pool: 'x-chokepoint-pool',
  job: 'x-chokepoint-job',
  pipeline: 'x-chokepoint-pipeline',
  step: 'x-chokepoint-step',
} as const;

/** Pool label of streams that name none. */
export const INGEST_POOL = 'ingest';
const MAX_LABEL = 200;

/**
 * Labels of an ingest request: header first, query parameter second. The pool must be one
 * the config names (pool is a metric label: bounded); absent, it is `ingest`. Returns an
 * error message for a bad label.
 */
export function ingestLabels(headers: IncomingHttpHeaders, query: URLSearchParams, pools: ReadonlySet<string>): IngestLabels | { error: string } {
  const get = (name: keyof typeof LABEL_HEADERS): string | undefined => {
    const h = headers[LABEL_HEADERS[name]];
    const v = (Array.isArray(h) ? h[0] : h) ?? query.get(name) ?? undefined;
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const out: IngestLabels = { pool: INGEST_POOL };
  for (const name of ['pool', 'job', 'pipeline', 'step'] as const) {
    const v = get(name);
    if (v === undefined) continue;
    if (v.length > MAX_LABEL || hasControl(v)) return { error: `label ${name} is longer than ${MAX_LABEL} characters or has control characters` };
    out[name] = v;
  }
  if (out.pool !== INGEST_POOL && !pools.has(out.pool)) return { error: `unknown pool '${out.pool}': name a pool of the config, or none` };
  return out;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/json-lines', 'application/x-jsonlines', 'application/jsonlines']);

/** Is the body NDJSON (by its media type), rather than plain text? */
export function isNdjson(contentType: string | undefined): boolean {
  const media = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return NDJSON_TYPES.has(media);
}

/**
 * The log text of one NDJSON record: `message` (Vector, Fluent Bit with a message key),
 * else `log` (Fluent Bit's tail input), else `msg`. Undefined: malformed.
 */
export function recordMessage(line: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const o = parsed as Record<string, unknown>;
  for (const key of ['message', 'log', 'msg']) {
    const v = o[key];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/**
 * Splits a byte stream into lines (without the `\n`; a trailing `\r` is dropped). A line
 * longer than `maxLineBytes` is not held: it is skipped to its end, counted, and given as
 * `null` (so callers still count it as a line). A line may be a view of the chunk
 * written: read the lines before writing again.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;
  overlong = 0;

  constructor(private readonly maxLineBytes: number) {}

  write(chunk: Buffer): Array<Buffer | null> {
    const lines: Array<Buffer | null> = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      if (this.size === 0 && !this.skipping && nl - start <= this.maxLineBytes) {
        // A whole line inside the chunk: a view of it, not a copy (lines are read before
        // the next write).
        lines.push(trimCr(chunk.subarray(start, nl)));
      } else {
        this.take(chunk.subarray(start, nl));
        lines.push(this.finish());
      }
      start = nl + 1;
    }
    this.take(chunk.subarray(start));
    return lines;
  }

  /** The last line, when the input did not end with `\n`. */
  end(): Buffer | null | undefined {
    return this.size > 0 || this.skipping ? this.finish() : undefined;
  }

  private take(piece: Buffer): void {
    if (this.skipping || piece.length === 0) return;
    if (this.size + piece.length > this.maxLineBytes) {
      this.skipping = true;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(Buffer.from(piece));
    this.size += piece.length;
  }

  private finish(): Buffer | null {
    if (this.skipping) {
      this.skipping = false;
      this.overlong++;
      return null;
    }
    const line = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    return trimCr(line);
  }
}

function trimCr(line: Buffer): Buffer {
  return line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
}
