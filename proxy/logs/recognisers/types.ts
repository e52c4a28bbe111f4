// The contract of a CI log recogniser: given a forwarded request (or an upgraded
// WebSocket connection) it either declines (undefined) or returns a tap that feeds the
// job streams. A recogniser never changes traffic: taps are read-only copies.
import type { BodyTap, RequestInfo, StreamTap } from '../../wire/taps.js';
import type { LogStreams } from '../streams.js';

export interface RecogniserContext {
  streams: LogStreams;
  /** Largest WebSocket message (or small JSON body) a recogniser buffers. */
  maxMessageBytes: number;
}

export interface Recogniser {
  /** Short name, kebab-case: also the `source` label of the streams it opens. */
  name: string;
  request?(info: RequestInfo, ctx: RecogniserContext): BodyTap | undefined;
  upgrade?(info: RequestInfo, ctx: RecogniserContext): StreamTap | undefined;
}

/** Header value as one string (the first of a repeated header). */
export function header(info: RequestInfo, name: string): string | undefined {
  const v = info.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Split an origin-form path into its path and query parameters. */
export function splitPath(path: string): { pathname: string; query: URLSearchParams } {
  const q = path.indexOf('?');
  return q < 0 ? { pathname: path, query: new URLSearchParams() } : { pathname: path.slice(0, q), query: new URLSearchParams(path.slice(q + 1)) };
}

/** A small body collected whole (JSON control calls), dropped if over `max`. */
export function collectBody(max: number, done: (body: Buffer) => void): BodyTap {
  const parts: Buffer[] = [];
  let size = 0;
  let over = false;
  return {
    write(chunk) {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        parts.length = 0;
        return;
      }
      parts.push(chunk);
    },
    end() {
      if (!over) done(Buffer.concat(parts));
    },
    abort() {
      parts.length = 0;
    },
  };
}
