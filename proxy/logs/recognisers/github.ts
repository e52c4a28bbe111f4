// GitHub Actions runners.
//
// 1. Live console lines go over a WebSocket as JSON batches
//    `{"count":2,"value":["line","line"],"stepId":"…","startLine":17}`, one batch per
//    message, split into text frames. Every WebSocket of an intercepted tunnel is read:
//    frames are reassembled (client frames are masked), each text message is parsed as
//    one batch or as JSON lines of batches. A connection whose first messages are not
//    batches is left alone. Streams are keyed by host and step; the job is the `jobs/<id>`
//    (or `plans/<id>`) segment of the WebSocket path when there is one, else the step id.
// 2. Step logs are uploaded as blobs: `PUT` to a signed blob URL (after a
//    `twirp/results.services.receiver.Receiver/...` call) whose path names the job and the
//    step: `…/workflow-job-run-<job>/logs/steps/step-logs-<step>.txt` (or
//    `…/logs/job/job-logs.txt`). Append-block uploads (`comp=appendblock`) continue one
//    stream; a whole blob (`PUT` without `comp`) is a stream of its own that ends with it.
//    A `CreateStepLogsMetadata` twirp call naming the step ends its stream.
import type { BodyTap, RequestInfo, StreamTap } from '../../wire/taps.js';
import type { JobStream, StreamLabels } from '../streams.js';
import { FrameParser } from '../websocket.js';
import { collectBody, header, splitPath, type Recogniser, type RecogniserContext } from './types.js';

export interface Batch {
  stepId: string;
  startLine?: number;
  lines: string[];
}

export interface BatchParse {
  batches: Batch[];
  /** JSON lines that were not batches. */
  malformed: number;
}

function asBatch(value: unknown): Batch | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  const lines = o['value'];
  const stepId = o['stepId'];
  const startLine = o['startLine'];
  if (!Array.isArray(lines) || !lines.every((l): l is string => typeof l === 'string')) return undefined;
  if (typeof stepId !== 'string' || stepId.length === 0 || stepId.length > 128) return undefined;
  if (startLine !== undefined && startLine !== null && (typeof startLine !== 'number' || !Number.isSafeInteger(startLine) || startLine < 1)) return undefined;
  return { stepId, lines, ...(typeof startLine === 'number' ? { startLine } : {}) };
}

/** A WebSocket text message: one batch, or JSON lines of batches. Pure. */
export function parseBatches(text: string): BatchParse {
  const out: BatchParse = { batches: [], malformed: 0 };
  const whole = tryJson(text);
  if (whole.ok) {
    const b = asBatch(whole.value);
    if (b) out.batches.push(b);
    else out.malformed++;
    return out;
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const parsed = tryJson(line);
    const b = parsed.ok ? asBatch(parsed.value) : undefined;
    if (b) out.batches.push(b);
    else out.malformed++;
  }
  return out;
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export interface BlobTarget {
  job: string;
  /** The step id, or `job` for the whole job's log. */
  step: string;
  /** `append`: an append block; `whole`: a whole blob; `create`: an empty append blob. */
  mode: 'append' | 'whole' | 'create';
}

/** Is this a GitHub Actions log blob upload, and of which job/step? Pure. */
export function parseBlobUpload(method: string, path: string, blobType: string | undefined): BlobTarget | undefined {
  if (method.toUpperCase() !== 'PUT') return undefined;
  const { pathname, query } = splitPath(path);
  const segments = pathname.split('/').map(safeDecode);
  const runAt = segments.findIndex((s) => s.startsWith('workflow-job-run-'));
  if (runAt < 0) return undefined;
  const job = (segments[runAt] as string).slice('workflow-job-run-'.length);
  const rest = segments.slice(runAt + 1);
  if (rest[0] !== 'logs' || job === '') return undefined;
  const file = rest[rest.length - 1] ?? '';
  let step: string;
  if (rest[1] === 'steps' && file.startsWith('step-logs-') && file.endsWith('.txt')) step = file.slice('step-logs-'.length, -'.txt'.length);
  else if (rest[1] === 'job' && file.endsWith('.txt')) step = 'job';
  else return undefined;
  if (step === '') return undefined;
  const comp = query.get('comp');
  if (comp === 'appendblock' || comp === 'block') return { job, step, mode: 'append' };
  if (comp !== null) return undefined; // blocklist, metadata, properties: no log bytes
  return { job, step, mode: (blobType ?? '').toLowerCase() === 'appendblob' ? 'create' : 'whole' };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The job id a live-feed WebSocket path names (`…/jobs/<id>/…`, else `…/plans/<id>/…`). Pure. */
export function jobFromFeedPath(path: string): string | undefined {
  const segments = splitPath(path).pathname.split('/');
  for (const name of ['jobs', 'plans']) {
    const i = segments.indexOf(name);
    const id = i >= 0 ? segments[i + 1] : undefined;
    if (id && id.length <= 128) return safeDecode(id);
  }
  return undefined;
}

/** Messages read before a connection that carried no batch is left alone. */
const PROBE_MESSAGES = 3;

function upgrade(info: RequestInfo, ctx: RecogniserContext): StreamTap | undefined {
  const parser = new FrameParser(ctx.maxMessageBytes);
  const pathJob = jobFromFeedPath(info.path);
  const open = new Map<string, JobStream>();
  let seen = 0;
  let recognised = false;
  let inert = false;
  const streamFor = (stepId: string): JobStream | undefined => {
    let s = open.get(stepId);
    if (s && !s.closed) return s;
    const labels: StreamLabels = { pool: info.pool, client: info.client, host: info.host, kind: 'websocket', job: pathJob ?? stepId, step: stepId, source: 'github-live' };
    s = ctx.streams.open(`github-live:${info.host}:${pathJob ?? ''}:${stepId}`, labels);
    if (s) open.set(stepId, s);
    return s;
  };
  return {
    clientBytes(chunk) {
      if (inert) return;
      const result = parser.write(chunk);
      if (recognised) ctx.streams.dropMessages(result.dropped, undefined);
      for (const m of result.messages) {
        if (m.kind !== 'text') continue;
        seen++;
        const parsed = parseBatches(m.data.toString('utf8'));
        if (parsed.batches.length > 0) recognised = true;
        if (recognised && parsed.malformed > 0) ctx.streams.drop('malformed', parsed.malformed, undefined);
        for (const b of parsed.batches) streamFor(b.stepId)?.writeLines(b.lines, b.startLine);
      }
      if ((!recognised && seen >= PROBE_MESSAGES) || result.closed) {
        inert = !recognised || result.closed;
        if (result.closed) for (const s of open.values()) s.end();
      }
    },
    close() {
      inert = true;
      for (const s of open.values()) s.end();
    },
    readsAsLog: () => recognised,
  };
}

function request(info: RequestInfo, ctx: RecogniserContext): BodyTap | undefined {
  const { pathname } = splitPath(info.path);
  if (info.method.toUpperCase() === 'POST' && pathname.endsWith('/results.services.receiver.Receiver/CreateStepLogsMetadata')) {
    return collectBody(ctx.maxMessageBytes, (body) => {
      const parsed = tryJson(body.toString('utf8'));
      if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return;
      const o = parsed.value as Record<string, unknown>;
      const job = o['workflowJobRunBackendId'];
      const step = o['stepBackendId'];
      if (typeof job === 'string' && typeof step === 'string') ctx.streams.get(`github-blob:${job}:${step}`)?.end();
    });
  }
  const target = parseBlobUpload(info.method, info.path, header(info, 'x-ms-blob-type'));
  if (!target) return undefined;
  const labels: StreamLabels = { pool: info.pool, client: info.client, host: info.host, kind: info.kind, job: target.job, step: target.step, source: 'github-blob' };
  const key = `github-blob:${target.job}:${target.step}`;
  if (target.mode === 'whole') {
    // A whole blob replaces what was there: its own stream, ended with the upload.
    ctx.streams.get(key)?.end();
  }
  const stream = ctx.streams.open(key, labels);
  if (!stream) return undefined;
  const appendPos = Number(header(info, 'x-ms-blob-condition-appendpos'));
  let offset = target.mode === 'append' && Number.isSafeInteger(appendPos) && appendPos >= 0 ? appendPos : stream.uploadPosition;
  return {
    write(chunk) {
      stream.writeAt(offset, chunk);
      offset += chunk.length;
    },
    end() {
      if (target.mode === 'whole') stream.end();
    },
    abort() {
      if (target.mode === 'whole') stream.end();
    },
  };
}

export const github: Recogniser = { name: 'github', request, upgrade };
