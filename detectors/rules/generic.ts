// Structural and identifier-style rules that belong to no provider: JWTs, credentials
// inside URLs and connection strings, HTTP Basic and Bearer authorization headers,
// and high-entropy values assigned to secret-like names (`password`, `secret`,
// `token`, `api_key`, ...). Everything but the JWT rule is `generic`: a specific rule
// on the same span wins. None has destinations: these credentials belong nowhere in
// particular, so every place they go is worth a look.
// Example values are synthetic literals (made once by the generators in test/corpus/gen/generic.ts).
import type { RuleSpec } from '../types.js';
import { E64, SGR, notAfter, notBefore, token } from './build.js';

/** What an assigned value does not hold: whitespace, quotes, template or call syntax. */
const NOT_V = String.raw`\s"'\x60$<>{}()\[\],;&\\`;
/** Characters of an assigned value. */
const V = `[^${NOT_V}]`;
/**
 * An assigned value of `min` to `max` characters of V. It does not begin with `/`: a value
 * that does is a path, which NOT_SECRET_VALUES turns away anyway, and `PWD=/home/runner/...`
 * is in every environment dump of a CI log. Refused here, it costs no regex match: a match's
 * submatch and checks cost microseconds, the DFA passing over it nanoseconds.
 */
function value(min: number, max: number): string {
  return `[^${NOT_V}/]${V}{${min - 1},${max - 1}}`;
}
/** Between a name and its value: `=`, `:=`, `=>`, `:` or ` - `, spaces or tabs around it. */
const SEP = String.raw`[ \t]{0,4}(?:=|:=|=>|:|[ \t]-[ \t])[ \t]{0,4}`;
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

/**
 * What precedes an identifier-style value: `NAME=`, `NAME: `, `"name": "`, `name := "`,
 * or `--name ` / `--name=`. `name` is RE2 (case-insensitive) for the end of the name
 * (`password|passwd`; the name may have any prefix), `exactName` extra alternatives matched
 * as written (`[A-Z0-9_]_TOKEN`), `flagName` the end of a `--flag` name (`name` by default).
 * The match starts at the end of the name (`token`, not `DEPLOY_TOKEN`): the secret is
 * group 1, so where the name begins changes no finding, and a leading
 * `[A-Za-z0-9_.-]{0,40}?` kept dozens of overlapping partial matches alive in RE2 at
 * every identifier character of the window (generic-token cost 6x more).
 */
function nameOrFlag(name: string, exactName?: string, flagName?: string): string {
  const names = `(?i:${name})` + (exactName !== undefined ? `|${exactName}` : '');
  const flag = `(?i:--[a-z0-9-]{0,30}?(?:${flagName ?? name}))(?:=|[ \\t]+)["']?`;
  const assign = `(?:${names})["']?${SEP}["'\\x60]?${SGR}`;
  return `(?:${flag}|${assign})`;
}

/** Passwords that are defaults or stand-ins wherever they appear. */
export const DEFAULT_PASSWORDS = String.raw`(?i)^(?:pass(?:word|wd)?|pwd|secret|guest|postgres|root|admin|administrator|user|username|test|mysql|redis|rabbitmq|sa|x+|\*+|changeit|changeme|default|login|demo)$`;

export const rules: RuleSpec[] = [
  token({
    id: 'jwt',
    title: 'JSON Web Token',
    severity: 'medium',
    keywords: ['eyJ'],
    left: notAfter('A-Za-z0-9_.-'),
    token: String.raw`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}`,
    right: notBefore('A-Za-z0-9_.-'),
    entropy: 3.5,
    maxLength: 4096,
    validator: 'jwt',
    destinations: [],
    positive: ['Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI4NDQwMTQ5MTYiLCJpc3MiOiJodHRwczovL2F1dGguYWNtZS1jb3JwLm5ldCIsImlhdCI6MTcwMTE0NjIzOCwiZXhwIjoxODI2OTQ4ODUyLCJzY29wZSI6ImRlcGxveSJ9.ssiF5k0oqlhNqRdTCXuoild_w8-qRbYWzMe7_fx4vBLaDcZa7SuTGkvgvB2dAHUZEsLsY63k8blvPyngXXVYCp', 'ID_TOKEN=eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzNTExMjIxNyIsImlzcyI6ImNpLXJ1bm5lciIsImlhdCI6MTcxNTM4MjE5MSwiZXhwIjoxODQ2MDEyMTQzLCJzY29wZSI6ImRlcGxveSJ9.0Ve04P9OcisyyYNROJAWizjMNmOzlIhBQJhdx4HFrY0q5c26VbTPi4zAy79CW2O5Gv5XyDAXPrs9GV7GhSn9HkdD5fm025M5FeerdCsHEcS8TE3b2wQ1Q16IA1mjaDHk4zGBHC8gEB_XXIy7OJVNIdc3ZoN8n1Pcbb2HoPj-KraTrSc-vrk_h0l-zJpItKnSZgK2ePaxHSc9KeCROTlfF8fLemBkftAOtyfbvde8YKhn8rpq1wGQB5Mox1h381HO4CKuXIrNfTyRLiFeiQbMwIj54xbqIuZPf9F5tdB-GdIj-PwcXZEPS2odXUTcj8phD2vAWVTIgdlBbSrfLohS_4', '{"access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI5MzExMjg4NDUiLCJpc3MiOiJjaS1ydW5uZXIiLCJpYXQiOjE3NDE2ODM1NTYsImV4cCI6MTgwODk3MTIzOCwic2NvcGUiOiJkZXBsb3kifQ.UpCKnMGdk_nWpbUOp0JXqTwJsNdMXXnYqCCy8yJT4gj0P8aGllRQb6kqrjC5ZkUi2QQqCmp2LfE5mVsou1s-cO0HT-YIk1aZXPH5d9iLLG9p-21Holud29HcDTA2hletvf-CV0RIW9hK4KNta5RnTJW1AjN7G-_EgvEvI7pldD5440Jl1swIhp_OZYVFR9j31ZxRIvpwOw0sehGgSNQzZjRWFRBu0eC9TAcWoptHMALOdsDFz_ZS9hoC4UD4a8LsudjeTcy21ZN1gQsy0cD632GLmSstM6w2ecWuTfk3al9ihG3rnjEaTstFFNvY2Hqlk-0LDIz-JjFLFmIeXOX9aN", "token_type": "Bearer"}'],
    negative: [
      'Authorization: Bearer eyJhbGciOiJub25lIn0',
      'eyJub3QiOiJhIGp3dCJ9.eyJhIjoxfQ.c2lnbmF0dXJlc2lnbmF0dXJl',
      'value=eyJrIjoiYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTYiLCJuIjoiY2kiLCJpZCI6MX0=',
    ],
  }),
  token({
    id: 'url-credentials',
    title: 'Password in a URL (scheme://user:password@host)',
    severity: 'high',
    keywords: ['://'],
    // `://` is in every URL of a log; only those with an `@` before their first `/`, space or
    // quote can carry userinfo (scheme 3, user 128, `:`, password 256, `@`: at most 389 bytes).
    confirm: { contains: '@', until: String.raw`[\s/?#"'<>\x60]`, within: 400 },
    left: String.raw`(?i)(?:^|\x1b\[[0-9;]{0,12}m|[^a-z0-9+.-])(?:https?|ftps?|sftp|amqps?|redis|rediss|mongodb(?:\+srv)?|postgres(?:ql)?|mysql|mariadb|mssql|sqlserver|ldaps?|smtps?|jdbc:[a-z0-9]+)://[^\s:/?#@"'<>\x60]{0,128}:`,
    token: String.raw`[^\s/?#@"'<>\x60]{3,256}`,
    right: String.raw`@[a-z0-9_.-]+`,
    entropy: 2.5,
    generic: true,
    allowlist: { regexes: [DEFAULT_PASSWORDS], stopwords: STOPWORDS },
    destinations: [],
    positive: ['DATABASE_URL=postgres://app:HqCq3d0uMG9e4aEGmnoKuo54@pg-primary.internal:5432/app', 'spring.datasource.url: "mongodb+srv://migrator:0Es0k4XNymJVFxtmCxxf4@cache.acme-corp.net/app?retryWrites=true"', '$ psql "postgres://ci_deploy:1hwIXs7ODmLF2QgHprlSSFwD5@cache.acme-corp.net:5432/app" -c "select 1"'],
    negative: [
      'AMQP_URL=amqp://guest:guest@localhost:5672/',
      'DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app',
      'https://user:***@artifacts.internal/pkg.tgz',
      'mongodb://<username>:<password>@cluster0.mongodb.net/test',
      'postgres://localhost:5432/app',
      'redis://:@cache:6379/0',
    ],
  }),
  token({
    id: 'connection-string-password',
    title: 'Password in a database connection string (Password=…;)',
    severity: 'high',
    keywords: ['password', 'pwd'],
    left: String.raw`(?i)(?:^|[\s;"'=])(?:server|data source|host|hostname|address|addr|network address|user id|uid|user|username|database|initial catalog|dbname|driver|provider)\s*=[^;\n"']{1,128};(?:[^;\n"']{0,128};)*?\s*(?:password|pwd)\s*=\s*`,
    token: String.raw`[^;\n"'\s]{4,128}`,
    right: '',
    entropy: 2.5,
    generic: true,
    allowlist: { regexes: [DEFAULT_PASSWORDS], stopwords: STOPWORDS },
    destinations: [],
    positive: ['ConnectionStrings__Default="Server=tcp:mongo-0.mongo.svc.cluster.local,1433;Initial Catalog=orders;User ID=svc-orders;Password=hd%R^m9p%UBjq~z.MtW;Encrypt=True;"', '  "DefaultConnection": "Data Source=10.12.4.7;User Id=etl;Pwd=TEt!p@^tQpbe4QJc#02i;"'],
    negative: ['Server=db;Database=app;User Id=sa;Password=${SA_PASSWORD};', 'Server=db;Database=app;Trusted_Connection=True;', 'Server=db;User Id=app;Password=password;'],
  }),
  token({
    id: 'jdbc-url-password',
    title: 'Password parameter in a JDBC URL',
    severity: 'high',
    keywords: ['jdbc:'],
    left: String.raw`(?i)jdbc:[a-z0-9]+:[^\s"'\x60]*?[?&;](?:password|pwd)=`,
    token: String.raw`[^&;\s"'\x60]{4,128}`,
    right: '',
    entropy: 2.5,
    generic: true,
    allowlist: { regexes: [DEFAULT_PASSWORDS], stopwords: STOPWORDS },
    destinations: [],
    positive: ['SPRING_DATASOURCE_URL=jdbc:mysql://db.prod.acme-corp.net:3306/app?user=app&password=TUzpWM1KSbo8unIA6yNuzb6&ssl=true', '<property name="url" value="jdbc:mariadb://db.prod.acme-corp.net:5432/app?user=ci_deploy&password=HO42ZoNg6Ufdnf1&ssl=true"/>'],
    negative: ['jdbc:postgresql://db.internal:5432/app?sslmode=require', 'jdbc:mysql://db:3306/app?user=app&password=${DB_PASSWORD}'],
  }),
  token({
    id: 'http-basic-auth',
    title: 'HTTP Basic credentials in an Authorization header',
    severity: 'high',
    keywords: ['authorization'],
    left: String.raw`(?i)authorization["']?${SEP}["']?${SGR}basic[ \t]+`,
    token: String.raw`[A-Za-z0-9+/]{8,}={0,2}`,
    right: E64,
    validator: 'basic-credentials',
    generic: true,
    allowlist: { stopwords: ['eW91cl91c2Vy', 'dXNlcm5hbWU6cGFzc3dvcmQ', 'dXNlcjpwYXNzd29yZA', 'YWxhZGRpbjpvcGVuc2VzYW1l'] },
    destinations: [],
    positive: ['Authorization: Basic bWlncmF0b3I6cFVjNWtrbytCZEh6UERYJWNZTFRwLg==', '$ curl -H "Authorization: Basic ZXRsOnZHcjhzOU5ybCUhMkx+QkohYjY=" https://artifacts.acme-corp.net/repo/'],
    negative: [
      'Authorization: Basic ***',
      'Authorization: Basic <base64(user:pass)>',
      'Authorization: Basic dXNlcjpwYXNzd29yZA==',
      '# Proxy-Authorization: Basic builders:<token>',
      'Authorization: Basic realm="registry"',
    ],
  }),
  token({
    id: 'bearer-token',
    title: 'Bearer token in an Authorization header',
    severity: 'medium',
    keywords: ['bearer'],
    left: String.raw`(?i)authorization["']?${SEP}["']?${SGR}bearer[ \t]+`,
    token: String.raw`[A-Za-z0-9._~+/-]{20,}={0,2}`,
    right: notBefore('A-Za-z0-9._~+/=-'),
    entropy: 3.5,
    generic: true,
    allowlist: { regexes: NOT_SECRET_VALUES, stopwords: STOPWORDS },
    destinations: [],
    positive: ['Authorization: Bearer stpg--TiyX0QG2sZqUiPay03-yh9u79ZcaBEiMgZLwsT2', '$ curl -H "Authorization: Bearer y4jHSvfe0vbwE8gr9E6RLeUSMCAP3UkqC159rY4C0OoRERgi" https://api.acme-corp.net/v1/deploy'],
    negative: ['Authorization: Bearer ***', 'Authorization: Bearer ${TOKEN}', 'Authorization: Bearer <token>', 'Authorization: Bearer aaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
  }),
  token({
    id: 'generic-password',
    title: 'Password assigned to a password-like name',
    severity: 'high',
    keywords: ['password', 'passwd', 'passphrase', 'pwd', '_pass', '-pass', '.pass'],
    left: nameOrFlag('password|passwd|passphrase|pwd|[_.-]pass'),
    token: value(8, 128),
    right: END,
    generic: true,
    allowlist: { regexes: NOT_SECRET_VALUES, stopwords: STOPWORDS },
    destinations: [],
    positive: ['DB_PASSWORD=HQ20HM0mC@98EwG', '  "password": "5yWoYoVbLCNi-D#PQ~JoeP",', 'smtp_pass: "5pN5GQEb!xJHGN_uo3yTI"'],
    negative: [
      'DB_PASSWORD=${{ secrets.DB_PASSWORD }}',
      'password_file: /run/secrets/db_password',
      'password: process.env.DB_PASSWORD',
      'password = "changeme"',
      'PWD=/home/runner/work/payments/payments',
      'compass: north-north-west-2',
      'the password policy requires rotation',
      'PASSWORD_MIN_LENGTH=12',
    ],
  }),
  token({
    id: 'generic-secret',
    title: 'Secret assigned to a secret-like name',
    severity: 'high',
    keywords: ['secret', 'private_key', 'private-key', 'private.key', 'privatekey', 'signing_key', 'signing-key', 'signingkey', 'encryption_key', 'encryption-key', 'encryptionkey', 'master_key', 'master-key', 'masterkey'],
    left: nameOrFlag(String.raw`secret(?:[_.-]?key(?:[_.-]?base)?)?|private[_.-]?key|signing[_.-]?key|encryption[_.-]?key|master[_.-]?key`),
    token: value(12, 128),
    right: END,
    entropy: 3.5,
    generic: true,
    allowlist: { regexes: NOT_SECRET_VALUES, stopwords: STOPWORDS },
    destinations: [],
    positive: ['CLIENT_SECRET=f2f6e74b540695f1d4b68287065dda9f11097094598bc422ee802a141222b197', '  "client_secret": "Hu.isOD@wfAQuxd+z8DPqkRs^rtz95g!ig"', 'jwtSecret: L8^-t2S3i%Arpe^T.JZ6ifWK%1Qwk%Q-_M', '--client-secret 89093acb9e432f249f1e02c295dd15a3104ebb8a571eb826d85dea7cf32c1490'],
    negative: [
      'secret_name: payments-deploy-key',
      'SECRET_KEY_REF=payments-credentials',
      'client_secret_env: OAUTH_CLIENT_SECRET',
      'secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api"',
      'JWT_SECRET=${JWT_SECRET}',
      'private_key_path: ~/.ssh/id_ed25519',
    ],
  }),
  token({
    id: 'generic-token',
    title: 'Token assigned to a token-like name',
    severity: 'high',
    keywords: ['token'],
    left: nameOrFlag(String.raw`(?:auth|access|api|bearer|bot|session|refresh|personal|private|deploy|service|app|oauth|registry|ci|secret|upload|webhook|admin|master|client|agent|runner|integration|user)[_.-]?token`, String.raw`[A-Z0-9_]_TOKEN|(?i:(?:^|[^A-Za-z0-9_.-])token)`, 'token'),
    token: value(12, 128),
    right: END,
    entropy: 3.5,
    generic: true,
    allowlist: { regexes: NOT_SECRET_VALUES, stopwords: STOPWORDS },
    destinations: [],
    positive: ['AUTH_TOKEN=2Di19Tr7aQSuNOfWPVTwhamhx66HXFiGZB8', '  "accessToken": "X0dGEMqUAXO8kAdRYBUCrUvorORmpHCd7D5b0",', 'DEPLOY_TOKEN: drojYvab5RBPgLHKRzl1MQqwcCsoSqx2', '$ ./release --token pEOrJEBFxfaX150pVNvAFM2xKxyImBsuUATaXFnBIgjPncNk4'],
    negative: [
      'token_url: https://auth.acme-corp.net/oauth/token',
      'token_type: Bearer',
      'access_token_ttl: 15m',
      '"next_token": "ixeYupbAfBttzxHwDH4nCo6f2liAa1"',
      'GITHUB_TOKEN=***',
      'token: this.session.token',
    ],
  }),
  token({
    id: 'generic-api-key',
    title: 'API key assigned to a key-like name',
    severity: 'high',
    keywords: ['api_key', 'api-key', 'api.key', 'apikey', 'access_key', 'access-key', 'accesskey', 'subscription_key', 'subscription-key', 'subscriptionkey', 'app_key', 'app-key', 'appkey'],
    left: nameOrFlag(String.raw`api[_.-]?key|access[_.-]?key|subscription[_.-]?key|app[_.-]?key`),
    token: value(12, 128),
    right: END,
    entropy: 3.5,
    generic: true,
    allowlist: { regexes: NOT_SECRET_VALUES, stopwords: STOPWORDS },
    destinations: [],
    positive: ['SERVICE_API_KEY=dxvmz3nNhcjW2CxnfIZgtkjlii4ILPkRq0Hfa19', '  "apiKey": "oM0axI7S2jefD5QyQrjcBNQ9C79TgyyLkxMF2uD4",', 'X-API-Key: wuGrL0AYocURJx38mHQRtwyTja340K7KFOBtP2H7', '--api-key=2XgHgtiw3yCQv5egn8aj7pO7'],
    negative: ['api_key_header: X-API-Key', 'API_KEY=<your-api-key>', 'apiKey: config.services.maps.key', 'API_KEY=%API_KEY%', 'api_key = "1234567890123456"'],
  }),
];
