// The state directory: CA, fingerprint key. Created 0700; secrets in it 0600; refused at
// start when others can read them.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBase64Key } from '../config/units.js';

export class StateError extends Error {
  override readonly name = 'StateError';
}

/** Create the state directory (0700) if missing; refuse one that group or others can read. */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if (mode & 0o077) {
    throw new StateError(`state directory ${dir} is accessible to group or others (mode ${mode.toString(8)}); run: chmod 700 ${dir}`);
  }
}

/** Read a secret file, refusing one that group or others can read. */
export function readPrivateFile(path: string): Buffer {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    throw new StateError(`${path} is readable by group or others (mode ${mode.toString(8)}); run: chmod 600 ${path}`);
  }
  return readFileSync(path);
}

/** Write a secret file with mode 0600 (never wider, even if it existed). */
export function writePrivateFile(path: string, data: Buffer | string): void {
  writeFileSync(path, data, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * The fingerprint key a config asks for: `scan.fingerprintKey` (base64, the same on every
 * replica) when set, else the per-install key file in the state directory (made when
 * `create` and missing).
 */
export function fingerprintKeyFor(config: { stateDir: string; scan: { fingerprintKey?: string | undefined } }, { create }: { create: boolean }): Buffer | undefined {
  if (config.scan.fingerprintKey !== undefined) return Buffer.from(config.scan.fingerprintKey, 'base64');
  return loadFingerprintKey(config.stateDir, { create });
}

/** The per-install HMAC key that makes finding fingerprints correlatable but not reversible. */
export function loadFingerprintKey(stateDir: string, { create }: { create: boolean }): Buffer | undefined {
  const path = join(stateDir, 'fingerprint.key');
  try {
    const key = readPrivateFile(path);
    if (key.length < 32) throw new StateError(`${path} is shorter than 32 bytes`);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!create) return undefined;
  ensureStateDir(stateDir);
  const key = randomBytes(32);
  writePrivateFile(path, key);
  return key;
}

/** The commands' fingerprint key could not be had: the message says why, never the key. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
}

/**
 * The fingerprint key of `chokepoint scan` and `chokepoint mask`, so their fingerprints
 * match the proxy's: `--key-file FILE` when given; else $CHOKEPOINT_FINGERPRINT_KEY
 * (base64, what replicas share as `scan.fingerprintKey`); else fingerprint.key in
 * $CHOKEPOINT_STATE_DIR or ./.chokepoint; else a random key for this run only.
 */
export async function commandFingerprintKey(keyFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  const shared = env['CHOKEPOINT_FINGERPRINT_KEY'];
  if (keyFile === undefined && shared) {
    const key = parseBase64Key(shared, 32);
    if (key === undefined) throw new KeyFileError('CHOKEPOINT_FINGERPRINT_KEY must be base64 of at least 32 bytes (openssl rand -base64 32)');
    return key;
  }
  const path = keyFile ?? join(env['CHOKEPOINT_STATE_DIR'] || '.chokepoint', 'fingerprint.key');
  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (keyFile === undefined && code === 'ENOENT') return randomBytes(32);
    throw new KeyFileError(`cannot read key file ${path}${code ? ` (${code})` : ''}`);
  }
  if (key.length < 16) throw new KeyFileError(`key file ${path} holds ${key.length} bytes; a fingerprint key needs at least 16`);
  return key;
}
