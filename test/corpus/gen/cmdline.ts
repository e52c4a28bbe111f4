// Command-line and header credentials (detectors/rules/cmdline.ts): passwords as shell
// words, placed in the commands that carry them (shell history, `set -x` traces, workflow
// `run:` steps, continued lines, HTTP request dumps). Look-alikes are the same commands
// with references, masks, prompts and default passwords.
import type { OwnContext } from './types.js';
import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64URL, HEX } from '../rng.js';

const SYMBOLS = '-_.!@#%^+~';
const DIGITS = '0123456789';
const USERS = ['deploy', 'ci-bot', 'svc-upload', 'jenkins', 'release', 'backup'];
const HOSTS = ['nexus.acme-corp.net', 'artifacts.acme-corp.net', 'jenkins.internal', 'charts.acme-corp.net', 'registry.acme-corp.net'];
const DB_HOSTS = ['db.internal', 'pg-primary.acme-corp.net', '10.20.0.15', 'mysql-0.mysql.svc.cluster.local'];

/** A password that is one shell word: starts with a letter or digit, has a digit and a symbol. */
function password(rng: Rng, n: number, extra = ''): string {
  const chars = rng.chars(ALPHA_NUM + SYMBOLS + extra, n - 3).split('');
  chars.splice(rng.int(chars.length + 1), 0, rng.chars(DIGITS, 1));
  chars.splice(rng.int(chars.length + 1), 0, rng.chars(SYMBOLS, 1));
  return rng.chars(ALPHA_NUM, 1) + chars.join('');
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => rng.pick(xs);
const histNo = (rng: Rng): string => `  ${100 + rng.int(1900)}  `;

/** One generator per rule id of detectors/rules/cmdline.ts. */
export const generators: Record<string, (rng: Rng) => string> = {
  'curl-user-password': (rng) => password(rng, 10 + rng.int(14), ':'),
  'http-authorization-token': (rng) => (rng.int(2) === 0 ? rng.chars(HEX, 40) : rng.chars(BASE64URL, 24 + rng.int(40))),
  'http-api-token-header': (rng) => (rng.int(2) === 0 ? rng.chars(HEX, 32) : rng.chars(ALPHA_NUM, 20 + rng.int(30))),
  'wget-password': (rng) => password(rng, 10 + rng.int(12)),
  'mysql-password-option': (rng) => password(rng, 10 + rng.int(12)),
  'pgpassword-env': (rng) => password(rng, 12 + rng.int(12)),
  'sshpass-password': (rng) => password(rng, 10 + rng.int(12)),
  'registry-login-password': (rng) => password(rng, 12 + rng.int(20)),
  'helm-repo-password': (rng) => password(rng, 12 + rng.int(12)),
  'redis-cli-password': (rng) => password(rng, 12 + rng.int(12)),
  'sqlcmd-password': (rng) => password(rng, 12 + rng.int(12)),
  'ldap-bind-password': (rng) => password(rng, 10 + rng.int(12)),
  'java-keystore-password': (rng) => password(rng, 10 + rng.int(12)),
  'openssl-passphrase': (rng) => password(rng, 12 + rng.int(16)),
};

const c = (kind: string, build: OwnContext['build']): OwnContext => ({ kind, build });

export const contexts: Record<string, OwnContext[]> = {
  'curl-user-password': [
    c('shell-history', (rng) => [`${histNo(rng)}curl -fsSL -u ${pick(rng, USERS)}:`, ` https://${pick(rng, HOSTS)}/service/rest/v1/components?repository=raw`]),
    c('shell-trace', (rng) => [`+ curl --user "${pick(rng, USERS)}:`, `" -X PUT -T dist/app-${rng.int(9)}.${rng.int(20)}.tgz https://${pick(rng, HOSTS)}/repository/raw/`]),
    c('workflow-run', (rng) => [`    steps:\n      - name: upload\n        run: curl -sS -u '${pick(rng, USERS)}:`, `' --data-binary @report.json https://${pick(rng, HOSTS)}/api/reports`]),
    c('continued-command', (rng) => [`curl -sS -X POST \\\n  --user ${pick(rng, USERS)}:`, ` \\\n  -H "Content-Type: application/json" \\\n  https://${pick(rng, HOSTS)}/job/deploy/buildWithParameters`]),
  ],
  'http-authorization-token': [
    c('curl-line', (rng) => [`$ curl -s -H "Authorization: Token `, `" https://${pick(rng, HOSTS)}/api/v2/projects/${rng.int(999)}/builds`]),
    c('http-request', (rng) => [`GET /api/v2/builds/${rng.int(9999)} HTTP/1.1\nHost: ${pick(rng, HOSTS)}\nUser-Agent: python-requests/2.31.0\nAuthorization: Token `, `\nAccept: application/json`]),
    c('python-debug-log', (rng) => [`DEBUG:urllib3.connectionpool:https://${pick(rng, HOSTS)}:443 "POST /api/runs HTTP/1.1" 201\nDEBUG:client:headers={'Authorization': 'Token `, `', 'Content-Type': 'application/json'}`]),
    c('curl-key-scheme', (rng) => [`curl -X POST --header 'Authorization: Key `, `' -d @payload.json https://push.${pick(rng, ['acme-corp.net', 'example.org'])}/send`]),
    c('curl-api-token-scheme', (rng) => [`curl -sS -H 'Authorization: Api-Token `, `' https://${pick(rng, HOSTS)}/api/v2/entities`]),
    c('curl-no-scheme', (rng) => [`+ curl -fsS -H "Authorization: `, `" https://${pick(rng, HOSTS)}/v1/jobs?status=queued`]),
  ],
  'http-api-token-header': [
    c('curl-line', (rng) => [`$ curl -fsS -H "Api-Token: `, `" https://${pick(rng, HOSTS)}/api/v1/events?limit=${rng.int(100)}`]),
    c('http-request', (rng) => [`POST /v3/servers HTTP/1.1\nHost: ${pick(rng, HOSTS)}\nX-Auth-Token: `, `\nContent-Type: application/json`]),
    c('curl-access-token', (rng) => [`+ curl -s -H 'X-Access-Token: `, `' https://${pick(rng, HOSTS)}/api/v4/status`]),
    c('vendor-key-header', (rng) => [`$ curl -H "X-${pick(rng, ['Acme', 'Figma', 'Shop', 'Deploy'])}-${pick(rng, ['Key', 'Token', 'Api-Key'])}: `, `" https://${pick(rng, HOSTS)}/v2/items`]),
  ],
  'wget-password': [
    c('shell-history', (rng) => [`${histNo(rng)}wget --user=${pick(rng, USERS)} --password=`, ` https://${pick(rng, HOSTS)}/downloads/tool-${rng.int(9)}.tar.gz`]),
    c('shell-trace', (rng) => [`+ wget -q --http-user ${pick(rng, USERS)} --http-password '`, `' -O /tmp/pkg.deb https://${pick(rng, HOSTS)}/apt/pkg.deb`]),
    c('dockerfile-run', (rng) => [`RUN wget --ftp-user=${pick(rng, USERS)} --ftp-password=`, ` ftp://${pick(rng, HOSTS)}/pub/sdk.zip && unzip sdk.zip`]),
  ],
  'mysql-password-option': [
    c('shell-history', (rng) => [`${histNo(rng)}mysql -h ${pick(rng, DB_HOSTS)} -u app -p`, ` orders -e "show tables"`]),
    c('cron-backup', () => [`0 3 * * * mysqldump -u backup -p'`, `' --single-transaction --all-databases | gzip > /backup/db-$(date +%F).sql.gz`]),
    c('shell-trace', (rng) => [`+ mysql --host=${pick(rng, DB_HOSTS)} --user=migrator --password=`, ` shop < migrations/00${rng.int(9)}_init.sql`]),
  ],
  'pgpassword-env': [
    c('shell-history', (rng) => [`${histNo(rng)}PGPASSWORD=`, ` psql -h ${pick(rng, DB_HOSTS)} -U app -d orders -c "select count(*) from jobs"`]),
    c('shell-trace', () => [`+ export PGPASSWORD='`, `'`]),
    c('docker-run', (rng) => [`docker run --rm -e PGPASSWORD=`, ` postgres:1${rng.int(7)} pg_dump -h ${pick(rng, DB_HOSTS)} -U app orders`]),
    c('mysql-pwd', (rng) => [`MYSQL_PWD=`, ` mysql -h ${pick(rng, DB_HOSTS)} -u app -e "select 1"`]),
  ],
  'sshpass-password': [
    c('shell-history', (rng) => [`${histNo(rng)}sshpass -p '`, `' ssh -o StrictHostKeyChecking=no ${pick(rng, USERS)}@10.0.${rng.int(255)}.${rng.int(255)} ./restart.sh`]),
    c('shell-trace', (rng) => [`+ sshpass -p`, ` scp build.tgz ${pick(rng, USERS)}@bastion.acme-corp.net:/srv/releases/`]),
    c('workflow-run', (rng) => [`      - run: sshpass -p "`, `" rsync -az dist/ ${pick(rng, USERS)}@web-${rng.int(9)}.acme-corp.net:/var/www/`]),
  ],
  'registry-login-password': [
    c('shell-trace', (rng) => [`+ docker login -u ${pick(rng, USERS)} -p `, ` ${pick(rng, HOSTS)}`]),
    c('gitlab-ci-log', () => [`$ docker login registry.gitlab.com -u gitlab-ci-token -p `, ``]),
    c('podman-login', (rng) => [`$ podman login --username ${pick(rng, USERS)} --password=`, ` quay.acme-corp.net`]),
    c('helm-registry-login', (rng) => [`helm registry login ${pick(rng, HOSTS)} -u ${pick(rng, USERS)} -p `, ``]),
  ],
  'helm-repo-password': [
    c('shell-trace', (rng) => [`+ helm repo add acme https://${pick(rng, HOSTS)}/chartrepo/acme --username ${pick(rng, USERS)} --password `, ``]),
    c('workflow-run', (rng) => [`      - run: helm repo add internal https://${pick(rng, HOSTS)}/repository/helm/ --username=${pick(rng, USERS)} --password='`, `' && helm repo update`]),
  ],
  'redis-cli-password': [
    c('shell-history', (rng) => [`${histNo(rng)}redis-cli -h ${pick(rng, DB_HOSTS)} -p 6379 -a `, ` --no-auth-warning INFO replication`]),
    c('shell-trace', () => [`+ redis-cli --pass '`, `' -n 2 FLUSHDB`]),
  ],
  'sqlcmd-password': [
    c('shell-trace', (rng) => [`+ /opt/mssql-tools18/bin/sqlcmd -C -S ${pick(rng, DB_HOSTS)},1433 -U sa -P '`, `' -Q "SELECT @@VERSION"`]),
    c('workflow-run', (rng) => [`      - run: sqlcmd -S ${pick(rng, DB_HOSTS)} -U migrator -P `, ` -d orders -i migrations/001_init.sql`]),
  ],
  'ldap-bind-password': [
    c('shell-history', (rng) => [`${histNo(rng)}ldapsearch -x -H ldaps://ldap.acme-corp.net -D "cn=${pick(rng, USERS)},ou=svc,dc=acme,dc=net" -w `, ` -b "dc=acme,dc=net" "(uid=jdoe)"`]),
    c('shell-trace', () => [`+ ldapmodify -x -H ldap://ldap.internal -D cn=admin,dc=acme,dc=net -w '`, `' -f users.ldif`]),
  ],
  'java-keystore-password': [
    c('shell-trace', () => ['+ keytool -importkeystore -srckeystore release.p12 -srcstoretype PKCS12 -srcstorepass ', ' -destkeystore release.jks -deststoretype JKS']),
    c('gradle-log', () => ['> Task :app:signRelease\n$ jarsigner -verbose -keystore release.jks -storepass ', ' app/build/outputs/apk/release/app-release-unsigned.apk upload']),
    c('workflow-run', () => ['      - run: apksigner sign --ks release.jks --ks-pass pass:', ' --out app-signed.apk app-release.apk']),
  ],
  'openssl-passphrase': [
    c('shell-trace', () => ['+ openssl pkcs12 -export -in cert.pem -inkey key.pem -out bundle.p12 -passout pass:', '']),
    c('workflow-run', () => ['      - run: openssl enc -d -aes-256-cbc -pbkdf2 -in secrets.tar.enc -out secrets.tar -k ', ' && tar xf secrets.tar']),
    c('shell-history', (rng) => [`${histNo(rng)}openssl rsa -in server.key -out server.nopass.key -passin pass:`, '']),
  ],
};

/** The same commands with references, masks, prompts, stdin and default passwords. */
function placeholderCommands(rng: Rng): string {
  const host = pick(rng, HOSTS);
  const db = pick(rng, DB_HOSTS);
  const lines = [
    `curl -fsSL -u ${pick(rng, USERS)}:$NEXUS_PASSWORD https://${host}/service/rest/v1/status`,
    `curl --user "${pick(rng, USERS)}:\${ARTIFACTORY_PASSWORD}" -T app.tgz https://${host}/upload/`,
    `curl -u admin:admin http://localhost:8081/service/rest/v1/status`,
    `curl -u ci:*** https://${host}/api/`,
    `curl -u "$(cat /run/secrets/curl_user)" https://${host}/api/`,
    `curl -H "Authorization: Token \${API_TOKEN}" https://${host}/api/v2/builds`,
    `curl -H 'Api-Token: <your-api-token>' https://${host}/api/v1/events`,
    `wget --user=ci --password="$WGET_PASSWORD" https://${host}/tool.tgz`,
    `wget --ask-password https://${host}/tool.tgz`,
    `mysql -h ${db} -u root -p orders`,
    `mysql -uroot -proot -P 3306 orders`,
    `mysql -u app -p"$MYSQL_PASSWORD" orders`,
    `PGPASSWORD=postgres psql -h localhost -U postgres`,
    `PGPASSWORD=$PG_PASSWORD psql -h ${db} -U app`,
    `sshpass -p "$SSH_PASS" ssh deploy@${db}`,
    `sshpass -f /run/secrets/ssh_pass scp a.tgz deploy@${db}:/tmp/`,
    `docker login -u ci -p \${{ secrets.REGISTRY_PASSWORD }} ghcr.io`,
    `echo "$CR_PAT" | docker login ghcr.io -u ci --password-stdin`,
    `helm repo add acme https://${host}/charts --username ci --password "$HELM_REPO_PASSWORD"`,
    `helm repo add acme https://${host}/charts --username ci --password-stdin`,
    `redis-cli -h ${db} -a "$REDIS_PASSWORD" ping`,
    `sqlcmd -S ${db} -U sa -P "$MSSQL_SA_PASSWORD" -Q "SELECT 1"`,
    'ldapsearch -x -D cn=admin,dc=acme,dc=net -W -b dc=acme,dc=net',
    'keytool -list -keystore ~/.android/debug.keystore -storepass android',
    'keytool -list -cacerts -storepass changeit',
    'jarsigner -keystore release.jks -storepass:env KEYSTORE_PASSWORD app.apk upload',
    'openssl pkcs12 -export -in cert.pem -out bundle.p12 -passout env:P12_PASSWORD',
    'openssl enc -d -aes-256-cbc -in secrets.enc -out secrets -k "$SECRETS_KEY"',
  ];
  const out: string[] = [];
  for (let i = 0; i < 10; i++) out.push(rng.int(2) === 0 ? `+ ${pick(rng, lines)}` : `${histNo(rng)}${pick(rng, lines)}`);
  return out.join('\n') + '\n';
}

export const lookalikes: Record<string, (rng: Rng) => string> = {
  'placeholder-commands': placeholderCommands,
};
