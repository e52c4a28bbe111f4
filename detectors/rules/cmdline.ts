// Credentials on command lines and in HTTP headers: `curl -u user:password`, `curl -H
// 'Authorization: Token …'`, API-token headers, `wget --password`, `mysql -p…`,
// `PGPASSWORD=`, `sshpass -p`, `docker login -p`, `helm repo add --password`, and the
// same for redis-cli, sqlcmd, ldapsearch, keytool/jarsigner/apksigner, openssl. Passwords in
// URLs (`scheme://user:password@host`, every scheme) are the `url-credentials` rule of
// generic.ts.
//
// These rules know the tool, not the provider: the credential goes to whatever host the
// command names, so they carry no destinations, and they are `generic` so that a
// provider rule on the same span (an ACR key after `docker login -p`, a Stripe key after
// `curl -u`) wins. The family is registered before generic.ts, so on the same span these
// rules win over `generic-password` (same severity, earlier in the pack).
//
// Placeholders are no finding: a value that starts with `$`, `<`, `{`, `(`, `*` or a
// backtick (`$PASSWORD`, `${VAR}`, `$(cat …)`, `<password>`, `***`) does not match, the
// engine drops templates and stand-ins (placeholders.ts), and the allowlist drops default
// passwords (`password`, `root`, `admin`, …). Example values are synthetic.
import type { RuleSpec } from '../types.js';
import { SGR, token, type TokenRule } from './build.js';
import { DEFAULT_PASSWORDS, STOPWORDS } from './generic.js';

/** A password as a shell word: no quotes, whitespace or shell operators; not a `$`/`<`/`{`/`(`/`*` reference. */
const PW = String.raw`[^\s"'\x60$<>{}()|;&\\*][^\s"'\x60|;&\\]{2,127}`;
/** What may follow a password on a command line. */
const PW_END = String.raw`(?:["'\x60\s;&|)]|$)`;
/** The rest of a command before a flag: same line, or continued with a backslash-newline. */
const ARGS = (n: number): string => String.raw`(?:[^\n\\]|\\[\s\S]){0,${n}}?`;
/** A token-shaped header value, and what may follow it. */
const HV = String.raw`[A-Za-z0-9._~+/=:-]{16,256}`;
const HV_END = String.raw`(?:[^A-Za-z0-9._~+/=:-]|$)`;
const PASSWORD_ALLOW: RuleSpec['allowlist'] = { regexes: [DEFAULT_PASSWORDS], stopwords: STOPWORDS };
/** HTTP authentication scheme names, which a scheme-less `Authorization:` value may start with. */
const AUTH_SCHEMES = String.raw`(?i)^(?:bearer|basic|digest|negotiate|ntlm|hoba|mutual|vapid|sharedaccesssignature|sharedkey(?:lite)?|aws4-hmac-sha256|privatetoken|dpop|gnap)$`;
/** A header word other than `api` (so `X-API-Key`, generic-api-key's, is not this family's). */
const NOT_API = String.raw`(?:[b-z][a-z0-9]{1,19}|a[a-oq-z0-9][a-z0-9]{0,18}|ap[a-hj-z0-9][a-z0-9]{0,17}|api[a-z0-9]{1,17}|[a-z])`;

/** A command-line rule: generic tier, no destinations, 2.5 bits of entropy unless told. */
function cmd(s: Omit<TokenRule, 'destinations'>): RuleSpec {
  return { ...token({ entropy: 2.5, allowlist: PASSWORD_ALLOW, ...s, destinations: [] }), generic: true };
}

export const rules: RuleSpec[] = [
  cmd({
    id: 'curl-user-password',
    title: 'Password in a curl -u / --user option',
    severity: 'high',
    keywords: ['curl'],
    left: String.raw`(?i:curl)${ARGS(300)}[ \t](?:-[uU][ \t]*|--(?:proxy-)?user(?:[ \t]+|=))["']?[^\s:"'@$]{1,64}:`,
    token: PW,
    right: PW_END,
    maxLength: 700,
    positive: [
      'curl -fsS -u deploy:Xk9#pQ2vLm7w https://nexus.acme-corp.net/repository/raw/app.tgz',
      '$ curl --user "ci-bot:h7:Gk2Lp9Qw@x" -X PUT -T dist.tgz https://artifacts.acme-corp.net/upload/',
      "curl -sSL -X POST \\\n  -u 'svc-upload:Rz8%vT2nQe4' \\\n  https://jenkins.acme-corp.net/job/deploy/build",
      '  512  curl -uadmin:Wq3rT7yU9iOp http://localhost:8081/service/rest/v1/status',
    ],
    negative: [
      'curl -u admin:password https://nexus.acme-corp.net/',
      'curl -u root:root http://localhost:15672/api/overview',
      'curl -u "admin:${ADMIN_PASSWORD}" https://nexus.acme-corp.net/',
      'curl -u admin:$PASSWORD https://nexus.acme-corp.net/',
      'curl -u ci:*** https://nexus.acme-corp.net/',
      'curl -u "$USER:$(cat /run/secrets/pw)" https://nexus.acme-corp.net/',
      'curl https://api.acme-corp.net -u token: -d amount=100',
      'curl -u admin https://nexus.acme-corp.net/',
    ],
  }),
  cmd({
    id: 'http-authorization-token',
    title: 'Credential in an Authorization header with a Token / Key scheme',
    severity: 'high',
    keywords: ['authorization'],
    // The scheme is optional (`Authorization: <token>`); Bearer and Basic are generic.ts's rules.
    left: String.raw`(?i:authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["']?)${SGR}(?:(?i:token|key|api-?key|api-?token|sso-key|ssws|geniekey|splunk)[ \t]+(?i:token=["']?)?)?`,
    token: HV,
    right: HV_END,
    entropy: 3,
    // Scheme names that are no credential themselves (`Authorization: SharedAccessSignature sr=…`).
    allowlist: { regexes: [AUTH_SCHEMES], stopwords: STOPWORDS },
    positive: [
      "curl -H 'Authorization: Token 9f8e7d6c5b4a39281706f5e4d3c2b1a0' https://api.acme-corp.net/v2/builds",
      'Authorization: token Zq7Yx2Wv9Ut4Sr6Qp1On8Ml3',
      '$ curl -sS --header "Authorization: Key Hk2Lm9Qz7Px4Nw8Rt3Vy6Bc1" https://push.acme-corp.net/send',
      'Authorization: Token token="a7Kd92LmQx04RtZp5YvW"',
      "curl -sS -H 'Authorization: Api-Token Lq83Jd92Kz71Mv40Pw5xRt6Y' https://monitoring.acme-corp.net/api/v2/events",
      'curl -H "Authorization: 7c4e9a1f3b8d2065e1c7f9a3" https://api.acme-corp.net/v1/jobs',
    ],
    negative: [
      'curl -H "Authorization: Token ${API_TOKEN}" https://api.acme-corp.net/',
      'Authorization: token ***',
      'Authorization: Token <your-token>',
      'Authorization: Bearer Zq7Yx2Wv9Ut4Sr6Qp1On8Ml3',
      'Authorization: token xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      'the Authorization: Token header carries the key',
      'Authorization: SharedAccessSignature sr=https%3A%2F%2Facme.servicebus.windows.net',
      'Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request',
    ],
  }),
  cmd({
    id: 'http-api-token-header',
    // `X-API-Key` and `Api-Key` themselves are generic-api-key's (generic.ts).
    title: 'Credential in an API-token HTTP header (Api-Token, X-Auth-Token, X-<Vendor>-Key, …)',
    severity: 'high',
    keywords: ['-token:', '-token":', "-token':", '-token :', '-key:', '-key":', "-key':", '-key :', 'x-api-secret'],
    left: String.raw`(?:^|[^A-Za-z0-9_-])(?i:(?:x-)?(?:api|auth|access)-token|x-token|x-api-secret|x-${NOT_API}-(?:api-?)?(?:key|token))["']?[ \t]{0,4}:[ \t]{0,4}["']?${SGR}`,
    token: HV,
    right: HV_END,
    entropy: 3,
    allowlist: { stopwords: STOPWORDS },
    positive: [
      'curl -H "Api-Token: a8Fk29Dkq0Lmz83KdPq1" https://monitoring.acme-corp.net/api/v1/events',
      "curl -s -H 'X-Auth-Token: 4f1c9e7a2b8d6053c1e9f7a2' https://cloud.acme-corp.net/v3/servers",
      'X-Access-Token: Lq83Jd92Kz71Mv40Pw5x',
      '$ curl --header "X-Figma-Token: 4f1c9e7a-2b8d6053c1e9f7a2d4b60c83" https://api.figma.com/v1/me',
      "curl -H 'X-Acme-Api-Key: Zq7Yx2Wv9Ut4Sr6Qp1On8Ml3' https://api.acme-corp.net/v2/items",
    ],
    negative: [
      'curl -H "Api-Token: $API_TOKEN" https://monitoring.acme-corp.net/',
      "curl -H 'X-Auth-Token: ***' https://cloud.acme-corp.net/",
      'X-Auth-Token: <token>',
      'api-token: short',
      'X-Request-Token: <token>',
    ],
  }),
  cmd({
    id: 'wget-password',
    title: 'Password in a wget --password option',
    severity: 'high',
    keywords: ['wget'],
    left: String.raw`(?i:wget)${ARGS(300)}[ \t]--(?:http-|ftp-|proxy-)?password(?:=|[ \t]+)["']?`,
    token: PW,
    right: PW_END,
    maxLength: 700,
    positive: [
      'wget --user=deploy --password=G7hk2Lmq9Pz https://artifacts.acme-corp.net/app.tgz',
      "$ wget -q --ftp-user=ci --ftp-password 'Mv4!rT8qLz' ftp://ftp.acme-corp.net/pub/build.zip",
    ],
    negative: [
      'wget --user=deploy --password=password https://artifacts.acme-corp.net/app.tgz',
      'wget --user=deploy --password="$WGET_PASSWORD" https://artifacts.acme-corp.net/app.tgz',
      'wget --ask-password https://artifacts.acme-corp.net/app.tgz',
    ],
  }),
  cmd({
    id: 'mysql-password-option',
    title: 'Password in a mysql -p / --password option',
    severity: 'high',
    keywords: ['mysql', 'mariadb'],
    left: String.raw`(?i:mysql[a-z]*|mariadb[a-z-]*)${ARGS(200)}[ \t](?:-p|--password=)["']?`,
    token: PW,
    right: PW_END,
    positive: [
      'mysql -h db.internal -u app -pK8s9Lm2Qx7 orders < schema.sql',
      "$ mysqldump -u backup -p'Tz6#wQ1eRy' --single-transaction shop > shop.sql",
      'mariadb --user=app --password=Vb7Nm2Kq9Lw4 -e "select 1"',
    ],
    negative: [
      'mysql -u root -p orders',
      'mysql -uroot -proot orders',
      'mysql -u app -p"$MYSQL_PASSWORD" orders',
      'mysql -u app -P 3306 -h db orders',
      'mysql -u app -ppassword orders',
    ],
  }),
  cmd({
    id: 'pgpassword-env',
    title: 'PostgreSQL / MySQL password environment variable (PGPASSWORD, MYSQL_PWD)',
    severity: 'high',
    keywords: ['PGPASSWORD', 'MYSQL_PWD'],
    left: String.raw`(?:^|[^A-Za-z0-9_])(?:PGPASSWORD|MYSQL_PWD)["']?[ \t]{0,4}[=:][ \t]{0,4}["']?${SGR}`,
    token: PW,
    right: PW_END,
    positive: [
      'PGPASSWORD=K8s9Lm2Qx7vA psql -h db.internal -U app -d orders -c "select 1"',
      "+ export PGPASSWORD='Qw8#eR4tY2u'",
      'MYSQL_PWD=Hn3Jk8Lp2Zx mysql -h db -u app',
    ],
    negative: ['PGPASSWORD=postgres psql -h localhost -U postgres', 'PGPASSWORD=$DB_PASSWORD psql -h db', 'PGPASSWORD="${{ secrets.PG_PASSWORD }}"'],
  }),
  cmd({
    id: 'sshpass-password',
    title: 'Password in an sshpass -p option',
    severity: 'high',
    keywords: ['sshpass'],
    left: String.raw`(?i:sshpass)[^\n]{0,40}?[ \t]-p[ \t]*["']?`,
    token: PW,
    right: PW_END,
    positive: [
      "sshpass -p 'Gh72kLm9Qz' ssh -o StrictHostKeyChecking=no deploy@10.0.4.12 ./restart.sh",
      '$ sshpass -pRt5Yu8Io2Pa scp build.tgz ci@bastion.acme-corp.net:/srv/',
    ],
    negative: ['sshpass -p "$SSH_PASSWORD" ssh deploy@host', 'sshpass -p password ssh deploy@host', 'sshpass -f ~/.sshpass ssh deploy@host'],
  }),
  cmd({
    id: 'registry-login-password',
    title: 'Password in a container registry login (docker/podman/helm registry login -p)',
    severity: 'high',
    keywords: ['docker login', 'podman login', 'buildah login', 'skopeo login', 'nerdctl login', 'oras login', 'crane auth login', 'helm registry login'],
    left: String.raw`(?i:(?:docker|podman|buildah|skopeo|nerdctl|oras|crane auth|helm registry)[ \t]+login)${ARGS(300)}[ \t](?:-p|--password)(?:=|[ \t]+)["']?`,
    token: PW,
    right: PW_END,
    maxLength: 700,
    positive: [
      'docker login -u ci -p Gh72kLm9Qzx8 registry.acme-corp.net',
      '$ podman login --username deploy --password=Yt6Re3Wq9Zx quay.acme-corp.net',
      'helm registry login registry.acme-corp.net -u ci -p Lk8Jh5Gf2Ds',
    ],
    negative: [
      'docker login -u ci -p *** ghcr.io',
      'docker login -u ci -p ${{ secrets.REGISTRY_PASSWORD }} ghcr.io',
      'echo "$CR_PAT" | docker login ghcr.io -u ci --password-stdin',
      'docker login -u ci -p password registry.acme-corp.net',
    ],
  }),
  cmd({
    id: 'helm-repo-password',
    title: 'Password in a helm repo add --password option',
    severity: 'high',
    keywords: ['helm repo add'],
    left: String.raw`(?i:helm[ \t]+repo[ \t]+add)${ARGS(300)}[ \t]--password(?:=|[ \t]+)["']?`,
    token: PW,
    right: PW_END,
    maxLength: 700,
    positive: [
      'helm repo add acme https://charts.acme-corp.net --username ci --password Hq4Wz8Lx2Vb',
      "$ helm repo add internal https://nexus.acme-corp.net/repository/helm/ --username=deploy --password='Pm3#Kd7Qs1'",
    ],
    negative: [
      'helm repo add acme https://charts.acme-corp.net --username ci --password "$HELM_PASSWORD"',
      'helm repo add acme https://charts.acme-corp.net --username ci --password-stdin',
    ],
  }),
  cmd({
    id: 'redis-cli-password',
    title: 'Password in a redis-cli -a option',
    severity: 'high',
    keywords: ['redis-cli'],
    left: String.raw`(?i:redis-cli)${ARGS(200)}[ \t](?:-a|--pass)[ \t]+["']?`,
    token: PW,
    right: PW_END,
    positive: ['redis-cli -h cache.internal -p 6380 -a Xk9pQ2vLm7Tr --tls ping', "$ redis-cli --pass 'Mv4!rT8qLz' -n 2 FLUSHDB"],
    negative: ['redis-cli -h cache.internal -a "$REDIS_PASSWORD" ping', 'redis-cli --askpass -h cache.internal ping', 'redis-cli -a redis ping'],
  }),
  cmd({
    id: 'sqlcmd-password',
    title: 'Password in a SQL Server sqlcmd / bcp -P option',
    severity: 'high',
    keywords: ['sqlcmd', 'bcp ', 'osql'],
    left: String.raw`(?i:sqlcmd|bcp|osql)${ARGS(300)}[ \t]-P[ \t]*["']?`,
    token: PW,
    right: PW_END,
    positive: ["sqlcmd -S db.internal,1433 -U sa -P 'Tz6#wQ1eRy' -Q \"SELECT 1\"", '/opt/mssql-tools18/bin/sqlcmd -C -S localhost -U app -P Hn3Jk8Lp2Zx -d orders -i seed.sql'],
    negative: ['sqlcmd -S localhost -U sa -P "$SA_PASSWORD" -Q "SELECT 1"', 'sqlcmd -S localhost -U sa -P password -Q "SELECT 1"'],
  }),
  cmd({
    id: 'ldap-bind-password',
    title: 'Bind password in an ldapsearch / ldapmodify -w option',
    severity: 'high',
    keywords: ['ldapsearch', 'ldapmodify', 'ldapadd', 'ldapdelete', 'ldappasswd', 'ldapwhoami'],
    left: String.raw`(?i:ldap(?:search|modify|add|delete|passwd|whoami|compare|modrdn))${ARGS(300)}[ \t]-w[ \t]*["']?`,
    token: PW,
    right: PW_END,
    positive: ['ldapsearch -x -H ldaps://ldap.acme-corp.net -D "cn=ci,ou=svc,dc=acme,dc=net" -w Qw8#eR4tY2u -b "dc=acme,dc=net" uid=jdoe'],
    negative: ['ldapsearch -x -H ldaps://ldap.acme-corp.net -D "cn=ci,dc=acme,dc=net" -W -b "dc=acme,dc=net"', 'ldapsearch -x -D cn=admin -w "$LDAP_PASSWORD" -b dc=acme'],
  }),
  cmd({
    id: 'java-keystore-password',
    title: 'Keystore or key password on a keytool / jarsigner / apksigner command line',
    severity: 'high',
    keywords: ['keytool', 'jarsigner', 'apksigner'],
    left: String.raw`(?i:keytool|jarsigner|apksigner)${ARGS(400)}[ \t]-(?:(?:src|dest|new)?(?:storepass|keypass)[ \t]+|-(?:ks|key)-pass[ \t=]+pass:)["']?`,
    token: PW,
    right: PW_END,
    allowlist: { regexes: [DEFAULT_PASSWORDS, '(?i)^android$'], stopwords: STOPWORDS },
    positive: [
      'keytool -importkeystore -srckeystore release.p12 -srcstoretype PKCS12 -srcstorepass Vb7Nm2Kq9Lw4 -destkeystore release.jks',
      'jarsigner -keystore release.jks -storepass Pm3#Kd7Qs1 -keypass Pm3#Kd7Qs1x app-release.apk upload',
      'apksigner sign --ks release.jks --ks-pass pass:Hq4Wz8Lx2Vb --out app-signed.apk app.apk',
    ],
    negative: [
      'keytool -list -keystore debug.keystore -storepass android',
      'keytool -list -keystore cacerts -storepass changeit',
      'jarsigner -keystore release.jks -storepass:env KEYSTORE_PASSWORD app.apk upload',
      'apksigner sign --ks release.jks --ks-pass env:KS_PASS app.apk',
    ],
  }),
  cmd({
    id: 'openssl-passphrase',
    title: 'Passphrase on an openssl command line (-pass pass:…, -k …)',
    severity: 'high',
    keywords: ['openssl'],
    left: String.raw`(?i:openssl)${ARGS(400)}[ \t]-(?:pass(?:in|out)?[ \t]+["']?pass:|k[ \t]+["']?)`,
    token: PW,
    right: PW_END,
    positive: [
      'openssl pkcs12 -export -in cert.pem -inkey key.pem -out bundle.p12 -passout pass:Rt5Yu8Io2Pa',
      'openssl enc -d -aes-256-cbc -pbkdf2 -in secrets.tar.enc -out secrets.tar -k Lq83Jd92Kz71Mv',
    ],
    negative: [
      'openssl pkcs12 -export -in cert.pem -out bundle.p12 -passout env:P12_PASSWORD',
      'openssl enc -d -aes-256-cbc -in secrets.tar.enc -out secrets.tar -k "$ENCRYPTION_KEY"',
      'openssl rsa -in key.pem -passin file:/run/secrets/pass',
    ],
  }),
];
