// What a finding may say about a secret: a redacted preview (a few leading
// characters and the length) and a keyed fingerprint, so the same secret seen
// twice correlates without the value ever being written down.
import { createHmac } from 'node:crypto';
import type { Finding } from './types.js';

/**
 * `ghp_…(40)`: the first 4 characters, an ellipsis and the byte length. Secrets shorter
 * than 12 characters show fewer leading characters, never more than a third of them.
 */
export function redactedPreview(secret: string, byteLength: number): string {
  const chars = Array.from(secret);
  const shown = Math.min(4, Math.floor(chars.length / 3));
  return `${chars.slice(0, shown).join('')}…(${byteLength})`;
}

/** First 16 hex characters of HMAC-SHA-256(key, secret). */
export function fingerprint(key: Buffer, secret: Uint8Array): string {
  return createHmac('sha256', key).update(secret).digest('hex').slice(0, 16);
}

/**
 * `text` (what was scanned) with each finding's bytes replaced by its redacted preview, for
 * a log line that shows the text itself (a request's path). A finding in a decoded form of
 * the text (`decodedFrom`: its offsets are not the text's) cannot be placed: then none of
 * the text is shown.
 */
export function redactFindings(text: string, findings: readonly Pick<Finding, 'offset' | 'length' | 'redacted' | 'decodedFrom'>[]): string {
  if (findings.length === 0) return text;
  if (findings.some((f) => f.decodedFrom !== undefined)) return '[redacted]';
  const bytes = Buffer.from(text, 'utf8');
  const spans = [...findings].sort((a, b) => a.offset - b.offset);
  let out = '';
  let at = 0;
  for (const f of spans) {
    const end = Math.min(bytes.length, f.offset + f.length);
    if (end <= at) continue;
    out += bytes.subarray(at, Math.max(at, f.offset)).toString('utf8') + `[${f.redacted}]`;
    at = end;
  }
  return out + bytes.subarray(at).toString('utf8');
}

/**
 * A host or query name holding a finding, as logs may show it: the labels before the last
 * two replaced by their length (`[redacted 40].attacker.example`), the registrable parent
 * kept so that an operator sees where it went. When the kept labels hold a finding of
 * their own (`suffixHolds`, the caller's reader asked of them: `x.<token>.example`), none
 * of the name is shown (`[redacted 52]`). The DNS listener and the proxy listener both
 * show names so.
 */
export function redactedName(name: string, suffixHolds: (suffix: string) => boolean = () => false): string {
  const labels = name.split('.');
  if (labels.length <= 2) return `[redacted ${name.length}]`;
  const kept = labels.slice(-2).join('.');
  if (suffixHolds(kept)) return `[redacted ${name.length}]`;
  return `[redacted ${name.length - kept.length - 1}].${kept}`;
}
