// Private keys: PEM (PKCS#1 RSA, SEC1 EC, DSA, PKCS#8, encrypted PKCS#8), OpenSSH,
// PGP private key blocks, PuTTY PPK files, age secret keys, WireGuard private keys
// and private JSON Web Keys. Public keys and certificates are never findings (their
// labels differ, and the validator decodes the body). PEM bodies are matched with real
// line breaks or with `\n` escapes (a key inside a JSON string). No destinations:
// a private key has no legitimate place to be sent.
// Example values are synthetic: `@@rule-id@@` markers expand from test/corpus/gen/keys.ts.
import type { RuleSpec } from '../types.js';

/** Body of a PEM block: base64, line breaks (real or `\n`-escaped), armor headers (`Proc-Type: 4,ENCRYPTED`). */
const BODY = String.raw`[A-Za-z0-9+/=\s\\:,.-]`;
/** A 4096-bit RSA key is about 3.3 KiB of PEM (more with CRLF or `\n` escapes): the window, and so the match, is bounded by this. */
const PEM_MAX_LENGTH = 5000;

function pem(id: string, title: string, label: string, severity: RuleSpec['severity'], positive: string[], negative: string[]): RuleSpec {
  return {
    id,
    title,
    severity,
    regex: `-----BEGIN ${label}-----${BODY}{64,}?-----END ${label}-----`,
    keywords: [`BEGIN ${label}`],
    validator: 'pem-private-key',
    maxLength: PEM_MAX_LENGTH,
    destinations: [],
    examples: { positive, negative },
  };
}

/** A PUBLIC key and a certificate: the negatives every private-key rule carries. */
const PUBLIC_KEY =
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE' + 'q'.repeat(20) + 'Q8vZ3xN1c5Rr2b7Wm0aT4yHkL9sPdE6fJ' + '\n-----END PUBLIC KEY-----';

export const rules: RuleSpec[] = [
  pem(
    'private-key-rsa',
    'RSA private key (PKCS#1 PEM)',
    'RSA PRIVATE KEY',
    'critical',
    ['@@private-key-rsa@@', 'deploy_key: |\n  @@private-key-rsa@@', '{"ssh_key": "@@private-key-rsa@@"}'],
    [
      '-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA' + 'x'.repeat(60) + '\n-----END RSA PUBLIC KEY-----',
      '-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----',
      '-----BEGIN RSA PRIVATE KEY-----\n' + 'bm90IGEga2V5IGF0IGFsbCwganVzdCBzb21lIHRleHQgdGhhdCBsb29rcyBsaWtlIGJhc2U2NA==' + '\n-----END RSA PRIVATE KEY-----',
    ],
  ),
  pem('private-key-ec', 'EC private key (SEC1 PEM)', 'EC PRIVATE KEY', 'critical', ['@@private-key-ec@@', 'key.pem: |\n    @@private-key-ec@@'], [
    PUBLIC_KEY,
    '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----',
  ]),
  pem('private-key-dsa', 'DSA private key (PEM)', 'DSA PRIVATE KEY', 'critical', ['@@private-key-dsa@@'], [
    '-----BEGIN DSA PRIVATE KEY-----\n<redacted>\n-----END DSA PRIVATE KEY-----',
  ]),
  pem('private-key-pkcs8', 'Private key (PKCS#8 PEM)', 'PRIVATE KEY', 'critical', ['@@private-key-pkcs8@@', 'TLS_KEY="@@private-key-pkcs8@@"'], [
    PUBLIC_KEY,
    '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU' + 'Q'.repeat(60) + '\n-----END CERTIFICATE-----',
    'const header = "-----BEGIN PRIVATE KEY-----"; const footer = "-----END PRIVATE KEY-----";',
  ]),
  pem(
    'private-key-pkcs8-encrypted',
    'Encrypted private key (PKCS#8 PEM)',
    'ENCRYPTED PRIVATE KEY',
    'high',
    ['@@private-key-pkcs8-encrypted@@'],
    ['-----BEGIN ENCRYPTED PRIVATE KEY-----\n[redacted]\n-----END ENCRYPTED PRIVATE KEY-----', PUBLIC_KEY],
  ),
  pem('private-key-openssh', 'OpenSSH private key', 'OPENSSH PRIVATE KEY', 'critical', ['@@private-key-openssh@@', 'SSH_PRIVATE_KEY: |\n  @@private-key-openssh@@'], [
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI' + 'A'.repeat(43) + ' ci@runner',
    '-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGFuIG9wZW5zc2gga2V5IGJ1dCBsb25nIGVub3VnaCB0byBtYXRjaA==\n-----END OPENSSH PRIVATE KEY-----',
  ]),
  {
    id: 'pgp-private-key-block',
    title: 'PGP private key block',
    severity: 'critical',
    regex: String.raw`-----BEGIN PGP PRIVATE KEY BLOCK-----[A-Za-z0-9+/=\s\\:,.()<>@'"_-]{64,}?-----END PGP PRIVATE KEY BLOCK-----`,
    keywords: ['BEGIN PGP PRIVATE KEY BLOCK'],
    validator: 'pem-private-key',
    maxLength: 12500,
    destinations: [],
    examples: {
      positive: ['@@pgp-private-key-block@@', '$ gpg --import <<EOF\n@@pgp-private-key-block@@\nEOF'],
      negative: [
        '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZQ' + 'A'.repeat(60) + '\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----',
        '-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE' + 'B'.repeat(60) + '\n=wxyz\n-----END PGP SIGNATURE-----',
      ],
    },
  },
  {
    id: 'putty-private-key',
    title: 'PuTTY private key (PPK)',
    severity: 'critical',
    regex: String.raw`PuTTY-User-Key-File-[23]: [A-Za-z0-9@.-]{3,40}\r?\n(?:[^\r\n]{0,200}\r?\n)+?Private-Lines: [0-9]{1,3}\r?\n(?:[A-Za-z0-9+/=]{1,64}\r?\n)+Private-MAC: [a-f0-9]{40,64}`,
    keywords: ['PuTTY-User-Key-File-'],
    maxLength: 8000,
    destinations: [],
    examples: {
      positive: ['@@putty-private-key@@', '$ cat deploy.ppk\n@@putty-private-key@@\n'],
      negative: ['PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: docs\nPublic-Lines: 2\n<public>\n', 'Convert the key with puttygen (PuTTY-User-Key-File-2 format).'],
    },
  },
  {
    id: 'age-secret-key',
    title: 'age secret key',
    severity: 'critical',
    regex: String.raw`(?:^|\x1b\[[0-9;]*m|[^A-Za-z0-9_-])(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})(?:[^A-Za-z0-9_-]|$)`,
    secretGroup: 1,
    keywords: ['AGE-SECRET-KEY-1'],
    entropy: 3.8,
    destinations: [],
    examples: {
      positive: ['# created: 2024-05-14T09:12:33Z\n# public key: age1qz5r0xkxu0n8r3t6h8d2s9l4c5f6g7j8k9m0p2q3w4e5r6t7y8u9iszmf0d\n@@age-secret-key@@', 'SOPS_AGE_KEY=@@age-secret-key@@'],
      negative: ['SOPS_AGE_KEY=AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ', 'recipient: age1qz5r0xkxu0n8r3t6h8d2s9l4c5f6g7j8k9m0p2q3w4e5r6t7y8u9iszmf0d', 'SOPS_AGE_KEY=@@age-secret-key|lc@@'],
    },
  },
  {
    id: 'wireguard-private-key',
    title: 'WireGuard private key',
    severity: 'critical',
    regex: String.raw`(?i:private[_-]?key|wg[_-]?private|wireguard[\w.-]{0,16}?key)[\w.-]{0,16}?["']?\s{0,4}(?:=|:|\s)\s{0,4}["']?(?:\x1b\[[0-9;]*m)?([A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)(?:[^A-Za-z0-9+/=]|$)`,
    secretGroup: 1,
    keywords: ['privatekey', 'private_key', 'private-key', 'wg_private', 'wg-private', 'wireguard'],
    entropy: 4,
    destinations: [],
    examples: {
      positive: ['[Interface]\nAddress = 10.8.0.2/32\nPrivateKey = @@wireguard-private-key@@\nDNS = 1.1.1.1', 'WG_PRIVATE_KEY=@@wireguard-private-key@@'],
      negative: [
        '[Peer]\nPublicKey = @@wireguard-private-key@@\nAllowedIPs = 0.0.0.0/0',
        'PrivateKey = <base64 private key from wg genkey>',
        'PrivateKey = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      ],
    },
  },
  {
    id: 'jwk-private-key',
    title: 'Private JSON Web Key (JWK with "d")',
    severity: 'critical',
    regex: String.raw`"kty"\s*:\s*"(?:RSA|EC|OKP)"[^{}]*?"d"\s*:\s*"([A-Za-z0-9_-]{40,})"`,
    secretGroup: 1,
    keywords: ['"kty"'],
    entropy: 4,
    maxLength: 4096,
    destinations: [],
    examples: {
      positive: ['@@jwk-private-key@@', '{"keys": [@@jwk-private-key@@]}'],
      negative: [
        '{"kty":"EC","crv":"P-256","x":"Qm9ndXNQdWJsaWNYQ29vcmRpbmF0ZUZvclRlc3RzMDE","y":"Qm9ndXNQdWJsaWNZQ29vcmRpbmF0ZUZvclRlc3RzMDI"}',
        '{"kty":"oct","k":"' + 'A'.repeat(10) + '"}',
      ],
    },
  },
];
