// `chokepoint config schema`: print the JSON Schema of the config file (the input side:
// what an operator writes), for editors. docs/config.schema.json is this output, committed;
// a test keeps it up to date.
import { z } from 'zod';
import { configSchema } from '../../config/full.js';
import { Exit, parseCommandArgs, UsageError } from '../usage.js';

const HELP = `Usage: chokepoint config schema

Prints the JSON Schema (draft 2020-12) of the config file. Point your editor at it, e.g.
with the YAML language server: '# yaml-language-server: $schema=./config.schema.json'.
The loader checks more than the schema can say (entry syntax, durations, sizes, listen
addresses, references across keys): run 'chokepoint check-config FILE' for the verdict.`;

/**
 * What each key means, by path (`pools[].allow`, `groups.*`), for keys whose zod schema
 * carries no description. Editors show these on hover; docs/config.md says the same at length.
 */
const DESCRIPTIONS: Readonly<Record<string, string>> = {
  '': 'Chokepoint config: an egress proxy for CI runner fleets. Strings may use ${ENV} and ${ENV:-default}; $$ is a literal $.',
  listen: "Address the proxy listens on for runners (HTTP_PROXY / HTTPS_PROXY), 'host:port' or '[v6]:port'. Changes need a restart.",
  admin: 'The admin listener: /metrics, /healthz, /readyz.',
  'admin.listen': "Address of the admin listener, 'host:port'. Changes need a restart.",
  ingest: 'The log ingest listener (POST /v1/logs): runners stream job logs to be scanned. Absent: no ingest listener.',
  'ingest.listen': "Address of the ingest listener, 'host:port'.",
  'ingest.token': 'Bearer token log shippers must present.',
  'ingest.maxStreams': 'Concurrent log streams accepted.',
  stateDir: 'Directory for the CA and the fingerprint key; created with mode 0700.',
  workers: 'Worker processes (node:cluster); metrics are aggregated across them.',
  log: 'The access log: one JSON line per request or tunnel, on stdout.',
  'log.level': 'Least severe level written.',
  dns: 'Name resolution: the proxy resolves every name itself, once, and connects to an address it checked.',
  'dns.timeout': "How long a lookup may take, as a duration ('300ms', '5s', '5m', '1h'); then 504 dns-timeout.",
  timeouts: "Timeouts, as durations ('300ms', '5s', '5m', '1h').",
  'timeouts.connect': 'Connecting to the upstream; then 504 upstream-timeout.',
  'timeouts.idle': 'A connection or tunnel with no traffic for this long is closed.',
  'timeouts.headers': "A client's request headers must arrive within this time.",
  'timeouts.shutdown': 'On SIGTERM, open tunnels may finish for this long before they are closed.',
  limits: 'Bounds.',
  'limits.maxHeaderBytes': "Largest request header block, in bytes or like '16KiB'; larger gets 431.",
  'limits.maxTunnelsPerPool': 'Concurrent CONNECT tunnels per pool; beyond: 429 too-many-tunnels.',
  groups: 'Named lists of allow/deny entries, used in pools as "@name". A group here overrides a shipped group of the same name.',
  'groups.*': 'Allow/deny entries (no group references).',
  'groups.*[]': 'An allow/deny entry, see pools[].allow.',
  tls: 'TLS interception (takes effect with TLS interception).',
  'tls.intercept': "Which CONNECT tunnels are intercepted: 'none', 'all', or a list of host entries. Pools may override.",
  'tls.bypass': 'Host entries never intercepted (certificate pinning), for every pool.',
  'tls.bypass[]': 'A host entry.',
  'tls.intercept[]': 'A host entry.',
  'tls.ca': 'The interception CA. Absent: one is created in stateDir on first start.',
  'tls.ca.cert': 'Path of the CA certificate (PEM); with key.',
  'tls.ca.key': 'Path of the CA private key (PEM); with cert.',
  'tls.ca.certPem': 'The CA certificate itself (PEM), e.g. from ${ENV}; with keyPem.',
  'tls.ca.keyPem': 'The CA private key itself (PEM), e.g. from ${ENV}; with certPem.',
  'tls.upstreamCAs[]': 'Path of a PEM file.',
  scan: 'Secret scanning of what leaves (takes effect with TLS interception / log ingest).',
  'scan.maxBufferBytes': "Bytes of one body held for scanning before it is forwarded, in bytes or like '8MiB'.",
  'scan.totalBufferBytes': "Bytes held for scanning across all requests, in bytes or like '256MiB'.",
  'scan.oversize': "A body larger than maxBufferBytes: 'block' it, or 'stream' it on (scanned as it passes).",
  'scan.knownSecrets': 'Exact values that must never leave.',
  'scan.knownSecrets.env': 'Names of environment variables of the proxy whose values must never leave.',
  'scan.knownSecrets.env[]': 'An environment variable name.',
  'scan.knownSecrets.files': 'Files whose contents (one secret per line) must never leave.',
  'scan.knownSecrets.files[]': 'A file path.',
  'scan.canaries': 'Bait values: any sight of one anywhere is a critical finding.',
  'scan.canaries[]': 'A canary value, at least 8 characters.',
  'scan.rules[]': 'A rule file path.',
  pools: 'Runner pools, each with one policy. A client that matches no pool gets 407 unless a pool is anonymous.',
  'pools[]': 'A pool: a set of runners with one policy.',
  'pools[].name': 'Pool name: the Proxy-Authorization user. Letters, digits, _.-; at most 63.',
  'pools[].sources[]': "A source CIDR ('10.1.0.0/16', '::1/128').",
  'pools[].mode': "'enforce' denies what the lists do not allow; 'audit' lets it through and logs the would-be denial.",
  'pools[].allow':
    'Allow entries: host, *.domain (any depth, not the apex), glob in the first label, :port / :lo-hi / :*, IP or CIDR (with :port), @group, *. Without a port: 80 and 443.',
  'pools[].allow[]': 'An allow entry.',
  'pools[].deny': 'Deny entries, same syntax as allow; deny wins over allow, and a deny entry without a port covers every port.',
  'pools[].deny[]': 'A deny entry.',
  'pools[].tls': 'Per-pool TLS interception (takes effect with TLS interception).',
  'pools[].tls.intercept[]': 'A host entry.',
  'pools[].tls.bypass': 'Host entries this pool never intercepts, in addition to tls.bypass.',
  'pools[].tls.bypass[]': 'A host entry.',
  'pools[].secrets': 'What this pool does with secret findings (takes effect with TLS interception / log ingest).',
};

type JsonSchema = { [key: string]: unknown };

function isSchema(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Add a description to every subschema that has none and has one in DESCRIPTIONS. */
function describe(node: JsonSchema, path: string): void {
  if (node.description === undefined && Object.hasOwn(DESCRIPTIONS, path)) node.description = DESCRIPTIONS[path];
  describeChildren(node, path);
}

function describeChildren(node: JsonSchema, path: string): void {
  const join = (key: string): string => (path === '' ? key : `${path}.${key}`);
  if (isSchema(node.properties)) {
    for (const [key, child] of Object.entries(node.properties)) if (isSchema(child)) describe(child, join(key));
  }
  if (isSchema(node.additionalProperties)) describe(node.additionalProperties, join('*'));
  if (isSchema(node.items)) describe(node.items, `${path}[]`);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = node[key];
    if (Array.isArray(list)) for (const alt of list) if (isSchema(alt)) describeChildren(alt, path);
  }
}

/** The JSON Schema of the config file, input side (defaults optional), draft 2020-12. */
export function configJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(configSchema, { io: 'input' }) as JsonSchema;
  describe(generated, '');
  const { $schema, ...rest } = generated;
  return { $schema, title: 'Chokepoint config', ...rest };
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(HELP + '\n');
    return Exit.ok;
  }
  if (sub !== 'schema') {
    throw new UsageError(sub === undefined ? "config needs a subcommand: 'config schema'" : `unknown config subcommand '${sub}' (try 'chokepoint config schema')`);
  }
  const { values, positionals } = parseCommandArgs({ args: rest, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return Exit.ok;
  }
  if (positionals.length > 0) throw new UsageError('config schema takes no arguments');
  process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
  return Exit.ok;
}
