// The pure parts of log scanning, without sockets: range reassembly, ANSI/CR
// normalisation, WebSocket frames, GitHub batches, recognisers' URL parsing, the stream
// registry's bounds, NDJSON lines.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Engine } from '../detectors/index.js';
import { defaultRules } from '../detectors/rules/index.js';
import { ingestLabels, LineSplitter, recordMessage } from '../proxy/logs/ingest-parse.js';
import { normalizeAnsi, AnsiNormalizer } from '../proxy/logs/normalize.js';
import { parseContentRange, RangeReassembler } from '../proxy/logs/reassembly.js';
import { jobFromFeedPath, parseBatches, parseBlobUpload } from '../proxy/logs/recognisers/github.js';
import { isFinalUpdate, parseGitlabCall } from '../proxy/logs/recognisers/gitlab.js';
import { LogStreams, type StreamLabels } from '../proxy/logs/streams.js';
import { encodeFrame, FrameParser } from '../proxy/logs/websocket.js';
import type { FindingEvent } from '../proxy/events/events.js';
import { createRng } from './corpus/rng.js';
import { generators } from './corpus/gen/github.js';

const make = generators['github-pat-classic'];
if (!make) throw new Error('no generator for github-pat-classic');
const rng = createRng(919);
const token = make(rng);
const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32, 7) });
const labels: StreamLabels = { pool: 'p', client: 'c', host: 'h', kind: 'log', job: 'j', source: 'test' };

/** Split `n` into consecutive ranges at the given cut points. */
function ranges(n: number, cuts: number[]): Array<[number, number]> {
  const points = [...new Set(cuts.map((c) => c % (n + 1)))].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  let at = 0;
  for (const p of [...points, n]) {
    if (p > at) out.push([at, p]);
    at = Math.max(at, p);
  }
  return out;
}

describe('RangeReassembler', () => {
  const collect = (bufs: Buffer[]): string => Buffer.concat(bufs).toString();

  test('in order, retried, overlapping, out of order', () => {
    const r = new RangeReassembler(1024);
    expect(collect(r.push(0, Buffer.from('hello ')).deliver)).toBe('hello ');
    const retry = r.push(0, Buffer.from('hello '));
    expect(retry.deliver).toEqual([]);
    expect(retry.duplicate).toBe(6);
    expect(collect(r.push(3, Buffer.from('lo world')).deliver)).toBe('world');
    expect(r.push(14, Buffer.from('!!')).deliver).toEqual([]); // a gap: held
    expect(r.heldBytes).toBe(2);
    expect(collect(r.push(11, Buffer.from('abc')).deliver)).toBe('abc!!');
    expect(r.gaps).toEqual([]);
    expect(r.position).toBe(16);
  });

  test('a gap that never fills is recorded at the end; one over the bound at once', () => {
    const r = new RangeReassembler(4);
    r.push(0, Buffer.from('ab'));
    expect(r.push(5, Buffer.from('xy')).deliver).toEqual([]);
    const end = r.end();
    expect(end.gaps).toEqual([{ from: 2, to: 5 }]);
    expect(collect(end.deliver)).toBe('xy');
    const big = r.push(20, Buffer.from('0123456789'));
    expect(big.gaps).toEqual([{ from: 7, to: 20 }]);
    expect(collect(big.deliver)).toBe('0123456789');
  });

  test('any split into ranges, with retries and overlaps, in any order, delivers the bytes once', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.nat()), (data, cuts, extra, order) => {
        const buf = Buffer.from(data);
        const parts = ranges(buf.length, cuts);
        // Retries of some ranges, and overlapping ranges spanning two neighbours.
        for (const e of extra) {
          const i = e % parts.length;
          const [a] = parts[i] as [number, number];
          const [, b] = parts[Math.min(parts.length - 1, i + 1)] as [number, number];
          parts.push([a, b]);
        }
        // Shuffle by the given keys.
        const shuffled = parts.map((p, i) => ({ p, k: order[i] ?? i })).sort((x, y) => x.k - y.k).map((x) => x.p);
        const r = new RangeReassembler(buf.length);
        const out: Buffer[] = [];
        for (const [a, b] of shuffled) out.push(...r.push(a, buf.subarray(a, b)).deliver);
        out.push(...r.end().deliver);
        expect(Buffer.concat(out)).toEqual(buf);
        expect(r.gaps).toEqual([]);
      }),
    );
  });

  test('Content-Range: inclusive, no unit; the HTTP form too; garbage refused', () => {
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange('5-4')).toBeUndefined();
    expect(parseContentRange('a-b')).toBeUndefined();
    expect(parseContentRange('-5')).toBeUndefined();
    expect(parseContentRange(undefined)).toBeUndefined();
  });
});

describe('ANSI and carriage-return normalisation', () => {
  test('colour codes, OSC titles and erase sequences go; CR becomes a space; lines stay', () => {
    expect(normalizeAnsi('\x1b[32;1mok\x1b[0;m\n').toString()).toBe('ok\n');
    expect(normalizeAnsi('a\x1b]0;title\x07b\x1b]8;;http://x\x1b\\c').toString()).toBe('abc');
    expect(normalizeAnsi('10%\r50%\r\x1b[0K100%\r\n').toString()).toBe('10% 50% 100% \n');
    expect(normalizeAnsi('caf\u00e9 \x1b(B\u00fc').toString()).toBe('caf\u00e9 \u00fc');
  });

  test('any chunking gives the same output as the whole', () => {
    const alphabet = ['a', 'Z', '\n', '\r', '\x1b', '[', ']', '0', ';', 'm', 'K', '\x07', '\\', '\u00e9', ' '];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 200 }), fc.array(fc.nat(), { maxLength: 10 }), (chars, cuts) => {
        const input = Buffer.from(chars.join(''));
        const whole = normalizeAnsi(input);
        const n = new AnsiNormalizer();
        const parts = ranges(input.length, cuts).map(([a, b]) => n.write(input.subarray(a, b)));
        expect(Buffer.concat(parts)).toEqual(whole);
        // Line breaks are the input's own.
        expect(whole.toString('latin1').split('\n').length).toBe(input.toString('latin1').split('\n').length);
      }),
    );
  });
});

/**
 * The normaliser's definition, byte by byte (the state machine the fast version skips
 * text with): ESC sequences dropped, a byte that breaks one read again as text, CR -> space.
 */
function referenceNormalize(input: Buffer): Buffer {
  const out: number[] = [];
  let state: 'text' | 'esc' | 'csi' | 'osc' | 'oscEsc' | 'escInter' = 'text';
  let osc = 0;
  for (let i = 0; i < input.length; i++) {
    const b = input[i] as number;
    const again = (): void => {
      state = 'text';
      i--;
    };
    if (state === 'text') {
      if (b === 0x1b) state = 'esc';
      else out.push(b === 0x0d ? 0x20 : b);
    } else if (state === 'esc') {
      if (b === 0x5b) state = 'csi';
      else if (b === 0x5d) [state, osc] = ['osc', 0];
      else if (b >= 0x20 && b <= 0x2f) state = 'escInter';
      else if (b >= 0x30 && b <= 0x7e) state = 'text';
      else again();
    } else if (state === 'csi' || state === 'escInter') {
      if (b >= (state === 'csi' ? 0x40 : 0x30) && b <= 0x7e) state = 'text';
      else if (b < 0x20 || b > 0x7e) again();
    } else if (state === 'osc') {
      if (b === 0x07) state = 'text';
      else if (b === 0x1b) state = 'oscEsc';
      else if (++osc > 4096 || b === 0x0a) again();
    } else {
      state = 'text';
      if (b !== 0x5c) i--;
    }
  }
  return Buffer.from(out);
}

test('the normaliser gives what its byte-by-byte definition gives, in any chunking', () => {
  const piece = fc.oneof(
    fc.constantFrom('\x1b[', '\x1b]', '\x1b(', '\x1b\\', '\x1b', '\x07', '\r', '\n', '\r\n', '0;31m', '[0K', 'm', '\u00e9', '\x00', '\x7f'),
    fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '0', ';', '%', '/'), maxLength: 12 }),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 8 }), (pieces, cuts) => {
      const input = Buffer.from(pieces.join(''), 'utf8');
      const expected = referenceNormalize(input);
      expect(normalizeAnsi(input)).toEqual(expected);
      const n = new AnsiNormalizer();
      expect(Buffer.concat(ranges(input.length, cuts).map(([a, b]) => n.write(input.subarray(a, b))))).toEqual(expected);
    }),
    { numRuns: 500 },
  );
});

describe('job streams', () => {
  function streamsWith(found: FindingEvent[], opts: { maxStreams?: number; now?: () => number } = {}): LogStreams {
    return new LogStreams({ engine, maxStreams: opts.maxStreams ?? 10, idleMs: 1000, onFinding: (e) => found.push(e), ...(opts.now ? { now: opts.now } : {}) });
  }
  const trace = Buffer.from(`line one\n\x1b[1mline two\x1b[0m\nTOKEN=${token.slice(0, 9)}\x1b[31m${token.slice(9)}\x1b[0m\nlast 50%\r100%\n`);

  test('any split of a trace into PATCHes (with retries) yields the same one finding', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 4 }), (cuts, retries) => {
        const found: FindingEvent[] = [];
        const streams = streamsWith(found);
        const s = streams.open('k', labels);
        if (!s) throw new Error('not opened');
        const parts = ranges(trace.length, cuts);
        parts.forEach(([a, b], i) => {
          s.writeAt(a, trace.subarray(a, b));
          if (retries.includes(i)) s.writeAt(a, trace.subarray(a, b));
        });
        s.end();
        expect(found.map((f) => [f.rule, f.line, f.job, f.verdict, f.source])).toEqual([['github-pat-classic', 3, 'j', 'leak', 'log']]);
        expect(streams.activeStreams()).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  test('batches keep the job line numbers; a batch sent again is not scanned twice', () => {
    const found: FindingEvent[] = [];
    const s = streamsWith(found).open('k', labels);
    s?.writeLines(['a', 'b'], 1);
    s?.writeLines([`x ${token}`], 40);
    s?.writeLines([`x ${token}`], 40);
    s?.end();
    expect(found.map((f) => f.line)).toEqual([40]);
  });

  test('records held and scanned together report the line of their own record, multi-line and skipped records included', () => {
    // 3000 records (several batches), every 7th with a line break inside, every 11th
    // skipped (malformed: its record number is not written), a token in a few.
    const records: Array<{ line: number; text: string }> = [];
    const tokenAt = new Set([5, 700, 1401, 2222, 2999]);
    for (let n = 1; n <= 3000; n++) {
      if (n % 11 === 0 && !tokenAt.has(n)) continue;
      const body = tokenAt.has(n) ? `step ${n} export TOKEN=${token}` : `step ${n} \x1b[32mok\x1b[0m compiling module-${n}.ts`;
      records.push({ line: n, text: n % 7 === 0 ? `${body}\ncontinued ${n}` : body });
    }
    const one: FindingEvent[] = [];
    const alone = streamsWith(one).open('alone', labels);
    for (const r of records) {
      alone?.alignNextLine(r.line);
      alone?.write(Buffer.from(r.text + '\n'));
    }
    alone?.end();
    const held: FindingEvent[] = [];
    const together = streamsWith(held).open('together', labels);
    records.forEach((r, i) => {
      together?.writeRecord(r.line, r.text);
      if (i % 500 === 499) together?.flushRecords();
    });
    together?.end();
    // Job line numbers: a record's own, and 1 further for the second line of a multi-line one.
    expect(one.map((f) => f.line)).toEqual([5, 700, 1401, 2222, 2999]);
    expect(held.map((f) => [f.rule, f.line, f.fingerprint])).toEqual(one.map((f) => [f.rule, f.line, f.fingerprint]));
  });

  test('open streams are bounded; idle ones expire', () => {
    let now = 0;
    const found: FindingEvent[] = [];
    const streams = streamsWith(found, { maxStreams: 2, now: () => now });
    const a = streams.open('a', labels);
    streams.open('b', labels);
    expect(streams.open('c', labels)).toBeUndefined();
    expect(streams.stats.rejected).toBe(1);
    a?.write(Buffer.from(`k ${token}\n`));
    now = 5000;
    expect(streams.sweep()).toBe(2);
    expect(streams.activeStreams()).toBe(0);
    expect(found).toHaveLength(1);
    expect(streams.open('c', labels)).toBeDefined();
    // Writing to an expired stream is ignored, not an error.
    a?.write(Buffer.from('more'));
  });

  test('idle flushes at any points between PATCHes (with retries) still yield the one finding, once (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), (cuts, flushes) => {
        const found: FindingEvent[] = [];
        const streams = new LogStreams({ engine, maxStreams: 1, idleFlushMs: 0, onFinding: (e) => found.push(e) });
        const s = streams.open('k', labels);
        if (!s) throw new Error('not opened');
        ranges(trace.length, cuts).forEach(([a, b], i) => {
          s.writeAt(a, trace.subarray(a, b));
          if (flushes.includes(i)) s.flush();
          if (flushes.includes(i + 100)) s.writeAt(a, trace.subarray(a, b));
        });
        s.end();
        expect(found.map((f) => [f.rule, f.line])).toEqual([['github-pat-classic', 3]]);
      }),
      { numRuns: 100 },
    );
  });

  test('a stream gone quiet reports the token at its tail while it is still open, and never again', async () => {
    const found: FindingEvent[] = [];
    let arrived: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (arrived = resolve));
    const streams = new LogStreams({ engine, maxStreams: 1, idleFlushMs: 20, onFinding: (e) => (found.push(e), arrived()) });
    const s = streams.open('k', labels);
    s?.writeAt(0, Buffer.from(`step 1\nexport T=${token.slice(0, 15)}`));
    s?.writeAt(15 + 16, Buffer.from(token.slice(15)));
    expect(s?.flushPending).toBe(true);
    await first; // no end(): the idle flush reported it
    expect(s?.closed).toBe(false);
    expect(found.map((f) => [f.rule, f.line])).toEqual([['github-pat-classic', 2]]);
    s?.write(Buffer.from(`\nstep 2 ok\n${'x '.repeat(3000)}\n`));
    s?.end();
    expect(s?.flushPending).toBe(false); // the timer ends with the stream
    expect(found).toHaveLength(1);
  });

  test('held out-of-order bytes stay within the per-stream bound', () => {
    const streams = new LogStreams({ engine, maxStreams: 1, maxHeldBytes: 100 });
    const s = streams.open('k', labels);
    for (let i = 1; i < 50; i++) s?.writeAt(i * 1000, Buffer.alloc(60, 0x61));
    expect(s?.bufferedBytes ?? 0).toBeLessThan(100 + 64 * 1024 + 8192);
    expect(streams.stats.gaps).toBeGreaterThan(0);
  });
});

describe('WebSocket frames', () => {
  const mask = Buffer.from([1, 2, 3, 4]);
  test('masked text frames, continuation frames and a ping between, in any chunking', () => {
    const stream = Buffer.concat([
      encodeFrame(1, Buffer.from('{"a":'), { fin: false, mask }),
      encodeFrame(9, Buffer.from('ping'), { mask }),
      encodeFrame(0, Buffer.from('1}'), { fin: true, mask }),
      encodeFrame(2, Buffer.from([0, 1, 2]), { mask }),
      encodeFrame(1, Buffer.alloc(300, 0x62), { mask }),
      encodeFrame(1, Buffer.alloc(70000, 0x63), { mask }),
      encodeFrame(1, Buffer.from('zipped'), { mask, rsv1: true }),
      encodeFrame(1, Buffer.from('after'), { mask }),
      encodeFrame(8, Buffer.from([3, 232]), { mask }),
      encodeFrame(1, Buffer.from('after close'), { mask }),
    ]);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 20 }), (cuts) => {
        const p = new FrameParser(1000);
        const messages: string[] = [];
        let dropped = 0;
        let closed = false;
        for (const [a, b] of ranges(stream.length, cuts)) {
          const r = p.write(stream.subarray(a, b));
          messages.push(...r.messages.map((m) => `${m.kind}:${m.kind === 'text' ? m.data.toString() : m.data.toString('hex')}`));
          dropped += r.dropped;
          closed ||= r.closed;
        }
        expect(messages).toEqual(['text:{"a":1}', 'binary:000102', `text:${'b'.repeat(300)}`, 'text:after']);
        expect(dropped).toBe(2); // over the bound, compressed
        expect(closed).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});

describe('GitHub batches and URLs', () => {
  test('one batch, JSON lines of batches, malformed ones counted', () => {
    expect(parseBatches('{"count":1,"value":["x"],"stepId":"s","startLine":3}')).toEqual({ batches: [{ stepId: 's', startLine: 3, lines: ['x'] }], malformed: 0 });
    const two = parseBatches('{"count":1,"value":["a"],"stepId":"s"}\n{"value":[1],"stepId":"s"}\n{"value":["b"],"stepId":"t","startLine":9}\nnot json');
    expect(two.batches.map((b) => [b.stepId, b.lines, b.startLine])).toEqual([
      ['s', ['a'], undefined],
      ['t', ['b'], 9],
    ]);
    expect(two.malformed).toBe(2);
    expect(parseBatches('{"hello":1}').malformed).toBe(1);
  });

  test('blob uploads name the job and step', () => {
    const base = '/actions-results/run-1/workflow-job-run-abc/logs';
    expect(parseBlobUpload('PUT', `${base}/steps/step-logs-s1.txt?sig=x&comp=appendblock`, undefined)).toEqual({ job: 'abc', step: 's1', mode: 'append' });
    expect(parseBlobUpload('PUT', `${base}/steps/step-logs-s1.txt?sig=x`, 'AppendBlob')).toEqual({ job: 'abc', step: 's1', mode: 'create' });
    expect(parseBlobUpload('PUT', `${base}/job/job-logs.txt?sig=x`, 'BlockBlob')).toEqual({ job: 'abc', step: 'job', mode: 'whole' });
    expect(parseBlobUpload('GET', `${base}/job/job-logs.txt`, undefined)).toBeUndefined();
    expect(parseBlobUpload('PUT', `${base}/steps/step-logs-s1.txt?comp=blocklist`, undefined)).toBeUndefined();
    expect(parseBlobUpload('PUT', '/other/blob.txt', undefined)).toBeUndefined();
    expect(jobFromFeedPath('/_apis/x/plans/p1/jobs/j9/feed?x=1')).toBe('j9');
    expect(jobFromFeedPath('/hub/plans/p1')).toBe('p1');
    expect(jobFromFeedPath('/ws')).toBeUndefined();
  });
});

describe('GitLab calls', () => {
  test('trace PATCH and job PUT by path, under a relative root too', () => {
    expect(parseGitlabCall('PATCH', '/api/v4/jobs/42/trace')).toEqual({ kind: 'trace', job: '42' });
    expect(parseGitlabCall('PATCH', '/gitlab/api/v4/jobs/42/trace?debug_trace=false')).toEqual({ kind: 'trace', job: '42' });
    expect(parseGitlabCall('PUT', '/api/v4/jobs/42')).toEqual({ kind: 'update', job: '42' });
    expect(parseGitlabCall('GET', '/api/v4/jobs/42/trace')).toBeUndefined();
    expect(parseGitlabCall('PATCH', '/api/v4/jobs/x1/trace')).toBeUndefined();
    expect(parseGitlabCall('PATCH', '/api/v4/jobs/42/trace/more')).toBeUndefined();
    expect(isFinalUpdate(Buffer.from('{"state":"failed"}'))).toBe(true);
    expect(isFinalUpdate(Buffer.from('{"state":"running"}'))).toBe(false);
    expect(isFinalUpdate(Buffer.from('nope'))).toBe(false);
  });
});

describe('ingest parsing', () => {
  test('labels from headers first, then the query; unknown pools refused', () => {
    const pools = new Set(['runners']);
    expect(ingestLabels({ 'x-chokepoint-job': 'h' }, new URLSearchParams('job=q&step=s'), pools)).toEqual({ pool: 'ingest', job: 'h', step: 's' });
    expect(ingestLabels({}, new URLSearchParams('pool=runners&pipeline=7'), pools)).toEqual({ pool: 'runners', pipeline: '7' });
    expect(ingestLabels({}, new URLSearchParams('pool=other'), pools)).toHaveProperty('error');
    expect(ingestLabels({ 'x-chokepoint-job': 'a\u0001b' }, new URLSearchParams(), pools)).toHaveProperty('error');
  });

  test('NDJSON messages; a line over the bound is skipped and counted', () => {
    expect(recordMessage('{"message":"m"}')).toBe('m');
    expect(recordMessage('{"log":"l"}')).toBe('l');
    expect(recordMessage('{"message":5}')).toBeUndefined();
    expect(recordMessage('[1]')).toBeUndefined();
    const s = new LineSplitter(8);
    const out = [...s.write(Buffer.from('short\nthis one is long')), ...s.write(Buffer.from('er still\nok\r\nend'))];
    out.push(s.end() ?? Buffer.from('?'));
    expect(out.map((b) => (b === null ? null : b.toString()))).toEqual(['short', null, 'ok', 'end']);
    expect(s.overlong).toBe(1);
  });
});
