// Line numbers: the scanner counts the lines it was fed; a job log has its own numbering
// (GitHub batches start at `startLine`, NDJSON records are lines of their own). The map
// keeps the last few points where the two were aligned afresh; findings come from recent
// input (the scanner's carry-over), so a short history is enough. Pure.

interface Segment {
  /** First scanner line of the segment. */
  scannerLine: number;
  /** The job log's line at that point. */
  jobLine: number;
}

export class LineMap {
  private segments: Segment[] = [{ scannerLine: 1, jobLine: 1 }];

  constructor(private readonly maxSegments = 256) {}

  /**
   * From scanner line `scannerLine` on, lines are the job's `jobLine`, `jobLine + 1`, ...
   * Returns true when that added a segment (false: it was so already, or the last segment
   * was moved).
   */
  align(scannerLine: number, jobLine: number): boolean {
    const last = this.segments[this.segments.length - 1] as Segment;
    if (last.jobLine + (scannerLine - last.scannerLine) === jobLine) return false; // already so
    if (last.scannerLine === scannerLine) {
      last.jobLine = jobLine;
      return false;
    }
    this.segments.push({ scannerLine, jobLine });
    if (this.segments.length > this.maxSegments) this.segments.shift();
    return true;
  }

  jobLine(scannerLine: number): number {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i] as Segment;
      if (s.scannerLine <= scannerLine) return s.jobLine + (scannerLine - s.scannerLine);
    }
    const first = this.segments[0] as Segment;
    return first.jobLine;
  }
}

/** Count `\n` bytes. */
export function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}
