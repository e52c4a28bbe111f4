// The access log: one JSON line per request or tunnel when it ends, via pino. A sink of
// the event bus. Headers and bodies are never part of an event, so never part of a line.
import pino, { type Logger } from 'pino';
import type { ProxyEvent } from './events.js';

export interface AccessLogOptions {
  level?: string;
  /** Also append lines to this file. */
  file?: string;
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: AccessLogOptions = {}): Logger {
  const level = (options.level ?? 'info') as pino.Level;
  // Each stream of a multistream filters by its own level (default info): give it ours.
  // Lines are batched (one write per 4 KiB, or every 100 ms at the latest): a write per
  // line was a syscall per request on the hot path. pino flushes what is left at exit.
  const batched = { sync: false, minLength: 4096, periodicFlush: 100 };
  const streams: pino.StreamEntry[] = [
    { level, stream: options.destination ?? pino.destination({ dest: 1, ...batched }) },
  ];
  if (options.file) streams.push({ level, stream: pino.destination({ dest: options.file, ...batched, mkdir: true, append: true }) });
  return pino(
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
  return (event) => {
    switch (event.type) {
      case 'egress': {
        const { type: _type, start: _start, ...fields } = event;
        egressLog.info(fields, 'egress');
        return;
      }
      case 'dns': {
        // One line per query, an egress line of kind dns (the kind field says so).
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
