// A one-line progress display on a terminal (`chokepoint scan` on a large tree): redrawn in
// place at most a few times a second, cleared before anything else is printed and at the
// end. When the stream is not a terminal (a pipe, a file, CI logs) it writes nothing at all.

/** The part of a tty.WriteStream the display uses; tests pass their own. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export interface ProgressOptions {
  stream: ProgressStream;
  /** Milliseconds between redraws (default 250: about 4 a second). */
  intervalMs?: number;
  /** The clock (default Date.now); tests step their own. */
  now?: () => number;
  /** The environment (default process.env): TERM=dumb cannot erase a line, so nothing is drawn. */
  env?: NodeJS.ProcessEnv;
}

export interface ProgressDisplay {
  /** Show `text` now if the last draw is old enough (the first draw is immediate). */
  update(text: () => string): void;
  /** Remove the line if one is shown (before other output, and at the end). */
  clear(): void;
  /** Whether anything will ever be drawn (the stream is a terminal). */
  readonly active: boolean;
}

/** Carriage return, then erase to the end of the line. */
export const CLEAR_LINE = '\r\x1b[K';

const INACTIVE: ProgressDisplay = { update: () => undefined, clear: () => undefined, active: false };

export function createProgress(options: ProgressOptions): ProgressDisplay {
  const { stream } = options;
  if (stream.isTTY !== true || (options.env ?? process.env)['TERM'] === 'dumb') return INACTIVE;
  const interval = options.intervalMs ?? 250;
  const now = options.now ?? Date.now;
  let last = -Infinity;
  let shown = false;
  return {
    active: true,
    update(text) {
      const t = now();
      if (t - last < interval) return;
      last = t;
      // One column short of the width: writing the last column wraps on some terminals.
      const width = Math.max(20, (stream.columns && stream.columns > 0 ? stream.columns : 80) - 1);
      const line = text();
      stream.write(CLEAR_LINE + (line.length > width ? line.slice(0, width - 1) + '…' : line));
      shown = true;
    },
    clear() {
      if (!shown) return;
      stream.write(CLEAR_LINE);
      shown = false;
    },
  };
}

/** 1234567 → "1,234,567". */
function grouped(n: number): string {
  return Math.floor(n).toLocaleString('en-US');
}

/** What `chokepoint scan` shows: "scanning: 1,204 files, 35.2 MB, 3 findings". */
export function scanProgressText(state: { files: number; bytes: number; findings: number }): string {
  const mb = state.bytes / 1_000_000;
  const plural = (n: number, word: string): string => `${grouped(n)} ${word}${n === 1 ? '' : 's'}`;
  return `scanning: ${plural(state.files, 'file')}, ${mb.toFixed(mb < 10 ? 2 : 1)} MB, ${plural(state.findings, 'finding')}`;
}
