// UTF-8 boundary helpers. re2 1.24 over-reads a Buffer that ends inside a
// multi-byte UTF-8 sequence, so every Buffer handed to RE2 first has its end
// trimmed back to a sequence boundary with `utf8SafeEnd`.

/** Number of bytes of the sequence that `lead` starts (1 for ASCII and for stray bytes). */
function sequenceLength(lead: number): number {
  if (lead < 0xc0) return 1; // ASCII, or a continuation byte on its own
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  if (lead < 0xf8) return 4;
  return 1; // not a valid lead byte: RE2 treats it as a single invalid byte
}

/**
 * The largest end <= `end` (and >= `start`) such that `buf[start, end)` does not end
 * inside a multi-byte sequence: a trailing lead byte whose sequence would run past
 * `end` is cut off together with its continuation bytes.
 */
export function utf8SafeEnd(buf: Uint8Array, start: number, end: number): number {
  // Look back at most 3 bytes for the lead byte of the last sequence.
  const stop = Math.max(start, end - 3);
  for (let i = end - 1; i >= stop; i--) {
    const b = buf[i] as number;
    if (b < 0x80) return end; // ASCII: complete
    if (b >= 0xc0) {
      // lead byte: is its sequence complete?
      return i + sequenceLength(b) <= end ? end : i;
    }
    // continuation byte: keep looking back for its lead
  }
  return end;
}
