// The access log: one JSON line per request or tunnel when it ends, via pino. A sink of
// the event bus. Headers and bodies are never part of an event, so never part of a line.
import { writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { DnsEvent, EgressEvent, ProxyEvent } from './events.js';

export interface AccessLogOptions {
  level?: string;
  /** Also append lines to this file. */
  file?: string;
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
}

/** The destination streams of a logger createLogger made: DNS lines are written to them directly. */
const lineStreams = new WeakMap<Logger, { level: string; streams: Array<{ write(line: string): unknown }> }>();

/**
 * Lines of one turn of the event loop handed to the destination as one write. sonic-boom
 * (pino.destination) measures its last buffered chunk again on every write, so a line
 * cost more the more were waiting (~2 µs a line at 20,000 a second, profiled); one write
 * per turn costs that once. Whatever waits is handed over before any other exit listener
 * runs (sonic-boom's own flushes at exit), so no line is lost at exit.
 */
class TurnBatch {
  private parts: string[] = [];
  private scheduled = false;

  constructor(readonly target: { write(data: string): unknown; flushSync?(): void; fd?: number }) {
    exitBatches.add(new WeakRef(this));
    if (!exitHooked) {
      exitHooked = true;
      process.prependListener('exit', () => {
        for (const ref of exitBatches) ref.deref()?.drain();
      });
    }
  }

  write(line: string): boolean {
    this.parts.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
    return true;
  }

  drain(): void {
    this.scheduled = false;
    if (this.parts.length === 0) return;
    const data = this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join('');
    this.parts = [];
    try {
      this.target.write(data);
    } catch {
      // A destroyed destination (after exit): the last resort is its descriptor.
      if (this.target.fd !== undefined && this.target.fd >= 0) writeSync(this.target.fd, data);
    }
  }

  flushSync(): void {
    this.drain();
    this.target.flushSync?.();
  }
}
const exitBatches = new Set<WeakRef<TurnBatch>>();
let exitHooked = false;

/**
 * Where access log lines go: a file descriptor or a file (appended to, made with its
 * folder), through sonic-boom (one write per 4 KiB, or every 100 ms at the latest: a
 * write per line was a syscall per request on the hot path) behind a TurnBatch.
 */
export function batchedDestination(dest: number | string): NodeJS.WritableStream {
  const batched = { sync: false, minLength: 4096, periodicFlush: 100 };
  const sonic = typeof dest === 'number' ? pino.destination({ dest, ...batched }) : pino.destination({ dest, ...batched, mkdir: true, append: true });
  // What pino's multistream calls of a stream is write (and flushSync): TurnBatch has both.
  return new TurnBatch(sonic) as unknown as NodeJS.WritableStream;
}

export function createLogger(options: AccessLogOptions = {}): Logger {
  const level = (options.level ?? 'info') as pino.Level;
  // Each stream of a multistream filters by its own level (default info): give it ours.
  // Lines are batched (batchedDestination); what is left is written at exit.
  const streams: pino.StreamEntry[] = [{ level, stream: options.destination ?? batchedDestination(1) }];
  if (options.file) streams.push({ level, stream: batchedDestination(options.file) });
  const logger = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: no event carries these, and none ever may.
      redact: { paths: ['*.authorization', '*.cookie', '*["proxy-authorization"]', 'headers'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.multistream(streams),
  );
  lineStreams.set(logger, { level, streams: streams.map((s) => s.stream as unknown as { write(line: string): unknown }) });
  return logger;
}

/** The ISO time of the last millisecond a line was written in (pino's isoTime, read once per ms). */
let isoMs = 0;
let isoText = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/** A string field of a DNS line: names, addresses, codes (JSON-escaped all the same). */
const q = JSON.stringify;

/**
 * A DNS line as pino writes it (`{"level":"info","time":...,fields,"msg":"egress"}`), built
 * here: a line per query is the DNS listener's hottest sink, and pino's generic serializing
 * cost more than the rest of a cached answer. The fields are DnsEvent's, all flat.
 */
export function dnsLine(e: DnsEvent): string {
  let line = `{"level":"info","time":"${isoNow()}","pool":${q(e.pool)},"client":${q(e.client)},"kind":"dns","protocol":${q(e.protocol)},"host":${q(e.host)},"qtype":${q(e.qtype)},"decision":${q(e.decision)},"destination":${q(e.destination)},"rcode":${q(e.rcode)},"answers":${e.answers},"findings":${e.findings},"durationMs":${e.durationMs}`;
  if (e.reason !== undefined) line += `,"reason":${q(e.reason)}`;
  if (e.cached !== undefined) line += `,"cached":${e.cached}`;
  if (e.upstreamMs !== undefined) line += `,"upstreamMs":${e.upstreamMs}`;
  if (e.stripped !== undefined) line += `,"stripped":${e.stripped}`;
  if (e.truncated !== undefined) line += `,"truncated":${e.truncated}`;
  return `${line},"msg":"egress"}\n`;
}

/** Names an access log line never shows the value of (as the loggers' redact paths). */
const REDACTED = new Set(['authorization', 'cookie', 'proxy-authorization', 'headers']);

/** A field value as pino writes it: strings JSON-escaped, non-finite numbers null, objects as JSON. */
function jsonValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return q(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return JSON.stringify(v) ?? 'null';
  }
}

/**
 * An egress line as pino writes it (`{"level":"info","time":...,fields,"msg":"egress"}`),
 * built here: one line per request is the plain-HTTP path's hottest sink, and pino's
 * generic serializing with a redacting child cost ~5 µs a line (profiled, issue #19). The
 * fields are the event's own, in its order, but its type and start; `undefined` ones are
 * left out, as pino leaves them. The redacted names are censored all the same (no event
 * carries them).
 */
export function egressLine(e: EgressEvent): string {
  let line = `{"level":"info","time":"${isoNow()}"`;
  const fields = e as unknown as Record<string, unknown>;
  for (const key in fields) {
    if (key === 'type' || key === 'start') continue;
    const v = fields[key];
    if (v === undefined || typeof v === 'function') continue;
    // Keys are EgressEvent's field names (identifiers): nothing to escape.
    line += `,"${key}":${REDACTED.has(key) ? '"[redacted]"' : jsonValue(v)}`;
  }
  return `${line},"msg":"egress"}\n`;
}

/** Subscribe the access log to the event bus. */
export function accessLogSink(logger: Logger): (event: ProxyEvent) => void {
  // One line per request: the hot path. Its fields are flat (the one nested value, `scanned`,
  // holds byte counts), so the same names are redacted at the top level only: the wildcard
  // paths above cost ~7 µs a line (profiled), for nothing an egress event can hold.
  const egressLog = logger.child({}, { redact: { paths: ['authorization', 'cookie', '["proxy-authorization"]', 'headers'], censor: '[redacted]' } });
  // DNS lines hold names, codes and counts only (no header, cookie or credential field can
  // be one), so they skip redaction (a redacting child costs microseconds a line).
  const dnsLog = logger.child({}, { redact: { paths: [], censor: '[redacted]' } });
  // A logger createLogger made: DNS lines go to its streams as dnsLine builds them.
  const direct = lineStreams.get(logger);
  return (event) => {
    switch (event.type) {
      case 'egress': {
        if (direct && logger.isLevelEnabled('info')) {
          const line = egressLine(event);
          for (const s of direct.streams) s.write(line);
          return;
        }
        const { type: _type, start: _start, ...fields } = event;
        egressLog.info(fields, 'egress');
        return;
      }
      case 'dns': {
        // One line per query, an egress line of kind dns (the kind field says so).
        if (direct && logger.isLevelEnabled('info')) {
          const line = dnsLine(event);
          for (const s of direct.streams) s.write(line);
          return;
        }
        const { type: _type, start: _start, qtypeLabel: _label, ...fields } = event;
        dnsLog.info(fields, 'egress');
        return;
      }
      case 'finding': {
        const { type: _type, ...fields } = event;
        // Credential use is normal traffic: recorded, at a lower level than an alert.
        if (event.verdict === 'credential-use') logger.debug(fields, 'finding');
        else logger.warn(fields, 'finding');
        return;
      }
      case 'log-drop': {
        const { type: _type, ...fields } = event;
        logger.warn(fields, 'log stream drop');
        return;
      }
      case 'reload':
        if (event.result === 'success') logger.info({ source: event.source }, 'config reloaded');
        else logger.error({ source: event.source, error: event.error }, 'config reload rejected; the running config stays');
        return;
    }
  };
}
