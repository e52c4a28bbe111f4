import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeBound, judge, TARGETS, verdictsFor, type BenchTarget, type RowRef } from '../bench/targets.js';

const key = (r: RowRef): string => `${r.test}|${r.unit}|${r.proxy}`;
const medians = (m: Record<string, number>) => (r: RowRef): number | undefined => m[key(r)];
const fmt = (n: number): string => n.toFixed(2);

const cpu: BenchTarget = {
  label: 'cpu',
  row: { test: 't1', unit: 'µs', proxy: 'chokepoint' },
  op: '<=',
  against: { row: { test: 't1', unit: 'µs', proxy: 'squid' }, factor: 1.1 },
};
const rate: BenchTarget = { label: 'rate', row: { test: 't5', unit: 'MB/s', proxy: 'chokepoint' }, op: '>=', against: 100 };

describe('bench targets (issue #19)', () => {
  it('judges a row against another row times a factor', () => {
    const [ok] = judge(medians({ 't1|µs|chokepoint': 53, 't1|µs|squid': 50 }), [cpu]);
    expect(ok?.word).toBe('met');
    expect(ok?.bound).toBeCloseTo(55);
    expect(describeBound(ok!, fmt)).toBe('<= 1.1x squid (55.00)');
    const [bad] = judge(medians({ 't1|µs|chokepoint': 56, 't1|µs|squid': 50 }), [cpu]);
    expect(bad?.word).toBe('NOT met');
  });

  it('judges a row against an absolute bound, in the direction the target says', () => {
    expect(judge(medians({ 't5|MB/s|chokepoint': 100 }), [rate])[0]?.word).toBe('met');
    expect(judge(medians({ 't5|MB/s|chokepoint': 99.9 }), [rate])[0]?.word).toBe('NOT met');
    expect(describeBound(judge(medians({}), [rate])[0]!, fmt)).toBe('>= 100');
  });

  it('says when a row or its reference was not measured instead of judging it', () => {
    expect(judge(medians({}), [rate])[0]?.word).toBe('not measured');
    expect(judge(medians({ 't1|µs|chokepoint': 10 }), [cpu])[0]?.word).toBe('not judged (no squid figure)');
  });

  it('finds the verdicts of one row only', () => {
    const all = judge(medians({ 't1|µs|chokepoint': 1, 't1|µs|squid': 1 }), [cpu, rate]);
    expect(verdictsFor(all, cpu.row).map((v) => v.target.label)).toEqual(['cpu']);
    expect(verdictsFor(all, { test: 't1', unit: 'µs', proxy: 'squid' })).toEqual([]);
  });

  it("names only rows bench/run.ts records (test and unit as it writes them)", () => {
    const source = readFileSync(join(import.meta.dirname, '..', 'bench', 'run.ts'), 'utf8');
    for (const t of TARGETS) {
      const rows = [t.row, ...(typeof t.against === 'number' ? [] : [t.against.row])];
      for (const r of rows) {
        expect(source, `${t.label}: test ${r.test}`).toContain(`'${r.test}'`);
        expect(source, `${t.label}: unit ${r.unit}`).toContain(`'${r.unit}'`);
      }
    }
  });
});
