// Private keys built by hand from the seeded Rng: structurally valid DER (PKCS#1,
// SEC1, DSA, PKCS#8, encrypted PKCS#8), OpenSSH, PGP and PuTTY containers, age and
// WireGuard keys. The numbers are random bytes, not working keys: fast, deterministic,
// and never a real secret.
import { createHmac } from 'node:crypto';
import type { Rng } from '../rng.js';

function bytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

// --- DER -------------------------------------------------------------------
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const out: number[] = [];
  for (let v = n; v > 0; v >>= 8) out.unshift(v & 0xff);
  return Buffer.from([0x80 | out.length, ...out]);
}
function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const oid = (hex: string): Buffer => Buffer.from(hex, 'hex');
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const nul = Buffer.from([0x05, 0x00]);
function int(b: Buffer): Buffer {
  return tlv(0x02, b[0] !== undefined && b[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
const small = (n: number): Buffer => tlv(0x02, Buffer.from([n]));
/** A random positive integer of `bits` bits (top bit set). */
function bigInt(rng: Rng, bits: number): Buffer {
  const b = bytes(rng, Math.ceil(bits / 8));
  b[0] = (b[0] as number) | 0x80;
  return int(b);
}

const OID_RSA = '06092a864886f70d010101';
const OID_EC = '06072a8648ce3d0201';
const OID_P256 = '06082a8648ce3d030107';
const OID_ED25519 = '06032b6570';

function rsaPkcs1(rng: Rng, bits: number): Buffer {
  const h = bits / 2;
  return seq(small(0), bigInt(rng, bits), int(Buffer.from([1, 0, 1])), bigInt(rng, bits), bigInt(rng, h), bigInt(rng, h), bigInt(rng, h), bigInt(rng, h), bigInt(rng, h));
}
function ecSec1(rng: Rng): Buffer {
  const pub = Buffer.concat([Buffer.from([0x00, 0x04]), bytes(rng, 64)]);
  return seq(small(1), octets(bytes(rng, 32)), tlv(0xa0, oid(OID_P256)), tlv(0xa1, tlv(0x03, pub)));
}
function dsa(rng: Rng): Buffer {
  return seq(small(0), bigInt(rng, 2048), bigInt(rng, 256), bigInt(rng, 2048), bigInt(rng, 2048), bigInt(rng, 256));
}
function pkcs8(rng: Rng): Buffer {
  switch (rng.int(3)) {
    case 0:
      return seq(small(0), seq(oid(OID_RSA), nul), octets(rsaPkcs1(rng, rng.pick([2048, 4096]))));
    case 1:
      return seq(small(0), seq(oid(OID_EC), oid(OID_P256)), octets(ecSec1(rng)));
    default:
      return seq(small(0), seq(oid(OID_ED25519)), octets(octets(bytes(rng, 32))));
  }
}
function encryptedPkcs8(rng: Rng): Buffer {
  const pbes2 = seq(
    oid('06092a864886f70d01050d'),
    seq(
      seq(oid('06092a864886f70d01050c'), seq(octets(bytes(rng, 16)), tlv(0x02, Buffer.from([0x08, 0x00])), seq(oid('06082a864886f70d0209'), nul))),
      seq(oid('060960864801650304012a'), octets(bytes(rng, 16))),
    ),
  );
  const blocks = rng.pick([8, 76, 150, 200]);
  return seq(pbes2, octets(bytes(rng, 16 * blocks)));
}

function wrap(s: string, width: number): string {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += width) out.push(s.slice(i, i + width));
  return out.join('\n');
}

/** PEM text; one time in four as a JSON-escaped one-liner (`\n` escapes), as in a service-account file or a log. */
function pemText(rng: Rng, label: string, der: Buffer, width = 64): string {
  const text = `-----BEGIN ${label}-----\n${wrap(der.toString('base64'), width)}\n-----END ${label}-----`;
  const style = rng.int(8);
  if (style === 0) return text.replaceAll('\n', '\\n');
  if (style === 1) return text.replaceAll('\n', '\r\n');
  return text;
}

// --- SSH wire format ----------------------------------------------------------
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  return Buffer.concat([u32(body.length), body]);
}

function openssh(rng: Rng): string {
  const pub = bytes(rng, 32);
  const priv = bytes(rng, 32);
  const comment = `ci@runner-${rng.int(1000)}`;
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = u32(rng.int(2 ** 32));
  let section = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([priv, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (section.length + pad.length) % 8 !== 0; i++) pad.push(i);
  section = Buffer.concat([section, Buffer.from(pad)]);
  const blob = Buffer.concat([Buffer.from('openssh-key-v1\0', 'latin1'), sshString('none'), sshString('none'), sshString(''), u32(1), sshString(pubBlob), sshString(section)]);
  return pemText(rng, 'OPENSSH PRIVATE KEY', blob, 70);
}

// --- PGP ----------------------------------------------------------------------
function pgpPacket(tag: number, body: Buffer): Buffer {
  const len = body.length;
  const head = len < 192 ? Buffer.from([len]) : Buffer.from([((len - 192) >> 8) + 192, (len - 192) & 0xff]);
  return Buffer.concat([Buffer.from([0xc0 | tag]), head, body]);
}
function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}
function pgp(rng: Rng): string {
  const point = Buffer.concat([Buffer.from([0x40]), bytes(rng, 32)]);
  const secret = bytes(rng, 32);
  secret[0] = (secret[0] as number) | 0x80;
  const secretMpi = Buffer.concat([Buffer.from([0x01, 0x00]), secret]);
  let sum = 0;
  for (const b of secretMpi) sum = (sum + b) & 0xffff;
  const body = Buffer.concat([
    Buffer.from([0x04]),
    u32(1700000000 + rng.int(50000000)),
    Buffer.from([22, 9]),
    Buffer.from('2b06010401da470f01', 'hex'),
    Buffer.from([0x01, 0x07]),
    point,
    Buffer.from([0x00]),
    secretMpi,
    Buffer.from([sum >> 8, sum & 0xff]),
  ]);
  const uid = Buffer.from(`CI Release Bot ${rng.int(100)} <release-${rng.int(1000)}@acme-corp.net>`, 'utf8');
  const data = Buffer.concat([pgpPacket(5, body), pgpPacket(13, uid), pgpPacket(2, bytes(rng, 100 + rng.int(60)))]);
  const c = crc24(data);
  const crc = Buffer.from([c >> 16, (c >> 8) & 0xff, c & 0xff]).toString('base64');
  return `-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n${wrap(data.toString('base64'), 64)}\n=${crc}\n-----END PGP PRIVATE KEY BLOCK-----`;
}

// --- PuTTY ----------------------------------------------------------------------
function putty(rng: Rng): string {
  const pub = bytes(rng, 32);
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const privBlob = sshString(bytes(rng, 32));
  const comment = `eddsa-key-2024${String(1 + rng.int(12)).padStart(2, '0')}${String(1 + rng.int(28)).padStart(2, '0')}`;
  const version = rng.pick([2, 3]);
  const macKey = version === 3 ? Buffer.alloc(0) : Buffer.from('putty-private-key-file-mac-key', 'latin1');
  const mac = createHmac(version === 3 ? 'sha256' : 'sha1', macKey)
    .update(Buffer.concat([sshString('ssh-ed25519'), sshString('none'), sshString(comment), sshString(pubBlob), sshString(privBlob)]))
    .digest('hex');
  const pubLines = wrap(pubBlob.toString('base64'), 64).split('\n');
  const privLines = wrap(privBlob.toString('base64'), 64).split('\n');
  return [
    `PuTTY-User-Key-File-${version}: ssh-ed25519`,
    'Encryption: none',
    `Comment: ${comment}`,
    `Public-Lines: ${pubLines.length}`,
    ...pubLines,
    `Private-Lines: ${privLines.length}`,
    ...privLines,
    `Private-MAC: ${mac}`,
  ].join('\n');
}

// --- age (bech32) -------------------------------------------------------------------
const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
function polymod(values: number[]): number {
  const g = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= g[i] as number;
  }
  return chk >>> 0;
}
function bech32(hrp: string, data: Buffer): string {
  const five: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of data) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      five.push((acc >> bits) & 31);
    }
  }
  if (bits > 0) five.push((acc << (5 - bits)) & 31);
  const expand = [...hrp].map((c) => c.charCodeAt(0) >> 5).concat([0], [...hrp].map((c) => c.charCodeAt(0) & 31));
  const mod = polymod([...expand, ...five, 0, 0, 0, 0, 0, 0]) ^ 1;
  const check: number[] = [];
  for (let i = 0; i < 6; i++) check.push((mod >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...five, ...check].map((v) => BECH32[v]).join('')}`;
}

// --- JWK ------------------------------------------------------------------------------
function jwk(rng: Rng): string {
  const b64 = (n: number): string => bytes(rng, n).toString('base64url');
  if (rng.int(2) === 0) return JSON.stringify({ kty: 'EC', crv: 'P-256', x: b64(32), y: b64(32), d: b64(32), kid: `ci-${rng.int(1000)}` });
  return JSON.stringify({ kty: 'RSA', n: b64(256), e: 'AQAB', d: b64(256), p: b64(128), q: b64(128), dp: b64(128), dq: b64(128), qi: b64(128) });
}

/** One generator per rule id of detectors/rules/keys.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'private-key-rsa': (rng) => pemText(rng, 'RSA PRIVATE KEY', rsaPkcs1(rng, rng.pick([1024, 2048, 2048, 4096]))),
  'private-key-ec': (rng) => pemText(rng, 'EC PRIVATE KEY', ecSec1(rng)),
  'private-key-dsa': (rng) => pemText(rng, 'DSA PRIVATE KEY', dsa(rng)),
  'private-key-pkcs8': (rng) => pemText(rng, 'PRIVATE KEY', pkcs8(rng)),
  'private-key-pkcs8-encrypted': (rng) => pemText(rng, 'ENCRYPTED PRIVATE KEY', encryptedPkcs8(rng)),
  'private-key-openssh': openssh,
  'pgp-private-key-block': pgp,
  'putty-private-key': putty,
  'age-secret-key': (rng) => bech32('age-secret-key-', bytes(rng, 32)).toUpperCase(),
  'wireguard-private-key': (rng) => {
    const k = bytes(rng, 32);
    k[0] = (k[0] as number) & 248;
    k[31] = ((k[31] as number) & 127) | 64;
    return k.toString('base64');
  },
  'jwk-private-key': jwk,
};

/** Variable names the name-anchored values of keys.ts are assigned to. */
export const contextNames: Record<string, string[]> = {
  'wireguard-private-key': ['PrivateKey', 'WG_PRIVATE_KEY', 'wireguard_private_key', 'private_key'],
};
