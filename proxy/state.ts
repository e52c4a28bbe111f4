// The state directory: CA, fingerprint key. Created 0700; secrets in it 0600; refused at
// start when others can read them.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
