// Aligned text tables and Markdown tables from the same rows.

export type Align = 'left' | 'right';

export interface Table {
  header: readonly string[];
  rows: readonly (readonly string[])[];
  /** Per column; numbers read best right-aligned. Default: first column left, others right. */
  align?: readonly Align[];
}

function alignOf(t: Table, col: number): Align {
  return t.align?.[col] ?? (col === 0 ? 'left' : 'right');
}

function pad(s: string, width: number, align: Align): string {
  return align === 'left' ? s.padEnd(width) : s.padStart(width);
}

/** Column-aligned plain text with a dashed rule under the header. */
export function formatTable(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    widths.map((w, i) => pad(cells[i] ?? '', w, alignOf(t, i))).join('  ').trimEnd();
  return [line(t.header), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(t: Table): string {
  const sep = t.header.map((_, i) => (alignOf(t, i) === 'right' ? '---:' : ':---'));
  const row = (cells: readonly string[]): string =>
    `| ${t.header.map((_, i) => escapeCell(cells[i] ?? '')).join(' | ')} |`;
  return [row(t.header), `| ${sep.join(' | ')} |`, ...t.rows.map(row)].join('\n');
}
