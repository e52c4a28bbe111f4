// Cloud providers: AWS, Google Cloud, Azure, Alibaba, DigitalOcean, IBM, Oracle,
// Heroku, Cloudflare, Fly.io, Linode, Vultr, Scaleway, Hetzner, Tencent, Yandex, Backblaze.
// All example values are synthetic (random), never real credentials.
import type { RuleSpec } from '../types.js';

/** Left boundary: start of window or a character that cannot continue a token. */
const B = String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_])`;
/** Right boundary for `[A-Za-z0-9_]` tokens. */
const E = String.raw`(?:[^A-Za-z0-9_]|$)`;
/** Right boundary for tokens that may contain `-`. */
const ED = String.raw`(?:[^A-Za-z0-9_-]|$)`;
/** Right boundary for base64 values. */
const E64 = String.raw`(?:[^A-Za-z0-9+/=]|$)`;
/** An assignment between a name and its value: `=`, `:`, `:=`, `=>`, quotes, or a flag's space. */
/** An ANSI colour sequence (coloured CI logs put one between a name and its value). */
const SGR = String.raw`(?:\x1b\[[0-9;]{0,12}m)?`;
const ASSIGN = String.raw`["']?\s{0,4}(?:=>|:=|[=:]|\s)\s{0,4}["'\x60]?${SGR}`;
/** Characters that may follow a provider name before the assignment (`_API_KEY`, `.token`). */
const TAIL = String.raw`[\w.-]{0,30}?`;
const UUID = String.raw`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`;

/** More than 1600 base64 characters (exact counts, anchored: one RE2 thread). */
const B64_OVER_1600 = String.raw`[A-Za-z0-9/+]{1000}[A-Za-z0-9/+]{601}`;

const AWS = ['*.amazonaws.com', '*.amazonaws.com.cn', '*.aws', 'amazonaws.com'];
const GOOGLE = ['*.googleapis.com', 'googleapis.com', 'accounts.google.com', 'oauth2.googleapis.com'];
const AZURE_LOGIN = ['login.microsoftonline.com', '*.microsoftonline.com', 'management.azure.com', 'graph.microsoft.com'];
const AZURE_STORAGE = ['*.core.windows.net', '*.blob.core.windows.net', '*.queue.core.windows.net', '*.table.core.windows.net', '*.file.core.windows.net', '*.dfs.core.windows.net'];
const ALIBABA = ['*.aliyuncs.com', '*.aliyun.com', '*.alibabacloud.com'];
const DIGITALOCEAN = ['api.digitalocean.com', 'cloud.digitalocean.com', '*.digitaloceanspaces.com'];
const CLOUDFLARE = ['api.cloudflare.com', '*.cloudflare.com'];
const FLY = ['api.fly.io', 'api.machines.dev', 'registry.fly.io', '*.fly.io'];

export const rules: RuleSpec[] = [
  // ---------------------------------------------------------------- AWS
  {
    id: 'aws-access-key-id',
    title: 'AWS access key ID',
    severity: 'high',
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9/+])((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?:[^A-Za-z0-9/+=]|$)`,
    secretGroup: 1,
    keywords: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
    validator: 'aws-key-id',
    entropy: 3,
    destinations: AWS,
    examples: {
      positive: [
        'AWS_ACCESS_KEY_ID=@@aws-access-key-id@@',
        'aws_access_key_id = @@aws-access-key-id@@',
        '{"AccessKeyId": "@@aws-access-key-id@@", "Expiration": "2026-01-01T00:00:00Z"}',
      ],
      negative: [
        'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE',
        'id=XAKIA@@aws-access-key-id|t@@',
        'AWS_ACCESS_KEY_ID=@@aws-access-key-id|lc@@',
        'key: AKIA0123456789ABCDEF',
      ],
    },
  },
  {
    id: 'aws-secret-access-key',
    title: 'AWS secret access key',
    severity: 'critical',
    regex: String.raw`(?i:aws_?secret_?(?:access_?)?key|aws-secret-(?:access-)?key|secret_?access_?key|secret-access-key)${TAIL}${ASSIGN}([A-Za-z0-9/+]{40})${E64}`,
    secretGroup: 1,
    keywords: ['secret_access_key', 'secretaccesskey', 'secret-access-key', 'aws_secret', 'awssecret', 'aws-secret'],
    entropy: 3.5,
    destinations: AWS,
    examples: {
      positive: [
        'AWS_SECRET_ACCESS_KEY=@@aws-secret-access-key@@',
        '[default]\naws_access_key_id = @@aws-access-key-id@@\naws_secret_access_key = @@aws-secret-access-key@@',
        '{"AccessKeyId": "@@aws-access-key-id@@", "SecretAccessKey": "@@aws-secret-access-key@@"}',
      ],
      negative: [
        'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        'aws_secret_access_key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}',
        'AWS_SECRET_ACCESS_KEY=@@aws-secret-access-key|t@@',
        'commit_sha=@@aws-secret-access-key@@',
      ],
    },
  },
  {
    id: 'aws-session-token-prefixed',
    title: 'AWS session token (STS)',
    severity: 'high',
    // 200 to 1600 base64 characters after the prefix. A bounded `{200,1000}{0,600}` costs
    // RE2 ~15 ms per match (hundreds of live NFA threads while it finds the capture), so
    // the regex takes the whole run with `*` and the allowlist drops runs over 1600.
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9/+])((?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE)[A-Za-z0-9/+]{200}[A-Za-z0-9/+]*={0,2})${E64}`,
    secretGroup: 1,
    keywords: ['IQoJb3JpZ2luX2Vj', 'FwoGZXIvYXdzE'],
    entropy: 4,
    allowlist: { regexes: [String.raw`^(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE)${B64_OVER_1600}`] },
    maxLength: 1700,
    destinations: AWS,
    examples: {
      positive: ['token: @@aws-session-token-prefixed@@', 'credentials.sessionToken="@@aws-session-token-prefixed@@"'],
      negative: ['IQoJb3JpZ2luX2VjEXAMPLE', 'data=xIQoJb3JpZ2luX2Vj@@aws-session-token-prefixed@@'],
    },
  },
  {
    id: 'aws-session-token',
    title: 'AWS session token',
    severity: 'high',
    // 100 to 1600 base64 characters: the whole run with `*`, runs over 1600 dropped by the
    // allowlist (see aws-session-token-prefixed).
    regex: String.raw`(?i:aws_?session_?token|aws_?security_?token|x-amz-security-token|sessiontoken|session_token)${TAIL}${ASSIGN}([A-Za-z0-9/+]{100}[A-Za-z0-9/+]*={0,2})${E64}`,
    secretGroup: 1,
    keywords: ['session_token', 'sessiontoken', 'security_token', 'security-token'],
    entropy: 4,
    allowlist: { regexes: [String.raw`^${B64_OVER_1600}`] },
    maxLength: 1700,
    destinations: AWS,
    examples: {
      positive: [
        'AWS_SESSION_TOKEN=@@aws-session-token@@',
        '"SessionToken": "@@aws-session-token@@"',
        'X-Amz-Security-Token: @@aws-session-token@@',
      ],
      negative: ['AWS_SESSION_TOKEN=${AWS_SESSION_TOKEN}', 'aws_session_token = short0123456789abcdef'],
    },
  },
  {
    id: 'aws-mws-auth-token',
    title: 'Amazon Marketplace Web Service auth token',
    severity: 'high',
    regex: String.raw`${B}(amzn\.mws\.${UUID})${ED}`,
    secretGroup: 1,
    keywords: ['amzn.mws.'],
    entropy: 3,
    destinations: ['mws.amazonservices.com', '*.amazonservices.com', '*.amazonservices.co.uk', '*.amazonservices.jp'],
    examples: {
      positive: ['MWS_AUTH_TOKEN=@@aws-mws-auth-token@@', '"mwsAuthToken": "@@aws-mws-auth-token@@"'],
      negative: ['MWS_AUTH_TOKEN=amzn.mws.00000000-0000-0000-0000-000000000000', 'amzn.mws.not-a-uuid-value'],
    },
  },
  // ---------------------------------------------------------------- Google Cloud
  {
    id: 'gcp-api-key',
    title: 'Google Cloud API key',
    severity: 'medium',
    regex: String.raw`${B}(AIza[0-9A-Za-z_-]{35})${ED}`,
    secretGroup: 1,
    keywords: ['AIza'],
    entropy: 3.5,
    destinations: GOOGLE,
    examples: {
      positive: ['GOOGLE_API_KEY=@@gcp-api-key@@', 'curl "https://maps.googleapis.com/maps/api/geocode/json?key=@@gcp-api-key@@"'],
      negative: ['GOOGLE_API_KEY=@@gcp-api-key|t@@', 'key=@@gcp-api-key|x@@Z'],
    },
  },
  {
    id: 'gcp-service-account-json',
    title: 'Google Cloud service-account key (JSON)',
    severity: 'critical',
    regex: String.raw`\{[^{}]{0,1000}[^{}]{0,1000}"type"\s{0,4}:\s{0,4}"service_account"[^{}]{0,1000}[^{}]{0,1000}[^{}]{0,1000}[^{}]{0,1000}[^{}]{0,1000}[^{}]{0,1000}\}`,
    keywords: ['service_account'],
    validator: 'json-service-account',
    maxLength: 8192,
    destinations: GOOGLE,
    examples: {
      positive: ['GOOGLE_CREDENTIALS=\'@@gcp-service-account-json@@\'', '@@gcp-service-account-json@@'],
      negative: [
        '{"type": "service_account", "project_id": "demo", "client_email": "ci@demo.iam.gserviceaccount.com"}',
        '{"type": "authorized_user", "client_id": "abc", "client_secret": "def", "refresh_token": "ghi"}',
      ],
    },
  },
  {
    id: 'gcp-oauth-client-secret',
    title: 'Google OAuth client secret',
    severity: 'high',
    regex: String.raw`${B}(GOCSPX-[A-Za-z0-9_-]{28})${ED}`,
    secretGroup: 1,
    keywords: ['GOCSPX-'],
    entropy: 3.5,
    destinations: GOOGLE,
    examples: {
      positive: ['GOOGLE_CLIENT_SECRET=@@gcp-oauth-client-secret@@', '{"installed": {"client_secret": "@@gcp-oauth-client-secret@@"}}'],
      negative: ['GOOGLE_CLIENT_SECRET=@@gcp-oauth-client-secret|t@@', 'GOCSPX-<your-client-secret>'],
    },
  },
  {
    id: 'google-oauth-access-token',
    title: 'Google OAuth access token',
    severity: 'high',
    regex: String.raw`${B}(ya29\.[0-9A-Za-z_-]{50,1000}[0-9A-Za-z_-]{0,1000})${ED}`,
    secretGroup: 1,
    keywords: ['ya29.'],
    entropy: 4,
    maxLength: 2100,
    destinations: GOOGLE,
    examples: {
      positive: ['Authorization: Bearer @@google-oauth-access-token@@', '{"access_token": "@@google-oauth-access-token@@", "expires_in": 3599}'],
      negative: ['Authorization: Bearer ya29.short', 'token=ya29.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'],
    },
  },
  {
    id: 'google-oauth-refresh-token',
    title: 'Google OAuth refresh token',
    severity: 'high',
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_/-])(1//0[0-9A-Za-z_-]{40,400})${ED}`,
    secretGroup: 1,
    keywords: ['1//0'],
    entropy: 4,
    destinations: GOOGLE,
    examples: {
      positive: ['{"refresh_token": "@@google-oauth-refresh-token@@", "token_type": "Bearer"}', 'GOOGLE_REFRESH_TOKEN=@@google-oauth-refresh-token@@'],
      negative: ['url=http://host:1//0/path', 'refresh_token=1//0abc'],
    },
  },
  {
    id: 'firebase-cloud-messaging-server-key',
    title: 'Firebase Cloud Messaging server key',
    severity: 'high',
    regex: String.raw`${B}(AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134})${ED}`,
    secretGroup: 1,
    keywords: [':APA91b'],
    entropy: 4,
    destinations: ['fcm.googleapis.com', '*.googleapis.com'],
    examples: {
      positive: ['Authorization: key=@@firebase-cloud-messaging-server-key@@', 'FCM_SERVER_KEY="@@firebase-cloud-messaging-server-key@@"'],
      negative: ['FCM_SERVER_KEY=AAAAabc:APA91bshort'],
    },
  },
  // ---------------------------------------------------------------- Azure
  {
    id: 'azure-storage-account-key',
    title: 'Azure storage account key (connection string)',
    severity: 'critical',
    regex: String.raw`(?i:AccountKey)${ASSIGN}([A-Za-z0-9+/]{86}==)${E64}`,
    secretGroup: 1,
    keywords: ['AccountKey'],
    entropy: 4,
    destinations: AZURE_STORAGE,
    examples: {
      positive: [
        'AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=cistore01;AccountKey=@@azure-storage-account-key@@;EndpointSuffix=core.windows.net"',
        'AccountKey=@@azure-storage-account-key@@',
      ],
      negative: [
        'DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=${STORAGE_KEY}',
        'AccountKey=@@azure-storage-account-key|t@@',
        '"integrity": "sha512-@@azure-storage-account-key@@"',
      ],
    },
  },
  {
    id: 'azure-storage-key-assignment',
    title: 'Azure storage account key (variable)',
    severity: 'critical',
    regex: String.raw`(?i:azure_?storage_?(?:account_?)?(?:access_?)?key|storage_?account_?(?:access_?)?key|arm_access_key|primary_?access_?key|secondary_?access_?key)${TAIL}${ASSIGN}([A-Za-z0-9+/]{86}==)${E64}`,
    secretGroup: 1,
    keywords: ['storage_key', 'storagekey', 'storage_account', 'storageaccount', 'arm_access_key', 'access_key', 'accesskey'],
    entropy: 4,
    destinations: AZURE_STORAGE,
    examples: {
      positive: ['AZURE_STORAGE_KEY=@@azure-storage-key-assignment@@', 'storage_account_access_key = "@@azure-storage-key-assignment@@"'],
      negative: ['AZURE_STORAGE_KEY=$(az storage account keys list -o tsv)', 'AZURE_STORAGE_KEY=@@azure-storage-key-assignment|t@@'],
    },
  },
  {
    id: 'azure-service-bus-shared-access-key',
    title: 'Azure Service Bus / Event Hubs shared access key',
    severity: 'high',
    regex: String.raw`(?i:SharedAccessKey)${ASSIGN}([A-Za-z0-9+/]{43}=)${E64}`,
    secretGroup: 1,
    keywords: ['SharedAccessKey'],
    entropy: 3.5,
    destinations: ['*.servicebus.windows.net', '*.azure-devices.net'],
    examples: {
      positive: ['SERVICEBUS_CONNECTION="Endpoint=sb://ci-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=@@azure-service-bus-shared-access-key@@"'],
      negative: ['Endpoint=sb://ci-bus.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=<key>', 'SharedAccessKey=@@azure-service-bus-shared-access-key|t@@'],
    },
  },
  {
    id: 'azure-ad-client-secret',
    title: 'Azure AD (Entra ID) client secret',
    severity: 'high',
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)`,
    secretGroup: 1,
    keywords: ['Q~'],
    entropy: 3.5,
    destinations: AZURE_LOGIN,
    examples: {
      positive: ['AZURE_CLIENT_SECRET=@@azure-ad-client-secret@@', '"clientSecret": "@@azure-ad-client-secret@@"', 'az login --service-principal -u app -p @@azure-ad-client-secret@@ --tenant t'],
      negative: ['client_secret=bP88Q~xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', '~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~', 'AZURE_CLIENT_SECRET=abcQ~tooShortValue'],
    },
  },
  {
    id: 'azure-sas-token',
    title: 'Azure shared access signature (SAS) token',
    severity: 'high',
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_])(sv=20[0-9]{2}-[0-9]{2}-[0-9]{2}&(?:[a-z]{2,5}=[^&\s"'<>]{0,100}&){0,9}sig=[A-Za-z0-9%+/]{30,100}(?:%3[Dd]|=)?)`,
    secretGroup: 1,
    keywords: ['sv=20'],
    entropy: 3.5,
    maxLength: 1100,
    destinations: AZURE_STORAGE,
    examples: {
      positive: ['https://cistore01.blob.core.windows.net/artifacts/build.zip?@@azure-sas-token@@', 'AZURE_SAS_TOKEN="@@azure-sas-token@@"'],
      negative: ['https://cistore01.blob.core.windows.net/artifacts/build.zip?sv=2022-11-02&sp=r&sig=', 'sv=2022-11-02&sr=b'],
    },
  },
  {
    id: 'azure-devops-pat',
    title: 'Azure DevOps personal access token',
    severity: 'high',
    regex: String.raw`${B}([A-Za-z0-9]{52}JQQJ9[9D][A-Za-z0-9]{18}AZDO[A-Za-z0-9]{4})${E}`,
    secretGroup: 1,
    keywords: ['AZDO'],
    entropy: 4,
    destinations: ['dev.azure.com', '*.dev.azure.com', '*.visualstudio.com', 'vssps.dev.azure.com'],
    examples: {
      positive: ['AZURE_DEVOPS_EXT_PAT=@@azure-devops-pat@@', 'git clone https://pat:@@azure-devops-pat@@@dev.azure.com/org/project/_git/repo'],
      negative: ['AZURE_DEVOPS_EXT_PAT=@@azure-devops-pat|t@@', 'token=@@azure-devops-pat@@x'],
    },
  },
  {
    id: 'azure-devops-pat-legacy',
    title: 'Azure DevOps personal access token (legacy, named)',
    severity: 'high',
    regex: String.raw`(?i:azure_?devops|azure-devops|azdo|vsts|ado_(?:pat|token)|system_accesstoken)${TAIL}${ASSIGN}([a-z2-7]{52})${E}`,
    secretGroup: 1,
    keywords: ['devops', 'azdo', 'vsts', 'ado_pat', 'ado_token', 'system_accesstoken'],
    entropy: 3.5,
    destinations: ['dev.azure.com', '*.dev.azure.com', '*.visualstudio.com', 'vssps.dev.azure.com'],
    examples: {
      positive: ['AZURE_DEVOPS_EXT_PAT=@@azure-devops-pat-legacy@@', 'SYSTEM_ACCESSTOKEN: @@azure-devops-pat-legacy@@'],
      negative: ['AZURE_DEVOPS_EXT_PAT=$(System.AccessToken)', 'AZURE_DEVOPS_PAT=@@azure-devops-pat-legacy|t@@'],
    },
  },
  {
    id: 'azure-container-registry-key',
    title: 'Azure Container Registry access key',
    severity: 'high',
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9+/])([A-Za-z0-9+/]{42}\+ACR[A-Za-z0-9]{6})${E64}`,
    secretGroup: 1,
    keywords: ['+ACR'],
    entropy: 4,
    destinations: ['*.azurecr.io', '*.azurecr.cn'],
    examples: {
      positive: ['docker login ciregistry.azurecr.io -u ciregistry -p @@azure-container-registry-key@@', 'ACR_PASSWORD=@@azure-container-registry-key@@'],
      negative: ['ACR_PASSWORD=@@azure-container-registry-key|t@@'],
    },
  },
  {
    id: 'azure-function-key',
    title: 'Azure Functions access key',
    severity: 'high',
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_-])([A-Za-z0-9_-]{44}AzFu[A-Za-z0-9_-]{5}[AQgw]==)(?:[^A-Za-z0-9_=-]|$)`,
    secretGroup: 1,
    keywords: ['AzFu'],
    entropy: 4,
    destinations: ['*.azurewebsites.net'],
    examples: {
      positive: ['x-functions-key: @@azure-function-key@@', 'https://ci-func.azurewebsites.net/api/deploy?code=@@azure-function-key@@'],
      negative: ['x-functions-key: @@azure-function-key|t@@'],
    },
  },
  {
    id: 'azure-search-admin-key',
    title: 'Azure AI Search admin key',
    severity: 'high',
    regex: String.raw`${B}([A-Za-z0-9]{42}AzSe[A-Za-z0-9]{6})${E}`,
    secretGroup: 1,
    keywords: ['AzSe'],
    entropy: 4,
    destinations: ['*.search.windows.net'],
    examples: {
      positive: ['api-key: @@azure-search-admin-key@@', 'AZURE_SEARCH_ADMIN_KEY=@@azure-search-admin-key@@'],
      negative: ['AZURE_SEARCH_ADMIN_KEY=@@azure-search-admin-key@@9'],
    },
  },
  {
    id: 'azure-cache-redis-key',
    title: 'Azure Cache for Redis access key',
    severity: 'high',
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9+/])([A-Za-z0-9]{33}AzCa[A-Za-z0-9]{6}=)${E64}`,
    secretGroup: 1,
    keywords: ['AzCa'],
    entropy: 4,
    destinations: ['*.redis.cache.windows.net', '*.redis.azure.net'],
    examples: {
      positive: ['REDIS_URL=rediss://:@@azure-cache-redis-key@@@ci-cache.redis.cache.windows.net:6380', 'ci-cache.redis.cache.windows.net:6380,password=@@azure-cache-redis-key@@,ssl=True'],
      negative: ['password=@@azure-cache-redis-key|t@@,ssl=True'],
    },
  },
  // ---------------------------------------------------------------- Alibaba Cloud
  {
    id: 'alibaba-access-key-id',
    title: 'Alibaba Cloud AccessKey ID',
    severity: 'medium',
    regex: String.raw`${B}(LTAI[A-Za-z0-9]{12,20})${E}`,
    secretGroup: 1,
    keywords: ['LTAI'],
    entropy: 3,
    destinations: ALIBABA,
    examples: {
      positive: ['ALIBABA_CLOUD_ACCESS_KEY_ID=@@alibaba-access-key-id@@', 'access_key_id: "@@alibaba-access-key-id@@"'],
      negative: ['ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIxxxxxxxxxxxxxxxx', 'name=DELTAI@@alibaba-access-key-id@@'],
    },
  },
  {
    id: 'alibaba-access-key-secret',
    title: 'Alibaba Cloud AccessKey secret',
    severity: 'critical',
    regex: String.raw`(?i:ali(?:baba|yun|cloud)[\w.-]{0,30}?secret|access_?key_?secret|accesskeysecret)${TAIL}${ASSIGN}([A-Za-z0-9]{30})${E}`,
    secretGroup: 1,
    keywords: ['alibaba', 'aliyun', 'alicloud', 'access_key_secret', 'accesskeysecret', 'accesskey_secret'],
    entropy: 3.5,
    destinations: ALIBABA,
    examples: {
      positive: ['ALIBABA_CLOUD_ACCESS_KEY_SECRET=@@alibaba-access-key-secret@@', 'accessKeySecret: "@@alibaba-access-key-secret@@"'],
      negative: ['ALIBABA_CLOUD_ACCESS_KEY_SECRET=${{ secrets.ALIYUN_SECRET }}', 'access_key_secret = @@alibaba-access-key-secret|t@@'],
    },
  },
  // ---------------------------------------------------------------- DigitalOcean
  {
    id: 'digitalocean-pat',
    title: 'DigitalOcean personal access token',
    severity: 'critical',
    regex: String.raw`${B}(dop_v1_[a-f0-9]{64})${E}`,
    secretGroup: 1,
    keywords: ['dop_v1_'],
    entropy: 3,
    destinations: DIGITALOCEAN,
    examples: {
      positive: ['DIGITALOCEAN_ACCESS_TOKEN=@@digitalocean-pat@@', 'doctl auth init -t @@digitalocean-pat@@'],
      negative: ['DIGITALOCEAN_ACCESS_TOKEN=@@digitalocean-pat|t@@', 'DIGITALOCEAN_ACCESS_TOKEN=dop_v1_<token>'],
    },
  },
  {
    id: 'digitalocean-oauth-token',
    title: 'DigitalOcean OAuth access token',
    severity: 'high',
    regex: String.raw`${B}(doo_v1_[a-f0-9]{64})${E}`,
    secretGroup: 1,
    keywords: ['doo_v1_'],
    entropy: 3,
    destinations: DIGITALOCEAN,
    examples: {
      positive: ['Authorization: Bearer @@digitalocean-oauth-token@@'],
      negative: ['Authorization: Bearer @@digitalocean-oauth-token|uc@@'],
    },
  },
  {
    id: 'digitalocean-refresh-token',
    title: 'DigitalOcean OAuth refresh token',
    severity: 'high',
    regex: String.raw`${B}(dor_v1_[a-f0-9]{64})${E}`,
    secretGroup: 1,
    keywords: ['dor_v1_'],
    entropy: 3,
    destinations: DIGITALOCEAN,
    examples: {
      positive: ['{"refresh_token": "@@digitalocean-refresh-token@@"}'],
      negative: ['{"refresh_token": "@@digitalocean-refresh-token|t@@"}'],
    },
  },
  // ---------------------------------------------------------------- IBM, Oracle
  {
    id: 'ibm-cloud-api-key',
    title: 'IBM Cloud API key',
    severity: 'critical',
    regex: String.raw`(?i:ibm_?cloud|ibm-cloud|ibmcloud|ibm_api|ic_api_key)${TAIL}${ASSIGN}([A-Za-z0-9_-]{44})${ED}`,
    secretGroup: 1,
    keywords: ['ibmcloud', 'ibm_cloud', 'ibm-cloud', 'ibm_api', 'ic_api_key'],
    entropy: 3.5,
    destinations: ['iam.cloud.ibm.com', '*.cloud.ibm.com', '*.bluemix.net'],
    examples: {
      positive: ['IBMCLOUD_API_KEY=@@ibm-cloud-api-key@@', 'ibm_cloud_api_key = "@@ibm-cloud-api-key@@"'],
      negative: ['IBMCLOUD_API_KEY=@@ibm-cloud-api-key|t@@', 'IBMCLOUD_API_KEY=${IBM_KEY}'],
    },
  },
  {
    id: 'oracle-cloud-secret-key',
    title: 'Oracle Cloud (OCI) customer secret key',
    severity: 'critical',
    regex: String.raw`(?i:oci_?(?:cli_?)?(?:customer_?)?secret_?(?:access_?)?key|oracle_?cloud_?secret)${TAIL}${ASSIGN}([A-Za-z0-9+/]{43}=)${E64}`,
    secretGroup: 1,
    keywords: ['oci_secret', 'oci_customer', 'oci_cli_secret', 'ocisecret', 'oracle_cloud', 'oraclecloud'],
    entropy: 3.5,
    destinations: ['*.oraclecloud.com', '*.oci.customer-oci.com'],
    examples: {
      positive: ['OCI_SECRET_KEY=@@oracle-cloud-secret-key@@', 'oci_customer_secret_key: "@@oracle-cloud-secret-key@@"'],
      negative: ['OCI_SECRET_KEY=@@oracle-cloud-secret-key|t@@'],
    },
  },
  // ---------------------------------------------------------------- Heroku
  {
    id: 'heroku-api-key-v2',
    title: 'Heroku API key',
    severity: 'high',
    regex: String.raw`${B}(HRKU-AA[A-Za-z0-9_-]{58})${ED}`,
    secretGroup: 1,
    keywords: ['HRKU-'],
    entropy: 3.5,
    destinations: ['api.heroku.com', 'git.heroku.com', '*.heroku.com'],
    examples: {
      positive: ['HEROKU_API_KEY=@@heroku-api-key-v2@@', 'Authorization: Bearer @@heroku-api-key-v2@@'],
      negative: ['HEROKU_API_KEY=@@heroku-api-key-v2|t@@'],
    },
  },
  {
    id: 'heroku-api-key-legacy',
    title: 'Heroku API key (legacy UUID, named)',
    severity: 'high',
    regex: String.raw`(?i:heroku)${TAIL}(?i:key|token|secret|password)[\w.-]{0,10}${ASSIGN}(${UUID})${ED}`,
    secretGroup: 1,
    keywords: ['heroku'],
    entropy: 3,
    destinations: ['api.heroku.com', 'git.heroku.com', '*.heroku.com'],
    examples: {
      positive: ['HEROKU_API_KEY=@@heroku-api-key-legacy@@', 'heroku_api_key: "@@heroku-api-key-legacy@@"'],
      negative: ['HEROKU_APP_ID=@@heroku-api-key-legacy@@', 'HEROKU_API_KEY=00000000-0000-0000-0000-000000000000'],
    },
  },
  // ---------------------------------------------------------------- Cloudflare
  {
    id: 'cloudflare-api-token',
    title: 'Cloudflare API token (named)',
    severity: 'high',
    regex: String.raw`(?i:cloudflare|cf_api_token|cf_token)${TAIL}${ASSIGN}([A-Za-z0-9_-]{40})${ED}`,
    secretGroup: 1,
    keywords: ['cloudflare', 'cf_api_token', 'cf_token'],
    entropy: 3.5,
    destinations: CLOUDFLARE,
    examples: {
      positive: ['CLOUDFLARE_API_TOKEN=@@cloudflare-api-token@@', 'cloudflare_api_token: "@@cloudflare-api-token@@"'],
      negative: ['CLOUDFLARE_API_TOKEN=${{ secrets.CLOUDFLARE_API_TOKEN }}', 'CLOUDFLARE_ZONE_ID=@@cloudflare-api-token|t@@'],
    },
  },
  {
    id: 'cloudflare-global-api-key',
    title: 'Cloudflare global API key (named)',
    severity: 'critical',
    regex: String.raw`(?i:cloudflare|cf_api_key|cf_key|x-auth-key)${TAIL}${ASSIGN}([a-f0-9]{37})${E}`,
    secretGroup: 1,
    keywords: ['cloudflare', 'cf_api_key', 'cf_key', 'x-auth-key'],
    entropy: 3,
    destinations: CLOUDFLARE,
    examples: {
      positive: ['CLOUDFLARE_API_KEY=@@cloudflare-global-api-key@@', 'X-Auth-Key: @@cloudflare-global-api-key@@'],
      negative: ['CLOUDFLARE_API_KEY=@@cloudflare-global-api-key|t@@', 'X-Auth-Key: @@cloudflare-global-api-key@@0'],
    },
  },
  {
    id: 'cloudflare-origin-ca-key',
    title: 'Cloudflare Origin CA key',
    severity: 'high',
    regex: String.raw`${B}(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})${E}`,
    secretGroup: 1,
    keywords: ['v1.0-'],
    entropy: 3,
    destinations: CLOUDFLARE,
    examples: {
      positive: ['CLOUDFLARE_ORIGIN_CA_KEY=@@cloudflare-origin-ca-key@@', 'X-Auth-User-Service-Key: @@cloudflare-origin-ca-key@@'],
      negative: ['version: v1.0-beta', 'X-Auth-User-Service-Key: @@cloudflare-origin-ca-key|t@@'],
    },
  },
  {
    id: 'cloudflare-global-api-key-v2',
    title: 'Cloudflare global API key (cfk_)',
    severity: 'critical',
    regex: String.raw`${B}(cfk_[A-Za-z0-9]{44,50})${E}`,
    secretGroup: 1,
    keywords: ['cfk_'],
    validator: 'cloudflare-crc32',
    entropy: 3.5,
    destinations: CLOUDFLARE,
    examples: {
      positive: ['CLOUDFLARE_API_KEY=@@cloudflare-global-api-key-v2@@', 'X-Auth-Key: @@cloudflare-global-api-key-v2@@'],
      negative: ['CLOUDFLARE_API_KEY=cfk_0123456789abcdefABCDEF', 'CLOUDFLARE_API_KEY=@@cloudflare-global-api-key-v2@@0123456789ab'],
    },
  },
  {
    id: 'cloudflare-api-token-v2',
    title: 'Cloudflare user API token (cfut_)',
    severity: 'high',
    regex: String.raw`${B}(cfut_[A-Za-z0-9]{44,50})${E}`,
    secretGroup: 1,
    keywords: ['cfut_'],
    validator: 'cloudflare-crc32',
    entropy: 3.5,
    destinations: CLOUDFLARE,
    examples: {
      positive: ['CLOUDFLARE_API_TOKEN=@@cloudflare-api-token-v2@@', 'Authorization: Bearer @@cloudflare-api-token-v2@@'],
      negative: ['CLOUDFLARE_API_TOKEN=cfut_tooShort0123456789'],
    },
  },
  {
    id: 'cloudflare-account-api-token',
    title: 'Cloudflare account API token (cfat_)',
    severity: 'high',
    regex: String.raw`${B}(cfat_[A-Za-z0-9]{44,50})${E}`,
    secretGroup: 1,
    keywords: ['cfat_'],
    validator: 'cloudflare-crc32',
    entropy: 3.5,
    destinations: CLOUDFLARE,
    examples: {
      positive: ['CLOUDFLARE_API_TOKEN=@@cloudflare-account-api-token@@'],
      negative: ['CLOUDFLARE_API_TOKEN=@@cloudflare-account-api-token@@_suffix'],
    },
  },
  // ---------------------------------------------------------------- Fly.io
  {
    id: 'flyio-access-token',
    title: 'Fly.io access token',
    severity: 'high',
    regex: String.raw`${B}(fo1_[A-Za-z0-9_-]{43})${ED}`,
    secretGroup: 1,
    keywords: ['fo1_'],
    entropy: 4,
    destinations: FLY,
    examples: {
      positive: ['FLY_API_TOKEN=@@flyio-access-token@@', 'flyctl deploy --access-token @@flyio-access-token@@'],
      negative: ['api_key = "fo1_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"', 'MINIDUMP_SYSMEMINFO1_PERF_CCTOTALDIRTYPAGES'],
    },
  },
  {
    id: 'flyio-macaroon',
    title: 'Fly.io macaroon token',
    severity: 'high',
    // 100 to 3000 base64 characters: the whole run with `*`, runs over 3000 dropped by the
    // allowlist (a bounded `{100,1000}{0,1000}{0,1000}` costs RE2 milliseconds per match).
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_+/])((?:fm1[ar]|fm2)_[A-Za-z0-9+/]{100}[A-Za-z0-9+/]*={0,3})${E64}`,
    secretGroup: 1,
    keywords: ['fm1r_', 'fm1a_', 'fm2_'],
    entropy: 4,
    allowlist: { regexes: [String.raw`^(?:fm1[ar]|fm2)_[A-Za-z0-9+/]{1000}[A-Za-z0-9+/]{1000}[A-Za-z0-9+/]{1000}[A-Za-z0-9+/]`] },
    maxLength: 3100,
    destinations: FLY,
    examples: {
      positive: ['FLY_API_TOKEN="FlyV1 @@flyio-macaroon@@"', 'Authorization: FlyV1 @@flyio-macaroon@@'],
      negative: ['fm2_short', 'path=/img/abcfm2_@@flyio-macaroon@@'],
    },
  },
  // ---------------------------------------------------------------- Other clouds (named)
  {
    id: 'linode-api-token',
    title: 'Linode (Akamai) API token',
    severity: 'critical',
    regex: String.raw`(?i:linode)${TAIL}(?i:token|key|pat)[\w.-]{0,10}${ASSIGN}([a-f0-9]{64})${E}`,
    secretGroup: 1,
    keywords: ['linode'],
    entropy: 3,
    destinations: ['api.linode.com', '*.linode.com'],
    examples: {
      positive: ['LINODE_TOKEN=@@linode-api-token@@', 'linode_token = "@@linode-api-token@@"'],
      negative: ['LINODE_IMAGE_DIGEST=@@linode-api-token@@', 'LINODE_TOKEN=@@linode-api-token|t@@', 'LINODE_TOKEN=${{ secrets.LINODE_TOKEN }}'],
    },
  },
  {
    id: 'vultr-api-key',
    title: 'Vultr API key',
    severity: 'critical',
    regex: String.raw`(?i:vultr)${TAIL}(?i:token|key)[\w.-]{0,10}${ASSIGN}([A-Z0-9]{36})${E}`,
    secretGroup: 1,
    keywords: ['vultr'],
    entropy: 3.5,
    destinations: ['api.vultr.com'],
    examples: {
      positive: ['VULTR_API_KEY=@@vultr-api-key@@', 'vultr_api_key: "@@vultr-api-key@@"'],
      negative: ['VULTR_API_KEY=@@vultr-api-key|lc@@', 'VULTR_API_KEY=@@vultr-api-key|t@@'],
    },
  },
  {
    id: 'scaleway-secret-key',
    title: 'Scaleway secret key',
    severity: 'critical',
    regex: String.raw`(?i:scw_secret|scaleway)${TAIL}${ASSIGN}(${UUID})${ED}`,
    secretGroup: 1,
    keywords: ['scw_secret', 'scaleway'],
    entropy: 3,
    destinations: ['api.scaleway.com', '*.scw.cloud'],
    examples: {
      positive: ['SCW_SECRET_KEY=@@scaleway-secret-key@@', 'scaleway_secret_key = "@@scaleway-secret-key@@"'],
      negative: ['SCW_DEFAULT_PROJECT_ID=@@scaleway-secret-key@@', 'SCW_SECRET_KEY=11111111-1111-1111-1111-111111111111'],
    },
  },
  {
    id: 'hetzner-cloud-token',
    title: 'Hetzner Cloud API token',
    severity: 'critical',
    regex: String.raw`(?i:hcloud|hetzner)${TAIL}(?i:token|key)[\w.-]{0,10}${ASSIGN}([A-Za-z0-9]{64})${E}`,
    secretGroup: 1,
    keywords: ['hcloud', 'hetzner'],
    entropy: 3.5,
    destinations: ['api.hetzner.cloud', 'api.hetzner.com'],
    examples: {
      positive: ['HCLOUD_TOKEN=@@hetzner-cloud-token@@', 'hcloud_token: "@@hetzner-cloud-token@@"'],
      negative: ['HCLOUD_TOKEN=@@hetzner-cloud-token|t@@', 'HETZNER_SNAPSHOT_CHECKSUM=@@hetzner-cloud-token@@'],
    },
  },
  {
    id: 'tencent-cloud-secret-id',
    title: 'Tencent Cloud SecretId',
    severity: 'medium',
    regex: String.raw`${B}(AKID[A-Za-z0-9]{32})${E}`,
    secretGroup: 1,
    keywords: ['AKID'],
    entropy: 3.5,
    destinations: ['*.tencentcloudapi.com', '*.myqcloud.com'],
    examples: {
      positive: ['TENCENTCLOUD_SECRET_ID=@@tencent-cloud-secret-id@@', '"SecretId": "@@tencent-cloud-secret-id@@"'],
      negative: ['TENCENTCLOUD_SECRET_ID=@@tencent-cloud-secret-id|t@@'],
    },
  },
  {
    id: 'tencent-cloud-secret-key',
    title: 'Tencent Cloud SecretKey',
    severity: 'critical',
    regex: String.raw`(?i:tencent)${TAIL}(?i:secret_?key|secretkey)[\w.-]{0,10}${ASSIGN}([A-Za-z0-9]{32})${E}`,
    secretGroup: 1,
    keywords: ['tencent'],
    entropy: 3.5,
    destinations: ['*.tencentcloudapi.com', '*.myqcloud.com'],
    examples: {
      positive: ['TENCENTCLOUD_SECRET_KEY=@@tencent-cloud-secret-key@@', 'tencentcloud_secret_key: "@@tencent-cloud-secret-key@@"'],
      negative: ['TENCENTCLOUD_SECRET_ID=@@tencent-cloud-secret-key@@', 'TENCENTCLOUD_SECRET_KEY=@@tencent-cloud-secret-key|t@@'],
    },
  },
  {
    id: 'yandex-cloud-api-key',
    title: 'Yandex Cloud API key',
    severity: 'high',
    regex: String.raw`${B}(AQVN[A-Za-z0-9_-]{35,38})${ED}`,
    secretGroup: 1,
    keywords: ['AQVN'],
    entropy: 3.5,
    destinations: ['*.api.cloud.yandex.net', '*.cloud.yandex.net', '*.yandexcloud.net'],
    examples: {
      positive: ['Authorization: Api-Key @@yandex-cloud-api-key@@', 'YC_API_KEY=@@yandex-cloud-api-key@@'],
      negative: ['YC_API_KEY=AQVNshort'],
    },
  },
  {
    id: 'yandex-cloud-access-key-id',
    title: 'Yandex Cloud static access key ID',
    severity: 'medium',
    regex: String.raw`${B}(YCAJ[A-Za-z0-9_-]{21})${ED}`,
    secretGroup: 1,
    keywords: ['YCAJ'],
    entropy: 3.5,
    destinations: ['storage.yandexcloud.net', '*.yandexcloud.net'],
    examples: {
      positive: ['AWS_ACCESS_KEY_ID=@@yandex-cloud-access-key-id@@'],
      negative: ['AWS_ACCESS_KEY_ID=@@yandex-cloud-access-key-id|t@@'],
    },
  },
  {
    id: 'yandex-cloud-iam-token',
    title: 'Yandex Cloud IAM token',
    severity: 'high',
    regex: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_.-])(t1\.[A-Za-z0-9_-]{40,400}={0,2}\.[A-Za-z0-9_-]{86}={0,2})(?:[^A-Za-z0-9_.=-]|$)`,
    secretGroup: 1,
    keywords: ['t1.'],
    entropy: 4,
    maxLength: 600,
    destinations: ['*.api.cloud.yandex.net', '*.cloud.yandex.net', '*.yandexcloud.net'],
    examples: {
      positive: ['Authorization: Bearer @@yandex-cloud-iam-token@@', 'YC_TOKEN=@@yandex-cloud-iam-token@@'],
      negative: ['instance_type: t1.micro', 'host=st1.example.com'],
    },
  },
  {
    id: 'backblaze-b2-application-key',
    title: 'Backblaze B2 application key',
    severity: 'high',
    regex: String.raw`(?i:b2_?app(?:lication)?_?key|backblaze)${TAIL}${ASSIGN}(K[0-9]{3}[A-Za-z0-9+/]{27})${E64}`,
    secretGroup: 1,
    keywords: ['b2_app', 'b2app', 'backblaze'],
    entropy: 3.5,
    destinations: ['api.backblazeb2.com', '*.backblazeb2.com'],
    examples: {
      positive: ['B2_APPLICATION_KEY=@@backblaze-b2-application-key@@', 'backblaze_application_key: "@@backblaze-b2-application-key@@"'],
      negative: ['B2_APPLICATION_KEY_ID=0012a3b4c5d6e7f0000000001', 'B2_APPLICATION_KEY=@@backblaze-b2-application-key|t@@'],
    },
  },
];
