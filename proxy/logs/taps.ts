// The proxy's taps, fed to the CI log recognisers: each forwarded request and upgraded
// connection is offered to the recognisers in turn; the first to return a tap gets it.
import type { BodyTap, RequestInfo, StreamTap, Taps } from '../wire/taps.js';
import { recognisers as defaultRecognisers, type Recogniser, type RecogniserContext } from './recognisers/index.js';
import type { LogStreams } from './streams.js';

export interface LogTapsOptions {
  streams: LogStreams;
  recognisers?: readonly Recogniser[];
  /** Largest WebSocket message or JSON control body buffered (default 1 MiB). */
  maxMessageBytes?: number;
}

export function createLogTaps(options: LogTapsOptions): Taps {
  const list = options.recognisers ?? defaultRecognisers;
  const ctx: RecogniserContext = { streams: options.streams, maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024 };
  return {
    request(info: RequestInfo): BodyTap | undefined {
      for (const r of list) {
        const tap = attempt(() => r.request?.(info, ctx));
        if (tap) return tap;
      }
      return undefined;
    },
    upgrade(info: RequestInfo): StreamTap | undefined {
      for (const r of list) {
        const tap = attempt(() => r.upgrade?.(info, ctx));
        if (tap) return tap;
      }
      return undefined;
    },
  };
}

/** One recogniser's failure leaves the others (and the traffic) alone. */
function attempt<T>(fn: () => T | undefined): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
