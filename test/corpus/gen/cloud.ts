import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64, BASE64URL, HEX } from '../rng.js';

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const UPPER_NUM = UPPER + '0123456789';
const BASE32 = UPPER + '234567';
const LOWER_BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

/** A synthetic PKCS#8 RSA key body: the standard DER header, then random base64. */
function fakePkcs8(rng: Rng): string {
  const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ' + rng.chars(BASE64, 1550) + '==';
  const lines: string[] = [];
  for (let i = 0; i < body.length; i += 64) lines.push(body.slice(i, i + 64));
  return `-----BEGIN PRIVATE KEY-----\\n${lines.join('\\n')}\\n-----END PRIVATE KEY-----\\n`;
}

/** One generator per rule id of detectors/rules/cloud.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'aws-access-key-id': (rng) => rng.pick(['AKIA', 'ASIA', 'ABIA', 'ACCA']) + rng.chars(BASE32, 16),
  'aws-secret-access-key': (rng) => rng.chars(ALPHA_NUM + '+/', 40),
  'aws-session-token': (rng) => rng.chars(BASE64, 200 + rng.int(400)),
  'aws-session-token-prefixed': (rng) =>
    rng.pick(['IQoJb3JpZ2luX2Vj', 'FwoGZXIvYXdzE']) + rng.chars(BASE64, 300 + rng.int(300)),
  'aws-mws-auth-token': (rng) => `amzn.mws.${uuid(rng)}`,
  'gcp-api-key': (rng) => 'AIza' + rng.chars(BASE64URL, 35),
  'gcp-service-account-json': (rng) => {
    const project = `ci-${rng.chars('abcdefghijklmnopqrstuvwxyz', 6)}-${100000 + rng.int(899999)}`;
    const account = `deployer-${rng.chars('abcdefghijklmnopqrstuvwxyz', 5)}`;
    return [
      '{',
      '  "type": "service_account",',
      `  "project_id": "${project}",`,
      `  "private_key_id": "${rng.chars(HEX, 40)}",`,
      `  "private_key": "${fakePkcs8(rng)}",`,
      `  "client_email": "${account}@${project}.iam.gserviceaccount.com",`,
      `  "client_id": "${1 + rng.int(9)}${rng.chars('0123456789', 20)}",`,
      '  "auth_uri": "https://accounts.google.com/o/oauth2/auth",',
      '  "token_uri": "https://oauth2.googleapis.com/token"',
      '}',
    ].join('\n');
  },
  'gcp-oauth-client-secret': (rng) => 'GOCSPX-' + rng.chars(BASE64URL, 28),
  'google-oauth-access-token': (rng) => 'ya29.' + rng.chars(BASE64URL, 150 + rng.int(80)),
  'google-oauth-refresh-token': (rng) => '1//0' + rng.pick(['3', '4', '6', '9', 'd', 'e', 'g']) + rng.chars(BASE64URL, 98),
  'firebase-cloud-messaging-server-key': (rng) => `AAAA${rng.chars(BASE64URL, 7)}:APA91b${rng.chars(BASE64URL, 134)}`,
  'azure-storage-account-key': (rng) => rng.chars(BASE64, 86) + '==',
  'azure-storage-key-assignment': (rng) => rng.chars(BASE64, 86) + '==',
  'azure-service-bus-shared-access-key': (rng) => rng.chars(BASE64, 43) + '=',
  'azure-ad-client-secret': (rng) =>
    rng.chars(ALPHA_NUM + '_~.', 3) + String(rng.int(10)) + 'Q~' + rng.chars(ALPHA_NUM + '_~.-', 34),
  'azure-sas-token': (rng) => {
    const day = `2026-0${1 + rng.int(9)}-${10 + rng.int(18)}`;
    const sig = rng.chars(ALPHA_NUM, 20) + '%2B' + rng.chars(ALPHA_NUM, 20) + '%3D';
    // az storage … generate-sas prints the expiry first: se=…&sp=…&sv=…&sr=…&sig=…
    if (rng.int(3) === 0) return `se=${day}T00%3A00%3A00Z&sp=${rng.pick(['r', 'rl'])}&sv=2022-11-02&sr=b&sig=${sig}`;
    return `sv=2022-11-02&ss=${rng.pick(['b', 'bfqt', 'f'])}&srt=sco&sp=${rng.pick(['rl', 'rwdlac', 'r'])}&se=${day}T00:00:00Z&st=${day}T00:00:00Z&spr=https&sig=${sig}`;
  },
  'azure-devops-pat': (rng) =>
    rng.chars(ALPHA_NUM, 52) + 'JQQJ99' + rng.chars(ALPHA_NUM, 18) + 'AZDO' + rng.chars(ALPHA_NUM, 4),
  'azure-devops-pat-legacy': (rng) => rng.chars(LOWER_BASE32, 52),
  'azure-container-registry-key': (rng) => rng.chars(ALPHA_NUM + '+/', 42) + '+ACR' + rng.chars(ALPHA_NUM, 6),
  'azure-function-key': (rng) => rng.chars(BASE64URL, 44) + 'AzFu' + rng.chars(BASE64URL, 5) + rng.pick(['A', 'Q', 'g', 'w']) + '==',
  'azure-search-admin-key': (rng) => rng.chars(ALPHA_NUM, 42) + 'AzSe' + rng.chars(ALPHA_NUM, 6),
  'azure-cache-redis-key': (rng) => rng.chars(ALPHA_NUM, 33) + 'AzCa' + rng.chars(ALPHA_NUM, 6) + '=',
  'alibaba-access-key-id': (rng) => 'LTAI' + rng.chars(ALPHA_NUM, 20),
  'alibaba-access-key-secret': (rng) => rng.chars(ALPHA_NUM, 30),
  'digitalocean-pat': (rng) => 'dop_v1_' + rng.chars(HEX, 64),
  'digitalocean-oauth-token': (rng) => 'doo_v1_' + rng.chars(HEX, 64),
  'digitalocean-refresh-token': (rng) => 'dor_v1_' + rng.chars(HEX, 64),
  'ibm-cloud-api-key': (rng) => rng.chars(BASE64URL, 44),
  'oracle-cloud-secret-key': (rng) => rng.chars(BASE64, 43) + '=',
  'heroku-api-key-v2': (rng) => 'HRKU-AA' + rng.chars(BASE64URL, 58),
  'heroku-api-key-legacy': (rng) => uuid(rng),
  'cloudflare-api-token': (rng) => rng.chars(BASE64URL, 40),
  'cloudflare-global-api-key': (rng) => rng.chars(HEX, 37),
  'cloudflare-origin-ca-key': (rng) => `v1.0-${rng.chars(HEX, 24)}-${rng.chars(HEX, 146)}`,
  'cloudflare-global-api-key-v2': (rng) => 'cfk_' + rng.chars(ALPHA_NUM, 48),
  'cloudflare-api-token-v2': (rng) => 'cfut_' + rng.chars(ALPHA_NUM, 48),
  'cloudflare-account-api-token': (rng) => 'cfat_' + rng.chars(ALPHA_NUM, 48),
  'flyio-access-token': (rng) => 'fo1_' + rng.chars(BASE64URL, 43),
  'flyio-macaroon': (rng) => rng.pick(['fm1r_', 'fm1a_', 'fm2_']) + rng.chars(BASE64, 200 + rng.int(200)) + '==',
  'linode-api-token': (rng) => rng.chars(HEX, 64),
  'vultr-api-key': (rng) => rng.chars(UPPER_NUM, 36),
  'scaleway-secret-key': (rng) => uuid(rng),
  'hetzner-cloud-token': (rng) => rng.chars(ALPHA_NUM, 64),
  'tencent-cloud-secret-id': (rng) => 'AKID' + rng.chars(ALPHA_NUM, 32),
  'tencent-cloud-secret-key': (rng) => rng.chars(ALPHA_NUM, 32),
  'yandex-cloud-api-key': (rng) => 'AQVN' + rng.chars(BASE64URL, 36),
  'yandex-cloud-access-key-id': (rng) => 'YCAJ' + rng.chars(BASE64URL, 21),
  'yandex-cloud-iam-token': (rng) => `t1.${rng.chars(BASE64URL, 120)}.${rng.chars(BASE64URL, 86)}`,
  'backblaze-b2-application-key': (rng) => 'K00' + String(rng.int(10)) + rng.chars(ALPHA_NUM + '+/', 27),
};

/** Variable names under which name-anchored values realistically appear. */
export const contextNames: Record<string, string[]> = {
  'aws-secret-access-key': ['AWS_SECRET_ACCESS_KEY', 'aws_secret_access_key', 'secretAccessKey', 'AWS_SECRET_KEY', 'SecretAccessKey'],
  'aws-session-token': ['AWS_SESSION_TOKEN', 'aws_session_token', 'AWS_SECURITY_TOKEN', 'X-Amz-Security-Token', 'sessionToken'],
  'azure-storage-account-key': ['AccountKey'],
  'azure-storage-key-assignment': ['AZURE_STORAGE_KEY', 'AZURE_STORAGE_ACCOUNT_KEY', 'storage_account_access_key', 'ARM_ACCESS_KEY'],
  'azure-devops-pat-legacy': ['AZURE_DEVOPS_EXT_PAT', 'AZURE_DEVOPS_PAT', 'AZDO_PERSONAL_ACCESS_TOKEN', 'SYSTEM_ACCESSTOKEN', 'VSTS_PAT'],
  'alibaba-access-key-secret': ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALICLOUD_SECRET_KEY', 'access_key_secret', 'accessKeySecret'],
  'ibm-cloud-api-key': ['IBMCLOUD_API_KEY', 'IBM_CLOUD_API_KEY', 'IC_API_KEY', 'ibmcloud_api_key'],
  'oracle-cloud-secret-key': ['OCI_SECRET_KEY', 'OCI_CUSTOMER_SECRET_KEY', 'oci_secret_access_key'],
  'heroku-api-key-legacy': ['HEROKU_API_KEY', 'heroku_api_key', 'HEROKU_AUTH_TOKEN'],
  'cloudflare-api-token': ['CLOUDFLARE_API_TOKEN', 'CF_API_TOKEN', 'cloudflare_api_token'],
  'cloudflare-global-api-key': ['CLOUDFLARE_API_KEY', 'CF_API_KEY', 'X-Auth-Key', 'CLOUDFLARE_GLOBAL_API_KEY'],
  'linode-api-token': ['LINODE_TOKEN', 'LINODE_CLI_TOKEN', 'linode_api_token'],
  'vultr-api-key': ['VULTR_API_KEY', 'vultr_api_key'],
  'scaleway-secret-key': ['SCW_SECRET_KEY', 'SCALEWAY_SECRET_KEY', 'scw_secret_key'],
  'hetzner-cloud-token': ['HCLOUD_TOKEN', 'HETZNER_API_TOKEN', 'hcloud_token'],
  'tencent-cloud-secret-key': ['TENCENTCLOUD_SECRET_KEY', 'TENCENT_SECRET_KEY', 'tencentcloud_secret_key'],
  'azure-service-bus-shared-access-key': ['SharedAccessKey'],
  'backblaze-b2-application-key': ['B2_APPLICATION_KEY', 'B2_APP_KEY', 'BACKBLAZE_APPLICATION_KEY'],
};
