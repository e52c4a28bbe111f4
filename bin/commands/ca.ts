// `chokepoint ca init|show|env`: make the interception CA, print it for runners to trust,
// and print the environment that makes each client trust it.
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, defaultConfig, loadConfigFile, type Config } from '../../config/index.js';
import { CA_CERT_FILE, CA_KEY_FILE, CaError, createCa, locateCaCert, writeCaFiles } from '../../proxy/wire/ca.js';
import { ensureStateDir } from '../../proxy/state.js';
import { Exit, parseCommandArgs, UsageError } from '../usage.js';

const HELP = `Usage:
  chokepoint ca init [--config FILE] [--out DIR] [--days N] [--force]
  chokepoint ca show [--config FILE]
  chokepoint ca env  [--config FILE] [--bundle FILE]

init   Make a new interception CA (RSA 2048, CA:true, path length 0) in DIR (default: the
       config's stateDir, ./.chokepoint without --config): ca.pem (mode 0644) and
       ca-key.pem (mode 0600); a directory it creates gets mode 0700. Refuses to replace an
       existing CA unless --force. --days: validity in days (default 365).
show   Print the CA certificate (PEM) and its SHA256 fingerprint, for runners to trust.
env    Print export lines that make the common clients trust the CA:
         SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, GIT_SSL_CAINFO, REQUESTS_CA_BUNDLE,
         CURL_CA_BUNDLE, npm_config_cafile
       Use it as:  eval "$(chokepoint ca env --config chokepoint.yaml)"
       Only NODE_EXTRA_CA_CERTS adds to a trust store; the others (SSL_CERT_FILE and
       REQUESTS_CA_BUNDLE in particular) REPLACE it, so a job that also reaches hosts that
       are not intercepted (bypass, tunnels) needs a bundle with the system CAs too:
       --bundle FILE writes FILE = the system bundle (/etc/ssl/certs/ca-certificates.crt
       or the distribution's equivalent) + this CA, and points those variables at it.

--config FILE   the proxy's config (YAML); the CA is where its tls.ca or stateDir says.
`;

const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine, Arch
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/ssl/cert.pem', // macOS, BSDs
];

/** The variables that replace a client's trust store, and the one that adds to it. */
const REPLACING_VARS = ['SSL_CERT_FILE', 'GIT_SSL_CAINFO', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'npm_config_cafile'] as const;
const ADDING_VAR = 'NODE_EXTRA_CA_CERTS';

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError('ca needs a subcommand: init, show or env (try chokepoint ca --help)');
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
    default:
      throw new UsageError(`unknown ca subcommand '${sub}' (init, show or env)`);
  }
}

function readConfig(file: string | undefined): Config | undefined {
  if (file === undefined) return defaultConfig();
  try {
    return loadConfigFile(file);
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
    options: { config: { type: 'string' }, bundle: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return Exit.ok;
  }
  if (positionals.length > 0) throw new UsageError(`ca env takes no arguments, got '${positionals[0]}'`);
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
      const tmp = `${bundlePath}.tmp-${process.pid}`;
      writeFileSync(tmp, parts.map((p) => (p.endsWith('\n') ? p : p + '\n')).join(''), { mode: 0o644 });
      chmodSync(tmp, 0o644);
      renameSync(tmp, bundlePath);
      replacingTarget = bundlePath;
      addingTarget = certPath ?? bundlePath;
    } else {
      if (!certPath) {
        throw new CaError('the CA comes from tls.ca.certPem and has no file: use --bundle FILE to write one that the variables can point at');
      }
      replacingTarget = certPath;
      addingTarget = certPath;
    }
    const lines = [
      `export SSL_CERT_FILE=${shellQuote(replacingTarget)}`,
      `export ${ADDING_VAR}=${shellQuote(addingTarget)}`,
      ...REPLACING_VARS.filter((v) => v !== 'SSL_CERT_FILE').map((v) => `export ${v}=${shellQuote(replacingTarget)}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return Exit.ok;
  });
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
