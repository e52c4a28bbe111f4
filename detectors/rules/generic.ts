// Structural and identifier-style rules that belong to no provider: JWTs, credentials
// inside URLs and connection strings, HTTP Basic and Bearer authorization headers,
// and high-entropy values assigned to secret-like names (`password`, `secret`,
// `token`, `api_key`, ...). Everything but the JWT rule is `generic`: a specific rule
// on the same span wins. None has destinations: these credentials belong nowhere in
// particular, so every place they go is worth a look.
// Example values are synthetic: `@@rule-id@@` markers expand from test/corpus/gen/generic.ts.
import type { RuleSpec } from '../types.js';
import { SGR } from './build.js';

/** Characters of an assigned value: no whitespace, quotes, template or call syntax. */
const V = String.raw`[^\s"'\x60$<>{}()\[\],;&\\]`;
/** What may follow an assigned value. */
const END = String.raw`(?:["'\x60\s,;&)\]}]|\x1b|\\|$)`;

/** Values that are references, identifiers, paths, versions or flags, never secrets. */
const NOT_SECRET_VALUES = [
  String.raw`^[A-Za-z]+(?:[_.-][A-Za-z]+)*$`, // words and identifiers: my-deploy-key, config.db.password
  String.raw`^[A-Za-z_]+(?:\.[A-Za-z_][A-Za-z0-9_]*)+$`, // dotted references: process.env.TOKEN2, this._token
  String.raw`^v?[0-9]+(?:\.[0-9]+)+(?:[-+][0-9A-Za-z.-]*)?$`, // versions
  String.raw`^[0-9]+(?:[smhdw]|ms)?$`, // numbers and durations
  String.raw`(?i)^(?:true|false|null|none|nil|undefined|yes|no|on|off|enabled|disabled)$`,
  String.raw`(?i)^[a-z][a-z0-9+.-]*://`, // URLs (credentials inside URLs have their own rule)
  String.raw`^(?:~|\.{1,2})?/`, // absolute and relative paths
  String.raw`^(?:[a-z0-9_.-]+/)+[a-z0-9_.-]+$`, // lower-case relative paths: secrets/db_password
  String.raw`(?i)^[a-z]:\\`, // Windows paths
  String.raw`(?i)^(?:sha(?:1|224|256|384|512)|md5|sha512-|sha256-|sha1-)[:=-]`, // digests with their algorithm
  String.raw`^arn:`, // AWS ARNs
  String.raw`(?i)^(?:projects|secrets|vault|env|file|ref|op|sm|kv|secretref|keyvault):`, // secret-manager references
  String.raw`(?i)^(?:https?|ssh|git)@`,
];
export const STOPWORDS = [
  'example', 'sample', 'dummy', 'fake', 'placeholder', 'changeme', 'change_me', 'your', 'redacted',
  'xxxx', 'replace', 'insert', 'todo', 'mock', 'lorem', 'foobar', 'password', 'not-a-secret', 'notasecret',
];

interface AssignmentSpec {
  id: string;
  title: string;
  severity: RuleSpec['severity'];
  keywords: string[];
  /** RE2 (case-insensitive) for the end of the name: `password|passwd`. The name may have any prefix. */
  name: string;
  /** Extra name alternatives, matched as written (`[A-Z0-9_]_TOKEN`). */
  exactName?: string;
  /** RE2 (case-insensitive) for the end of a `--flag` name; `name` by default. */
  flagName?: string;
  minLength: number;
  entropy: number;
  positive: string[];
  negative: string[];
  stopwords?: string[];
}

/**
 * `NAME=value`, `NAME: value`, `"name": "value"`, `name := "value"`, `--name value`.
 * The match starts at the end of the name (`token`, not `DEPLOY_TOKEN`): the secret is
 * group 1, so where the name begins changes no finding, and a leading
 * `[A-Za-z0-9_.-]{0,40}?` kept dozens of overlapping partial matches alive in RE2 at
 * every identifier character of the window (generic-token cost 6x more).
 */
function assignment(s: AssignmentSpec): RuleSpec {
  const name = `(?i:${s.name})` + (s.exactName !== undefined ? `|${s.exactName}` : '');
  const flag = `(?i:--[a-z0-9-]{0,30}?(?:${s.flagName ?? s.name}))(?:=|[ \\t]+)["']?`;
  const assign = `(?:${name})["']?[ \\t]{0,4}(?:=|:=|=>|:)[ \\t]{0,4}["'\\x60]?${SGR}`;
  return {
    id: s.id,
    title: s.title,
    severity: s.severity,
    regex: `(?:${flag}|${assign})(${V}{${s.minLength},128})${END}`,
    secretGroup: 1,
    keywords: s.keywords,
    entropy: s.entropy,
    generic: true,
    allowlist: { regexes: NOT_SECRET_VALUES, stopwords: [...STOPWORDS, ...(s.stopwords ?? [])] },
    destinations: [],
    examples: { positive: s.positive, negative: s.negative },
  };
}

/** Passwords that are defaults or stand-ins wherever they appear (also used by cmdline.ts). */
export const DEFAULT_PASSWORDS = String.raw`(?i)^(?:pass(?:word|wd)?|pwd|secret|guest|postgres|root|admin|administrator|user|username|test|mysql|redis|rabbitmq|sa|x+|\*+|changeit|changeme|default|login|demo)$`;

export const rules: RuleSpec[] = [
  {
    id: 'jwt',
    title: 'JSON Web Token',
    severity: 'medium',
    regex: String.raw`(?:^|\x1b\[[0-9;]*m|[^A-Za-z0-9_.-])(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,})(?:[^A-Za-z0-9_.-]|$)`,
    secretGroup: 1,
    keywords: ['eyJ'],
    validator: 'jwt',
    entropy: 3.5,
    maxLength: 4096,
    destinations: [],
    examples: {
      positive: ['Authorization: Bearer @@jwt@@', 'ID_TOKEN=@@jwt@@', '{"access_token": "@@jwt@@", "token_type": "Bearer"}'],
      negative: [
        'Authorization: Bearer eyJhbGciOiJub25lIn0',
        'eyJub3QiOiJhIGp3dCJ9.eyJhIjoxfQ.c2lnbmF0dXJlc2lnbmF0dXJl',
        'value=eyJrIjoiYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTYiLCJuIjoiY2kiLCJpZCI6MX0=',
      ],
    },
  },
  {
    id: 'url-credentials',
    title: 'Password in a URL (scheme://user:password@host)',
    severity: 'high',
    regex: String.raw`(?i)(?:^|\x1b\[[0-9;]*m|[^a-z0-9+.-])(?:https?|ftps?|sftp|amqps?|redis|rediss|mongodb(?:\+srv)?|postgres(?:ql)?|mysql|mariadb|mssql|sqlserver|ldaps?|smtps?|jdbc:[a-z0-9]+|[a-z][a-z0-9]{1,15}\+[a-z0-9]{1,15}|ssh|svn|smb|nats|kafka|neo4j|bolt|cassandra|couchdbs?|clickhouse|influxdb|socks[45]h?|wss?|mqtts?|imaps?|pop3s?|rsync|davs?|oracle|cockroachdb|snowflake)://[^\s:/?#@"'<>\x60]{0,128}:([^\s/?#@"'<>\x60]{3,256})@[a-z0-9_.-]+`,
    secretGroup: 1,
    keywords: ['://'],
    entropy: 2.5,
    generic: true,
    allowlist: { regexes: [DEFAULT_PASSWORDS], stopwords: STOPWORDS },
    destinations: [],
    examples: {
      positive: ['DATABASE_URL=@@url-credentials@@', 'spring.datasource.url: "@@url-credentials@@"', '$ psql "@@url-credentials@@" -c "select 1"', 'SQLALCHEMY_DATABASE_URI=postgresql+psycopg2://orders:Vx83kQm2LpZ7@db.acme-corp.net:5432/orders', 'NATS_URL=nats://svc-orders:Pq7Lm3Kx9Wz2@nats.acme-corp.net:4222'],
      negative: [
        'AMQP_URL=amqp://guest:guest@localhost:5672/',
        'DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app',
        'https://user:***@artifacts.internal/pkg.tgz',
        'mongodb://<username>:<password>@cluster0.mongodb.net/test',
        'postgres://localhost:5432/app',
        'redis://:@cache:6379/0',
      ],
    },
  },
  {
    id: 'connection-string-password',
    title: 'Password in a database connection string (Password=…;)',
    severity: 'high',
    regex: String.raw`(?i)(?:^|[\s;"'=])(?:server|data source|host|hostname|address|addr|network address|user id|uid|user|username|database|initial catalog|dbname|driver|provider)\s*=[^;\n"']{1,128};(?:[^;\n"']{0,128};)*?\s*(?:password|pwd)\s*=\s*([^;\n"'\s]{4,128})`,
    secretGroup: 1,
    keywords: ['password', 'pwd'],
    entropy: 2.5,
    generic: true,
    allowlist: { regexes: [DEFAULT_PASSWORDS], stopwords: STOPWORDS },
    destinations: [],
    examples: {
      positive: ['ConnectionStrings__Default="@@connection-string-password@@"', '  "DefaultConnection": "@@connection-string-password@@"'],
      negative: ['Server=db;Database=app;User Id=sa;Password=${SA_PASSWORD};', 'Server=db;Database=app;Trusted_Connection=True;', 'Server=db;User Id=app;Password=password;'],
    },
  },
  {
    id: 'jdbc-url-password',
    title: 'Password parameter in a JDBC URL',
    severity: 'high',
    regex: String.raw`(?i)jdbc:[a-z0-9]+:[^\s"'\x60]*?[?&;](?:password|pwd)=([^&;\s"'\x60]{4,128})`,
    secretGroup: 1,
    keywords: ['jdbc:'],
    entropy: 2.5,
    generic: true,
    allowlist: { regexes: [DEFAULT_PASSWORDS], stopwords: STOPWORDS },
    destinations: [],
    examples: {
      positive: ['SPRING_DATASOURCE_URL=@@jdbc-url-password@@', '<property name="url" value="@@jdbc-url-password@@"/>'],
      negative: ['jdbc:postgresql://db.internal:5432/app?sslmode=require', 'jdbc:mysql://db:3306/app?user=app&password=${DB_PASSWORD}'],
    },
  },
  {
    id: 'http-basic-auth',
    title: 'HTTP Basic credentials in an Authorization header',
    severity: 'high',
    regex: String.raw`(?i)authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?${SGR}basic[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?:[^A-Za-z0-9+/=]|$)`,
    secretGroup: 1,
    keywords: ['authorization'],
    entropy: 3,
    validator: 'basic-credentials',
    generic: true,
    allowlist: { stopwords: ['eW91cl91c2Vy', 'dXNlcm5hbWU6cGFzc3dvcmQ', 'dXNlcjpwYXNzd29yZA', 'YWxhZGRpbjpvcGVuc2VzYW1l'] },
    destinations: [],
    examples: {
      positive: ['Authorization: @@http-basic-auth@@', '$ curl -H "Authorization: @@http-basic-auth@@" https://artifacts.acme-corp.net/repo/'],
      negative: [
        'Authorization: Basic ***',
        'Authorization: Basic <base64(user:pass)>',
        'Authorization: Basic dXNlcjpwYXNzd29yZA==',
        '# Proxy-Authorization: Basic builders:<token>',
        'Authorization: Basic realm="registry"',
      ],
    },
  },
  {
    id: 'bearer-token',
    title: 'Bearer token in an Authorization header',
    severity: 'medium',
    regex: String.raw`(?i)authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?${SGR}bearer[ \t]+([A-Za-z0-9._~+/-]{20,}={0,2})(?:[^A-Za-z0-9._~+/=-]|$)`,
    secretGroup: 1,
    keywords: ['bearer'],
    entropy: 3.5,
    generic: true,
    allowlist: { regexes: NOT_SECRET_VALUES, stopwords: STOPWORDS },
    destinations: [],
    examples: {
      positive: ['Authorization: @@bearer-token@@', '$ curl -H "Authorization: @@bearer-token@@" https://api.acme-corp.net/v1/deploy'],
      negative: ['Authorization: Bearer ***', 'Authorization: Bearer ${TOKEN}', 'Authorization: Bearer <token>', 'Authorization: Bearer aaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
    },
  },
  assignment({
    id: 'generic-password',
    title: 'Password assigned to a password-like name',
    severity: 'high',
    keywords: ['password', 'passwd', 'passphrase', 'pwd', '_pass', '-pass', '.pass'],
    name: 'password|passwd|passphrase|pwd|[_.-]pass',
    minLength: 8,
    entropy: 3,
    positive: ['DB_PASSWORD=@@generic-password@@', '  "password": "@@generic-password@@",', '$ ./bin/seed-db --user root --password=@@generic-password@@ app', 'smtp_pass: "@@generic-password@@"'],
    negative: [
      'DB_PASSWORD=${{ secrets.DB_PASSWORD }}',
      'password_file: /run/secrets/db_password',
      'password: process.env.DB_PASSWORD',
      'password = "changeme"',
      'compass: north-north-west-2',
      'the password policy requires rotation',
      'PASSWORD_MIN_LENGTH=12',
    ],
  }),
  assignment({
    id: 'generic-secret',
    title: 'Secret assigned to a secret-like name',
    severity: 'high',
    keywords: ['secret', 'private_key', 'private-key', 'private.key', 'privatekey', 'signing_key', 'signing-key', 'signingkey', 'encryption_key', 'encryption-key', 'encryptionkey', 'master_key', 'master-key', 'masterkey'],
    name: String.raw`secret(?:[_.-]?key(?:[_.-]?base)?)?|private[_.-]?key|signing[_.-]?key|encryption[_.-]?key|master[_.-]?key`,
    minLength: 12,
    entropy: 3.5,
    positive: ['CLIENT_SECRET=@@generic-secret@@', '  "client_secret": "@@generic-secret@@"', 'jwtSecret: @@generic-secret@@', '--client-secret @@generic-secret@@'],
    negative: [
      'secret_name: payments-deploy-key',
      'SECRET_KEY_REF=payments-credentials',
      'client_secret_env: OAUTH_CLIENT_SECRET',
      'secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api"',
      'JWT_SECRET=${JWT_SECRET}',
      'private_key_path: ~/.ssh/id_ed25519',
    ],
  }),
  assignment({
    id: 'generic-token',
    title: 'Token assigned to a token-like name',
    severity: 'high',
    keywords: ['token'],
    name: String.raw`(?:auth|access|api|bearer|bot|session|refresh|personal|private|deploy|service|app|oauth|registry|ci|secret|upload|webhook|admin|master|client|agent|runner|integration|user)[_.-]?token`,
    exactName: String.raw`[A-Z0-9_]_TOKEN|(?i:(?:^|[^A-Za-z0-9_.-])token)`,
    flagName: 'token',
    minLength: 12,
    entropy: 3.5,
    positive: ['AUTH_TOKEN=@@generic-token@@', '  "accessToken": "@@generic-token@@",', 'DEPLOY_TOKEN: @@generic-token@@', '$ ./release --token @@generic-token@@'],
    negative: [
      'token_url: https://auth.acme-corp.net/oauth/token',
      'token_type: Bearer',
      'access_token_ttl: 15m',
      '"next_token": "@@generic-token@@"',
      'GITHUB_TOKEN=***',
      'token: this.session.token',
    ],
  }),
  assignment({
    id: 'generic-api-key',
    title: 'API key assigned to a key-like name',
    severity: 'high',
    keywords: ['api_key', 'api-key', 'api.key', 'apikey', 'access_key', 'access-key', 'accesskey', 'subscription_key', 'subscription-key', 'subscriptionkey', 'app_key', 'app-key', 'appkey'],
    name: String.raw`api[_.-]?key|access[_.-]?key|subscription[_.-]?key|app[_.-]?key`,
    minLength: 12,
    entropy: 3.5,
    positive: ['SERVICE_API_KEY=@@generic-api-key@@', '  "apiKey": "@@generic-api-key@@",', 'X-API-Key: @@generic-api-key@@', '--api-key=@@generic-api-key@@'],
    negative: ['api_key_header: X-API-Key', 'API_KEY=<your-api-key>', 'apiKey: config.services.maps.key', 'API_KEY=%API_KEY%', 'api_key = "1234567890123456"'],
  }),
];
