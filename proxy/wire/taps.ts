// Taps: read-only copies of what passes through, for observers such as the CI log
// recognisers (GitLab trace PATCHes, GitHub Actions log blobs and WebSocket console
// frames). A tap sees the bytes exactly as forwarded and can never change or delay them.
import type { IncomingHttpHeaders } from 'node:http';
import type { EgressKind } from '../events/events.js';

export interface RequestInfo {
  pool: string;
  client: string;
  host: string;
  port: number;
  method: string;
  /** Origin-form path with query. */
  path: string;
  headers: IncomingHttpHeaders;
  kind: EgressKind;
}

/** A copy of one request body. `end` after the last byte was forwarded; `abort` if it was cut. */
export interface BodyTap {
  write(chunk: Buffer): void;
  end(): void;
  abort(): void;
}

/** The raw bytes a client sends on an upgraded (WebSocket) connection, frames unparsed. */
export interface StreamTap {
  clientBytes(chunk: Buffer): void;
  close(): void;
  /**
   * True once the tap reads this connection's messages as a CI log (GitHub Actions' live
   * console): the WebSocket scan (websocket.ts) leaves them to it from then on.
   */
  readsAsLog?(): boolean;
}

export interface Taps {
  /** Called for each forwarded HTTP request; return a tap to receive its body. */
  request?(info: RequestInfo): BodyTap | undefined;
  /** Called for each upgraded connection; return a tap to receive what the client sends. */
  upgrade?(info: RequestInfo): StreamTap | undefined;
}

/** Call a tap without letting its failure touch the traffic. */
export function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // an observer's bug never breaks a request
  }
}
