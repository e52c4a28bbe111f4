// Issue #19's targets for `npm run bench` (bench/run.ts), as data: each names the row of the
// results table it judges (test, unit, proxy) and what that row's median must reach, either an
// absolute figure or another row's median times a factor (squid's, or HTTP/1.1's in test 8).
// bench/run.ts prints the target and its verdict next to the figure, and a list of all of them.

/** One row of bench/run.ts's results: the `test` and `unit` passed to record(), and the proxy. */
export interface RowRef {
  test: string;
  unit: string;
  proxy: string;
}

export interface BenchTarget {
  /** Issue #19's wording, short. */
  label: string;
  row: RowRef;
  op: '>=' | '<=';
  /** An absolute bound in the row's unit, or another row's median times `factor` (default 1). */
  against: number | { row: RowRef; factor?: number; /** How the bound's row is named in the table; default its proxy. */ name?: string };
}

export const TEST1 = '1 plain HTTP keep-alive';
export const TEST2 = '2 CONNECT bulk';
export const TEST5 = '5 interception, 1 MiB JSON POSTs';
export const TEST6 = '6 log ingest';
export const TEST7_IDLE = '7 memory: idle';
export const TEST8_H1 = '8 interception keep-alive, HTTP/1.1 (8 connections)';
export const TEST8_H2_ONE = '8 interception keep-alive, h2 (1 connection x 64 streams)';
export const TEST8_H2_MANY = '8 interception keep-alive, h2 (8 connections x 8 streams)';

const squid = (test: string, unit: string): RowRef => ({ test, unit, proxy: 'squid' });

export const TARGETS: readonly BenchTarget[] = [
  {
    label: 'plain HTTP: CPU per request at most 1.1x squid',
    row: { test: TEST1, unit: 'proxy CPU µs/req', proxy: 'chokepoint' },
    op: '<=',
    against: { row: squid(TEST1, 'proxy CPU µs/req'), factor: 1.1 },
  },
  {
    label: 'plain HTTP: workers: 2 at least squid req/s',
    row: { test: TEST1, unit: 'req/s', proxy: 'chokepoint-w2' },
    op: '>=',
    against: { row: squid(TEST1, 'req/s') },
  },
  {
    label: 'CONNECT bulk: share of direct at least squid',
    row: { test: TEST2, unit: 'share of direct (same round)', proxy: 'chokepoint' },
    op: '>=',
    against: { row: squid(TEST2, 'share of direct (same round)') },
  },
  {
    label: 'CONNECT bulk: CPU per MiB at most squid',
    row: { test: TEST2, unit: 'proxy CPU ms/MiB', proxy: 'chokepoint' },
    op: '<=',
    against: { row: squid(TEST2, 'proxy CPU ms/MiB') },
  },
  {
    label: 'body scanning: at least 100 MB/s',
    row: { test: TEST5, unit: 'MB/s', proxy: 'chokepoint' },
    op: '>=',
    against: 100,
  },
  {
    label: 'body scanning: at least 100 MB/s per core',
    row: { test: TEST5, unit: 'MB/s per core (CPU time)', proxy: 'chokepoint' },
    op: '>=',
    against: 100,
  },
  {
    label: 'log ingest: at least 100 MB/s per core on the median',
    row: { test: TEST6, unit: 'MB/s per core (CPU time)', proxy: 'chokepoint' },
    op: '>=',
    against: 100,
  },
  {
    label: 'idle RSS at most 60 MiB',
    row: { test: TEST7_IDLE, unit: 'MiB RSS', proxy: 'chokepoint' },
    op: '<=',
    against: 60,
  },
  {
    label: 'idle RSS at most 60 MiB (intercepting)',
    row: { test: TEST7_IDLE, unit: 'MiB RSS', proxy: 'chokepoint (intercepting)' },
    op: '<=',
    against: 60,
  },
  {
    label: 'h2 interception (1 connection) at least HTTP/1.1 req/s',
    row: { test: TEST8_H2_ONE, unit: 'req/s', proxy: 'chokepoint' },
    op: '>=',
    against: { row: { test: TEST8_H1, unit: 'req/s', proxy: 'chokepoint' }, name: 'HTTP/1.1' },
  },
  {
    label: 'h2 interception (8 connections) at least HTTP/1.1 req/s',
    row: { test: TEST8_H2_MANY, unit: 'req/s', proxy: 'chokepoint' },
    op: '>=',
    against: { row: { test: TEST8_H1, unit: 'req/s', proxy: 'chokepoint' }, name: 'HTTP/1.1' },
  },
];

export interface Verdict {
  target: BenchTarget;
  /** The judged row's median; undefined when the row was not measured in this run. */
  value: number | undefined;
  /** The bound it was held to; undefined when the row it is taken from was not measured. */
  bound: number | undefined;
  /** 'met', 'NOT met', or why it could not be judged. */
  word: string;
}

const sameRow = (a: RowRef, b: RowRef): boolean => a.test === b.test && a.unit === b.unit && a.proxy === b.proxy;

/** Judge every target against `median` (a row's median, or undefined when it has none). */
export function judge(median: (row: RowRef) => number | undefined, targets: readonly BenchTarget[] = TARGETS): Verdict[] {
  return targets.map((target) => {
    const value = median(target.row);
    const a = target.against;
    const bound = typeof a === 'number' ? a : mapDefined(median(a.row), (v) => v * (a.factor ?? 1));
    const usable = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
    let word: string;
    if (!usable(value)) word = 'not measured';
    else if (!usable(bound)) word = `not judged (no ${typeof a === 'number' ? 'bound' : a.row.proxy} figure)`;
    else word = (target.op === '>=' ? value >= bound : value <= bound) ? 'met' : 'NOT met';
    return { target, value, bound, word };
  });
}

/** The verdicts whose judged row is `row`. */
export function verdictsFor(verdicts: readonly Verdict[], row: RowRef): Verdict[] {
  return verdicts.filter((v) => sameRow(v.target.row, row));
}

/** The bound as written: `<= 60` (as the target states it) or `<= 1.1x squid (53.22)` (`fmt` for the figure). */
export function describeBound(v: Verdict, fmt: (n: number) => string): string {
  const a = v.target.against;
  if (typeof a === 'number') return `${v.target.op} ${a}`;
  const factor = a.factor === undefined || a.factor === 1 ? '' : `${a.factor}x `;
  const whose = a.name ?? a.row.proxy;
  return `${v.target.op} ${factor}${whose}${v.bound === undefined || !Number.isFinite(v.bound) ? '' : ` (${fmt(v.bound)})`}`;
}

function mapDefined(v: number | undefined, f: (n: number) => number): number | undefined {
  return v === undefined ? undefined : f(v);
}
