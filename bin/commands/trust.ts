// System and Java trust stores, for `chokepoint ca install` and `ca env`: the CA written
// where the distribution's trust tool picks it up, and a Java truststore made with keytool.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { CaError } from '../../proxy/wire/ca.js';

/** A distribution's trust store: where an extra CA goes, and the command that rebuilds the bundle. */
interface TrustStore {
  family: string;
  file: string;
  update: [string, ...string[]];
  /** After a removal: Debian's tool keeps the links of a removed local CA unless --fresh. */
  remove: [string, ...string[]];
}

const STORES: ReadonlyArray<TrustStore & { tool: string }> = [
  // Debian, Ubuntu, Alpine: *.crt files under /usr/local/share/ca-certificates.
  { family: 'Debian/Ubuntu/Alpine', tool: 'update-ca-certificates', file: '/usr/local/share/ca-certificates/chokepoint-ca.crt', update: ['update-ca-certificates'], remove: ['update-ca-certificates', '--fresh'] },
  // RHEL, Fedora, CentOS, Amazon Linux: anchors, then `update-ca-trust extract`.
  { family: 'RHEL/Fedora', tool: 'update-ca-trust', file: '/etc/pki/ca-trust/source/anchors/chokepoint-ca.pem', update: ['update-ca-trust', 'extract'], remove: ['update-ca-trust', 'extract'] },
];

/** A program's path on PATH (or the usual sbin directories, which a non-login root shell may lack). */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function systemStore(): TrustStore & { tool: string; toolPath: string } {
  for (const store of STORES) {
    const toolPath = findProgram(store.tool);
    if (toolPath) return { ...store, toolPath };
  }
  throw new CaError('no system trust store tool found (update-ca-certificates or update-ca-trust): install the ca-certificates package');
}

function runTool(store: TrustStore & { toolPath: string }, command: [string, ...string[]]): string {
  try {
    execFileSync(store.toolPath, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 120_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim().split('\n').slice(-1)[0] ?? '';
    throw new CaError(`${command.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
  }
  return `ran ${command.join(' ')}`;
}

function writeError(path: string, err: unknown): CaError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new CaError(`${path}: cannot write (${code})${code === 'EACCES' || code === 'EPERM' ? '; ca install needs root' : ''}`);
}

/** Put the CA in the system trust store; the lines say what changed. */
export function installCa(certPem: string): string[] {
  const store = systemStore();
  const pem = certPem.endsWith('\n') ? certPem : certPem + '\n';
  let existing: string | undefined;
  try {
    existing = readFileSync(store.file, 'utf8');
  } catch {
    existing = undefined;
  }
  if (existing === pem) return [`the CA is already in the ${store.family} trust store (${store.file}); nothing changed`];
  try {
    const tmp = `${store.file}.tmp-${process.pid}`;
    writeFileSync(tmp, pem, { mode: 0o644 });
    renameSync(tmp, store.file);
  } catch (err) {
    throw writeError(store.file, err);
  }
  return [existing === undefined ? `added the CA to the ${store.family} trust store: ${store.file}` : `replaced a different CA at ${store.file}`, runTool(store, store.update)];
}

/** Take the CA out of the system trust store again. */
export function uninstallCa(): string[] {
  const store = systemStore();
  try {
    accessSync(store.file);
  } catch {
    return [`the CA is not in the ${store.family} trust store (no ${store.file}); nothing changed`];
  }
  try {
    rmSync(store.file);
  } catch (err) {
    throw writeError(store.file, err);
  }
  return [`removed ${store.file} from the ${store.family} trust store`, runTool(store, store.remove)];
}

/**
 * Write `path`: a PKCS12 truststore with Java's own CAs (the cacerts next to keytool, when
 * readable) plus this CA, so Java trusts intercepted and other hosts alike.
 */
export function javaTrustStore(keytool: string, certPem: string, path: string, password: string, certPath?: string): void {
  const cacerts = join(dirname(dirname(realpathSync(keytool))), 'lib', 'security', 'cacerts');
  // Made already, after the CA and Java's CAs last changed: keytool takes seconds, skip it.
  const mtime = (p: string): number => {
    try {
      return statSync(p).mtimeMs;
    } catch {
      return Number.NaN;
    }
  };
  if (certPath !== undefined && mtime(path) > Math.max(mtime(certPath), mtime(cacerts))) return;
  const work = mkdtempSync(join(tmpdir(), 'chokepoint-java-'));
  const tmpStore = join(work, 'store.p12');
  const run = (args: string[]): void => {
    execFileSync(keytool, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  };
  try {
    try {
      run(['-importkeystore', '-noprompt', '-srckeystore', cacerts, '-srcstorepass', 'changeit', '-destkeystore', tmpStore, '-deststoretype', 'PKCS12', '-deststorepass', password]);
    } catch {
      rmSync(tmpStore, { force: true }); // no readable cacerts: this CA alone
    }
    const pemFile = join(work, 'ca.pem');
    writeFileSync(pemFile, certPem);
    run(['-importcert', '-noprompt', '-alias', 'chokepoint-ca', '-file', pemFile, '-keystore', tmpStore, '-storetype', 'PKCS12', '-storepass', password]);
    try {
      renameSync(tmpStore, path);
    } catch {
      writeFileSync(path, readFileSync(tmpStore), { mode: 0o644 }); // another filesystem
    }
  } catch (err) {
    if (err instanceof CaError) throw err;
    const stderr = String((err as { stderr?: unknown }).stderr ?? (err as Error).message).trim();
    throw new CaError(`keytool could not make the Java truststore ${path}: ${stderr.split('\n')[0] ?? ''}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
