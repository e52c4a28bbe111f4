// Summary statistics for repeated benchmark samples.

export interface Stats {
  min: number;
  median: number;
  max: number;
  /** Number of samples summarised. */
  n: number;
}

/** Min, median (mean of the two middle samples for an even count) and max. */
export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('stats() of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { min: sorted[0] as number, median, max: sorted[sorted.length - 1] as number, n: sorted.length };
}

/** `median (min–max)` with a fixed number of decimals. */
export function formatStats(s: Stats, decimals = 1): string {
  return `${s.median.toFixed(decimals)} (${s.min.toFixed(decimals)}–${s.max.toFixed(decimals)})`;
}

/** Megabytes (10^6 bytes) per second. */
export function mbPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** Milliseconds elapsed while running `fn` (high-resolution clock). */
export function timeMs(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Milliseconds elapsed while awaiting `fn`. */
export async function timeMsAsync(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
