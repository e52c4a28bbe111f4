// Egress access log lines (issue #19): built by hand for speed (access-log.ts egressLine),
// they must read exactly as pino's lines did, field for field, and reach the log's streams.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { accessLogSink, createLogger, egressLine } from '../proxy/events/access-log.js';
import type { EgressEvent } from '../proxy/events/events.js';

const base: EgressEvent = {
  type: 'egress',
  start: 1_700_000_000_000,
  pool: 'ci',
  client: '10.0.0.7',
  kind: 'http',
  method: 'GET',
  host: 'registry.npmjs.org',
  port: 80,
  decision: 'allow',
  destination: '*.npmjs.org',
  status: 200,
  bytesUp: 0,
  bytesDown: 1024,
  findings: 0,
  path: '/left-pad',
  address: '104.16.0.1',
  durationMs: 3,
};
const every: EgressEvent = {
  ...base,
  pool: 'odd "pool" \\ name',
  kind: 'intercept',
  method: 'POST',
  path: '/ünïcode/\u2028line\tand "quotes"',
  sni: 'registry.npmjs.org',
  intercepted: true,
  httpVersion: '2',
  tlsAlert: 'unknown_ca',
  decision: 'audit',
  reason: 'secret-exfiltration',
  policyReason: 'not-allowlisted',
  destination: 'unlisted',
  status: 403,
  bytesUp: 5120,
  findings: 2,
  dnsMs: 1.2345678,
  connectMs: 0.000123,
  scanned: { url: 9, header: 120, body: 5000 },
  scanSkipped: ['oversize', 'unknown-encoding'],
};

/** The line pino writes for the event, the way the access log wrote egress lines before. */
function viaPino(e: EgressEvent): Record<string, unknown> {
  const lines: string[] = [];
  const log = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, { write: (s: string) => lines.push(s) });
  const child = log.child({}, { redact: { paths: ['authorization', 'cookie', '["proxy-authorization"]', 'headers'], censor: '[redacted]' } });
  const { type: _t, start: _s, ...fields } = e;
  child.info(fields, 'egress');
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

describe('egress access log lines', () => {
  test.each([
    ['a plain allowed request', base],
    ['a line with every optional field, nested counts and characters JSON must escape', every],
    ['a refused request with nothing resolved', { ...base, decision: 'deny' as const, reason: 'not-allowlisted' as const, policyReason: 'not-allowlisted' as const, destination: 'unlisted', status: 403, address: undefined, bytesDown: 0 }],
  ])('%s reads as pino wrote it, in the same order', (_name, e) => {
    const line = egressLine(e);
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2); // one line, whatever the path held
    const ours = JSON.parse(line) as Record<string, unknown>;
    const theirs = viaPino(e);
    expect(Number.isNaN(Date.parse(ours.time as string))).toBe(false);
    expect(Object.keys(ours)).toEqual(Object.keys(theirs));
    expect({ ...ours, time: 'T' }).toEqual({ ...theirs, time: 'T' });
  });

  test('a field named like a credential header is censored, as the redact paths did', () => {
    const odd = { ...base, authorization: 'Bearer ' + 'x'.repeat(12), headers: { cookie: 'y' } } as unknown as EgressEvent;
    const ours = JSON.parse(egressLine(odd)) as Record<string, unknown>;
    expect(ours.authorization).toBe('[redacted]');
    expect(ours.headers).toBe('[redacted]');
    expect(egressLine(odd)).not.toContain('x'.repeat(12));
  });

  test('the sink of a logger createLogger made writes the line to its stream', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    accessLogSink(createLogger({ destination }))(every);
    expect(lines).toHaveLength(1);
    expect({ ...(JSON.parse(lines[0] as string) as Record<string, unknown>), time: 'T' }).toEqual({ ...viaPino(every), time: 'T' });
  });

  test('a logger above info writes no egress line', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    accessLogSink(createLogger({ destination, level: 'warn' }))(base);
    expect(lines).toHaveLength(0);
  });
});
