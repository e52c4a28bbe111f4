// Structural validators, one per ValidatorName: they reject look-alikes of a
// credential format whose structure is known (embedded checksums, alphabets,
// decodable bodies). Each takes the candidate secret and returns true when it
// has the structure of a real credential. Pure and cheap; no network.
import { isUtf8 } from 'node:buffer';
import { crc32, tokenChecksum } from './checksum.js';
import type { ValidatorName } from './types.js';

export type Validator = (secret: string) => boolean;

const B62 = /* 0-9A-Za-z */ (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const B64URL = (c: number): boolean => B62(c) || c === 0x2d || c === 0x5f;
const HEX_UPPER = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46);

function allChars(s: string, from: number, to: number, ok: (c: number) => boolean): boolean {
  for (let i = from; i < to; i++) if (!ok(s.charCodeAt(i))) return false;
  return true;
}

/**
 * `<prefix>_` + body + 6-char base62 CRC32 of the body (GitHub `gh[pousr]_`, npm `npm_`).
 * The body is the 30 characters after the prefix in today's 40-character tokens.
 */
function prefixedCrc32Token(secret: string, prefixes: readonly string[]): boolean {
  const prefix = prefixes.find((p) => secret.startsWith(p));
  if (prefix === undefined) return false;
  const rest = secret.length - prefix.length;
  if (rest < 7 || !allChars(secret, prefix.length, secret.length, B62)) return false;
  const body = secret.slice(prefix.length, secret.length - 6);
  return tokenChecksum(body) === secret.slice(secret.length - 6);
}

const GITHUB_PREFIXES = ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'] as const;
const NPM_PREFIXES = ['npm_'] as const;
const CLOUDFLARE_PREFIXES = ['cfk_', 'cfut_', 'cfat_'] as const;
const ATLASSIAN_PREFIXES = ['ATATT'] as const;

export const githubCrc32: Validator = (s) => prefixedCrc32Token(s, GITHUB_PREFIXES);
export const npmCrc32: Validator = (s) => prefixedCrc32Token(s, NPM_PREFIXES);

/** AWS key IDs: 4 upper-case letters (AKIA, ASIA, AROA, ...) then 16 base32 (`A-Z2-7`) characters. */
export const awsKeyId: Validator = (s) => {
  if (s.length !== 20) return false;
  if (!allChars(s, 0, 4, (c) => c >= 0x41 && c <= 0x5a)) return false;
  return allChars(s, 4, 20, (c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x32 && c <= 0x37));
};

/** Base64url segment (no padding) decoded to a JSON value, or undefined. */
function decodeJsonSegment(segment: string): unknown {
  if (segment.length === 0 || !allChars(segment, 0, segment.length, B64URL)) return undefined;
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * JWT (JWS `h.p.s`, or JWE with five segments): the header decodes to a JSON object
 * with a string `alg`; a JWS payload decodes to JSON too.
 */
export const jwt: Validator = (s) => {
  const parts = s.split('.');
  if (parts.length !== 3 && parts.length !== 5) return false;
  const header = decodeJsonSegment(parts[0] as string);
  if (!isObject(header) || typeof header['alg'] !== 'string') return false;
  if (parts.length === 5) return typeof header['enc'] === 'string';
  return decodeJsonSegment(parts[1] as string) !== undefined;
};

/** Base64 text with whitespace and literal `\n` / `\r` escapes (JSON-embedded PEM) removed. */
function compactBase64(text: string): string | undefined {
  const isB64 = (c: number): boolean => B62(c) || c === 0x2b || c === 0x2f || c === 0x3d;
  const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  let out = '';
  const t = unescapeNewlines(text);
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (isSpace(c)) continue;
    if (!isB64(c)) return undefined;
    out += t[i];
  }
  return out.length > 0 ? out : undefined;
}

/** Literal `\n` / `\r` escapes (a PEM inside a JSON string) turned into real line breaks. */
function unescapeNewlines(text: string): string {
  return text.replaceAll('\\r', '').replaceAll('\\n', '\n');
}

function lines(text: string): string[] {
  return unescapeNewlines(text).replaceAll('\r', '').split('\n');
}

/** DER: a SEQUENCE (0x30) whose encoded length fits the bytes we have. */
function looksLikeDerSequence(der: Buffer): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const l0 = der[1] as number;
  if (l0 < 0x80) return l0 + 2 <= der.length;
  const n = l0 & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return false;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (der[2 + i] as number);
  return len + 2 + n <= der.length && len > 0;
}

const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/**
 * A PEM private key block: the base64 body decodes to DER that starts with a SEQUENCE;
 * OpenSSH keys decode to `openssh-key-v1\0`; PGP private key blocks to a secret-key
 * packet; legacy encrypted PEM (`Proc-Type: 4,ENCRYPTED`) to whole cipher blocks.
 */
export const pemPrivateKey: Validator = (s) => {
  const begin = s.indexOf('-----BEGIN ');
  if (begin < 0) return false;
  const labelEnd = s.indexOf('-----', begin + 11);
  if (labelEnd < 0) return false;
  const label = s.slice(begin + 11, labelEnd);
  if (!label.includes('PRIVATE KEY')) return false;
  const end = s.indexOf('-----END', labelEnd + 5);
  let body = s.slice(labelEnd + 5, end < 0 ? s.length : end);
  // Armor headers (`Proc-Type: ...`, `Version: ...`) end at the first blank line.
  const encrypted = body.includes('ENCRYPTED') && body.includes('Proc-Type');
  if (body.includes(':')) {
    body = lines(body).filter((l) => !l.includes(':')).join('\n');
  }
  if (label.startsWith('PGP')) {
    // Drop the CRC24 checksum line (`=XXXX`) that ends an armored block.
    const kept = lines(body).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('='));
    const b64 = compactBase64(kept.join(''));
    if (b64 === undefined) return false;
    const first = Buffer.from(b64, 'base64')[0];
    if (first === undefined || (first & 0x80) === 0) return false;
    const tag = (first & 0x40) !== 0 ? first & 0x3f : (first >> 2) & 0x0f;
    return tag === 5; // secret-key packet
  }
  const b64 = compactBase64(body);
  if (b64 === undefined) return false;
  const der = Buffer.from(b64, 'base64');
  if (label.startsWith('OPENSSH')) return der.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC);
  if (encrypted) return der.length >= 16 && der.length % 8 === 0;
  return looksLikeDerSequence(der);
};

/** Luhn checksum over the digits (spaces and dashes ignored), 12 to 19 digits. */
export const luhn: Validator = (s) => {
  let sum = 0;
  let digits = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x2d) continue;
    if (c < 0x30 || c > 0x39) return false;
    let d = c - 0x30;
    if (digits % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    digits++;
  }
  return digits >= 12 && digits <= 19 && sum % 10 === 0;
};

/**
 * Cloudflare scannable tokens: `cfk_`, `cfut_` or `cfat_`, 40 characters, then a checksum
 * (developers.cloudflare.com/fundamentals/api/get-started/token-formats). Cloudflare does
 * not publish the checksum algorithm or width, so this checks the documented structure
 * only: known prefix, 40 alphanumeric characters, then a 4 to 10 character alphanumeric
 * checksum. It never rejects a token for its checksum value.
 */
export const cloudflareCrc32: Validator = (s) => {
  const prefix = CLOUDFLARE_PREFIXES.find((p) => s.startsWith(p));
  if (prefix === undefined) return false;
  const tail = s.length - prefix.length - 40;
  return tail >= 4 && tail <= 10 && allChars(s, prefix.length, s.length, B62);
};

/**
 * Atlassian API tokens: `ATATT` + base64url body + `=` + 8 upper-case hex digits (the
 * suffix is a CRC32). Atlassian does not document which bytes the CRC32 covers, so this
 * checks the structure only and never rejects a token on a guessed checksum.
 */
export const atlassianCrc32: Validator = (s) => {
  if (!s.startsWith(ATLASSIAN_PREFIXES[0]) || s.length < 5 + 20 + 9) return false;
  const eq = s.length - 9;
  if (s.charCodeAt(eq) !== 0x3d /* = */) return false;
  if (!allChars(s, eq + 1, s.length, HEX_UPPER)) return false;
  const bodyOk = (c: number): boolean => B64URL(c) || c === 0x3d;
  return allChars(s, 5, eq, bodyOk);
};

/** 8 upper-case hex digits of CRC32(body): the suffix shape Atlassian tokens carry (for generators). */
export function atlassianChecksum(body: string): string {
  return (crc32(body) >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/**
 * GCP service-account key JSON: parses (or, when embedded escaped in a log, contains) a
 * `private_key` holding a PEM private key and a `client_email`.
 */
export const jsonServiceAccount: Validator = (s) => {
  try {
    const v = JSON.parse(s) as unknown;
    if (!isObject(v)) return false;
    const key = v['private_key'];
    const email = v['client_email'];
    return typeof key === 'string' && key.includes('PRIVATE KEY') && typeof email === 'string' && email.includes('@');
  } catch {
    return s.includes('private_key') && s.includes('client_email') && s.includes('PRIVATE KEY');
  }
};

/**
 * HTTP Basic credentials (RFC 7617): standard base64 (padding optional) of
 * `user-id ":" password`, printable text (UTF-8 allowed), a password not empty. A word
 * after `Basic` that is not such a thing (`Basic builders:<token>` in prose, `Basic
 * realm=...`) decodes to binary or to text without a colon.
 */
export const basicCredentials: Validator = (s) => {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x3d /* = */) end--;
  if (end === 0 || end % 4 === 1 || s.length - end > 2) return false;
  if (!allChars(s, 0, end, (c) => B62(c) || c === 0x2b || c === 0x2f)) return false;
  const raw = Buffer.from(s.slice(0, end), 'base64');
  if (!isUtf8(raw)) return false;
  const text = raw.toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0 || colon === text.length - 1) return false;
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
};

/**
 * An Azure Storage shared access signature: a `&`-separated query that carries a signed
 * version (`sv=` a yyyy-mm-dd date), an expiry (`se=`) and a signature (`sig=`), each once
 * at least, in any order (the CLI prints `se=…&sp=…&sv=…&sr=…&sig=…`).
 */
function isServiceVersion(v: string): boolean {
  if (v.length !== 10 || !v.startsWith('20') || v[4] !== '-' || v[7] !== '-') return false;
  for (const i of [2, 3, 5, 6, 8, 9]) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

export const azureSas: Validator = (s) => {
  let sv = false;
  let se = false;
  let sig = false;
  for (const part of s.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return false;
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (name === 'sv') sv = isServiceVersion(value);
    else if (name === 'se') se = value.length > 0;
    else if (name === 'sig') sig = value.length >= 30;
  }
  return sv && se && sig;
};

export const validators: Readonly<Record<ValidatorName, Validator>> = {
  'github-crc32': githubCrc32,
  'npm-crc32': npmCrc32,
  'aws-key-id': awsKeyId,
  jwt,
  'pem-private-key': pemPrivateKey,
  luhn,
  'cloudflare-crc32': cloudflareCrc32,
  'atlassian-crc32': atlassianCrc32,
  'json-service-account': jsonServiceAccount,
  'basic-credentials': basicCredentials,
  'azure-sas': azureSas,
};

/**
 * The provider prefixes each checksummed (or strictly structured) validator checks for.
 * A value that starts with one of these and fails the validator is a look-alike for every
 * rule, generic ones included (see checked-prefixes.ts). Validators of open-ended shapes
 * (JWT, PEM, Luhn, JSON) have no prefix here.
 */
export const validatorPrefixes: Readonly<Partial<Record<ValidatorName, readonly string[]>>> = {
  'github-crc32': GITHUB_PREFIXES,
  'npm-crc32': NPM_PREFIXES,
  'cloudflare-crc32': CLOUDFLARE_PREFIXES,
  'atlassian-crc32': ATLASSIAN_PREFIXES,
};
