// The interception CA (proxy/wire/ca.ts): making a CA, finding the configured one, and the
// leaf issuer the interception server asks for a certificate per host.
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import forge from 'node-forge';
import { afterEach, describe, expect, test } from 'vitest';
import { defaultConfig, type Config } from '../config/full.js';
import { createCa, createLeafIssuer, loadCa, type LeafIssuer } from '../proxy/wire/ca.js';
import { createTestCa } from './helpers/certs.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

// One CA for the tests that only need some CA (RSA key generation is the slow part).
const sharedCa = createCa({ commonName: 'Chokepoint Test CA' });

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'chokepoint-ca-'));
}

function settings(stateDir: string, ca?: NonNullable<Config['tls']['ca']>): Pick<Config, 'stateDir' | 'tls'> {
  const base = defaultConfig();
  return { stateDir, tls: { ...base.tls, ...(ca ? { ca } : {}) } };
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** The base64 body of a PEM key, to check that no part of it leaks into a message. */
function keyBody(keyPem: string): string {
  return keyPem.split('\n').filter((l) => l && !l.startsWith('-----')).join('').slice(10, 40);
}

function expectThrowWithoutKey(fn: () => unknown, message: RegExp, keyPem: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(Error);
  const text = String((caught as Error).message);
  expect(text).toMatch(message);
  expect(text).not.toContain('PRIVATE KEY');
  expect(text).not.toContain(keyBody(keyPem));
}

describe('createCa', () => {
  test('a CA certificate: CA:true pathLen 0 critical, keyCertSign+cRLSign, SKI, backdated 1h, validity in days', () => {
    const before = Date.now();
    const ca = createCa({ validityDays: 30 });
    const x509 = new X509Certificate(ca.certPem);
    expect(x509.ca).toBe(true);
    expect(x509.subject).toMatch(/^CN=Chokepoint CA \(.+\)$/);
    expect(x509.issuer).toBe(x509.subject);
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.publicKey.asymmetricKeyType).toBe('rsa');
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const notBefore = Date.parse(x509.validFrom);
    const notAfter = Date.parse(x509.validTo);
    // X.509 times have second precision.
    expect(notBefore).toBeGreaterThanOrEqual(before - HOUR - 1000);
    expect(notBefore).toBeLessThanOrEqual(Date.now() - HOUR);
    expect(notAfter).toBeGreaterThanOrEqual(before + 30 * DAY - 1000);
    expect(notAfter).toBeLessThanOrEqual(Date.now() + 30 * DAY);

    const parsed = forge.pki.certificateFromPem(ca.certPem);
    const bc = parsed.getExtension('basicConstraints') as { cA?: boolean; pathLenConstraint?: number; critical?: boolean };
    expect(bc).toMatchObject({ cA: true, pathLenConstraint: 0, critical: true });
    const ku = parsed.getExtension('keyUsage') as Record<string, boolean>;
    expect(ku).toMatchObject({ keyCertSign: true, cRLSign: true, critical: true, digitalSignature: false });
    expect(parsed.getExtension('subjectKeyIdentifier')).toBeTruthy();
  });

  test('the key is a PKCS#8 PEM that belongs to the certificate; the default validity is a year', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const x509 = new X509Certificate(sharedCa.certPem);
    expect(sharedCa.keyPem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(x509.checkPrivateKey(createPrivateKey(sharedCa.keyPem))).toBe(true);
    const days = (Date.parse(x509.validTo) - Date.now()) / DAY;
    expect(days).toBeGreaterThan(364.9);
    expect(days).toBeLessThanOrEqual(365);
    expect(x509.subject).toBe('CN=Chokepoint Test CA');
  });

  test('two CAs have different keys and serials', () => {
    const other = createCa();
    expect(other.keyPem).not.toBe(sharedCa.keyPem);
    expect(new X509Certificate(other.certPem).serialNumber).not.toBe(new X509Certificate(sharedCa.certPem).serialNumber);
  });
});

describe('loadCa', () => {
  test('with create and nothing there: makes ca.pem (0644) and ca-key.pem (0600) in a new 0700 state dir, then reuses them', () => {
    const stateDir = join(tempDir(), 'state');
    const first = loadCa(settings(stateDir), { create: true });
    expect(first.created).toBe(true);
    expect(first.certPath).toBe(join(stateDir, 'ca.pem'));
    expect(mode(stateDir)).toBe(0o700);
    expect(mode(join(stateDir, 'ca.pem'))).toBe(0o644);
    expect(mode(join(stateDir, 'ca-key.pem'))).toBe(0o600);
    expect(readFileSync(join(stateDir, 'ca.pem'), 'utf8')).toBe(first.ca.certPem);
    expect(new X509Certificate(first.ca.certPem).ca).toBe(true);

    const again = loadCa(settings(stateDir), { create: true });
    expect(again.created).toBe(false);
    expect(again.ca).toEqual(first.ca);
  });

  test('without create and nothing there: a clear error, and nothing is written', () => {
    const stateDir = join(tempDir(), 'state');
    expect(() => loadCa(settings(stateDir), { create: false })).toThrow('no CA yet: run chokepoint ca init or start with interception on');
    expect(() => statSync(stateDir)).toThrow();
  });

  test('a key file others can read is refused, without its content in the message', () => {
    const stateDir = join(tempDir(), 'state');
    const { ca } = loadCa(settings(stateDir), { create: true });
    chmodSync(join(stateDir, 'ca-key.pem'), 0o644);
    expectThrowWithoutKey(() => loadCa(settings(stateDir), { create: true }), /ca-key\.pem is readable by group or others.*chmod 600/, ca.keyPem);
  });

  test('half a CA (certificate without key) is an error, never silently replaced', () => {
    const stateDir = tempDir();
    writeFileSync(join(stateDir, 'ca.pem'), sharedCa.certPem);
    expect(() => loadCa(settings(stateDir), { create: true })).toThrow(/ca\.pem exists but .*ca-key\.pem does not/);
    expect(readFileSync(join(stateDir, 'ca.pem'), 'utf8')).toBe(sharedCa.certPem);
  });

  test('tls.ca certPem/keyPem (PEM from env vars), also with literal \\n escapes', () => {
    const direct = loadCa(settings(tempDir(), { certPem: sharedCa.certPem, keyPem: sharedCa.keyPem }), { create: true });
    expect(direct.created).toBe(false);
    expect(direct.certPath).toBeUndefined();
    expect(direct.ca).toEqual(sharedCa);

    const escaped = loadCa(
      settings(tempDir(), { certPem: sharedCa.certPem.replaceAll('\n', '\\n'), keyPem: sharedCa.keyPem.replaceAll('\n', '\\n') }),
      { create: false },
    );
    expect(escaped.ca).toEqual(sharedCa);
  });

  test('tls.ca cert/key paths: the key file must be private', () => {
    const dir = tempDir();
    const cert = join(dir, 'my-ca.crt');
    const key = join(dir, 'my-ca.key');
    writeFileSync(cert, sharedCa.certPem);
    writeFileSync(key, sharedCa.keyPem, { mode: 0o600 });
    const loaded = loadCa(settings(join(dir, 'state'), { cert, key }), { create: true });
    expect(loaded).toEqual({ ca: sharedCa, certPath: cert, created: false });
    expect(() => statSync(join(dir, 'state'))).toThrow(); // nothing made in the state dir

    chmodSync(key, 0o640);
    expectThrowWithoutKey(() => loadCa(settings(join(dir, 'state'), { cert, key }), { create: true }), /my-ca\.key is readable by group or others/, sharedCa.keyPem);
  });

  test('a certificate and a key that do not belong together are rejected', () => {
    const other = createTestCa();
    expectThrowWithoutKey(
      () => loadCa(settings(tempDir(), { certPem: sharedCa.certPem, keyPem: other.keyPem }), { create: true }),
      /tls\.ca\.certPem and tls\.ca\.keyPem do not belong together/,
      other.keyPem,
    );
  });

  test('a certificate that is not a CA is rejected', () => {
    const leaf = createTestCa().issue(['not-a-ca.test']);
    expectThrowWithoutKey(
      () => loadCa(settings(tempDir(), { certPem: leaf.certPem, keyPem: leaf.keyPem }), { create: true }),
      /tls\.ca\.certPem: not a CA certificate/,
      leaf.keyPem,
    );
  });

  test('garbage in place of a key or a certificate gets a fixed message', () => {
    const garbageKey = '-----BEGIN PRIVATE KEY-----\nTUlJRXZRSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NCS2N3Z2dTakFnRUFBb0lCQVFD\n-----END PRIVATE KEY-----\n';
    expectThrowWithoutKey(
      () => loadCa(settings(tempDir(), { certPem: sharedCa.certPem, keyPem: garbageKey }), { create: true }),
      /^tls\.ca\.keyPem: not a PEM private key$/,
      garbageKey,
    );
    expect(() => loadCa(settings(tempDir(), { certPem: 'nope', keyPem: sharedCa.keyPem }), { create: true })).toThrow(/^tls\.ca\.certPem: not a PEM certificate$/);
  });

  test('only half of tls.ca is an error', () => {
    expect(() => loadCa(settings(tempDir(), { certPem: sharedCa.certPem }), { create: true })).toThrow(/give cert and key/);
  });
});

// --- leaf issuer ---------------------------------------------------------------------------

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/**
 * A TLS server built the way the interception server is: a plain socket wrapped in a
 * server-side TLSSocket, the certificate chosen by SNICallback from the issuer (or, for a
 * client that sends no SNI, the one for `fixedHost`).
 */
async function startServer(issuer: LeafIssuer, options: { fixedHost?: string; listenHost?: string } = {}): Promise<number | undefined> {
  const server = net.createServer((raw) => {
    const socket = new tls.TLSSocket(raw, {
      isServer: true,
      ...(options.fixedHost ? { secureContext: issuer.contextFor(options.fixedHost) } : {}),
      SNICallback: (name, cb) => {
        try {
          cb(null, issuer.contextFor(name));
        } catch (err) {
          cb(err as Error, undefined);
        }
      },
    });
    socket.on('secure', () => socket.end('ok'));
    socket.on('error', () => socket.destroy());
  });
  servers.push(server);
  const listening = await new Promise<boolean>((r) => {
    server.once('error', () => r(false));
    server.listen(0, options.listenHost ?? '127.0.0.1', () => r(true));
  });
  return listening ? (server.address() as AddressInfo).port : undefined;
}

interface Handshake {
  authorized: boolean;
  error?: string;
  cert?: X509Certificate;
}

/** Connect with only our CA trusted and Node's own host check (checkServerIdentity). */
function connect(port: number, ca: string, options: { servername?: string; host?: string; expectName?: string }): Promise<Handshake> {
  const { expectName } = options;
  return new Promise((resolve) => {
    const socket = tls.connect(
      {
        port,
        host: options.host ?? '127.0.0.1',
        ca,
        ...(options.servername ? { servername: options.servername } : {}),
        ...(expectName ? { checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(expectName, cert) } : {}),
      },
      () => {
        const cert = socket.getPeerX509Certificate();
        resolve({ authorized: socket.authorized, ...(cert ? { cert } : {}) });
        socket.destroy();
      },
    );
    socket.on('error', (err) => resolve({ authorized: false, error: err.message }));
  });
}

describe('createLeafIssuer', () => {
  test('a leaf for a DNS name verifies against the CA, with the right SAN, CN, validity and usage', async () => {
    const issuer = createLeafIssuer(sharedCa);
    const port = (await startServer(issuer)) as number;
    const started = Date.now();
    const r = await connect(port, sharedCa.certPem, { servername: 'Registry.Example.TEST' });
    expect(r.error).toBeUndefined();
    expect(r.authorized).toBe(true);
    const cert = r.cert as X509Certificate;
    expect(cert.subjectAltName).toBe('DNS:registry.example.test');
    expect(cert.subject).toBe('CN=registry.example.test');
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth
    expect(cert.checkIssued(new X509Certificate(sharedCa.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(sharedCa.certPem).publicKey)).toBe(true);
    expect(Date.parse(cert.validFrom)).toBeLessThanOrEqual(started - HOUR + 1000);
    expect(Date.parse(cert.validFrom)).toBeGreaterThanOrEqual(started - HOUR - 2000);
    expect(Date.parse(cert.validTo)).toBeGreaterThanOrEqual(started + 7 * DAY - 1000);
    expect(Date.parse(cert.validTo)).toBeLessThanOrEqual(Date.now() + 7 * DAY);
    expect(Buffer.from(cert.serialNumber, 'hex')).toHaveLength(16);
    expect(issuer.stats.issued).toBe(1);
  });

  test('the leaf does not pass for another name', async () => {
    const issuer = createLeafIssuer(sharedCa);
    const port = (await startServer(issuer)) as number;
    const r = await connect(port, sharedCa.certPem, { servername: 'one.test', expectName: 'two.test' });
    expect(r.authorized).toBe(false);
    expect(r.error).toMatch(/Hostname\/IP does not match certificate's altnames/);
  });

  test('IPv4 and IPv6 literals get an IP SAN that Node verifies', async () => {
    const issuer = createLeafIssuer(sharedCa);
    const v4 = await connect((await startServer(issuer, { fixedHost: '127.0.0.1' })) as number, sharedCa.certPem, { host: '127.0.0.1' });
    expect(v4.error).toBeUndefined();
    expect(v4.authorized).toBe(true);
    expect(v4.cert?.subjectAltName).toBe('IP Address:127.0.0.1');

    const context = issuer.contextFor('[::1]');
    expect(issuer.contextFor('::1')).toBe(context); // brackets are not part of the name
    const x509 = new X509Certificate(leafPemOf(context));
    expect(x509.subjectAltName).toBe('IP Address:0:0:0:0:0:0:0:1');
    expect(x509.checkIP('::1')).toBe('::1');
    // Where the machine has IPv6 loopback, also over a real handshake.
    const v6port = await startServer(issuer, { fixedHost: '::1', listenHost: '::1' });
    if (v6port !== undefined) {
      const v6 = await connect(v6port, sharedCa.certPem, { host: '::1' });
      expect(v6.error).toBeUndefined();
      expect(v6.authorized).toBe(true);
    }
  });

  test('a cached host is a hit and issues nothing; names are normalised before the lookup', () => {
    const issuer = createLeafIssuer(sharedCa);
    const first = issuer.contextFor('cache.test');
    expect(issuer.contextFor('cache.test')).toBe(first);
    expect(issuer.contextFor('CACHE.test.')).toBe(first);
    expect(issuer.stats).toEqual({ issued: 1, hits: 2 });
    issuer.contextFor('other.test');
    expect(issuer.stats).toEqual({ issued: 2, hits: 2 });
  });

  test('the LRU is bounded: the least recently used host is evicted and reissued', () => {
    const issuer = createLeafIssuer(sharedCa, { cacheSize: 3 });
    for (const h of ['a.test', 'b.test', 'c.test']) issuer.contextFor(h);
    issuer.contextFor('a.test'); // a is now the most recent; b the least
    issuer.contextFor('d.test'); // evicts b
    expect(issuer.stats).toEqual({ issued: 4, hits: 1 });
    issuer.contextFor('a.test');
    issuer.contextFor('c.test');
    issuer.contextFor('d.test');
    expect(issuer.stats).toEqual({ issued: 4, hits: 4 });
    issuer.contextFor('b.test');
    expect(issuer.stats).toEqual({ issued: 5, hits: 4 });
  });

  test('a leaf is renewed once within renewBeforeMs of its expiry', () => {
    let clock = Date.now();
    const issuer = createLeafIssuer(sharedCa, { leafValidityMs: 7 * DAY, renewBeforeMs: DAY, now: () => clock });
    const first = issuer.contextFor('renew.test');
    const firstPem = leafPemOf(first);
    clock += 6 * DAY - 60_000; // a minute before the renewal window
    expect(issuer.contextFor('renew.test')).toBe(first);
    clock += 120_000; // inside it
    const second = issuer.contextFor('renew.test');
    expect(second).not.toBe(first);
    expect(issuer.stats).toEqual({ issued: 2, hits: 1 });
    expect(issuer.contextFor('renew.test')).toBe(second);
    const renewed = new X509Certificate(leafPemOf(second));
    expect(Date.parse(renewed.validTo)).toBeGreaterThan(Date.parse(new X509Certificate(firstPem).validTo) + 5 * DAY);
  });

  test('leaves never outlive the CA', () => {
    const shortCa = createCa({ validityDays: 2 });
    const issuer = createLeafIssuer(shortCa, { leafValidityMs: 30 * DAY });
    const leaf = new X509Certificate(leafPemOf(issuer.contextFor('short.test')));
    expect(Date.parse(leaf.validTo)).toBeLessThanOrEqual(issuer.caNotAfter.getTime());
  });

  test('caNotAfter and caFingerprint describe the CA certificate', () => {
    const issuer = createLeafIssuer(sharedCa);
    const x509 = new X509Certificate(sharedCa.certPem);
    expect(issuer.caNotAfter.getTime()).toBe(Date.parse(x509.validTo));
    expect(issuer.caFingerprint).toBe(x509.fingerprint256);
    expect(issuer.caFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  test('names that cannot be a host are refused', () => {
    const issuer = createLeafIssuer(sharedCa);
    expect(() => issuer.contextFor('')).toThrow();
    expect(() => issuer.contextFor('bad host.test')).toThrow();
    expect(() => issuer.contextFor('a'.repeat(254))).toThrow();
    expect(issuer.stats.issued).toBe(0);
  });

  test('a CA the issuer cannot use is refused up front', () => {
    const other = createTestCa();
    expect(() => createLeafIssuer({ certPem: sharedCa.certPem, keyPem: other.keyPem })).toThrow(/do not belong together/);
  });

  test('100 concurrent handshakes to one new host issue ONE certificate and all verify', async () => {
    const issuer = createLeafIssuer(sharedCa);
    const port = (await startServer(issuer)) as number;
    const results = await Promise.all(Array.from({ length: 100 }, () => connect(port, sharedCa.certPem, { servername: 'new-host.test' })));
    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
    expect(results.every((r) => r.authorized)).toBe(true);
    expect(new Set(results.map((r) => r.cert?.serialNumber)).size).toBe(1);
    expect(issuer.stats).toEqual({ issued: 1, hits: 99 });
  });
});

/** The leaf certificate inside a secure context, by serving it once. */
function leafPemOf(context: tls.SecureContext): string {
  // A SecureContext has no public accessor for its certificate: read it from a socket.
  // Cast: without a socket argument Node makes an unconnected one, which is all we need.
  const socket = new tls.TLSSocket(undefined as unknown as Socket, { isServer: true, secureContext: context });
  const cert = socket.getX509Certificate();
  socket.destroy();
  if (!cert) throw new Error('no certificate in the context');
  return cert.toString();
}
