// Encodings tests write secrets in, as a job would (one copy for every test that needs one).

/**
 * RFC 4648 base32 without padding: upper case as `base32 | tr -d '='` writes it, or lower
 * case (`| tr A-Z a-z`), as DNS names usually carry it.
 */
export function base32(data: Buffer, { lower = false }: { lower?: boolean } = {}): string {
  const alphabet = lower ? 'abcdefghijklmnopqrstuvwxyz234567' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of data) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(acc >> bits) & 31];
    }
    acc &= 0xff;
  }
  if (bits > 0) out += alphabet[(acc << (5 - bits)) & 31];
  return out;
}
