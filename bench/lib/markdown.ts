// Replace one `## Section` of a Markdown document (docs/benchmarks.md), keeping the others.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * `doc` with the section titled `title` (a level-2 heading, `## title`) replaced by
 * `body`; the section runs to the next level-2 heading or the end. A missing section
 * is appended. `body` excludes the heading line.
 */
export function replaceSection(doc: string, title: string, body: string): string {
  const lines = doc.split('\n');
  const heading = `## ${title}`;
  const start = lines.findIndex((l) => l.trimEnd() === heading);
  const section = [heading, '', ...body.trim().split('\n'), ''];
  if (start === -1) {
    const base = doc.trimEnd();
    return `${base}${base.length > 0 ? '\n\n' : ''}${section.join('\n')}`;
  }
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end === -1) end = lines.length;
  const after = lines.slice(end);
  return [...lines.slice(0, start), ...section, ...after].join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

/** Rewrite `## title` of the Markdown file at `path`, creating the file from `intro` if absent. */
export function writeSection(path: string, title: string, body: string, intro: string): void {
  const doc = existsSync(path) ? readFileSync(path, 'utf8') : `${intro.trim()}\n`;
  writeFileSync(path, replaceSection(doc, title, body));
}
