import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64URL, HEX } from '../rng.js';

const SYMBOLS = '-_.!@#%^+~';
const DIGITS = '0123456789';

/** A random password: letters and digits with at least one digit and one symbol. */
function password(rng: Rng, n: number): string {
  const chars = rng.chars(ALPHA_NUM + SYMBOLS, n - 2).split('');
  chars.splice(rng.int(chars.length + 1), 0, rng.chars(DIGITS, 1));
  chars.splice(rng.int(chars.length + 1), 0, rng.chars(SYMBOLS, 1));
  return chars.join('');
}

/** A URL-safe password (no characters that need escaping in userinfo). */
function urlPassword(rng: Rng, n: number): string {
  return rng.chars(ALPHA_NUM, n - 1) + rng.chars(DIGITS, 1);
}

const USERS = ['app', 'ci_deploy', 'svc-orders', 'reporting', 'migrator', 'etl'];
const HOSTS = ['db.prod.acme-corp.net', 'pg-primary.internal', 'mongo-0.mongo.svc.cluster.local', 'cache.acme-corp.net', '10.12.4.7'];

function jwt(rng: Rng): string {
  const header = Buffer.from(JSON.stringify({ alg: rng.pick(['HS256', 'RS256', 'ES256']), typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(
    JSON.stringify({ sub: `${rng.int(1e9)}`, iss: rng.pick(['https://auth.acme-corp.net', 'ci-runner']), iat: 1700000000 + rng.int(5e7), exp: 1800000000 + rng.int(5e7), scope: 'deploy' }),
  ).toString('base64url');
  return `${header}.${payload}.${rng.chars(BASE64URL, rng.pick([43, 86, 342]))}`;
}

/** One generator per rule id of detectors/rules/generic.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  jwt,
  'url-credentials': (rng) => {
    const [scheme, port, path] = rng.pick([
      ['postgres', 5432, '/app'],
      ['postgresql', 5432, '/orders?sslmode=require'],
      ['mysql', 3306, '/shop'],
      ['mongodb', 27017, '/admin'],
      ['mongodb+srv', 0, '/app?retryWrites=true'],
      ['redis', 6379, '/0'],
      ['amqp', 5672, '/vhost'],
      ['https', 0, '/artifactory/api/npm/'],
      ['ftp', 21, '/upload'],
      ['ldap', 389, '/dc=acme,dc=net'],
    ] as const);
    return `${scheme}://${rng.pick(USERS)}:${urlPassword(rng, 16 + rng.int(12))}@${rng.pick(HOSTS)}${port === 0 ? '' : `:${port}`}${path}`;
  },
  'connection-string-password': (rng) =>
    rng.pick([
      (pw: string) => `Server=tcp:${rng.pick(HOSTS)},1433;Initial Catalog=orders;User ID=${rng.pick(USERS)};Password=${pw};Encrypt=True;`,
      (pw: string) => `Host=${rng.pick(HOSTS)};Port=5432;Database=app;Username=${rng.pick(USERS)};Password=${pw}`,
      (pw: string) => `Data Source=${rng.pick(HOSTS)};User Id=${rng.pick(USERS)};Pwd=${pw};`,
    ])(password(rng, 14 + rng.int(10))),
  'jdbc-url-password': (rng) =>
    `jdbc:${rng.pick(['postgresql', 'mysql', 'mariadb'])}://${rng.pick(HOSTS)}:${rng.pick([5432, 3306])}/app?user=${rng.pick(USERS)}&password=${urlPassword(rng, 14 + rng.int(10))}&ssl=true`,
  'http-basic-auth': (rng) => `Basic ${Buffer.from(`${rng.pick(USERS)}:${password(rng, 14 + rng.int(10))}`, 'utf8').toString('base64')}`,
  'bearer-token': (rng) => `Bearer ${rng.chars(BASE64URL, 32 + rng.int(32))}`,
  'generic-password': (rng) => password(rng, 12 + rng.int(12)),
  'generic-secret': (rng) => (rng.int(2) === 0 ? rng.chars(HEX, 64) : password(rng, 24 + rng.int(20))),
  'generic-token': (rng) => urlPassword(rng, 20 + rng.int(30)),
  'generic-api-key': (rng) => urlPassword(rng, 24 + rng.int(20)),
};

/** Variable names the name-anchored values of generic.ts are assigned to. */
export const contextNames: Record<string, string[]> = {
  'http-basic-auth': ['Authorization'],
  'bearer-token': ['Authorization'],
  'generic-password': ['DB_PASSWORD', 'password', 'MYSQL_ROOT_PASSWORD', 'SMTP_PASS', 'redis_password', 'KEYSTORE_PASSPHRASE'],
  'generic-secret': ['CLIENT_SECRET', 'client_secret', 'JWT_SECRET', 'APP_SECRET', 'SECRET_KEY', 'SESSION_SECRET'],
  'generic-token': ['API_TOKEN', 'AUTH_TOKEN', 'ACCESS_TOKEN', 'DEPLOY_TOKEN', 'auth_token', 'access_token'],
  'generic-api-key': ['API_KEY', 'apiKey', 'X-API-Key', 'access_key', 'SERVICE_API_KEY'],
};
