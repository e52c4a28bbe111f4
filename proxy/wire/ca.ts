// The interception CA: making one, finding the configured one, and issuing leaf
// certificates for the hosts clients ask for. node-forge builds the certificates;
// node:crypto makes the keys and computes the signatures (both are native and fast; a
// pure-JS RSA signature is what would make a new host slow).
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import tls from 'node:tls';
import { LRUCache } from 'lru-cache';
import forge from 'node-forge';
import type { Config } from '../../config/index.js';
import { ensureStateDir, readPrivateFile, writePrivateFile } from '../state.js';

export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

/** A CA that cannot be found, read or used. Messages name files and keys, never key material. */
export class CaError extends Error {
  override readonly name = 'CaError';
}

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const NO_CA_MESSAGE = 'no CA yet: run chokepoint ca init or start with interception on';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/** A positive serial of 16 random bytes: top bit clear (positive INTEGER), next bit set (minimal DER). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function publicKeyToForge(key: KeyObject): forge.pki.PublicKey {
  const spki = (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'pem' }).toString();
  return forge.pki.publicKeyFromPem(spki);
}

/**
 * Sign a forge certificate with a node:crypto key (RSA PKCS#1 v1.5, SHA-256). forge's
 * `cert.sign` sets the algorithm and the TBSCertificate, then calls `key.sign(md)`: we
 * hand it an object whose `sign` signs those TBS bytes natively.
 */
function signCertificate(cert: forge.pki.Certificate, key: KeyObject): void {
  const signer = {
    sign: (): string => {
      const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
      return cryptoSign('sha256', tbs, key).toString('binary');
    },
  };
  // Cast: forge's typings want its own RSA key type, but only `sign(md)` is called on it.
  cert.sign(signer as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
}

function pemToString(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replaceAll('\r\n', '\n');
}

/** Make a new CA: RSA 2048, CA:true pathLen 0, keyCertSign+cRLSign, valid from now-1h for `validityDays`. */
export function createCa(options: { validityDays?: number; commonName?: string } = {}): CaMaterial {
  const validityDays = options.validityDays ?? 365;
  if (!Number.isFinite(validityDays) || validityDays <= 0) throw new CaError(`CA validity must be a positive number of days, got ${validityDays}`);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const now = Date.now();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKeyToForge(publicKey);
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = new Date(now - HOUR_MS);
  cert.validity.notAfter = new Date(now + validityDays * DAY_MS);
  const name = [{ name: 'commonName', value: (options.commonName ?? `Chokepoint CA (${hostname()})`).slice(0, 64) }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, privateKey);
  return {
    certPem: pemToString(cert),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** PEM carried in an environment variable is often written with literal `\n`: restore the newlines. */
function unescapePem(value: string): string {
  return value.includes('\n') ? value : value.replaceAll('\\n', '\n');
}

interface ParsedCa {
  x509: X509Certificate;
  key: KeyObject;
}

/** Check that the pair is usable as an interception CA; `where` names its source in errors. */
function validateCa(ca: CaMaterial, where: { cert: string; key: string }): ParsedCa {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(ca.certPem);
  } catch {
    throw new CaError(`${where.cert}: not a PEM certificate`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(ca.keyPem);
  } catch (err) {
    // Node's messages name the decoder step, not the key, but keep ours fixed anyway.
    const encrypted = err instanceof Error && err.message.toLowerCase().includes('passphrase');
    throw new CaError(`${where.key}: ${encrypted ? 'the private key is encrypted; give an unencrypted key' : 'not a PEM private key'}`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new CaError(`${where.key}: a ${key.asymmetricKeyType ?? 'unknown'} key; the interception CA needs an RSA key`);
  }
  if (!x509.ca) throw new CaError(`${where.cert}: not a CA certificate (basicConstraints CA:true is missing)`);
  if (!x509.checkPrivateKey(key)) throw new CaError(`${where.cert} and ${where.key} do not belong together (the key does not match the certificate)`);
  const forgeCert = forge.pki.certificateFromPem(ca.certPem);
  const usage = forgeCert.getExtension('keyUsage') as { keyCertSign?: boolean } | null;
  if (usage && !usage.keyCertSign) throw new CaError(`${where.cert}: its keyUsage does not allow signing certificates (keyCertSign)`);
  if (Date.parse(x509.validTo) <= Date.now()) throw new CaError(`${where.cert}: the CA certificate expired on ${new Date(x509.validTo).toISOString()}`);
  return { x509, key };
}

type CaSettings = Pick<Config, 'stateDir' | 'tls'>;

/** Where the CA certificate is, without touching the key: for `ca show` and `ca env`. */
export function locateCaCert(config: CaSettings): { certPem: string; certPath?: string } {
  const configured = config.tls.ca;
  if (configured?.cert || configured?.certPem) {
    if (configured.cert) {
      const certPath = resolve(configured.cert);
      return { certPem: readConfiguredFile(certPath, 'tls.ca.cert'), certPath };
    }
    return { certPem: unescapePem(configured.certPem ?? '') };
  }
  const certPath = resolve(config.stateDir, CA_CERT_FILE);
  try {
    return { certPem: readFileSync(certPath, 'utf8'), certPath };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CaError(NO_CA_MESSAGE);
    throw new CaError(`${certPath}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function readConfiguredFile(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CaError(`${key} ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function readKeyFile(path: string, key: string): string {
  try {
    return readPrivateFile(path).toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new CaError(`${key} ${path}: cannot read (${code})`);
    throw err; // StateError: readable by others, with the chmod to run
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Write a CA into `dir`: the key 0600, the certificate 0644, each by rename so no reader sees half a file. */
export function writeCaFiles(dir: string, ca: CaMaterial): { certPath: string; keyPath: string } {
  const certPath = resolve(dir, CA_CERT_FILE);
  const keyPath = resolve(dir, CA_KEY_FILE);
  const tmpSuffix = `.tmp-${process.pid}`;
  writePrivateFile(keyPath + tmpSuffix, ca.keyPem);
  writeFileSync(certPath + tmpSuffix, ca.certPem, { mode: 0o644 });
  chmodSync(certPath + tmpSuffix, 0o644);
  renameSync(keyPath + tmpSuffix, keyPath);
  renameSync(certPath + tmpSuffix, certPath);
  return { certPath, keyPath };
}

/**
 * Find the CA the config names: tls.ca cert/key paths or certPem/keyPem, else
 * <stateDir>/ca.pem + ca-key.pem; with `create`, make one there when there is none.
 */
export function loadCa(config: CaSettings, options: { create: boolean }): { ca: CaMaterial; certPath?: string; created: boolean } {
  const configured = config.tls.ca;
  if (configured && (configured.cert || configured.key || configured.certPem || configured.keyPem)) {
    const hasCert = Boolean(configured.cert || configured.certPem);
    const hasKey = Boolean(configured.key || configured.keyPem);
    if (!hasCert || !hasKey) throw new CaError('tls.ca: give cert and key (paths), or certPem and keyPem');
    const { certPem, certPath } = locateCaCert(config);
    const keyPem = configured.key ? readKeyFile(resolve(configured.key), 'tls.ca.key') : unescapePem(configured.keyPem ?? '');
    const ca = { certPem, keyPem };
    validateCa(ca, {
      cert: configured.cert ? `tls.ca.cert ${resolve(configured.cert)}` : 'tls.ca.certPem',
      key: configured.key ? `tls.ca.key ${resolve(configured.key)}` : 'tls.ca.keyPem',
    });
    return { ca, ...(certPath ? { certPath } : {}), created: false };
  }

  const certPath = resolve(config.stateDir, CA_CERT_FILE);
  const keyPath = resolve(config.stateDir, CA_KEY_FILE);
  const haveCert = exists(certPath);
  const haveKey = exists(keyPath);
  if (haveCert && haveKey) {
    const ca = { certPem: readConfiguredFile(certPath, 'CA certificate'), keyPem: readKeyFile(keyPath, 'CA key') };
    validateCa(ca, { cert: certPath, key: keyPath });
    return { ca, certPath, created: false };
  }
  if (haveCert || haveKey) {
    throw new CaError(`${haveCert ? certPath : keyPath} exists but ${haveCert ? keyPath : certPath} does not; restore it, or remove both to make a new CA`);
  }
  if (!options.create) throw new CaError(NO_CA_MESSAGE);
  ensureStateDir(config.stateDir);
  const ca = createCa();
  writeCaFiles(config.stateDir, ca);
  return { ca, certPath, created: true };
}

/** SHA-256 fingerprint of a PEM certificate, colon-separated upper-case hex. */
export function caFingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

export interface LeafIssuer {
  /** A secure context for a host name or IP (IP SAN for IP literals, DNS SAN otherwise), cached and renewed. */
  contextFor(host: string): tls.SecureContext;
  /** Counters for tests and metrics: certificates issued so far, cache hits. */
  readonly stats: { issued: number; hits: number };
  /** notAfter of the CA certificate. */
  readonly caNotAfter: Date;
  /** SHA-256 fingerprint of the CA cert, colon-separated hex upper case. */
  readonly caFingerprint: string;
}

export interface LeafIssuerOptions {
  /** Hosts kept in the LRU (default 1000). */
  cacheSize?: number;
  /** Leaf lifetime (default 7 days), not counting the 1-hour backdating. */
  leafValidityMs?: number;
  /** Reissue a cached leaf this long before it expires (default 1 day). */
  renewBeforeMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

interface CachedLeaf {
  context: tls.SecureContext;
  renewAt: number;
}

/** Lower case, no trailing dot, no IPv6 brackets; refuses what cannot be a host name. */
function normalizeLeafHost(host: string): { name: string; ip: boolean } {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.length > 253) throw new CaError(`cannot issue a certificate for host of length ${name.length}`);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x2f) throw new CaError('cannot issue a certificate for a host with characters outside printable ASCII');
  }
  return { name, ip: isIP(name) !== 0 };
}

/** One leaf key pair per process; leaves signed on demand and kept in a bounded LRU. */
export function createLeafIssuer(ca: CaMaterial, options: LeafIssuerOptions = {}): LeafIssuer {
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 1000;
  const leafValidityMs = options.leafValidityMs ?? 7 * DAY_MS;
  const renewBeforeMs = options.renewBeforeMs ?? DAY_MS;
  if (!Number.isInteger(cacheSize) || cacheSize < 1) throw new CaError(`cacheSize must be a positive integer, got ${cacheSize}`);
  if (!(leafValidityMs > 0)) throw new CaError('leafValidityMs must be positive');
  if (!(renewBeforeMs >= 0 && renewBeforeMs < leafValidityMs)) throw new CaError('renewBeforeMs must be at least 0 and less than leafValidityMs');

  const { x509, key: caKey } = validateCa(ca, { cert: 'CA certificate', key: 'CA key' });
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caNotAfter = new Date(x509.validTo);
  const ski = caCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
  const chainPem = ca.certPem.endsWith('\n') ? ca.certPem : ca.certPem + '\n';

  // The slow part, once per process.
  const leafKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const leafKeyPem = leafKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const leafPublicKey = publicKeyToForge(leafKeys.publicKey);

  const cache = new LRUCache<string, CachedLeaf>({ max: cacheSize });
  const stats = { issued: 0, hits: 0 };

  function issue(name: string, ip: boolean): CachedLeaf {
    const t = now();
    const notAfter = Math.min(t + leafValidityMs, caNotAfter.getTime());
    const cert = forge.pki.createCertificate();
    cert.publicKey = leafPublicKey;
    cert.serialNumber = randomSerialHex();
    cert.validity.notBefore = new Date(t - HOUR_MS);
    cert.validity.notAfter = new Date(notAfter);
    cert.setSubject([{ name: 'commonName', value: name.slice(0, 64) }]);
    cert.setIssuer(caCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [ip ? { type: 7, ip: name } : { type: 2, value: name }] },
      ...(ski?.subjectKeyIdentifier ? [{ name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(ski.subjectKeyIdentifier) }] : []),
    ]);
    signCertificate(cert, caKey);
    const context = tls.createSecureContext({ key: leafKeyPem, cert: pemToString(cert) + chainPem });
    stats.issued++;
    // Near the CA's own expiry a leaf cannot outlive the renewal window: keep it to its end.
    const renewAt = notAfter - renewBeforeMs > t ? notAfter - renewBeforeMs : notAfter;
    return { context, renewAt };
  }

  return {
    // Synchronous on purpose: between the cache miss and the cache fill nothing else runs,
    // so any number of connections racing for one new host share a single issuance.
    contextFor(host: string): tls.SecureContext {
      const { name, ip } = normalizeLeafHost(host);
      const cached = cache.get(name);
      if (cached && now() < cached.renewAt) {
        stats.hits++;
        return cached.context;
      }
      const fresh = issue(name, ip);
      cache.set(name, fresh);
      return fresh.context;
    },
    stats,
    caNotAfter,
    caFingerprint: x509.fingerprint256,
  };
}

