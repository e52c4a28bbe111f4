// Look-alikes: files full of strings shaped like credentials that are not, and that
// must produce NO finding. Hashes, UUIDs, lockfile integrity strings, image digests,
// base64 image data, minified code, placeholders and masked values, tokens with bad
// checksums, public keys and certificates, Stripe publishable keys, ordinary CI logs,
// prose. Everything is derived from the seeded Rng, so the corpus is reproducible.
import { tokenChecksum } from '../../detectors/checksum.js';
import { ciLogLine, fillerLines, timestamp, uuid } from './contexts.js';
import { lookalikeLines as forgeLines } from './gen/forges.js';
import { lookalikeLines as serviceLines } from './gen/services.js';
import type { Rng } from './rng.js';
import { ALPHA_NUM, BASE64, HEX } from './rng.js';

export interface Lookalike {
  kind: string;
  name: string;
  text: string;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function word(rng: Rng, min = 3, max = 9): string {
  return rng.chars(LOWER, min + rng.int(max - min + 1));
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function wrap64(s: string): string {
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += 64) lines.push(s.slice(i, i + 64));
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// Minimal DER, enough to build public keys and certificates that parse as ASN.1.

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const nul = (): Buffer => Buffer.from([0x05, 0x00]);
/** A positive INTEGER from big-endian bytes. */
function int(bytes: Buffer): Buffer {
  return tlv(0x02, bytes[0] !== undefined && bytes[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}
const bitString = (body: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), body]));
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const utcTime = (s: string): Buffer => tlv(0x17, Buffer.from(s, 'ascii'));
const explicit = (n: number, body: Buffer): Buffer => tlv(0xa0 + n, body);
const OID_RSA = Buffer.from('06092a864886f70d010101', 'hex');
const OID_SHA256_RSA = Buffer.from('06092a864886f70d01010b', 'hex');
const OID_CN = Buffer.from('0603550403', 'hex');

/** An RSA modulus-shaped integer: `bits` random bits, top bit set, odd. */
function modulus(rng: Rng, bits: number): Buffer {
  const n = randomBytes(rng, bits / 8);
  n[0] = (n[0] as number) | 0x80;
  n[n.length - 1] = (n[n.length - 1] as number) | 1;
  return n;
}

function rsaSpki(rng: Rng, bits: number): { der: Buffer; n: Buffer } {
  const n = modulus(rng, bits);
  const der = seq(seq(OID_RSA, nul()), bitString(seq(int(n), int(Buffer.from([1, 0, 1])))));
  return { der, n };
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${wrap64(der.toString('base64'))}\n-----END ${label}-----\n`;
}

function name(cn: string): Buffer {
  return seq(set(seq(OID_CN, utf8(cn))));
}

/** A certificate-shaped DER (structure of X.509 v3; the signature is random bytes). */
function certificate(rng: Rng, cn: string): string {
  const { der: spki } = rsaSpki(rng, 2048);
  const tbs = seq(
    explicit(0, int(Buffer.from([2]))),
    int(randomBytes(rng, 16)),
    seq(OID_SHA256_RSA, nul()),
    name(`${cn} CA`),
    seq(utcTime('240101000000Z'), utcTime('340101000000Z')),
    name(cn),
    spki,
  );
  return pem('CERTIFICATE', seq(tbs, seq(OID_SHA256_RSA, nul()), bitString(randomBytes(rng, 256))));
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}
function sshMpint(b: Buffer): Buffer {
  return sshString(b[0] !== undefined && b[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
function sshRsaPublic(rng: Rng): string {
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshMpint(Buffer.from([1, 0, 1])), sshMpint(modulus(rng, 3072))]);
  return `ssh-rsa ${blob.toString('base64')} ${word(rng)}@${word(rng)}`;
}
function sshEd25519Public(rng: Rng): string {
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(randomBytes(rng, 32))]);
  return `ssh-ed25519 ${blob.toString('base64')} ${word(rng)}@${word(rng)}`;
}

// ---------------------------------------------------------------------------
// Look-alike files

function lockfile(rng: Rng): string {
  const entries: string[] = [];
  for (let i = 0; i < 20 + rng.int(30); i++) {
    const pkg = word(rng, 3, 12);
    const v = `${rng.int(9)}.${rng.int(20)}.${rng.int(20)}`;
    entries.push(
      `    "node_modules/${pkg}": {\n      "version": "${v}",\n      "resolved": "https://registry.npmjs.org/${pkg}/-/${pkg}-${v}.tgz",\n` +
        `      "integrity": "sha512-${randomBytes(rng, 64).toString('base64')}",\n      "dev": ${rng.pick(['true', 'false'])}\n    }`,
    );
  }
  return `{\n  "name": "${word(rng)}",\n  "lockfileVersion": 3,\n  "requires": true,\n  "packages": {\n${entries.join(',\n')}\n  }\n}\n`;
}

function otherLockfiles(rng: Rng): string {
  const lines: string[] = [];
  for (let i = 0; i < 30; i++) {
    const style = rng.int(4);
    const mod = `github.com/${word(rng)}/${word(rng)}`;
    if (style === 0) lines.push(`${mod} v${rng.int(3)}.${rng.int(30)}.${rng.int(9)} h1:${randomBytes(rng, 32).toString('base64')}`);
    else if (style === 1) lines.push(`checksum = "${rng.chars(HEX, 64)}"`);
    else if (style === 2) lines.push(`${word(rng)}==${rng.int(9)}.${rng.int(9)}.${rng.int(9)} --hash=sha256:${rng.chars(HEX, 64)}`);
    else lines.push(`  integrity sha1-${randomBytes(rng, 20).toString('base64')}`);
  }
  return lines.join('\n') + '\n';
}

function gitShas(rng: Rng): string {
  const lines: string[] = [];
  for (let i = 0; i < 25; i++) {
    const sha = rng.chars(HEX, 40);
    lines.push(
      rng.pick([
        `commit ${sha}`,
        `${sha} refs/heads/${word(rng)}`,
        `${sha.slice(0, 7)} ${rng.pick(['Fix', 'Add', 'Bump', 'Refactor'])} ${word(rng)} ${word(rng)}`,
        `Merge: ${sha.slice(0, 7)} ${rng.chars(HEX, 7)}`,
        `GITHUB_SHA=${sha}`,
        `checkout_ref: ${sha}`,
      ]),
    );
  }
  return lines.join('\n') + '\n';
}

function sha256sums(rng: Rng): string {
  const lines: string[] = [];
  for (let i = 0; i < 20; i++) lines.push(`${rng.chars(HEX, 64)}  dist/${word(rng)}-${rng.int(9)}.${rng.int(9)}.${rng.int(9)}-linux-${rng.pick(['amd64', 'arm64'])}.tar.gz`);
  lines.push(`sha1: ${rng.chars(HEX, 40)}`, `md5: ${rng.chars(HEX, 32)}`, `sha512: ${rng.chars(HEX, 128)}`);
  return lines.join('\n') + '\n';
}

function uuids(rng: Rng): string {
  const items: string[] = [];
  for (let i = 0; i < 15; i++) {
    items.push(`  {"id": "${uuid(rng)}", "runId": "${uuid(rng)}", "requestId": "${uuid(rng).toUpperCase()}", "traceId": "${rng.chars(HEX, 32)}", "spanId": "${rng.chars(HEX, 16)}"}`);
  }
  return `[\n${items.join(',\n')}\n]\n`;
}

function dockerDigests(rng: Rng): string {
  const img = `${word(rng)}/${word(rng)}`;
  return [
    `FROM node:20-alpine@sha256:${rng.chars(HEX, 64)} AS build`,
    'WORKDIR /app',
    'COPY package*.json ./',
    'RUN npm ci',
    `FROM gcr.io/distroless/nodejs20@sha256:${rng.chars(HEX, 64)}`,
    '',
    `REPOSITORY   TAG   DIGEST   IMAGE ID   CREATED   SIZE`,
    `ghcr.io/${img}   latest   sha256:${rng.chars(HEX, 64)}   ${rng.chars(HEX, 12)}   2 days ago   182MB`,
    `${timestamp(rng)} #12 writing image sha256:${rng.chars(HEX, 64)} done`,
    `${timestamp(rng)} #12 exporting manifest list sha256:${rng.chars(HEX, 64)} done`,
    `image: ghcr.io/${img}@sha256:${rng.chars(HEX, 64)}`,
  ].join('\n') + '\n';
}

function imageData(rng: Rng): string {
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), randomBytes(rng, 1500 + rng.int(4000))]);
  return rng.pick([
    `.logo {\n  background-image: url("data:image/png;base64,${png.toString('base64')}");\n}\n`,
    `<img alt="badge" src="data:image/png;base64,${png.toString('base64')}">\n`,
    `{"screenshot": "data:image/png;base64,${png.toString('base64')}", "width": ${rng.int(2000)}}\n`,
  ]);
}

function minifiedJs(rng: Rng): string {
  const ids = (): string => rng.chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$', 1 + rng.int(3));
  let out = `!function(${ids()},${ids()}){"use strict";`;
  for (let i = 0; i < 60; i++) {
    out += rng.pick([
      `var ${ids()}=${ids()}(${rng.int(999)}),${ids()}=${ids()}.n(${ids()});`,
      `function ${ids()}(${ids()},${ids()}){return ${ids()}.${word(rng)}(${ids()})||${ids()}}`,
      `${ids()}.exports=${ids()}.${word(rng)}.bind(null,"${rng.chars(ALPHA_NUM, 6 + rng.int(10))}");`,
      `const ${ids()}="${rng.chars(BASE64, 24 + rng.int(40))}";`,
      `${ids()}[${ids()}]=${ids()}[${ids()}]||{},`,
      `case ${rng.int(99)}:${ids()}=${ids()}+${ids()};break;`,
      `/*! ${word(rng)} v${rng.int(9)}.${rng.int(9)}.${rng.int(9)} | MIT */`,
      `var ${ids()}=/^[a-z0-9_-]{${rng.int(9)},${10 + rng.int(20)}}$/i;`,
      `${ids()}("${rng.chars(HEX, 32)}");`,
    ]);
  }
  return out + '}(this,window);\n//# sourceMappingURL=' + word(rng) + '.min.js.map\n';
}

const SECRET_NAMES = [
  'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'GITHUB_TOKEN', 'NPM_TOKEN', 'API_KEY', 'OPENAI_API_KEY',
  'SLACK_WEBHOOK_URL', 'DATABASE_PASSWORD', 'STRIPE_SECRET_KEY', 'SENTRY_AUTH_TOKEN', 'DOCKERHUB_TOKEN',
  'client_secret', 'password', 'api_token', 'PYPI_API_TOKEN',
];

function placeholders(rng: Rng): string {
  const values = [
    (n: string) => `\${{ secrets.${n.toUpperCase()} }}`,
    (n: string) => `\${${n.toUpperCase()}}`,
    (n: string) => `$${n.toUpperCase()}`,
    () => '<your-api-key>',
    () => '<YOUR_TOKEN_HERE>',
    () => 'changeme',
    () => 'xxxxxxxxxxxxxxxxxxxxxxxx',
    () => '***',
    () => '[MASKED]',
    () => '{{ vault_password }}',
    () => 'AKIAIOSFODNN7EXAMPLE',
    () => 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    () => '********',
    () => 'REPLACE_ME',
    () => '%API_KEY%',
    () => '$(cat /run/secrets/token)',
  ];
  const style = rng.int(4);
  const lines: string[] = [];
  for (let i = 0; i < 12; i++) {
    const n = rng.pick(SECRET_NAMES);
    const v = rng.pick(values)(n);
    if (style === 0) lines.push(`${n}=${v}`);
    else if (style === 1) lines.push(`      ${n}: ${v.startsWith('$') || v.startsWith('<') || v.startsWith('*') || v.startsWith('[') || v.startsWith('{') || v.startsWith('%') ? `"${v}"` : v}`);
    else if (style === 2) lines.push(`  "${n}": "${v.replace(/"/g, '\\"')}",`);
    else lines.push(ciLogLine(rng, `${n}=${v}`));
  }
  if (style === 1) return `jobs:\n  build:\n    runs-on: ubuntu-latest\n    env:\n${lines.join('\n')}\n    steps:\n      - run: make release\n`;
  if (style === 2) return `{\n${lines.join('\n')}\n  "debug": false\n}\n`;
  return lines.join('\n') + '\n';
}

/** A token of a checksummed format whose checksum is wrong. */
function badChecksumToken(rng: Rng): string {
  const prefix = rng.pick(['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'npm_']);
  const body = rng.chars(BASE62, 30);
  const good = tokenChecksum(body);
  let bad = rng.chars(BASE62, 6);
  while (bad === good) bad = rng.chars(BASE62, 6);
  return prefix + body + bad;
}

function badChecksums(rng: Rng): string {
  const lines: string[] = [];
  for (let i = 0; i < 6; i++) {
    const t = badChecksumToken(rng);
    lines.push(
      rng.pick([
        `${timestamp(rng)} rejected credential-shaped value ${t} (checksum mismatch)`,
        `  "sample": "${t}",`,
        `fixture ${t} is not a real token`,
        `| ${word(rng)} | \`${t}\` | invalid |`,
      ]),
    );
  }
  return lines.join('\n') + '\n';
}

function publicKeys(rng: Rng): string {
  const parts = [
    pem('PUBLIC KEY', rsaSpki(rng, 2048).der),
    pem('RSA PUBLIC KEY', seq(int(modulus(rng, 2048)), int(Buffer.from([1, 0, 1])))),
    `# ~/.ssh/authorized_keys\n${sshRsaPublic(rng)}\n${sshEd25519Public(rng)}\n`,
    `github.com ${sshEd25519Public(rng).split(' ').slice(0, 2).join(' ')}\n${word(rng)}.example.org ${sshRsaPublic(rng).split(' ').slice(0, 2).join(' ')}\n`,
    certificate(rng, `${word(rng)}.example.org`),
  ];
  return rng.pick([parts.join('\n'), parts[rng.int(parts.length)] as string]);
}

function certificateChain(rng: Rng): string {
  return `# ca-bundle.crt\n${certificate(rng, `${word(rng)}.internal`)}${certificate(rng, 'Example Intermediate')}`;
}

function stripePublishable(rng: Rng): string {
  const key = `pk_${rng.pick(['live', 'test'])}_${rng.chars(ALPHA_NUM, 24 + rng.int(75))}`;
  return rng.pick([
    `<script>const stripe = Stripe('${key}');</script>\n`,
    `STRIPE_PUBLISHABLE_KEY=${key}\n`,
    `{"publishableKey": "${key}", "currency": "eur"}\n`,
  ]);
}

function ciLog(rng: Rng): string {
  return fillerLines(rng, 80 + rng.int(150), 'log').join('\n') + '\n';
}

function envDump(rng: Rng): string {
  return ['$ env | sort', ...fillerLines(rng, 20 + rng.int(20), 'env')].join('\n') + '\n';
}

const LOREM = (
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore ' +
  'magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo ' +
  'consequat duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur ' +
  'the token is rotated every night and the password policy requires a secret manager key for each api client'
).split(' ');

function lorem(rng: Rng): string {
  const paras: string[] = [];
  for (let p = 0; p < 3 + rng.int(4); p++) {
    const words: string[] = [];
    for (let i = 0; i < 40 + rng.int(80); i++) words.push(rng.pick(LOREM));
    paras.push(words.join(' ').replace(/^./, (c) => c.toUpperCase()) + '.');
  }
  return paras.join('\n\n') + '\n';
}

function maskedLog(rng: Rng): string {
  const lines = fillerLines(rng, 10, 'log');
  lines.push(
    ciLogLine(rng, `Run docker login -u ${word(rng)} -p *** ghcr.io`),
    ciLogLine(rng, 'Login Succeeded'),
    ciLogLine(rng, `$ echo "//registry.npmjs.org/:_authToken=[MASKED]" > ~/.npmrc`),
    ciLogLine(rng, `Authorization: Bearer ***`),
    ciLogLine(rng, `export AWS_SECRET_ACCESS_KEY=****************`),
    ...fillerLines(rng, 10, 'log'),
  );
  return lines.join('\n') + '\n';
}

/** Secret-like names whose values are references, paths, sizes and flags, not secrets. */
function secretNamedConfig(rng: Rng): string {
  const acct = rng.chars('0123456789', 12);
  const entries: Array<[string, string]> = [
    ['secret_name', `${word(rng)}-deploy-key`],
    ['password_file', '/run/secrets/db_password'],
    ['token_url', `https://auth.${word(rng)}.example.com/oauth/token`],
    ['token_expiry_seconds', String(300 + rng.int(3600))],
    ['password_min_length', String(8 + rng.int(8))],
    ['api_key_header', 'X-API-Key'],
    ['client_secret_env', 'OAUTH_CLIENT_SECRET'],
    ['secret_arn', `arn:aws:secretsmanager:us-east-1:${acct}:secret:prod/${word(rng)}`],
    ['kms_key_id', `arn:aws:kms:eu-west-1:${acct}:key/${uuid(rng)}`],
    ['vault_secret_path', `secret/data/ci/${word(rng)}#token`],
    ['access_token_ttl', '15m'],
    ['secret_key_ref', `${word(rng)}-credentials`],
    ['private_key_path', `~/.ssh/id_${rng.pick(['ed25519', 'rsa'])}`],
    ['auth_method', rng.pick(['oidc', 'token', 'approle'])],
    ['token_type', 'Bearer'],
    ['password_hash_algorithm', 'argon2id'],
    ['secret_rotation_days', String(30 + rng.int(60))],
    ['github_token_permissions', 'contents: read'],
  ];
  const style = rng.int(3);
  if (style === 0) return entries.map(([k, v]) => `${k}: ${/[:#]/.test(v) ? `"${v}"` : v}`).join('\n') + '\n';
  if (style === 1) return `{\n${entries.map(([k, v]) => `  "${k}": "${v}"`).join(',\n')}\n}\n`;
  return (
    `env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: ${word(rng)}-db\n        key: password\n` +
    `  - name: API_TOKEN\n    valueFrom:\n      secretKeyRef:\n        name: ${word(rng)}-api\n        key: token\n` +
    entries.map(([k, v]) => `  - name: ${k.toUpperCase()}\n    value: "${v}"`).join('\n') +
    '\n'
  );
}

/** URLs and connection strings without credentials, or with masked/templated ones. */
function credentiallessUrls(rng: Rng): string {
  const lines = [
    `DATABASE_URL=postgres://localhost:5432/${word(rng)}`,
    `REDIS_URL=redis://redis:6379/${rng.int(16)}`,
    `git clone git@github.com:${word(rng)}/${word(rng)}.git`,
    `remote: ssh://git@gitlab.com/${word(rng)}/${word(rng)}.git`,
    `DATABASE_URL=postgres://${word(rng)}:\${DB_PASSWORD}@db:5432/app`,
    `MONGO_URI=mongodb://\${MONGO_USER}:\${MONGO_PASS}@mongo:27017/${word(rng)}`,
    `${timestamp(rng)} fetching https://${word(rng)}:***@artifacts.example.org/${word(rng)}.tgz`,
    `AMQP_URL=amqp://guest:guest@localhost:5672/`,
    `proxy: http://proxy.internal:3128`,
    `https://registry.npmjs.org/${word(rng)}/-/${word(rng)}-1.0.0.tgz#sha1=${rng.chars(HEX, 40)}`,
    `jdbc:postgresql://db.internal:5432/${word(rng)}?sslmode=require`,
  ];
  return lines.join('\n') + '\n';
}

/** Provider names next to values that are not their credentials, among CI log lines. */
function providerLines(lines: ReadonlyArray<(rng: Rng) => string>): (rng: Rng) => string {
  return (rng) => {
    const out = fillerLines(rng, 5, 'log');
    for (let i = 0; i < 14; i++) out.splice(rng.int(out.length + 1), 0, rng.int(3) === 0 ? ciLogLine(rng, rng.pick(lines)(rng)) : rng.pick(lines)(rng));
    return out.join('\n') + '\n';
  };
}

export const LOOKALIKE_KINDS = {
  'package-lock': lockfile,
  'other-lockfiles': otherLockfiles,
  'git-shas': gitShas,
  sha256sums,
  uuids,
  'docker-digests': dockerDigests,
  'image-data': imageData,
  'minified-js': minifiedJs,
  placeholders,
  'bad-checksum-tokens': badChecksums,
  'public-keys': publicKeys,
  certificates: certificateChain,
  'stripe-publishable': stripePublishable,
  'ci-log': ciLog,
  'env-dump': envDump,
  'masked-log': maskedLog,
  lorem,
  'secret-named-config': secretNamedConfig,
  'credentialless-urls': credentiallessUrls,
  'forge-provider-values': providerLines(forgeLines),
  'service-provider-values': providerLines(serviceLines),
} satisfies Record<string, (rng: Rng) => string>;

export type LookalikeKind = keyof typeof LOOKALIKE_KINDS;

/** `count` look-alike files, cycling through every kind. */
export function generateLookalikes(rng: Rng, count: number): Lookalike[] {
  const kinds = Object.keys(LOOKALIKE_KINDS) as LookalikeKind[];
  const out: Lookalike[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length] as LookalikeKind;
    out.push({ kind, name: `lookalike/${kind}/${i}`, text: LOOKALIKE_KINDS[kind](rng) });
  }
  return out;
}
