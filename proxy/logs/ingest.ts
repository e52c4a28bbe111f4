// The log ingest listener, for CI systems whose logs do not pass through the proxy:
//
//   POST /v1/logs      a streamed (chunked) text body, or NDJSON records with a `message`
//                      field (Content-Type: application/x-ndjson: Fluent Bit's and
//                      Vector's HTTP outputs). Labels pool/job/pipeline/step from the
//                      X-Chokepoint-Pool/-Job/-Pipeline/-Step headers or the query. The
//                      body is scanned as it arrives (bounded memory); the response, when
//                      the body ends, lists the findings (redacted) as JSON.
//   POST /v1/findings  findings already made on the runner (`chokepoint mask --report`),
//                      redacted, as JSON: recorded as log findings.
//
// Every request needs `Authorization: Bearer <ingest.token>` (401 otherwise).
import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { parseListen } from '../../config/index.js';
import type { FindingEvent } from '../events/events.js';
import { ingestLabels, isNdjson, LineSplitter, recordMessage, type IngestLabels } from './ingest-parse.js';
import type { JobStream, LogFinding, LogStreams, StreamLabels } from './streams.js';

export interface IngestOptions {
  listen: string;
  token: string;
  streams: LogStreams;
  /** Pool names of the config now (labels must name one, or none). */
  pools: () => ReadonlySet<string>;
  /** Rule ids of the engine now (reported findings of another rule are `other`). */
  rules?: () => ReadonlySet<string>;
  /** Emit a finding reported by `POST /v1/findings`. */
  emit?: (event: FindingEvent) => void;
  /** Longest NDJSON line (default 1 MiB): longer ones are counted and skipped. */
  maxLineBytes?: number;
}

export interface IngestServer {
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** What `POST /v1/logs` answers when the body has ended. */
export interface IngestSummary {
  job: string;
  pool: string;
  pipeline?: string;
  step?: string;
  bytes: number;
  /** NDJSON: records read (good or not). */
  records?: number;
  /** NDJSON: records skipped (not JSON, no string `message`, over the line bound). */
  malformed?: number;
  findings: LogFinding[];
  /** More findings than listed (the list is bounded). */
  findingCount: number;
}

const MAX_FINDINGS_BODY = 1024 * 1024;
const MAX_REPORTED_FINDINGS = 1000;
const SEVERITIES = new Set(['low', 'medium', 'high', 'critical']);

let serial = 0;

export function createIngestServer(options: IngestOptions): IngestServer {
  const server = http.createServer((req, res) => {
    handle(options, req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  return {
    async listen() {
      const addr = parseListen(options.listen);
      if (!addr) throw new Error(`invalid ingest listen address ${options.listen}`);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(addr.port, addr.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server.address() as AddressInfo;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header?.toLowerCase().startsWith('bearer ')) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header.slice(7).trim()), digest(token));
}

/** Refuse: answer, and drop the rest of the body without reading it into memory. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.setHeader('connection', 'close');
  reply(res, status, body, headers);
  req.resume();
}

async function handle(options: IngestOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://ingest');
  const route = url.pathname;
  if (route !== '/v1/logs' && route !== '/v1/findings') return refuse(req, res, 404, { error: 'not found: POST /v1/logs or /v1/findings' });
  if (req.method !== 'POST') return refuse(req, res, 405, { error: 'method not allowed: POST' }, { allow: 'POST' });
  if (!bearerMatches(req.headers.authorization, options.token)) return refuse(req, res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
  const labels = ingestLabels(req.headers, url.searchParams, options.pools());
  if ('error' in labels) return refuse(req, res, 400, { error: labels.error });
  const body = decoded(req);
  if (!body) return refuse(req, res, 415, { error: 'unsupported content-encoding (identity, gzip, deflate)' });
  if (route === '/v1/findings') return findingsReport(options, labels, req, body, res);

  const job = labels.job ?? `ingest-${++serial}`;
  const streamLabels: StreamLabels = {
    pool: labels.pool,
    client: req.socket.remoteAddress ?? '',
    host: 'ingest',
    kind: 'log',
    job,
    ...(labels.pipeline ? { pipeline: labels.pipeline } : {}),
    ...(labels.step ? { step: labels.step } : {}),
    source: 'ingest',
  };
  // Each request is its own stream (its own line numbers), even when two name one job.
  const stream = options.streams.open(`ingest:${++serial}`, streamLabels);
  if (!stream) return refuse(req, res, 503, { error: 'too many log streams open' }, { 'retry-after': '5' });

  const ndjson = isNdjson(req.headers['content-type']);
  const splitter = new LineSplitter(options.maxLineBytes ?? 1024 * 1024);
  let records = 0;
  let malformed = 0;
  const record = (line: Buffer | null): void => {
    records++;
    if (line === null) {
      malformed++;
      return;
    }
    if (line.length === 0 || isBlank(line)) return;
    const message = recordMessage(line.toString('utf8'));
    if (message === undefined) {
      malformed++;
      return;
    }
    stream.writeRecord(records, message);
  };

  const ok = await new Promise<boolean>((resolve) => {
    body.on('data', (chunk: Buffer) => {
      if (!ndjson) return stream.write(chunk);
      for (const line of splitter.write(chunk)) record(line);
      stream.flushRecords();
    });
    body.once('end', () => resolve(true));
    body.once('error', () => resolve(false));
    req.once('aborted', () => resolve(false));
  });
  if (ndjson && ok) {
    const last = splitter.end();
    if (last !== undefined) record(last);
    stream.flushRecords();
  }
  if (malformed > 0) options.streams.drop('malformed', malformed, streamLabels);
  stream.end();
  if (!ok) {
    if (!res.headersSent) reply(res, 400, { error: 'the body could not be read to its end' });
    return;
  }
  reply(res, 200, summary(stream, labels, job, ndjson ? { records, malformed } : undefined));
}

function summary(stream: JobStream, labels: IngestLabels, job: string, nd: { records: number; malformed: number } | undefined): IngestSummary {
  return {
    job,
    pool: labels.pool,
    ...(labels.pipeline ? { pipeline: labels.pipeline } : {}),
    ...(labels.step ? { step: labels.step } : {}),
    bytes: stream.bytes,
    ...(nd ?? {}),
    findings: stream.findings,
    findingCount: stream.findingCount,
  };
}

function isBlank(line: Buffer): boolean {
  for (const b of line) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  return true;
}

/** The request body, decompressed per Content-Encoding; undefined for an unknown encoding. */
function decoded(req: IncomingMessage): Readable | undefined {
  const enc = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return req;
  if (enc === 'gzip' || enc === 'x-gzip') return req.pipe(zlib.createGunzip());
  if (enc === 'deflate') return req.pipe(zlib.createInflate());
  return undefined;
}

/** `POST /v1/findings`: `{"findings":[{rule,title,severity,line,redacted,fingerprint}]}`. */
async function findingsReport(options: IngestOptions, labels: IngestLabels, req: IncomingMessage, body: Readable, res: ServerResponse): Promise<void> {
  const parts: Buffer[] = [];
  let size = 0;
  const ok = await new Promise<boolean>((resolve) => {
    body.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_FINDINGS_BODY) parts.push(c);
    });
    body.once('end', () => resolve(true));
    body.once('error', () => resolve(false));
  });
  if (!ok) return void reply(res, 400, { error: 'the body could not be read to its end' });
  if (size > MAX_FINDINGS_BODY) return void reply(res, 413, { error: `a findings report is at most ${MAX_FINDINGS_BODY} bytes` });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    return void reply(res, 400, { error: 'not JSON' });
  }
  const list = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['findings'] : undefined;
  if (!Array.isArray(list)) return void reply(res, 400, { error: 'expected {"findings": [...]}' });
  const rules = options.rules?.();
  let accepted = 0;
  let rejected = 0;
  for (const item of list.slice(0, MAX_REPORTED_FINDINGS)) {
    const f = reportedFinding(item);
    if (!f) {
      rejected++;
      continue;
    }
    accepted++;
    options.emit?.({
      type: 'finding',
      pool: labels.pool,
      client: req.socket.remoteAddress ?? '',
      host: 'ingest',
      kind: 'log',
      source: 'log',
      // The rule is a metric label: a rule name this proxy's pack does not have (the
      // reporter ran other rules, or the pack was reloaded since it scanned) is counted as
      // `other`, so the label set stays the pack's whatever a client posts.
      rule: rules && !rules.has(f.rule) ? 'other' : f.rule,
      title: f.title,
      severity: f.severity,
      verdict: 'leak',
      action: 'alert',
      fingerprint: f.fingerprint,
      redacted: f.redacted,
      job: labels.job ?? 'unknown',
      line: f.line,
    });
  }
  rejected += Math.max(0, list.length - MAX_REPORTED_FINDINGS);
  reply(res, 200, { accepted, rejected });
}

/** A finding as `chokepoint mask --report` sends it to `POST /v1/findings`: redacted, never the value. */
export interface ReportedFinding {
  rule: string;
  title: string;
  severity: string;
  line: number;
  redacted: string;
  fingerprint: string;
}

function reportedFinding(item: unknown): ReportedFinding | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const o = item as Record<string, unknown>;
  const str = (k: string, max: number): string | undefined => {
    const v = o[k];
    return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
  };
  const rule = str('rule', 100);
  const severity = str('severity', 10);
  const redacted = str('redacted', 40);
  const fingerprint = str('fingerprint', 64);
  const line = o['line'];
  if (!rule || !severity || !SEVERITIES.has(severity) || !redacted || !fingerprint) return undefined;
  // A redacted preview has the shape `ghp_…(40)`: anything else could be a value itself.
  if (redacted.length > 24 || !redacted.includes('…(') || !redacted.endsWith(')')) return undefined;
  if (typeof line !== 'number' || !Number.isSafeInteger(line) || line < 1) return undefined;
  return { rule, title: str('title', 200) ?? rule, severity, line, redacted, fingerprint };
}
