// Checksums that token formats embed, shared by validators and test-corpus generators.
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Base62 (alphabet 0-9A-Za-z) of a non-negative integer, left-padded with '0' to `width`. */
export function base62(value: number, width: number): string {
  let out = '';
  let n = value;
  do {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return out.padStart(width, '0');
}

/** The 6-character base62 CRC32 that GitHub and npm tokens carry after their body. */
export function tokenChecksum(body: string): string {
  return base62(crc32(body) >>> 0, 6);
}

export { crc32 };
