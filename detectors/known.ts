// Known secrets: exact values the operator registers (the runners' own secrets,
// and canary tokens planted as bait). Each value is searched for as itself and in
// the encodings it most often leaves in: base64 (standard and URL-safe, at the three
// byte alignments so it is found inside a larger blob too), URL encoding and hex.
// The engine feeds these forms to its keyword prefilter as case-sensitive literals,
// so they cost no second pass over the input.
import { fingerprint, redactedPreview } from './redact.js';

export interface KnownSecret {
  /** What the operator calls it (an env var name, a canary label). Shown in findings. */
  name: string;
  /** The exact value. Never shown, never logged. */
  value: string;
  kind: 'secret' | 'canary';
}

/** Values shorter than this would match everywhere (and alarm constantly). */
export const MIN_KNOWN_SECRET_BYTES = 8;

export class KnownSecretError extends Error {
  constructor(
    message: string,
    readonly secretName: string,
  ) {
    super(message);
    this.name = 'KnownSecretError';
  }
}

/** How a known value appears in the input. */
export type KnownEncoding = 'base64' | 'base64url' | 'url' | 'hex';

/** One literal text to look for, standing for a known secret. */
export interface KnownForm {
  /** Index of the secret in the list given to `knownForms`. */
  secret: number;
  /** The literal text searched for (case-sensitive). */
  text: string;
  /** Absent for the raw value. */
  encoding?: KnownEncoding;
  /** Precomputed finding fields: the fingerprint is of the value itself, whatever the encoding. */
  fingerprint: string;
  redacted: string;
  length: number;
}

/**
 * The part of base64(pad + value) that depends on `value` alone, for `pad` of 0, 1 and
 * 2 unknown bytes before it: a value inside a larger base64 blob shows up as one of
 * these three cores wherever it sits. The first core (alignment 0) is a prefix of the
 * value's own standalone encoding.
 */
function base64Cores(value: Buffer): string[] {
  const cores: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const enc = Buffer.concat([Buffer.alloc(pad), value]).toString('base64');
    const first = pad === 0 ? 0 : pad + 1; // characters mixing in pad bits
    const last = Math.floor(((pad + value.length) * 8) / 6); // characters made of known bits only
    cores.push(enc.slice(first, last));
  }
  return cores;
}

/** The literal forms to search for, for every known secret. Throws KnownSecretError on a bad entry. */
export function knownForms(secrets: readonly KnownSecret[], key: Buffer): KnownForm[] {
  const forms: KnownForm[] = [];
  const seen = new Set<string>();
  secrets.forEach((s, index) => {
    if (s.name.length === 0) throw new KnownSecretError('a known secret has an empty name', s.name);
    const value = Buffer.from(s.value, 'utf8');
    if (value.length < MIN_KNOWN_SECRET_BYTES) {
      throw new KnownSecretError(
        `known secret "${s.name}" is ${value.length} bytes long; values shorter than ` +
          `${MIN_KNOWN_SECRET_BYTES} bytes would match everywhere`,
        s.name,
      );
    }
    const fp = fingerprint(key, value);
    const add = (text: string, encoding?: KnownEncoding): void => {
      if (text.length < MIN_KNOWN_SECRET_BYTES || seen.has(text)) return;
      seen.add(text);
      const length = Buffer.byteLength(text, 'utf8');
      const form: KnownForm = { secret: index, text, fingerprint: fp, redacted: redactedPreview(text, length), length };
      if (encoding !== undefined) form.encoding = encoding;
      forms.push(form);
    };
    add(s.value);
    for (const core of base64Cores(value)) {
      add(core, 'base64');
      add(core.replaceAll('+', '-').replaceAll('/', '_'), 'base64url');
    }
    add(encodeURIComponent(s.value), 'url');
    add(encodeURIComponent(s.value).replaceAll('%20', '+'), 'url');
    const hex = value.toString('hex');
    add(hex, 'hex');
    add(hex.toUpperCase(), 'hex');
  });
  return forms;
}
