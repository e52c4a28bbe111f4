// Output formats of `chokepoint scan`, as pure functions from findings to text:
// `text` for people, `jsonl` for machines, `sarif` (2.1.0) for GitHub code scanning.
// None of them carries a secret: a finding has only its redacted preview and its
// fingerprint, and the messages are built from the rule title.
import type { Log, ReportingDescriptor, Result } from 'sarif';
import type { ContentFinding } from './decode.js';
import type { RuleSpec, Severity } from './types.js';

/** A finding in a scanned file, with the location to show. */
export interface ReportedFinding {
  /** The path as the user gave or the walk found it (`-` for standard input). */
  path: string;
  finding: ContentFinding;
  /** Line and column (exclusive) just past the secret, when the caller could tell (it may span lines). */
  end?: { line: number; column: number };
}

/** Where to point a user: the secret itself, or for one inside an encoded blob, the blob. */
export function locationOf(f: ContentFinding): { line: number; column: number; offset: number; exact: boolean } {
  if (f.decodedFrom !== undefined && f.encodedAt !== undefined) return { ...f.encodedAt, exact: false };
  return { line: f.line, column: f.column, offset: f.offset, exact: f.decodedFrom === undefined };
}

/** One JSON object per finding (no trailing newline). */
export function formatJsonl(r: ReportedFinding): string {
  const f = r.finding;
  const loc = locationOf(f);
  const o: Record<string, unknown> = {
    path: r.path,
    line: loc.line,
    column: loc.column,
    offset: loc.offset,
    length: f.length,
    rule: f.ruleId,
    title: f.title,
    severity: f.severity,
    redacted: f.redacted,
    fingerprint: f.fingerprint,
  };
  if (f.decodedFrom !== undefined) o['decodedFrom'] = f.decodedFrom;
  if (f.known !== undefined) o['known'] = f.known;
  return JSON.stringify(o);
}

const COLOURS: Readonly<Record<Severity, string>> = {
  critical: '\x1b[1;31m',
  high: '\x1b[31m',
  medium: '\x1b[33m',
  low: '\x1b[36m',
};

/** `path:line:col  severity  rule  redacted  fingerprint`, plus the decoding steps if any. */
export function formatText(r: ReportedFinding, colour: boolean): string {
  const f = r.finding;
  const loc = locationOf(f);
  const sev = colour ? `${COLOURS[f.severity]}${f.severity.padEnd(8)}\x1b[0m` : f.severity.padEnd(8);
  const where = `${r.path}:${loc.line}:${loc.column}`;
  const decoded = f.decodedFrom !== undefined ? `  (in ${f.decodedFrom.join(' > ')})` : '';
  return `${colour ? `\x1b[1m${where}\x1b[0m` : where}  ${sev}  ${f.ruleId}  ${f.redacted}  ${f.fingerprint}${decoded}`;
}

const LEVEL: Readonly<Record<Severity, Result.level>> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
};

/** GitHub's `security-severity` (0-10) so code scanning ranks the alerts. */
const SECURITY_SEVERITY: Readonly<Record<Severity, string>> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
};

/** A relative URI reference for a path: forward slashes, each segment percent-encoded. */
export function pathToUri(path: string): string {
  return path
    .split(/[\\/]/)
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/**
 * A SARIF 2.1.0 log: `tool.driver.rules` holds the rules that produced results (in
 * the order first seen), each result points at its rule by id and index, carries the
 * fingerprint as a partial fingerprint, and a location with byte-based columns (exact
 * for ASCII lines). Paths are made relative by the caller.
 */
export function formatSarif(results: readonly ReportedFinding[], rules: readonly RuleSpec[], version: string): Log {
  const byId = new Map(rules.map((r) => [r.id, r]));
  const used: ReportingDescriptor[] = [];
  const index = new Map<string, number>();
  const sarifResults: Result[] = results.map(({ path, finding: f, end }) => {
    let ruleIndex = index.get(f.ruleId);
    if (ruleIndex === undefined) {
      ruleIndex = used.length;
      index.set(f.ruleId, ruleIndex);
      const spec = byId.get(f.ruleId);
      used.push({
        id: f.ruleId,
        name: f.ruleId,
        shortDescription: { text: spec?.title ?? f.title },
        fullDescription: { text: `${spec?.title ?? f.title}: a credential that should not be committed or sent in the clear.` },
        defaultConfiguration: { level: LEVEL[spec?.severity ?? f.severity] },
        properties: { tags: ['security', 'secret'], 'security-severity': SECURITY_SEVERITY[spec?.severity ?? f.severity] },
      });
    }
    const loc = locationOf(f);
    const region: NonNullable<NonNullable<Result['locations']>[number]['physicalLocation']>['region'] = {
      startLine: loc.line,
      startColumn: loc.column,
    };
    if (loc.exact && end !== undefined) {
      if (end.line !== loc.line) region.endLine = end.line;
      region.endColumn = end.column;
    } else {
      region.endColumn = loc.column + (loc.exact ? f.length : 1);
    }
    const decoded = f.decodedFrom !== undefined ? ` (inside ${f.decodedFrom.join(' > ')} encoded content)` : '';
    return {
      ruleId: f.ruleId,
      ruleIndex,
      level: LEVEL[f.severity],
      message: { text: `${f.title} found${decoded}: ${f.redacted}, fingerprint ${f.fingerprint}.` },
      locations: [{ physicalLocation: { artifactLocation: { uri: path === '-' ? 'stdin' : pathToUri(path) }, region } }],
      partialFingerprints: { 'chokepoint/v1': f.fingerprint },
    };
  });
  return {
    version: '2.1.0',
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    runs: [
      {
        tool: {
          driver: {
            name: 'chokepoint',
            version,
            semanticVersion: version,
            rules: used,
          },
        },
        results: sarifResults,
      },
    ],
  };
}
