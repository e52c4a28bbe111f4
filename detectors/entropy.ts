// Shannon entropy of a candidate secret, in bits per character (byte).
// Rules set a minimum (`RuleSpec.entropy`) to drop low-randomness look-alikes
// such as `aaaaaaaa` or `password123`.

const counts = new Uint32Array(256);

/** Shannon entropy in bits per byte of `bytes` (0 for empty input). */
export function shannonEntropy(bytes: Uint8Array): number {
  const n = bytes.length;
  if (n === 0) return 0;
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[bytes[i] as number]! += 1;
  let h = 0;
  for (let c = 0; c < 256; c++) {
    const k = counts[c] as number;
    if (k === 0) continue;
    const p = k / n;
    h -= p * Math.log2(p);
  }
  return h;
}
