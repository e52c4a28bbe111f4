// `chokepoint ca init|show|env|install`: make the interception CA, print it for runners to
// trust, print the environment that makes each client trust it, or add it to the system
// trust store.
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, defaultConfig, loadCaSettingsFile, type CaSettings } from '../../config/full.js';
import { findProgram, installCa, javaTrustStore, uninstallCa } from './trust.js';
import { CA_CERT_FILE, CA_KEY_FILE, CaError, createCa, locateCaCert, writeCaFiles } from '../../proxy/wire/ca.js';
import { ensureStateDir } from '../../proxy/state.js';
import { Exit, parseCommandArgs, UsageError } from '../usage.js';

const HELP = `Usage:
  chokepoint ca init [--config FILE] [--out DIR] [--days N] [--force]
  chokepoint ca show [--config FILE]
  chokepoint ca env  [--config FILE] [--bundle FILE] [--shell sh|fish|powershell|github-actions] [--format json]
  chokepoint ca install [--config FILE] [--uninstall]

init   Make a new interception CA (RSA 2048, CA:true, path length 0) in DIR (default: the
       config's stateDir, ./.chokepoint without --config): ca.pem (mode 0644) and
       ca-key.pem (mode 0600); a directory it creates gets mode 0700. Refuses to replace an
       existing CA unless --force. --days: validity in days (default 365).
show   Print the CA certificate (PEM) and its SHA256 fingerprint, for runners to trust.
env    Print the variables that make the common clients trust the CA:
         SSL_CERT_FILE (OpenSSL, Python, Ruby/Bundler, Go), NODE_EXTRA_CA_CERTS,
         GIT_SSL_CAINFO, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, npm_config_cafile,
         PIP_CERT, CARGO_HTTP_CAINFO, AWS_CA_BUNDLE, CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE,
         DENO_CERT, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH,
         WGETRC (wget ignores SSL_CERT_FILE: a wgetrc with ca_certificate= is written
           next to the CA file or bundle; it replaces ~/.wgetrc for the job),
         JAVA_TOOL_OPTIONS (when keytool is on PATH: a PKCS12 truststore with Java's own
           CAs plus this one is written next to the CA file or bundle)
       Use it as:  eval "$(chokepoint ca env --config chokepoint.yaml)"
       Only NODE_EXTRA_CA_CERTS, DENO_CERT and the Java truststore add to a trust store;
       the others REPLACE it, so a job that also reaches hosts that are not intercepted
       (bypass, tunnels) needs a bundle with the system CAs too: --bundle FILE writes
       FILE = the system bundle (/etc/ssl/certs/ca-certificates.crt or the distribution's
       equivalent) + this CA, and points those variables at it.
       --shell sh (default, export lines), fish (set -gx), powershell ($env:NAME = ...),
       github-actions (NAME=value lines: chokepoint ca env --shell github-actions >> "$GITHUB_ENV")
       --format json   one JSON object, variable name to value
install
       Add the CA to this machine's system trust store, so every client that uses it
       (wget, apt, Java via ca-certificates-java, ...) trusts it: Debian, Ubuntu and
       Alpine (/usr/local/share/ca-certificates + update-ca-certificates), RHEL, Fedora
       (/etc/pki/ca-trust/source/anchors + update-ca-trust). Needs root. Idempotent; says
       what it changed. --uninstall removes it again. For a runner image build step or a
       Kubernetes init container: see docs/runners.md.

--config FILE   the proxy's config (YAML); the CA is where its tls.ca or stateDir says.
                Only stateDir and tls.ca are read: variables used elsewhere need not be set.
`;

const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine, Arch
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/ssl/cert.pem', // macOS, BSDs
];

/** The variables that replace a client's trust store (a bundle file), and those that add to it (a CA file). */
const REPLACING_VARS = [
  'SSL_CERT_FILE',
  'GIT_SSL_CAINFO',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'npm_config_cafile',
  'PIP_CERT',
  'CARGO_HTTP_CAINFO',
  'AWS_CA_BUNDLE',
  'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE',
  'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
] as const;
const ADDING_VARS = ['NODE_EXTRA_CA_CERTS', 'DENO_CERT'] as const;
const SHELLS = ['sh', 'fish', 'powershell', 'github-actions'] as const;
type Shell = (typeof SHELLS)[number];
/** The Java truststore's password: it guards nothing (public certificates only), Java needs one. */
const TRUSTSTORE_PASSWORD = 'changeit';

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError('ca needs a subcommand: init, show, env or install (try chokepoint ca --help)');
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(HELP);
    return Exit.ok;
  }
  switch (sub) {
    case 'init':
      return init(rest);
    case 'show':
      return show(rest);
    case 'env':
      return env(rest);
    case 'install':
      return install(rest);
    default:
      throw new UsageError(`unknown ca subcommand '${sub}' (init, show, env or install)`);
  }
}

/** Only where the CA is: a variable the rest of the config uses need not be set. */
function readConfig(file: string | undefined): CaSettings | undefined {
  if (file === undefined) return defaultConfig();
  try {
    return loadCaSettingsFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(err.message + '\n');
    return undefined;
  }
}

/** Run a step whose CA problems are one line on stderr and exit 2. */
function caStep(step: () => number): number {
  try {
    return step();
  } catch (err) {
    if (!(err instanceof CaError)) throw err;
    process.stderr.write(`chokepoint: ${err.message}\n`);
    return Exit.error;
  }
}

async function init(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      out: { type: 'string' },
      days: { type: 'string' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return Exit.ok;
  }
  if (positionals.length > 0) throw new UsageError(`ca init takes no arguments, got '${positionals[0]}'`);
  let days = 365;
  if (values.days !== undefined) {
    days = Number(values.days);
    if (!Number.isInteger(days) || days < 1 || days > 36500) throw new UsageError(`--days must be a whole number of days from 1 to 36500, got '${values.days}'`);
  }
  const config = readConfig(values.config);
  if (!config) return Exit.error;

  const dir = resolve(values.out ?? config.stateDir);
  const certPath = resolve(dir, CA_CERT_FILE);
  const keyPath = resolve(dir, CA_KEY_FILE);
  const existing = [certPath, keyPath].filter((p) => existsSync(p));
  if (existing.length > 0 && !values.force) {
    throw new UsageError(`${existing[0]} already exists; use --force to replace the CA (runners trusting the old one will need the new one)`);
  }
  if (values.out === undefined) {
    ensureStateDir(dir); // the proxy refuses a state dir others can read: check it now
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  const ca = createCa({ validityDays: days });
  writeCaFiles(dir, ca);
  const x509 = new X509Certificate(ca.certPem);
  process.stdout.write(
    [
      `wrote ${certPath} (certificate, mode 0644)`,
      `wrote ${keyPath} (private key, mode 0600)`,
      `subject ${x509.subject}, valid until ${new Date(x509.validTo).toISOString()}`,
      `SHA256 Fingerprint=${x509.fingerprint256}`,
      '',
    ].join('\n'),
  );
  if (config.tls.ca && values.out === undefined) {
    process.stderr.write('note: this config sets tls.ca, so the proxy uses that CA, not this one\n');
  }
  return Exit.ok;
}

async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return Exit.ok;
  }
  if (positionals.length > 0) throw new UsageError(`ca show takes no arguments, got '${positionals[0]}'`);
  const config = readConfig(values.config);
  if (!config) return Exit.error;
  return caStep(() => {
    const { certPem, certPath } = locateCaCert(config);
    const x509 = parseCaCert(certPem, certPath);
    process.stdout.write(`${x509.toString().trimEnd()}\nSHA256 Fingerprint=${x509.fingerprint256}\n`);
    return Exit.ok;
  });
}

async function env(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      bundle: { type: 'string' },
      shell: { type: 'string' },
      format: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return Exit.ok;
  }
  if (positionals.length > 0) throw new UsageError(`ca env takes no arguments, got '${positionals[0]}'`);
  const shell = (values.shell ?? 'sh') as Shell;
  if (!SHELLS.includes(shell)) throw new UsageError(`--shell must be one of ${SHELLS.join(', ')}, got '${values.shell}'`);
  if (values.format !== undefined && values.format !== 'json') throw new UsageError(`--format must be json, got '${values.format}'`);
  if (values.format !== undefined && values.shell !== undefined) throw new UsageError('--format json and --shell are alternatives: give one');
  const config = readConfig(values.config);
  if (!config) return Exit.error;
  return caStep(() => {
    const { certPem, certPath } = locateCaCert(config);
    parseCaCert(certPem, certPath);
    let replacingTarget: string;
    let addingTarget: string;
    if (values.bundle !== undefined) {
      const bundlePath = resolve(values.bundle);
      const system = SYSTEM_BUNDLES.find((p) => existsSync(p));
      const parts = system ? [readFileSync(system, 'utf8')] : [];
      if (!system) process.stderr.write(`note: no system CA bundle found (looked for ${SYSTEM_BUNDLES.join(', ')}); ${bundlePath} holds only the Chokepoint CA\n`);
      parts.push(certPem);
      writeFileAtomic(bundlePath, parts.map((p) => (p.endsWith('\n') ? p : p + '\n')).join(''));
      replacingTarget = bundlePath;
      addingTarget = certPath ?? bundlePath;
    } else {
      if (!certPath) {
        throw new CaError('the CA comes from tls.ca.certPem and has no file: use --bundle FILE to write one that the variables can point at');
      }
      replacingTarget = certPath;
      addingTarget = certPath;
    }
    const vars: Record<string, string> = {};
    for (const v of REPLACING_VARS) vars[v] = replacingTarget;
    for (const v of ADDING_VARS) vars[v] = addingTarget;
    // wget (GnuTLS on Debian) ignores SSL_CERT_FILE; a wgetrc is what it reads.
    const dir = dirname(replacingTarget);
    const wgetrc = resolve(dir, 'chokepoint.wgetrc');
    writeFileAtomic(wgetrc, `# written by chokepoint ca env\nca_certificate = ${replacingTarget}\n`);
    vars.WGETRC = wgetrc;
    // Java reads neither variable nor PEM: a truststore with Java's own CAs plus ours.
    const keytool = findProgram('keytool');
    if (keytool) {
      const store = resolve(dir, 'chokepoint-truststore.p12');
      javaTrustStore(keytool, certPem, store, TRUSTSTORE_PASSWORD, values.bundle !== undefined ? resolve(values.bundle) : certPath);
      vars.JAVA_TOOL_OPTIONS = `-Djavax.net.ssl.trustStore=${store} -Djavax.net.ssl.trustStoreType=PKCS12 -Djavax.net.ssl.trustStorePassword=${TRUSTSTORE_PASSWORD}`;
    }
    process.stdout.write(values.format === 'json' ? JSON.stringify(vars, null, 2) + '\n' : formatVars(vars, shell));
    return Exit.ok;
  });
}

async function install(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, uninstall: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return Exit.ok;
  }
  if (positionals.length > 0) throw new UsageError(`ca install takes no arguments, got '${positionals[0]}'`);
  if (values.uninstall) {
    return caStep(() => {
      process.stdout.write(uninstallCa().join('\n') + '\n');
      return Exit.ok;
    });
  }
  const config = readConfig(values.config);
  if (!config) return Exit.error;
  return caStep(() => {
    const { certPem, certPath } = locateCaCert(config);
    parseCaCert(certPem, certPath);
    process.stdout.write(installCa(certPem).join('\n') + '\n');
    return Exit.ok;
  });
}

/** The variables as the shell (or GitHub Actions' $GITHUB_ENV file) reads them. */
function formatVars(vars: Record<string, string>, shell: Shell): string {
  const entries = Object.entries(vars);
  const line = ([name, value]: [string, string]): string => {
    switch (shell) {
      case 'sh':
        return `export ${name}=${shellQuote(value)}`;
      case 'fish':
        return `set -gx ${name} '${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
      case 'powershell':
        return `$env:${name} = '${value.replaceAll("'", "''")}'`;
      case 'github-actions':
        // $GITHUB_ENV: NAME=value, one per line (the values are paths and options: no newline).
        if (value.includes('\n')) throw new CaError(`${name}: a value with a newline cannot be written in $GITHUB_ENV form`);
        return `${name}=${value}`;
    }
  };
  return entries.map(line).join('\n') + '\n';
}

function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    chmodSync(tmp, 0o644);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new CaError(`${path}: cannot write (${(err as NodeJS.ErrnoException).code ?? 'error'}); use --bundle FILE in a directory you can write`);
  }
}

function parseCaCert(certPem: string, certPath: string | undefined): X509Certificate {
  const where = certPath ?? 'tls.ca.certPem';
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch {
    throw new CaError(`${where}: not a PEM certificate`);
  }
  if (!x509.ca) throw new CaError(`${where}: not a CA certificate`);
  return x509;
}

/** POSIX single quoting: safe for any path. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
