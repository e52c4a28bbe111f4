// GitLab runners: the job trace is sent as `PATCH /api/v4/jobs/:id/trace` with
// `Content-Range: start-end` (inclusive byte offsets, no unit), every few seconds, up to
// 1 MiB each; `PUT /api/v4/jobs/:id` with a final state ends the job. The trace is
// reassembled by job id and offset: a retried or overlapping range is scanned once, a gap
// is recorded. A GitLab under a relative URL root (`/gitlab/api/v4/...`) is recognised too.
import type { BodyTap, RequestInfo } from '../../wire/taps.js';
import { parseContentRange } from '../reassembly.js';
import type { StreamLabels } from '../streams.js';
import { collectBody, header, splitPath, type Recogniser, type RecogniserContext } from './types.js';

export type GitlabCall = { kind: 'trace'; job: string } | { kind: 'update'; job: string };

/** What a request to a GitLab API is, from its method and path. Pure. */
export function parseGitlabCall(method: string, path: string): GitlabCall | undefined {
  const { pathname } = splitPath(path);
  const at = pathname.lastIndexOf('/api/v4/jobs/');
  if (at < 0) return undefined;
  const rest = pathname.slice(at + '/api/v4/jobs/'.length).split('/');
  const [id, tail, ...more] = rest;
  if (id === undefined || !isJobId(id) || more.length > 0) return undefined;
  const m = method.toUpperCase();
  if (tail === 'trace' && m === 'PATCH') return { kind: 'trace', job: id };
  if ((tail === undefined || tail === '') && m === 'PUT') return { kind: 'update', job: id };
  return undefined;
}

function isJobId(s: string): boolean {
  if (s.length === 0 || s.length > 20) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** States of a job update that end the job (others, `running`, keep its trace open). */
const FINAL_STATES = new Set(['success', 'failed', 'canceled', 'cancelled']);

/** Does a `PUT /api/v4/jobs/:id` body end the job? Pure. */
export function isFinalUpdate(body: Buffer): boolean {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return false;
    const state = (parsed as Record<string, unknown>)['state'];
    return typeof state === 'string' && FINAL_STATES.has(state);
  } catch {
    return false;
  }
}

function labels(info: RequestInfo, job: string): StreamLabels {
  return { pool: info.pool, client: info.client, host: info.host, kind: info.kind, job, source: 'gitlab' };
}

export const gitlab: Recogniser = {
  name: 'gitlab',
  request(info: RequestInfo, ctx: RecogniserContext): BodyTap | undefined {
    const call = parseGitlabCall(info.method, info.path);
    if (!call) return undefined;
    const key = `gitlab:${info.host}:${info.port}:${call.job}`;
    if (call.kind === 'update') {
      return collectBody(ctx.maxMessageBytes, (body) => {
        if (isFinalUpdate(body)) ctx.streams.get(key)?.end();
      });
    }
    const stream = ctx.streams.open(key, labels(info, call.job));
    if (!stream) return undefined;
    const range = parseContentRange(header(info, 'content-range'));
    // Without a range the body continues the trace where it stands.
    let offset = range?.start ?? stream.uploadPosition;
    return {
      write(chunk) {
        stream.writeAt(offset, chunk);
        offset += chunk.length;
      },
      end() {},
      abort() {},
    };
  },
};
