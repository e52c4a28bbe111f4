// Structural validators: each accepts real-shaped credentials and rejects look-alikes.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { tokenChecksum } from '../detectors/checksum.js';
import {
  atlassianChecksum,
  atlassianCrc32,
  awsKeyId,
  cloudflareCrc32,
  githubCrc32,
  jsonServiceAccount,
  jwt,
  luhn,
  npmCrc32,
  pemPrivateKey,
  validators,
} from '../detectors/validators.js';
import { VALIDATOR_NAMES, type ValidatorName } from '../detectors/types.js';
import { ALPHA_NUM, BASE64URL, createRng } from './corpus/rng.js';

const rng = createRng(0x5eed);
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function checksummed(prefix: string): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return prefix + body + tokenChecksum(body);
}

/** Change one character of the token body (keeps length and alphabet). */
function mutate(token: string, at: number): string {
  const c = token[at] === 'a' ? 'b' : 'a';
  return token.slice(0, at) + c + token.slice(at + 1);
}

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

describe('every validator name has a validator', () => {
  const names: readonly ValidatorName[] = VALIDATOR_NAMES;
  test.each(names)('%s', (name) => {
    expect(typeof validators[name]).toBe('function');
  });
});

describe('github-crc32', () => {
  test.each(['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'])('accepts a %s token with a correct checksum', (prefix) => {
    expect(githubCrc32(checksummed(prefix))).toBe(true);
  });
  test('rejects a token whose body was changed', () => {
    const t = checksummed('ghp_');
    expect(githubCrc32(mutate(t, 10))).toBe(false);
  });
  test('rejects a token whose checksum was changed', () => {
    const t = checksummed('ghp_');
    expect(githubCrc32(mutate(t, t.length - 1))).toBe(false);
  });
  test('rejects other prefixes, short tokens and non-base62 characters', () => {
    const t = checksummed('ghp_');
    expect(githubCrc32('ghx_' + t.slice(4))).toBe(false);
    expect(githubCrc32('ghp_abc')).toBe(false);
    expect(githubCrc32(t.slice(0, 10) + '-' + t.slice(11))).toBe(false);
  });
});

describe('npm-crc32', () => {
  test('accepts an npm token with a correct checksum', () => {
    expect(npmCrc32(checksummed('npm_'))).toBe(true);
  });
  test('rejects a changed body, and a GitHub prefix', () => {
    expect(npmCrc32(mutate(checksummed('npm_'), 8))).toBe(false);
    expect(npmCrc32(checksummed('ghp_'))).toBe(false);
  });
});

describe('aws-key-id', () => {
  test.each(['AKIA', 'ASIA', 'AROA'])('accepts %s followed by 16 base32 characters', (prefix) => {
    expect(awsKeyId(prefix + rng.chars(B32, 16))).toBe(true);
  });
  test('rejects characters outside base32 (0, 1, 8, 9, lower case)', () => {
    for (const bad of ['0', '1', '8', '9', 'a']) {
      expect(awsKeyId('AKIA' + rng.chars(B32, 15) + bad)).toBe(false);
    }
  });
  test('rejects wrong lengths and a lower-case prefix', () => {
    expect(awsKeyId('AKIA' + rng.chars(B32, 15))).toBe(false);
    expect(awsKeyId('AKIA' + rng.chars(B32, 17))).toBe(false);
    expect(awsKeyId('akia' + rng.chars(B32, 16))).toBe(false);
  });
});

describe('jwt', () => {
  const sig = rng.chars(BASE64URL, 43);
  test('accepts a JWS whose header has alg and whose payload is JSON', () => {
    expect(jwt(`${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: '42' })}.${sig}`)).toBe(true);
  });
  test('accepts a five-segment JWE with alg and enc', () => {
    const h = b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' });
    expect(jwt(`${h}.${rng.chars(BASE64URL, 40)}.${rng.chars(BASE64URL, 16)}.${rng.chars(BASE64URL, 30)}.${rng.chars(BASE64URL, 22)}`)).toBe(true);
  });
  test('rejects a header without alg, with a non-string alg, or not JSON', () => {
    const p = b64url({ sub: '42' });
    expect(jwt(`${b64url({ typ: 'JWT' })}.${p}.${sig}`)).toBe(false);
    expect(jwt(`${b64url({ alg: 7 })}.${p}.${sig}`)).toBe(false);
    expect(jwt(`${Buffer.from('not json').toString('base64url')}.${p}.${sig}`)).toBe(false);
    expect(jwt(`${b64url(['alg'])}.${p}.${sig}`)).toBe(false);
  });
  test('rejects a payload that is not JSON, and wrong segment counts', () => {
    const h = b64url({ alg: 'HS256' });
    expect(jwt(`${h}.${Buffer.from('{{{').toString('base64url')}.${sig}`)).toBe(false);
    expect(jwt(`${h}.${b64url({ a: 1 })}`)).toBe(false);
    expect(jwt('a.b.c.d')).toBe(false);
  });
});

describe('pem-private-key', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  test('accepts PKCS#1 RSA, PKCS#8 and SEC1 EC private keys', () => {
    expect(pemPrivateKey(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string)).toBe(true);
    expect(pemPrivateKey(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)).toBe(true);
    expect(pemPrivateKey(ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string)).toBe(true);
  });
  test('accepts an encrypted PKCS#8 key and a key embedded in JSON with \\n escapes', () => {
    const enc = rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    expect(pemPrivateKey(enc)).toBe(true);
    const escaped = (rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).replaceAll('\n', '\\n');
    expect(pemPrivateKey(escaped)).toBe(true);
  });
  test('accepts an OpenSSH private key body and rejects one without the magic', () => {
    const body = Buffer.concat([Buffer.from('openssh-key-v1\0', 'latin1'), Buffer.from(rng.chars(ALPHA_NUM, 200))]);
    expect(pemPrivateKey(pem('OPENSSH PRIVATE KEY', body))).toBe(true);
    const bad = Buffer.concat([Buffer.from('openssh-key-v2\0', 'latin1'), Buffer.from(rng.chars(ALPHA_NUM, 200))]);
    expect(pemPrivateKey(pem('OPENSSH PRIVATE KEY', bad))).toBe(false);
  });
  test('accepts a PGP secret-key block and rejects a public-key packet', () => {
    const secretPacket = Buffer.concat([Buffer.from([0x95, 0x01, 0xd8]), Buffer.from(rng.chars(ALPHA_NUM, 120))]);
    const armor = (b: Buffer): string =>
      `-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: test\n\n${b.toString('base64')}\n=ab12\n-----END PGP PRIVATE KEY BLOCK-----`;
    expect(pemPrivateKey(armor(secretPacket))).toBe(true);
    const publicPacket = Buffer.concat([Buffer.from([0x99, 0x01, 0x0d]), Buffer.from(rng.chars(ALPHA_NUM, 120))]);
    expect(pemPrivateKey(armor(publicPacket))).toBe(false);
  });
  test('rejects public keys, certificates-shaped blocks and bodies that are not DER', () => {
    expect(pemPrivateKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string)).toBe(false);
    const notDer = Buffer.concat([Buffer.from([0x31, 0x82]), Buffer.from(rng.chars(ALPHA_NUM, 300))]);
    expect(pemPrivateKey(pem('RSA PRIVATE KEY', notDer))).toBe(false);
    expect(pemPrivateKey('-----BEGIN RSA PRIVATE KEY-----\n%%% not base64 %%%\n-----END RSA PRIVATE KEY-----')).toBe(false);
  });
  test('rejects a DER sequence that claims more bytes than the body holds (truncated key)', () => {
    const der = rsa.privateKey.export({ type: 'pkcs1', format: 'der' });
    expect(pemPrivateKey(pem('RSA PRIVATE KEY', der.subarray(0, der.length - 100)))).toBe(false);
  });
});

describe('luhn', () => {
  test('accepts numbers with a valid Luhn digit, with spaces or dashes', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(luhn('5500 0000 0000 0004')).toBe(true);
    expect(luhn('3782-822463-10005')).toBe(true);
  });
  test('rejects a wrong check digit, letters and lengths outside 12..19', () => {
    expect(luhn('4111111111111112')).toBe(false);
    expect(luhn('41111111111a1111')).toBe(false);
    expect(luhn('42')).toBe(false);
    expect(luhn('4'.repeat(25))).toBe(false);
  });
});

describe('cloudflare-crc32 (documented structure: prefix, 40 characters, checksum)', () => {
  test.each(['cfk_', 'cfut_', 'cfat_'])('accepts a %s token', (prefix) => {
    expect(cloudflareCrc32(prefix + rng.chars(ALPHA_NUM, 40) + rng.chars(ALPHA_NUM, 6))).toBe(true);
  });
  test('rejects unknown prefixes, a missing checksum and non-alphanumeric bodies', () => {
    expect(cloudflareCrc32('cfx_' + rng.chars(ALPHA_NUM, 46))).toBe(false);
    expect(cloudflareCrc32('cfut_' + rng.chars(ALPHA_NUM, 40))).toBe(false);
    expect(cloudflareCrc32('cfut_' + rng.chars(ALPHA_NUM, 20) + '-' + rng.chars(ALPHA_NUM, 25))).toBe(false);
  });
});

describe('atlassian-crc32 (documented structure: ATATT, body, = and 8 hex digits)', () => {
  test('accepts a token with the published shape', () => {
    const body = 'ATATT3xFfGF0' + rng.chars(BASE64URL, 170);
    expect(atlassianCrc32(`${body}=${atlassianChecksum(body)}`)).toBe(true);
  });
  test('rejects a suffix that is not 8 upper-case hex digits, a missing = and other prefixes', () => {
    const body = 'ATATT3xFfGF0' + rng.chars(BASE64URL, 170);
    expect(atlassianCrc32(`${body}=abcdef12`)).toBe(false);
    expect(atlassianCrc32(`${body}=ABC123`)).toBe(false);
    expect(atlassianCrc32(`${body}X${atlassianChecksum(body)}`)).toBe(false);
    expect(atlassianCrc32(`ATBTT${body.slice(5)}=${atlassianChecksum(body)}`)).toBe(false);
  });
});

describe('json-service-account', () => {
  const key = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const sa = { type: 'service_account', project_id: 'p', private_key: key, client_email: 'ci@p.iam.gserviceaccount.com' };
  test('accepts service-account JSON, and the same JSON escaped inside a log line', () => {
    expect(jsonServiceAccount(JSON.stringify(sa))).toBe(true);
    expect(jsonServiceAccount(JSON.stringify(JSON.stringify(sa)).slice(1, -1))).toBe(true);
  });
  test('rejects JSON without client_email or without a private key', () => {
    expect(jsonServiceAccount(JSON.stringify({ ...sa, client_email: undefined }))).toBe(false);
    expect(jsonServiceAccount(JSON.stringify({ ...sa, private_key: 'nope' }))).toBe(false);
    expect(jsonServiceAccount('[1,2,3]')).toBe(false);
  });
});

describe('basic-credentials', () => {
  const b64 = (t: string): string => Buffer.from(t, 'utf8').toString('base64');
  test('accepts base64 of user:password, padded or not, UTF-8 included, an empty user-id too', () => {
    for (const t of ['ci-bot:Zq8uP3mX9tRw', 'deploy:pässwörd-2024', ':9f3kLm2Qp7Zx']) {
      expect(validators['basic-credentials'](b64(t))).toBe(true);
      expect(validators['basic-credentials'](b64(t).replace(/=+$/, ''))).toBe(true);
    }
  });
  test('rejects words, binary, text without a colon or password, and control characters', () => {
    for (const s of ['builders', 'realmxyz', Buffer.from([0x9f, 0x00, 0xfe, 0x11, 0x3a, 0x41]).toString('base64'), b64('no colon here'), b64('user:'), b64('user:pa\u0001ss')]) {
      expect(validators['basic-credentials'](s), s).toBe(false);
    }
    expect(validators['basic-credentials']('dXNlcjpwYXNz===')).toBe(false);
    expect(validators['basic-credentials']('dXNl-jpwYXNz')).toBe(false);
  });
});
