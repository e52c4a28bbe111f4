// Refusals: one rendering of a refused request (status, headers, body) for every place an
// answer is written: a ServerResponse (plain and intercepted HTTP/1.1 requests), a raw
// socket (CONNECT, upgrades, parse errors) and an HTTP/2 stream (h2-exchange.ts). Each
// records the refusal on the exchange (exchange.ts recordRefusal) before it answers.
import http, { type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Finding } from '../../detectors/index.js';
import type { Reason } from '../events/events.js';
import { recordRefusal, type Exchange } from './exchange.js';

/** A refusal: the status, the reason, and the finding that caused it if any. */
export interface Refusal {
  status: number;
  reason: Reason;
  finding?: Finding;
}

/** What a refusal looks like, however it is written. */
export interface RenderedRefusal {
  status: number;
  /** Header names in lower case (as HTTP/2 needs them; a raw socket writes them capitalised). */
  headers: Array<[name: string, value: string]>;
  body: string;
  /**
   * The request body may be unread (a credential, a scan error, an oversized body) or the
   * request could not be parsed: the connection is not reused.
   */
  close: boolean;
}

const STATUS_TEXT: Record<number, string> = http.STATUS_CODES as Record<number, string>;

/** Reasons after which the request body may be unread. */
const UNREAD_BODY: ReadonlySet<Reason> = new Set<Reason>(['secret-exfiltration', 'scan-error', 'body-too-large']);

/**
 * The answer to a refusal for `host`: `X-Chokepoint-Reason`, a short text body naming the
 * host and the reason, the rule and fingerprint of the finding that caused it (never the
 * secret), and a Basic challenge with a 407.
 */
export function renderRefusal(host: string, refusal: Refusal): RenderedRefusal {
  const { status, reason, finding } = refusal;
  const detail = finding ? ` (rule ${finding.ruleId}, fingerprint ${finding.fingerprint})` : '';
  const body = `chokepoint: ${host || 'request'} refused: ${reason}${detail}\n`;
  const headers: Array<[string, string]> = [
    ['x-chokepoint-reason', reason],
    ['content-type', 'text/plain; charset=utf-8'],
    ['content-length', String(Buffer.byteLength(body))],
  ];
  if (finding) headers.push(['x-chokepoint-rule', finding.ruleId], ['x-chokepoint-fingerprint', finding.fingerprint]);
  if (status === 407) headers.push(['proxy-authenticate', 'Basic realm="chokepoint"']);
  return { status, headers, body, close: UNREAD_BODY.has(reason) || status === 400 || status === 431 };
}

/** Refuse on a raw socket (CONNECT, upgrades, parse errors): record, answer, close. */
export function refuseRaw(socket: Socket, ex: Exchange, status: number, reason: Reason): void {
  recordRefusal(ex, status, reason);
  ex.status = status;
  const r = renderRefusal(ex.host, { status, reason });
  if (!socket.writable) return void socket.destroy();
  const head = [`HTTP/1.1 ${r.status} ${STATUS_TEXT[r.status] ?? 'Error'}`, ...r.headers.map(([name, value]) => `${capitalised(name)}: ${value}`), 'Connection: close'];
  socket.end(`${head.join('\r\n')}\r\n\r\n${r.body}`);
}

/**
 * Refuse an HTTP/1.1 request (plain or intercepted): record, answer. Once the response
 * has begun it can only be cut. `draining`: the proxy is shutting down, the connection
 * is not kept.
 */
export function refuseHttp(res: ServerResponse, ex: Exchange, refusal: Refusal, draining: boolean): void {
  recordRefusal(ex, refusal.status, refusal.reason);
  if (res.headersSent) return void res.destroy();
  const r = renderRefusal(ex.host, refusal);
  res.statusCode = r.status;
  for (const [name, value] of r.headers) res.setHeader(name, value);
  if (r.close || draining) res.setHeader('connection', 'close');
  res.end(r.body);
}

/** `x-chokepoint-reason` → `X-Chokepoint-Reason`: how a raw answer has always spelled them. */
function capitalised(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}
