// Durations and byte sizes as operators write them: `5s`, `300ms`, `5m`; `8MiB`, 8388608.
import RE2 from 're2';

const DURATION = new RE2('^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)\\s*$');
const SIZE = new RE2('^\\s*(\\d+(?:\\.\\d+)?)\\s*([a-zA-Z]*)\\s*$');

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Milliseconds of a duration string (`1.5s`, `300ms`, `5m`, `1h`), or undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const unit = DURATION_UNITS[m[2] as string];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/** Bytes of a size (`8MiB`, `512KiB`, `1GB`, or a plain number of bytes), or undefined when malformed. */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const m = SIZE.exec(value);
  if (!m) return undefined;
  const unit = SIZE_UNITS[(m[2] || 'b').toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

/**
 * The bytes of a key written as standard base64 (padding optional, nothing else), when
 * they are at least `minBytes` long; undefined otherwise. For keys given in the config or
 * the environment: the caller's message names the key, never echoes it.
 */
export function parseBase64Key(text: string, minBytes: number): Buffer | undefined {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */) end--;
  if (end === 0 || text.length - end > 2) return undefined;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2b || c === 0x2f;
    if (!ok) return undefined;
  }
  const key = Buffer.from(text, 'base64');
  return key.length >= minBytes ? key : undefined;
}
