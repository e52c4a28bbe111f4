// Realistic surroundings for a secret: env dumps, JSON and YAML config, CI log lines
// with timestamps and ANSI colours, HTTP request headers, URLs, shell commands,
// .npmrc, docker config, Terraform variables. Also the harmless filler lines that
// positives, look-alikes and the CI-log benchmark are made of.
//
// A context returns the text and where the secret sits in it (JS string indices; the
// corpus generator converts them to byte offsets). Encoded placements (Basic auth,
// docker `auth`) mark the span of the encoded blob instead.
import type { Rng } from './rng.js';
import { ALPHA_NUM, HEX } from './rng.js';

export interface Placement {
  text: string;
  /** String index of the secret (or of the encoded blob holding it). */
  start: number;
  /** String length of that span. */
  length: number;
  /** Set when the secret is inside an encoding (base64 of `user:secret`). */
  encoding?: 'base64';
}

/** What a context needs to know about the secret it embeds. */
export interface Planting {
  value: string;
  /** The variable or header name this value is assigned to. */
  name: string;
  /** True when the rule needs `name` right before the value (name-anchored rule). */
  anchored: boolean;
}

export type ContextKind =
  | 'env-dump'
  | 'dotenv'
  | 'json-config'
  | 'yaml-config'
  | 'gha-workflow-env'
  | 'terraform-tfvars'
  | 'ruby-hash'
  | 'dash-pair'
  | 'shell-trace'
  | 'docker-run'
  | 'ci-log'
  | 'ci-log-coloured-value'
  | 'http-bearer'
  | 'http-token'
  | 'http-api-key-header'
  | 'http-named-header'
  | 'http-basic'
  | 'curl-header'
  | 'cli-flag'
  | 'url-query'
  | 'url-userinfo'
  | 'npmrc'
  | 'docker-config'
  | 'connection-string'
  | 'raw-file'
  | 'cat-file-log'
  | 'heredoc';

// ---------------------------------------------------------------------------
// Small building blocks

export const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  blue: '\x1b[34m',
  magenta: '\x1b[35m',
  cyan: '\x1b[36m',
  grey: '\x1b[90m',
} as const;
const COLOURS = [ANSI.green, ANSI.yellow, ANSI.blue, ANSI.cyan, ANSI.magenta, ANSI.grey];

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

export function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

/** A GitHub Actions style timestamp: `2024-05-14T09:12:33.4567890Z`. */
export function timestamp(rng: Rng): string {
  return `2024-${pad2(1 + rng.int(12))}-${pad2(1 + rng.int(28))}T${pad2(rng.int(24))}:${pad2(rng.int(60))}:${pad2(rng.int(60))}.${rng.chars(DIGITS, 7)}Z`;
}

function word(rng: Rng, min = 3, max = 9): string {
  return rng.chars(LOWER, min + rng.int(max - min + 1));
}

function semver(rng: Rng): string {
  return `${rng.int(12)}.${rng.int(30)}.${rng.int(20)}`;
}

/** `NAME` from a rule id: `openai-api-key` → `OPENAI_API_KEY`. */
export function envNameFromRuleId(ruleId: string): string {
  return ruleId.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/** Names that are parts of a `Key=value;` connection string rather than variables. */
const CONNECTION_STRING_PARTS = new Set(['AccountKey', 'SharedAccessKey']);

/** `X-Auth-Key`, `X-Amz-Security-Token`: names that are HTTP headers. */
export function isHeaderName(name: string): boolean {
  return /^[A-Z][A-Za-z0-9]*(-[A-Z][A-Za-z0-9]*)+$/.test(name);
}

/** Values that survive as one shell word, URL component, header value. */
function isTokenShaped(value: string): boolean {
  return /^[A-Za-z0-9._~+/=-]+$/.test(value);
}

// ---------------------------------------------------------------------------
// Harmless filler

const PACKAGES = [
  'lodash', 'react', 'express', 'typescript', 'eslint', 'vitest', 'webpack', 'chalk', 'commander',
  'axios', 'debug', 'semver', 'yaml', 'zod', 'pino', 'undici', 'esbuild', 'rollup', 'jest',
];
const PY_PACKAGES = ['requests', 'urllib3', 'certifi', 'idna', 'numpy', 'pandas', 'pytest', 'boto3', 'pyyaml'];

/** One harmless `NAME=value` line of a CI runner environment. */
export function fillerEnvLine(rng: Rng): string {
  const lines: Array<() => string> = [
    () => 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/home/runner/.local/bin',
    () => 'HOME=/home/runner',
    () => 'CI=true',
    () => `GITHUB_SHA=${rng.chars(HEX, 40)}`,
    () => `GITHUB_RUN_ID=${1 + rng.int(9)}${rng.chars(DIGITS, 9)}`,
    () => `GITHUB_REF=refs/heads/${rng.pick(['main', 'develop', `feature/${word(rng)}`])}`,
    () => `GITHUB_REPOSITORY=${word(rng)}/${word(rng)}`,
    () => 'RUNNER_OS=Linux',
    () => `RUNNER_NAME=GitHub Actions ${rng.int(200)}`,
    () => `NODE_VERSION=${20 + rng.int(3)}.${rng.int(12)}.${rng.int(5)}`,
    () => 'LANG=C.UTF-8',
    () => `HOSTNAME=runner-${rng.chars(HEX, 8)}`,
    () => `CI_COMMIT_SHA=${rng.chars(HEX, 40)}`,
    () => `CI_COMMIT_SHORT_SHA=${rng.chars(HEX, 8)}`,
    () => `CI_PIPELINE_ID=${rng.chars(DIGITS, 9)}`,
    () => `CI_JOB_URL=https://gitlab.com/${word(rng)}/${word(rng)}/-/jobs/${rng.chars(DIGITS, 10)}`,
    () => 'GITHUB_TOKEN=***',
    () => 'npm_config_cache=/home/runner/.npm',
    () => 'JAVA_HOME=/usr/lib/jvm/temurin-17-jdk-amd64',
    () => 'GOPATH=/home/runner/go',
    () => 'DOCKER_BUILDKIT=1',
    () => `IMAGE_TAG=sha-${rng.chars(HEX, 7)}`,
    () => `BUILD_ID=${uuid(rng)}`,
    () => `TZ=${rng.pick(['UTC', 'Europe/Berlin', 'America/New_York'])}`,
    () => 'SHELL=/bin/bash',
    () => `PWD=/home/runner/work/${word(rng)}/${word(rng)}`,
    () => 'DEBIAN_FRONTEND=noninteractive',
    () => `PIP_CACHE_DIR=/home/runner/.cache/pip`,
    () => `RUNNER_TEMP=/home/runner/work/_temp`,
  ];
  return rng.pick(lines)();
}

/** One harmless line of build output (no timestamp): npm, pip, docker, compilers, test runners. */
export function fillerBuildLine(rng: Rng): string {
  const lines: Array<() => string> = [
    () => `npm WARN deprecated ${rng.pick(['inflight@1.0.6', 'glob@7.2.3', 'rimraf@3.0.2'])}: This module is not supported, and leaks memory.`,
    () => `added ${100 + rng.int(1900)} packages, and audited ${100 + rng.int(1900)} packages in ${1 + rng.int(60)}s`,
    () => `${rng.int(300)} packages are looking for funding`,
    () => 'found 0 vulnerabilities',
    () => `npm http fetch GET 200 https://registry.npmjs.org/${rng.pick(PACKAGES)}/-/${rng.pick(PACKAGES)}-${semver(rng)}.tgz ${rng.int(900)}ms (cache miss)`,
    () => `> ${word(rng)}@${semver(rng)} build`,
    () => '> tsc -p tsconfig.build.json',
    () => `Collecting ${rng.pick(PY_PACKAGES)}==${semver(rng)}`,
    () => `  Downloading ${rng.pick(PY_PACKAGES)}-${semver(rng)}-py3-none-any.whl (${10 + rng.int(900)} kB)`,
    () => `Successfully installed ${rng.pick(PY_PACKAGES)}-${semver(rng)} ${rng.pick(PY_PACKAGES)}-${semver(rng)}`,
    () => `#${1 + rng.int(20)} [build ${1 + rng.int(6)}/7] RUN npm ci --omit=dev`,
    () => `#${1 + rng.int(20)} sha256:${rng.chars(HEX, 64)} ${rng.int(50)}.${rng.int(99)}MB / ${50 + rng.int(50)}.${rng.int(9)}MB ${rng.int(9)}.${rng.int(9)}s`,
    () => `Step ${1 + rng.int(11)}/12 : COPY package*.json ./`,
    () => ' ---> Using cache',
    () => ` ---> ${rng.chars(HEX, 12)}`,
    () => `${rng.chars(HEX, 12)}: Pulling fs layer`,
    () => `Digest: sha256:${rng.chars(HEX, 64)}`,
    () => `Status: Downloaded newer image for node:${20 + rng.int(3)}-alpine`,
    () => `src/${word(rng)}.ts(${1 + rng.int(300)},${1 + rng.int(40)}): error TS2322: Type 'string' is not assignable to type 'number'.`,
    () => `src/${word(rng)}.c:${1 + rng.int(900)}:${1 + rng.int(60)}: warning: unused variable '${word(rng)}' [-Wunused-variable]`,
    () => `gcc -O2 -Wall -Iinclude -c src/${word(rng)}.c -o build/${word(rng)}.o`,
    () => '[INFO] BUILD SUCCESS',
    () => `[INFO] Total time:  ${pad2(rng.int(10))}:${pad2(rng.int(60))} min`,
    () => `[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/org/${word(rng)}/${word(rng)}/${semver(rng)}/${word(rng)}-${semver(rng)}.jar (${rng.int(900)} kB at ${rng.int(9)}.${rng.int(9)} MB/s)`,
    () => ` ✓ test/${word(rng)}.test.ts (${1 + rng.int(40)} tests) ${rng.int(900)}ms`,
    () => ` Test Files  ${1 + rng.int(30)} passed (${1 + rng.int(30)})`,
    () => `PASS  src/${word(rng)}.spec.js (${rng.int(9)}.${rng.int(999)} s)`,
    () => `ok   github.com/${word(rng)}/${word(rng)}/pkg/${word(rng)}\t${rng.int(9)}.${rng.chars(DIGITS, 3)}s`,
    () => `   Compiling ${word(rng)} v${semver(rng)}`,
    () => `    Finished release [optimized] target(s) in ${rng.int(90)}.${rng.int(99)}s`,
    () => `Cloning into '${word(rng)}'...`,
    () => `HEAD is now at ${rng.chars(HEX, 7)} ${rng.pick(['Fix flaky test', 'Bump deps', 'Merge pull request #' + rng.int(9999)])}`,
    () => `Run ID: ${uuid(rng)}`,
    () => `##[group]Run actions/checkout@v4`,
    () => '##[endgroup]',
    () => `Cache restored from key: ${rng.pick(['node', 'pip', 'gradle'])}-cache-Linux-${rng.chars(HEX, 64)}`,
    () => `Received ${rng.int(300)} of ${rng.int(300)} (100.0%), ${rng.int(90)}.${rng.int(9)} MBs/sec`,
    () => `Uploading artifact 'dist' (${rng.int(90)} files, ${rng.int(900)} KB)`,
    () => `+ docker push ghcr.io/${word(rng)}/${word(rng)}:${rng.chars(HEX, 7)}`,
    () => `${semver(rng)}: digest: sha256:${rng.chars(HEX, 64)} size: ${rng.int(9000)}`,
    () => `GET https://api.${word(rng)}.com/v2/items?page=${rng.int(40)}&per_page=100 200 OK (${rng.int(900)} ms)`,
    () => `Using ${rng.pick(['Node.js', 'Python', 'Go', 'Java'])} ${semver(rng)} from the tool cache`,
    () => `warning: ${word(rng)}@${semver(rng)} has unmet peer dependency "${rng.pick(PACKAGES)}@^${semver(rng)}"`,
  ];
  return rng.pick(lines)();
}

/** `line` as a CI runner prints it: timestamp, maybe a coloured level, maybe colour codes. */
export function ciLogLine(rng: Rng, line: string): string {
  const style = rng.int(4);
  if (style === 0) return `${timestamp(rng)} ${line}`;
  if (style === 1) return `${timestamp(rng)} ${rng.pick(COLOURS)}${line}${ANSI.reset}`;
  if (style === 2) {
    const level = rng.pick(['INFO', 'WARN', 'DEBUG']);
    return `${ANSI.grey}${timestamp(rng)}${ANSI.reset} ${rng.pick(COLOURS)}${level}${ANSI.reset} ${line}`;
  }
  return `\x1b[0K${line}`; // GitLab's section/erase prefix
}

/** `n` filler lines of the given kind. */
export function fillerLines(rng: Rng, n: number, kind: 'env' | 'build' | 'log'): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (kind === 'env') out.push(fillerEnvLine(rng));
    else if (kind === 'build') out.push(fillerBuildLine(rng));
    else out.push(ciLogLine(rng, fillerBuildLine(rng)));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Placing a value inside text

/** Builds `before + value + after` and records where the value is. */
function place(before: string, value: string, after: string): Placement {
  return { text: before + value + after, start: before.length, length: value.length };
}

/** Prefix/suffix lines around a placement, shifting its start. */
function surround(p: Placement, before: readonly string[], after: readonly string[]): Placement {
  const head = before.length > 0 ? before.join('\n') + '\n' : '';
  const tail = after.length > 0 ? '\n' + after.join('\n') : '';
  return { ...p, text: head + p.text + tail + '\n', start: p.start + head.length };
}

function yamlScalar(value: string): { open: string; close: string } {
  return /^[A-Za-z0-9][A-Za-z0-9._~+/=-]*$/.test(value) && !/^(true|false|null|yes|no|\d+)$/i.test(value)
    ? { open: '', close: '' }
    : { open: '"', close: '"' };
}

function basicAuth(user: string, secret: string): string {
  return Buffer.from(`${user}:${secret}`, 'utf8').toString('base64');
}

const HOSTS = ['api.internal.example.net', 'deploy.corp.example', 'artifacts.example.org', 'hooks.example.io'];

type Builder = (rng: Rng, p: Planting) => Placement;

const builders: Record<ContextKind, Builder> = {
  'env-dump': (rng, p) =>
    surround(
      place(`${p.name}=`, p.value, ''),
      ['$ env | sort', ...fillerLines(rng, 3 + rng.int(10), 'env')],
      fillerLines(rng, 3 + rng.int(10), 'env'),
    ),
  dotenv: (rng, p) => {
    const q = rng.pick(['', '"', "'"]);
    return surround(
      place(`${rng.pick(['', 'export '])}${p.name}=${q}`, p.value, q),
      ['# generated by the deploy job', `APP_ENV=${rng.pick(['production', 'staging'])}`, `LOG_LEVEL=info`],
      [`PORT=${3000 + rng.int(5000)}`, `FEATURE_FLAGS=${word(rng)},${word(rng)}`],
    );
  },
  'json-config': (rng, p) => {
    const before =
      `{\n  "name": "${word(rng)}-service",\n  "version": "${semver(rng)}",\n  "build": { "sha": "${rng.chars(HEX, 40)}", "id": "${uuid(rng)}" },\n` +
      `  "${rng.pick(['credentials', 'auth', 'settings'])}": {\n    "region": "${rng.pick(['us-east-1', 'eu-west-1'])}",\n    "${p.name}": "`;
    const after = `",\n    "timeoutMs": ${rng.int(30000)}\n  },\n  "retries": ${rng.int(5)}\n}`;
    return surround(place(before, p.value, after), [], []);
  },
  'yaml-config': (rng, p) => {
    const q = yamlScalar(p.value);
    const before =
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${word(rng)}-config\n  labels:\n    app: ${word(rng)}\ndata:\n` +
      `  LOG_LEVEL: info\n  ${p.name}: ${q.open}`;
    return surround(place(before, p.value, `${q.close}\n  REPLICAS: "${1 + rng.int(5)}"`), [], []);
  },
  'gha-workflow-env': (rng, p) => {
    const q = yamlScalar(p.value);
    const before =
      `name: deploy\non:\n  push:\n    branches: [main]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n` +
      `      NODE_ENV: production\n      ${p.name}: ${q.open}`;
    const after = `${q.close}\n    steps:\n      - uses: actions/checkout@v4\n      - run: npm ci && npm run deploy`;
    return surround(place(before, p.value, after), [], []);
  },
  // A Ruby (or Perl) hash literal: `"name" => "value",`.
  'ruby-hash': (rng, p) =>
    surround(
      place(`  "${p.name.toLowerCase()}" => "`, p.value, '",'),
      [`config = {`, `  "region" => "${rng.pick(['us-east-1', 'eu-central-1'])}",`],
      [`  "retries" => ${1 + rng.int(5)}`, `}`],
    ),
  // A hand-written note in a README or a ticket: `NAME - 'value'`.
  'dash-pair': (rng, p) =>
    surround(place(`* ${p.name} - '`, p.value, "'"), [`Credentials for the ${word(rng)} job:`], [`* region - ${rng.pick(['us-east-1', 'eu-west-2'])}`]),
  'terraform-tfvars': (rng, p) =>
    surround(
      place(`${p.name.toLowerCase()} = "`, p.value, '"'),
      [`region         = "${rng.pick(['us-east-1', 'eu-central-1'])}"`, `instance_type  = "t3.${rng.pick(['micro', 'large'])}"`],
      [`tags = {`, `  team = "${word(rng)}"`, `}`],
    ),
  'shell-trace': (rng, p) =>
    surround(
      place(`+ export ${p.name}=`, p.value, ''),
      fillerLines(rng, 2 + rng.int(6), 'log'),
      ['+ ./scripts/deploy.sh --env production', ...fillerLines(rng, 2 + rng.int(6), 'log')],
    ),
  'docker-run': (rng, p) =>
    surround(
      place(`docker run --rm -e ${p.name}=`, p.value, ` -e CI=true ghcr.io/${word(rng)}/${word(rng)}:${semver(rng)} npm test`),
      fillerLines(rng, 2 + rng.int(5), 'log'),
      fillerLines(rng, 2 + rng.int(5), 'log'),
    ),
  'ci-log': (rng, p) => {
    const ts = timestamp(rng);
    const lead = rng.pick([
      `${ts} ${ANSI.cyan}DEBUG${ANSI.reset} resolved ${p.name}=`,
      `${ts} ${p.name}=`,
      `${ANSI.grey}${ts}${ANSI.reset} setting ${p.name}=`,
    ]);
    return surround(place(lead, p.value, ` ${ANSI.grey}(from ${rng.pick(['vault', 'env', 'cache'])})${ANSI.reset}`), fillerLines(rng, 3 + rng.int(8), 'log'), fillerLines(rng, 3 + rng.int(8), 'log'));
  },
  'ci-log-coloured-value': (rng, p) => {
    const colour = rng.pick(COLOURS);
    return surround(
      place(`${timestamp(rng)} ${p.name}=${colour}`, p.value, ANSI.reset),
      fillerLines(rng, 3 + rng.int(8), 'log'),
      fillerLines(rng, 3 + rng.int(8), 'log'),
    );
  },
  'http-bearer': (rng, p) => httpRequest(rng, 'Authorization: Bearer ', p.value),
  'http-token': (rng, p) => httpRequest(rng, 'Authorization: token ', p.value),
  'http-api-key-header': (rng, p) => httpRequest(rng, `${rng.pick(['X-API-Key', 'X-Api-Key', 'Api-Key'])}: `, p.value),
  'http-named-header': (rng, p) => httpRequest(rng, `${p.name}: `, p.value),
  'http-basic': (rng, p) => {
    const blob = basicAuth(rng.pick(['x-access-token', 'oauth2', 'ci-bot', '__token__']), p.value);
    return { ...httpRequest(rng, 'Authorization: Basic ', blob), encoding: 'base64' };
  },
  'curl-header': (rng, p) => {
    const header = p.anchored && isHeaderName(p.name) ? `${p.name}: ` : rng.pick(['Authorization: Bearer ', 'Authorization: token ', 'X-API-Key: ']);
    return surround(
      place(`$ curl -sSfL -H "${header}`, p.value, `" -H "Accept: application/json" https://${rng.pick(HOSTS)}/v1/${word(rng)}`),
      fillerLines(rng, 1 + rng.int(4), 'log'),
      [`{"status":"ok","id":"${uuid(rng)}"}`],
    );
  },
  'cli-flag': (rng, p) => {
    const [flag, sep] = rng.pick([['--token', ' '], ['--token', '='], ['--api-key', ' '], ['--auth-token', '=']] as const);
    return surround(
      place(`$ ${rng.pick(['deployctl', 'npx some-cli', './bin/release'])} login ${flag}${sep}`, p.value, ` --non-interactive`),
      fillerLines(rng, 1 + rng.int(4), 'log'),
      ['Logged in.', ...fillerLines(rng, 1 + rng.int(4), 'log')],
    );
  },
  'url-query': (rng, p) =>
    surround(
      place(`${timestamp(rng)} GET https://${rng.pick(HOSTS)}/v2/${word(rng)}?page=${rng.int(9)}&${rng.pick(['api_key', 'token', 'access_token', 'key'])}=`, p.value, `&format=json 200 OK`),
      fillerLines(rng, 2 + rng.int(5), 'log'),
      fillerLines(rng, 2 + rng.int(5), 'log'),
    ),
  'url-userinfo': (rng, p) =>
    surround(
      place(`$ git clone https://${rng.pick(['x-access-token', 'oauth2', 'ci-bot'])}:`, p.value, `@${rng.pick(['github.com', 'gitlab.com', 'git.example.org'])}/${word(rng)}/${word(rng)}.git`),
      fillerLines(rng, 1 + rng.int(4), 'log'),
      [`Cloning into '${word(rng)}'...`],
    ),
  npmrc: (rng, p) =>
    surround(
      place(`//${rng.pick(['registry.npmjs.org', 'npm.pkg.github.com', 'registry.example.org'])}/:_authToken=`, p.value, ''),
      ['registry=https://registry.npmjs.org/', `@${word(rng)}:registry=https://npm.pkg.github.com`],
      ['always-auth=true'],
    ),
  'docker-config': (rng, p) => {
    const blob = basicAuth(rng.pick(['ci-bot', 'deploy', 'oauth2accesstoken']), p.value);
    const before = `{\n  "auths": {\n    "${rng.pick(['ghcr.io', 'registry.gitlab.com', 'index.docker.io'])}": {\n      "auth": "`;
    return { ...surround(place(before, blob, `"\n    }\n  },\n  "credsStore": ""\n}`), [], []), encoding: 'base64' };
  },
  'connection-string': (rng, p) => {
    const account = word(rng, 6, 12);
    const cs =
      p.name === 'SharedAccessKey'
        ? `Endpoint=sb://${account}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=`
        : `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=`;
    const tail = p.name === 'SharedAccessKey' ? '' : ';EndpointSuffix=core.windows.net';
    const varName = p.name === 'SharedAccessKey' ? 'SERVICEBUS_CONNECTION_STRING' : 'AZURE_STORAGE_CONNECTION_STRING';
    return surround(place(`${varName}="${cs}`, p.value, `${tail}"`), fillerLines(rng, 2 + rng.int(5), 'env'), fillerLines(rng, 2 + rng.int(5), 'env'));
  },
  'raw-file': (_rng, p) => place('', p.value, p.value.endsWith('\n') ? '' : '\n'),
  'cat-file-log': (rng, p) =>
    surround(
      place('', p.value, ''),
      [...fillerLines(rng, 2 + rng.int(5), 'build'), `+ cat ${rng.pick(['deploy_key', 'secrets/key.pem', 'credentials.json', 'id_ed25519'])}`],
      fillerLines(rng, 2 + rng.int(5), 'build'),
    ),
  heredoc: (rng, p) =>
    surround(
      place(`cat > ${rng.pick(['/tmp/key.pem', '~/.ssh/id_rsa', 'creds.json'])} <<'EOF'\n`, p.value, p.value.endsWith('\n') ? 'EOF' : '\nEOF'),
      ['#!/usr/bin/env bash', 'set -euo pipefail'],
      ['chmod 600 /tmp/key.pem', './deploy.sh'],
    ),
};

function httpRequest(rng: Rng, headerLead: string, value: string): Placement {
  const host = rng.pick(HOSTS);
  const before = [
    `${rng.pick(['POST', 'GET', 'PUT'])} /v1/${word(rng)}/${rng.chars(ALPHA_NUM, 8)} HTTP/1.1`,
    `Host: ${host}`,
    `User-Agent: ${rng.pick(['curl/8.5.0', 'node', 'python-requests/2.31.0', 'Go-http-client/1.1'])}`,
    'Accept: */*',
  ];
  const after = ['Content-Type: application/json', `X-Request-Id: ${uuid(rng)}`, '', `{"ref":"${rng.chars(HEX, 40)}","dry_run":false}`];
  return surround(place(headerLead, value, ''), before, after);
}

/** The contexts that fit a value of this shape and rule. */
export function contextsFor(p: Planting): ContextKind[] {
  if (p.value.includes('\n')) return ['raw-file', 'cat-file-log', 'heredoc'];
  if (p.anchored && CONNECTION_STRING_PARTS.has(p.name)) return ['connection-string'];
  if (p.anchored && isHeaderName(p.name)) return ['http-named-header', 'curl-header'];
  const assignment: ContextKind[] = ['env-dump', 'dotenv', 'yaml-config', 'gha-workflow-env', 'terraform-tfvars', 'ruby-hash', 'dash-pair', 'shell-trace', 'docker-run', 'ci-log', 'ci-log-coloured-value'];
  // JSON only where the value needs no escaping (escapes would move the span).
  if (JSON.stringify(p.value) === `"${p.value}"`) assignment.push('json-config');
  if (!isTokenShaped(p.value)) return assignment.filter((k) => k !== 'docker-run' && k !== 'shell-trace');
  if (p.anchored) return assignment;
  const free: ContextKind[] = ['http-bearer', 'http-token', 'http-api-key-header', 'curl-header', 'cli-flag', 'npmrc', 'http-basic', 'docker-config'];
  if (encodeURIComponent(p.value) === p.value) free.push('url-query', 'url-userinfo');
  return [...assignment, ...free];
}

export function buildContext(kind: ContextKind, rng: Rng, p: Planting): Placement {
  return builders[kind](rng, p);
}
