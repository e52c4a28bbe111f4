// What a finding may say about a secret: a redacted preview (a few leading
// characters and the length) and a keyed fingerprint, so the same secret seen
// twice correlates without the value ever being written down.
import { createHmac } from 'node:crypto';

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
