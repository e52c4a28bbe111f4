// Test certificates: a throwaway CA and leaf certificates signed by it (node-forge).
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

export interface TestCa {
  certPem: string;
  keyPem: string;
  /** A leaf for the given DNS names and IPs, signed by this CA. */
  issue(names: string[], ips?: string[]): { certPem: string; keyPem: string };
}

function keyPair(): { publicKey: forge.pki.PublicKey; privateKey: forge.pki.PrivateKey; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), keyPem };
}

let serial = 1;

export function createTestCa(commonName = 'Chokepoint Test CA'): TestCa {
  const ca = keyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = ca.publicKey;
  caCert.serialNumber = (serial++).toString(16).padStart(2, '0');
  caCert.validity.notBefore = new Date(Date.now() - 60_000);
  caCert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const caName = [{ name: 'commonName', value: commonName }];
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  caCert.sign(ca.privateKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());

  return {
    certPem: forge.pki.certificateToPem(caCert),
    keyPem: ca.keyPem,
    issue(names, ips = []) {
      const leaf = keyPair();
      const cert = forge.pki.createCertificate();
      cert.publicKey = leaf.publicKey;
      cert.serialNumber = (serial++).toString(16).padStart(2, '0');
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
      cert.setSubject([{ name: 'commonName', value: names[0] ?? ips[0] ?? 'localhost' }]);
      cert.setIssuer(caName);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [...names.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))] },
      ]);
      cert.sign(ca.privateKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(cert), keyPem: leaf.keyPem };
    },
  };
}
