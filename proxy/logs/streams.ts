// The job streams being scanned: one per CI job log (or step log, or ingest request), each
// with its own StreamScanner, ANSI/CR normaliser, line map and (for uploads in ranges) a
// reassembler. Bounded: open streams (`maxStreams`), bytes held per stream, idle expiry.
// What exceeds a bound is counted (`stats`) and reported through `onDrop`; nothing throws
// at a caller. Findings become `finding` events (source `log`, verdict `leak`).
//
// Idle flush: a stream that has had no input for `idleFlushMs` is scanned as if it had
// ended (StreamScanner.flush), so a secret at the end of what a job wrote so far is
// reported while the job runs, not when the stream ends; what a flush reported is not
// reported again when more bytes come. One unref'd timer per stream at most, cleared
// when the stream ends.
import { performance } from 'node:perf_hooks';
import type { Engine, Finding, StreamScanner } from '../../detectors/index.js';
import type { EgressKind, FindingEvent, ScanEvent } from '../events/events.js';
import { countNewlines, LineMap } from './lines.js';
import { AnsiNormalizer } from './normalize.js';
import { RangeReassembler, type Gap } from './reassembly.js';

export interface StreamLabels {
  pool: string;
  client: string;
  /** Where the log was going (the CI system's host), or `ingest`. */
  host: string;
  kind: EgressKind | 'log';
  job: string;
  pipeline?: string;
  step?: string;
  /** The recogniser (or `ingest`) that opened the stream. */
  source: string;
}

/** A finding as a log stream reports it (redacted: never the value). */
export interface LogFinding {
  rule: string;
  title: string;
  severity: string;
  job: string;
  step?: string;
  line: number;
  column: number;
  redacted: string;
  fingerprint: string;
  known?: 'secret' | 'canary';
}

export type DropReason =
  /** A new stream refused: `maxStreams` are open. */
  | 'too-many-streams'
  /** Bytes not scanned: held out-of-order bytes over the per-stream bound, or an oversized/compressed WebSocket message. */
  | 'oversize'
  /** A stream closed for being idle too long. */
  | 'idle-expired'
  /** A hole in a ranged upload that never filled. */
  | 'gap'
  /** Lines or messages that could not be parsed (bad NDJSON, bad GitHub batch). */
  | 'malformed';

export interface LogStreamStats {
  opened: number;
  rejected: number;
  expired: number;
  scannedBytes: number;
  duplicateBytes: number;
  gaps: number;
  gapBytes: number;
  droppedBytes: number;
  droppedMessages: number;
  malformed: number;
  findings: number;
}

export interface LogStreamsOptions {
  engine: Engine;
  maxStreams: number;
  /** Out-of-order bytes a stream may hold waiting for a gap to fill (default 1 MiB). */
  maxHeldBytes?: number;
  /** Close a stream after this long without input (default 10 minutes). */
  idleMs?: number;
  /** Scan the held tail of a stream after this long without input (default 500 ms; 0: only at the end). */
  idleFlushMs?: number;
  /** Findings kept per stream for its summary (ingest responses); more are counted only. */
  maxFindingsKept?: number;
  onFinding?: (event: FindingEvent) => void;
  /** Scanned bytes, and content not scanned, as `scan` events (metrics: chokepoint_scan_bytes_total{source="log"}). */
  onScan?: (event: ScanEvent) => void;
  /** Anything over a bound, or lost (counted; metrics and logs may sink it). */
  onDrop?: (reason: DropReason, count: number, labels: StreamLabels | undefined) => void;
  now?: () => number;
}

/** Largest piece handed to a scanner at once: its buffer stays near carry-over + this. */
const FEED_SLICE = 64 * 1024;
/** writeRecord holds records up to about this many characters before scanning them. */
const RECORD_BATCH = 64 * 1024;
/** ...and at most this many that each start a new segment of the line map (it keeps 256). */
const RECORD_ALIGNS = 64;
/** Scanned bytes are reported in `scan` events about this often (and at the end). */
const SCAN_REPORT_BYTES = 1024 * 1024;

export class JobStream {
  private readonly normalizer = new AnsiNormalizer();
  private readonly lines = new LineMap();
  private scanner: StreamScanner | undefined;
  private reassembler: RangeReassembler | undefined;
  /** `\n` bytes fed to the scanner so far. */
  private fedNewlines = 0;
  /** Did the last byte fed end a line? */
  private atLineStart = true;
  private unreported = 0;
  /** writeRecord: records held, their characters, line feeds, and line map alignments they made. */
  private records: string[] = [];
  private recordChars = 0;
  private recordNewlines = 0;
  private recordAligns = 0;
  /** writeLines: the job line the next batch should start at. */
  private nextJobLine = 1;
  lastActive: number;
  /** The idle-flush timer, while bytes fed since the last flush wait for one. */
  private flushTimer: NodeJS.Timeout | undefined;
  /** performance.now() of the last bytes fed (a monotonic clock: `now` may be a test's). */
  private lastFedAt = 0;
  /** Bytes fed since the last flush. */
  private pendingFlush = false;
  closed = false;
  readonly findings: LogFinding[] = [];
  findingCount = 0;
  bytes = 0;

  constructor(
    readonly key: string,
    readonly labels: StreamLabels,
    private readonly owner: LogStreams,
    scanner: StreamScanner,
  ) {
    this.scanner = scanner;
    this.lastActive = owner.now();
  }

  /** Bytes this stream holds: the scanner's carry-over and out-of-order pieces. */
  get bufferedBytes(): number {
    return (this.scanner?.bufferedBytes ?? 0) + (this.reassembler?.heldBytes ?? 0);
  }

  /** The next bytes of the log, in order. */
  write(chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.flushRecords();
    this.touch();
    this.feed(this.normalizer.write(chunk));
  }

  /** Where the next in-order byte of a ranged upload goes (what was delivered, gaps included). */
  get uploadPosition(): number {
    return this.reassembler?.position ?? 0;
  }

  /** Bytes at an absolute offset of an upload in ranges: reassembled, each byte scanned once. */
  writeAt(offset: number, chunk: Buffer): void {
    if (this.closed || chunk.length === 0) return;
    this.flushRecords();
    this.touch();
    const r = (this.reassembler ??= new RangeReassembler(this.owner.maxHeldBytes));
    const result = r.push(offset, chunk);
    this.owner.noteDuplicate(result.duplicate);
    if (result.dropped > 0) this.owner.drop('oversize', result.dropped, this.labels);
    this.deliver(result.deliver, result.gaps);
  }

  /**
   * Whole lines at the job's own line numbers (GitHub batches). Lines before the next
   * expected one (a batch sent again) are not scanned twice.
   */
  writeLines(input: readonly string[], startLine?: number): void {
    if (this.closed || input.length === 0) return;
    this.flushRecords();
    this.touch();
    let lines = input;
    let first = this.nextJobLine;
    if (startLine !== undefined && Number.isSafeInteger(startLine) && startLine > 0) {
      if (startLine < this.nextJobLine) {
        const seen = this.nextJobLine - startLine;
        if (seen >= lines.length) return;
        lines = lines.slice(seen);
      } else first = startLine;
    }
    if (!this.atLineStart) this.feed(Buffer.from('\n'));
    this.lines.align(this.fedNewlines + 1, first);
    this.nextJobLine = first + lines.length;
    // Lines are joined in slices so a large batch is not copied whole.
    let batch: string[] = [];
    let size = 0;
    for (const line of lines) {
      batch.push(line);
      size += line.length + 1;
      if (size >= FEED_SLICE) {
        this.write(Buffer.from(batch.join('\n') + '\n'));
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) this.write(Buffer.from(batch.join('\n') + '\n'));
  }

  /** The next record starts at the job's line `jobLine` (NDJSON: a record is a line). */
  alignNextLine(jobLine: number): void {
    this.flushRecords();
    if (!this.atLineStart) this.feed(Buffer.from('\n'));
    this.lines.align(this.fedNewlines + 1, jobLine);
  }

  /**
   * One record (an NDJSON line's message) at the job's line `jobLine`: the same as
   * alignNextLine(jobLine) and write(text + newline), but records are held and scanned
   * together (one scanner call per record costs far more than its bytes) until
   * flushRecords(), RECORD_BATCH bytes, or any other input. Call flushRecords() before
   * going back to the event loop.
   */
  writeRecord(jobLine: number, text: string): void {
    if (this.closed) return;
    if (this.records.length === 0 && !this.atLineStart) this.feed(Buffer.from('\n'));
    // Where the record starts once the held records before it are fed.
    if (this.lines.align(this.fedNewlines + this.recordNewlines + 1, jobLine)) this.recordAligns++;
    const line = text.endsWith('\n') ? text : text + '\n';
    this.records.push(line);
    this.recordChars += line.length;
    for (let i = line.indexOf('\n'); i >= 0; i = line.indexOf('\n', i + 1)) this.recordNewlines++;
    // The line map keeps a bounded history: a batch adds only part of it.
    if (this.recordChars >= RECORD_BATCH || this.recordAligns >= RECORD_ALIGNS) this.flushRecords();
  }

  /** Scan the records writeRecord holds. */
  flushRecords(): void {
    if (this.records.length === 0) return;
    const text = this.records.length === 1 ? (this.records[0] as string) : this.records.join('');
    this.records = [];
    this.recordChars = 0;
    this.recordNewlines = 0;
    this.recordAligns = 0;
    this.write(Buffer.from(text));
  }

  /** No more input: flush held pieces and the scanner. Idempotent. */
  end(): void {
    if (this.closed) return;
    this.flushRecords();
    if (this.reassembler) {
      const result = this.reassembler.end();
      this.deliver(result.deliver, result.gaps);
    }
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const scanner = this.scanner;
    this.scanner = undefined;
    if (scanner) this.report(safeScan(() => scanner.end()));
    this.flushScanReport();
    this.owner.forget(this);
  }

  private deliver(pieces: Buffer[], gaps: Gap[]): void {
    let i = 0;
    // Gaps come before the pieces after them; a skipped gap is recorded and a space keeps
    // the bytes on either side from joining into one token.
    for (const gap of gaps) {
      this.owner.drop('gap', gap.to - gap.from, this.labels);
      this.owner.noteGap(gap.to - gap.from);
      if (i < pieces.length) this.feed(this.normalizer.write(pieces[i++] as Buffer));
      this.feed(Buffer.from(' '));
    }
    for (; i < pieces.length; i++) this.feed(this.normalizer.write(pieces[i] as Buffer));
  }

  private feed(buf: Buffer): void {
    const scanner = this.scanner;
    if (!scanner || buf.length === 0) return;
    for (let at = 0; at < buf.length; at += FEED_SLICE) {
      const slice = buf.subarray(at, Math.min(buf.length, at + FEED_SLICE));
      this.report(safeScan(() => scanner.write(slice)));
      this.fedNewlines += countNewlines(slice);
    }
    this.atLineStart = buf[buf.length - 1] === 0x0a;
    this.bytes += buf.length;
    this.unreported += buf.length;
    this.owner.noteScanned(buf.length);
    if (this.unreported >= SCAN_REPORT_BYTES) this.flushScanReport();
    this.armFlush();
  }

  /** Bytes were fed: flush once the stream has been idle for `idleFlushMs`. */
  private armFlush(): void {
    const wait = this.owner.idleFlushMs;
    if (!(wait > 0) || this.closed) return;
    this.lastFedAt = performance.now();
    this.pendingFlush = true;
    if (!this.flushTimer) this.schedule(wait);
  }

  private schedule(ms: number): void {
    this.flushTimer = setTimeout(() => this.onIdle(), ms);
    this.flushTimer.unref();
  }

  private onIdle(): void {
    this.flushTimer = undefined;
    if (this.closed || !this.pendingFlush) return;
    // Bytes came since the timer was set: wait the rest of the idle time after the last.
    const rest = this.owner.idleFlushMs - (performance.now() - this.lastFedAt);
    if (rest >= 1) return this.schedule(rest);
    this.flush();
  }

  /** Is an idle-flush timer set (bytes fed wait for one)? */
  get flushPending(): boolean {
    return this.flushTimer !== undefined;
  }

  /** Report now what the end of the stream would report (the stream goes on). */
  flush(): void {
    this.flushRecords();
    this.pendingFlush = false;
    const scanner = this.scanner;
    if (this.closed || !scanner) return;
    this.report(safeScan(() => scanner.flush()));
    this.flushScanReport();
  }

  private flushScanReport(): void {
    if (this.unreported === 0) return;
    this.owner.scanned(this.labels, this.unreported);
    this.unreported = 0;
  }

  private report(found: Finding[]): void {
    for (const f of found) {
      const finding: LogFinding = {
        rule: f.ruleId,
        title: f.title,
        severity: f.severity,
        job: this.labels.job,
        ...(this.labels.step !== undefined ? { step: this.labels.step } : {}),
        line: this.lines.jobLine(f.line),
        column: f.column,
        redacted: f.redacted,
        fingerprint: f.fingerprint,
        ...(f.known ? { known: f.known } : {}),
      };
      this.findingCount++;
      if (this.findings.length < this.owner.maxFindingsKept) this.findings.push(finding);
      this.owner.found(this.labels, finding, f);
    }
  }

  private touch(): void {
    this.lastActive = this.owner.now();
  }
}

/** A scanner failure loses this chunk's findings, never the caller's request. */
function safeScan(fn: () => Finding[]): Finding[] {
  try {
    return fn();
  } catch {
    return [];
  }
}

export class LogStreams {
  private engine: Engine;
  private readonly streams = new Map<string, JobStream>();
  private timer: NodeJS.Timeout | undefined;
  readonly maxHeldBytes: number;
  readonly maxFindingsKept: number;
  readonly now: () => number;
  maxStreams: number;
  readonly idleMs: number;
  /** Idle time after which a stream's held tail is scanned (0: never before the end). */
  idleFlushMs: number;
  readonly stats: LogStreamStats = {
    opened: 0,
    rejected: 0,
    expired: 0,
    scannedBytes: 0,
    duplicateBytes: 0,
    gaps: 0,
    gapBytes: 0,
    droppedBytes: 0,
    droppedMessages: 0,
    malformed: 0,
    findings: 0,
  };

  constructor(private readonly options: LogStreamsOptions) {
    this.engine = options.engine;
    this.maxStreams = options.maxStreams;
    this.maxHeldBytes = options.maxHeldBytes ?? 1024 * 1024;
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.idleFlushMs = options.idleFlushMs ?? 500;
    this.maxFindingsKept = options.maxFindingsKept ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** New streams scan with this engine (a reload); open ones keep theirs. */
  setEngine(engine: Engine): void {
    this.engine = engine;
  }

  /** Open streams, for the `chokepoint_log_streams_active` gauge. */
  activeStreams(): number {
    return this.streams.size;
  }

  /** Bytes all open streams hold (scanner carry-over, out-of-order pieces): what a long body costs in memory. */
  bufferedBytes(): number {
    let total = 0;
    for (const stream of this.streams.values()) total += stream.bufferedBytes;
    return total;
  }

  get(key: string): JobStream | undefined {
    return this.streams.get(key);
  }

  /** The stream for `key`, opened if new; undefined (counted) when `maxStreams` are open. */
  open(key: string, labels: StreamLabels): JobStream | undefined {
    const existing = this.streams.get(key);
    if (existing) return existing;
    if (this.streams.size >= this.maxStreams) {
      this.sweep();
      if (this.streams.size >= this.maxStreams) {
        this.stats.rejected++;
        this.emitDrop('too-many-streams', 1, labels);
        return undefined;
      }
    }
    const stream = new JobStream(key, labels, this, this.engine.stream());
    this.streams.set(key, stream);
    this.stats.opened++;
    return stream;
  }

  /** Close streams idle longer than `idleMs`. Returns how many. */
  sweep(): number {
    const cutoff = this.now() - this.idleMs;
    let n = 0;
    for (const stream of [...this.streams.values()]) {
      if (stream.lastActive <= cutoff) {
        stream.end();
        this.stats.expired++;
        this.emitDrop('idle-expired', 1, stream.labels);
        n++;
      }
    }
    return n;
  }

  /** Sweep for idle streams periodically (the timer does not keep the process alive). */
  start(intervalMs = Math.max(1000, Math.min(60_000, this.idleMs / 4))): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  /** End every stream (shutdown): their last findings are reported. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const stream of [...this.streams.values()]) stream.end();
  }

  /** Count lost or refused content of a stream. */
  drop(reason: DropReason, count: number, labels: StreamLabels | undefined): void {
    if (count <= 0) return;
    if (reason === 'oversize') this.stats.droppedBytes += count;
    if (reason === 'malformed') this.stats.malformed += count;
    this.emitDrop(reason, count, labels);
  }

  /** A WebSocket message not scanned (over the size bound, or compressed). */
  dropMessages(count: number, labels: StreamLabels | undefined): void {
    if (count <= 0) return;
    this.stats.droppedMessages += count;
    this.emitDrop('oversize', count, labels);
  }

  // --- called by JobStream ---

  forget(stream: JobStream): void {
    if (this.streams.get(stream.key) === stream) this.streams.delete(stream.key);
  }

  noteDuplicate(bytes: number): void {
    this.stats.duplicateBytes += bytes;
  }

  noteGap(bytes: number): void {
    this.stats.gaps++;
    this.stats.gapBytes += bytes;
  }

  noteScanned(bytes: number): void {
    this.stats.scannedBytes += bytes;
  }

  scanned(labels: StreamLabels, bytes: number): void {
    this.options.onScan?.({ type: 'scan', pool: labels.pool, source: 'log', bytes });
  }

  found(labels: StreamLabels, finding: LogFinding, raw: Finding): void {
    this.stats.findings++;
    const event: FindingEvent = {
      type: 'finding',
      pool: labels.pool,
      client: labels.client,
      host: labels.host,
      kind: 'log',
      source: 'log',
      rule: finding.rule,
      title: finding.title,
      severity: finding.severity,
      verdict: 'leak',
      action: 'alert',
      fingerprint: finding.fingerprint,
      redacted: finding.redacted,
      ...(raw.known ? { known: raw.known } : {}),
      ...(raw.decodedFrom ? { decodedFrom: raw.decodedFrom } : {}),
      job: finding.job,
      line: finding.line,
    };
    this.options.onFinding?.(event);
  }

  private emitDrop(reason: DropReason, count: number, labels: StreamLabels | undefined): void {
    try {
      this.options.onDrop?.(reason, count, labels);
    } catch {
      // a sink's failure is not the stream's
    }
  }
}
