// DNS access log lines (issue #16): built by hand for speed (access-log.ts dnsLine), they
// must read exactly as pino's lines do, and the batched destination must lose no line,
// also when the process exits right after writing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { accessLogSink, dnsLine } from '../proxy/events/access-log.js';
import type { DnsEvent } from '../proxy/events/events.js';

const base: DnsEvent = {
  type: 'dns',
  start: 1_700_000_000_000,
  pool: 'ci',
  client: '10.0.0.7',
  kind: 'dns',
  protocol: 'udp',
  host: 'registry.npmjs.org',
  qtype: 'A',
  qtypeLabel: 'A',
  decision: 'allow',
  destination: '*.npmjs.org',
  rcode: 'NOERROR',
  answers: 2,
  findings: 0,
  durationMs: 0,
};
const every: DnsEvent = { ...base, pool: 'odd "pool" \\ name', host: '[redacted 40].attacker.example', decision: 'audit', reason: 'private-address', stripped: 1, upstreamMs: 1.25, cached: false, truncated: true, findings: 1 };

/** The line pino writes for the event, the way the access log wrote DNS lines before. */
function viaPino(e: DnsEvent): Record<string, unknown> {
  const lines: string[] = [];
  const log = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, { write: (s: string) => lines.push(s) });
  const { type: _t, start: _s, qtypeLabel: _l, ...fields } = e;
  log.info(fields, 'egress');
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}

describe('DNS access log lines', () => {
  test.each([
    ['a cached allowed answer', { ...base, cached: true }],
    ['a line with every optional field, and characters JSON must escape', every],
    ['a refused client of no pool', { ...base, pool: 'none', decision: 'refused' as const, reason: 'no-pool' as const, rcode: 'REFUSED', answers: 0 }],
  ])('%s reads as pino wrote it', (_name, e) => {
    const line = dnsLine(e);
    expect(line.endsWith('}\n')).toBe(true);
    const ours = JSON.parse(line) as Record<string, unknown>;
    const theirs = viaPino(e);
    expect(typeof ours.time).toBe('string');
    expect(Number.isNaN(Date.parse(ours.time as string))).toBe(false);
    expect({ ...ours, time: 'T' }).toEqual({ ...theirs, time: 'T' });
  });

  test('every field of a DNS event but its type, start and metric label is in the line', () => {
    const ours = JSON.parse(dnsLine(every)) as Record<string, unknown>;
    for (const key of Object.keys(every)) {
      if (key === 'type' || key === 'start' || key === 'qtypeLabel') expect(ours).not.toHaveProperty(key);
      else expect(ours).toHaveProperty(key);
    }
  });

  test('the sink writes DNS lines through a logger it was not given by createLogger too', () => {
    const lines: string[] = [];
    const logger = pino({ base: undefined }, { write: (s: string) => lines.push(s) });
    accessLogSink(logger)({ ...base, cached: true });
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ kind: 'dns', host: 'registry.npmjs.org', cached: true, msg: 'egress' });
  });

  test('a process that exits right after logging loses no line, to stdout or to the log file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'chokepoint-accesslog-'));
    try {
      const file = join(dir, 'access.log');
      const module = resolve(import.meta.dirname, '..', 'dist', 'proxy', 'events', 'access-log.js');
      const code = `
        const { createLogger, accessLogSink } = await import(${JSON.stringify(module)});
        const { existsSync } = await import('node:fs');
        const logger = createLogger({ file: ${JSON.stringify(file)} });
        // The log file opens asynchronously (as at start-up): exit once it is open.
        for (let i = 0; i < 500 && !existsSync(${JSON.stringify(file)}); i++) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 50));
        const sink = accessLogSink(logger);
        const e = ${JSON.stringify(base)};
        for (let i = 0; i < 3000; i++) sink({ ...e, host: 'h' + i + '.example.com' });
        logger.info('last line');
        process.exit(0);`;
      const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      for (const text of [stdout, readFileSync(file, 'utf8')]) {
        const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(lines).toHaveLength(3001);
        expect(lines.slice(0, 3000).map((l) => l.host)).toEqual(Array.from({ length: 3000 }, (_, i) => `h${i}.example.com`));
        expect(lines[3000]?.msg).toBe('last line');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
