// Azure, beyond the rules in cloud.ts (storage AccountKey=, Service Bus SharedAccessKey=,
// Entra `Q~` secrets, SAS tokens, DevOps PATs, ACR/Functions/Search/Redis identifiable keys,
// which stay there): the other identifiable (signed) keys Microsoft issues (storage `+ASt`,
// Cosmos DB `ACDb`, Batch `+ABa`, API Management `APIM`, common annotated `JQQJ9` keys),
// Entra ID secrets without the `Q~` marker and refresh tokens, Cosmos DB and App
// Configuration connection strings, API Management subscription keys, repository
// credentials and SAS headers, Service Bus SAS headers, and legacy keys recognised by
// where they appear (Azure CLI output, `docker login <x>.azurecr.io`, `x-functions-key`).
//
// Registered before cloud.ts: where a rule here and one there report the same span
// (a Cosmos DB key after `AccountKey=`), the more specific one here wins. Rules that read
// a legacy key from its context are `medium` where a cloud.ts rule for the identifiable
// form can report the same span, so the identifiable rule wins. Published emulator keys
// (Azurite, the Cosmos DB emulator) are documentation values (placeholders.ts). Example
// values are synthetic.
import type { RuleSpec } from '../types.js';
import { ASSIGN, E, E64, SGR as SGR12, TAIL, UUID, token } from './build.js';

const AZURE_LOGIN = ['login.microsoftonline.com', '*.microsoftonline.com', 'login.windows.net', 'management.azure.com', 'graph.microsoft.com'];
const AZURE_STORAGE = ['*.core.windows.net', '*.blob.core.windows.net', '*.queue.core.windows.net', '*.table.core.windows.net', '*.file.core.windows.net', '*.dfs.core.windows.net'];
const COSMOS = ['*.documents.azure.com', '*.documents.azure.us', '*.documents.azure.cn', '*.cosmos.azure.com'];
const BATCH = ['*.batch.azure.com'];
const APIM = ['*.azure-api.net', '*.management.azure-api.net', '*.scm.azure-api.net', 'management.azure.com'];
const COGNITIVE = ['*.cognitiveservices.azure.com', '*.api.cognitive.microsoft.com', '*.cognitive.microsoft.com'];
const ACR = ['*.azurecr.io', '*.azurecr.cn', '*.azurecr.us'];
const AZURE_ANY = ['*.azure.com', '*.windows.net', '*.azure.net', '*.azure-api.net', '*.azurewebsites.net', '*.azconfig.io', '*.azurecr.io'];

/** Left boundary of a base64 value. */
const L64 = String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9+/])`;
/** A 64-byte key: 86 base64 characters and `==`. */
const KEY64 = String.raw`[A-Za-z0-9+/]{86}==`;
/** Microsoft's 64-byte identifiable key: the 4-character signature at offset 76. */
const identifiable64 = (signature: string): string => String.raw`[A-Za-z0-9+/]{76}${signature}[A-Za-z0-9+/]{5}[AQgw]==`;
/** An old Entra ID client secret: no `~` (the `Q~` secrets are cloud.ts's `azure-ad-client-secret`). */
const ENTRA_OLD = String.raw`[A-Za-z0-9_.\-+/=\[\]:@?*]{32,44}`;
const ENTRA_OLD_END = String.raw`(?:[^A-Za-z0-9_.\-+/=\[\]:@?*~]|$)`;

export const rules: RuleSpec[] = [
  // ---------------------------------------------------------------- identifiable keys
  token({
    id: 'azure-storage-key-identifiable',
    title: 'Azure storage account key (identifiable, +ASt)',
    severity: 'critical',
    keywords: ['+ASt'],
    left: L64,
    token: identifiable64(String.raw`\+ASt`),
    right: E64,
    entropy: 4,
    destinations: AZURE_STORAGE,
    positive: [
      'STORAGE_KEY=1mulWjODfx1gozRHRZTaqPIn0K8S0rC3vGtG9vAzeObfuHiIjYQgnsoVqMiqBGsC7i8GZnhJ+CRz+ASt+yXZgw==',
      'az storage blob upload --account-key TObGnooGU1Lngz9JKechUlG+y+c04J6bd9oYuD2GqVdovWbm3t5LNBYW575R85BlhXB7rqbGiMBD+AStO8maMA==',
    ],
    negative: ['STORAGE_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx+ASt00000A==', 'key+AStshort=='],
  }),
  token({
    id: 'azure-cosmos-key-identifiable',
    title: 'Azure Cosmos DB account key (identifiable, ACDb)',
    severity: 'critical',
    keywords: ['ACDb'],
    left: L64,
    token: identifiable64('ACDb'),
    right: E64,
    entropy: 4,
    destinations: COSMOS,
    positive: ['COSMOS_KEY=D6cDzP2HHYhits1zArKEkppPqQf/k4PgfJ1nZ9uQbTlK34xTSVo/k0IeVTe2p4Qkf/gYvAPq/J3LACDbwfVJlg=='],
    negative: ['COSMOS_KEY=Kq7Yx2Wv9Ut4Sr6Qp1On8Ml3Kj5Hg0FdZa9Xc8Vb7Nm6Lk5Jh4Gf3Ds2Ap1ACDbXk9pQg=='],
  }),
  token({
    id: 'azure-batch-key-identifiable',
    title: 'Azure Batch account key (identifiable, +ABa)',
    severity: 'critical',
    keywords: ['+ABa'],
    left: L64,
    token: identifiable64(String.raw`\+ABa`),
    right: E64,
    entropy: 4,
    destinations: BATCH,
    positive: ['AZURE_BATCH_ACCOUNT_KEY=Jkr7pTTinxpS3Ngebbv3wiKnzaoBEHt+z2hm5U1bYauZdwJ6ZtQ94LQe3ydzw+qepxbW/B8M09MX+ABa/Dh8QQ=='],
    negative: ['AZURE_BATCH_ACCOUNT_KEY=+ABa'],
  }),
  token({
    id: 'azure-apim-key-identifiable',
    title: 'Azure API Management key (identifiable: subscription, gateway, repository, direct management)',
    severity: 'high',
    keywords: ['APIM'],
    left: L64,
    token: identifiable64('APIM'),
    right: E64,
    entropy: 4,
    destinations: APIM,
    positive: ['Ocp-Apim-Subscription-Key: ZUgSEPl4GLlhnwhEDkJHjls9bNFvv95q/ucBOsTwOKFyO7SZ4GiCNMR8cnmmqC3LxA7Npp6H+L7mAPIMPTJpEA=='],
    negative: ['APIM_NAME=acme-apim', 'Ocp-Apim-Subscription-Key: Kq7Yx2Wv9Ut4Sr6Qp1On8Ml3APIMXk9pQA=='],
  }),
  token({
    id: 'azure-common-annotated-key',
    title: 'Azure common annotated security key (JQQJ9…, unclassified)',
    severity: 'medium',
    keywords: ['JQQJ9'],
    token: String.raw`[A-Za-z0-9]{52}JQQJ9[9DH][A-Za-z0-9][A-L][A-Za-z0-9]{16}[A-Za-z][A-Za-z0-9]{7}(?:[A-Za-z0-9]{2}==)?`,
    right: String.raw`(?:[^A-Za-z0-9_=-]|$)`,
    entropy: 4,
    destinations: AZURE_ANY,
    positive: ['AZURE_EVENTGRID_KEY=2J178krM3SvayFG0wYzDfgaazwrQkPkgvZmIxvO3V1OqUeUy7NnGJQQJ991CNwhdNcbX0bnDM9HPAZEGAQD4'],
    negative: ['AZURE_EVENTGRID_KEY=Kq7Yx2Wv9Ut4JQQJ99ACxBq7Yx2Wv9Ut4Sr6QAZEGhT3k'],
  }),
  // ---------------------------------------------------------------- Entra ID
  token({
    id: 'azure-entra-client-secret-named',
    title: 'Entra ID (Azure AD) client secret without the Q~ marker (named)',
    severity: 'high',
    keywords: ['client_secret', 'client-secret', 'client.secret', 'clientsecret'],
    left: String.raw`(?i:(?:azure|arm|aad|entra|az)[_.-]?(?:ad[_.-]?)?client[_.-]?secret)${TAIL}${ASSIGN}`,
    token: ENTRA_OLD,
    right: ENTRA_OLD_END,
    entropy: 3.5,
    destinations: AZURE_LOGIN,
    positive: [
      'AZURE_CLIENT_SECRET=h]4Kq-7Yx2W:v9Ut4Sr6Qp@1On8Ml3Kj5',
      'ARM_CLIENT_SECRET: "Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2PaQw8eR4tY2u="',
    ],
    negative: [
      'AZURE_CLIENT_SECRET=${{ secrets.AZURE_CLIENT_SECRET }}',
      'AZURE_CLIENT_ID=3f9c2a7e-51b0-4d6a-8e2c-9f1b7d3a5e0c',
      'AZURE_CLIENT_SECRET=short-secret',
    ],
  }),
  token({
    id: 'azure-entra-sp-password',
    title: 'Entra ID service principal password (az ad sp output, az login -p)',
    severity: 'high',
    keywords: ['"appid"', 'az login'],
    left: String.raw`(?:"appId"[ \t]*:[ \t]*"${UUID}"[ \t]*,\s{0,20}(?:"displayName"[ \t]*:[ \t]*"[^"\n]{0,128}"[ \t]*,\s{0,20})?"password"[ \t]*:[ \t]*"|(?i:az[ \t]+login)[^\n]{0,200}?[ \t](?:-p|--password)(?:=|[ \t]+)["']?)`,
    // No `~`: a `Q~` secret here is cloud.ts's azure-ad-client-secret.
    token: ENTRA_OLD,
    right: ENTRA_OLD_END,
    entropy: 3.5,
    destinations: AZURE_LOGIN,
    positive: [
      '{\n  "appId": "3f9c2a7e-51b0-4d6a-8e2c-9f1b7d3a5e0c",\n  "displayName": "ci-deployer",\n  "password": "Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2Pa",\n  "tenant": "7d41c0b9-2e8f-4a63-b5d7-1c9e0f2a8b34"\n}',
      'az login --service-principal -u 3f9c2a7e-51b0-4d6a-8e2c-9f1b7d3a5e0c -p h]4Kq-7Yx2W:v9Ut4Sr6Qp@1On8Ml3Kj5 --tenant 7d41c0b9-2e8f-4a63-b5d7-1c9e0f2a8b34',
    ],
    negative: [
      '{"appId": "3f9c2a7e-51b0-4d6a-8e2c-9f1b7d3a5e0c", "displayName": "ci", "password": null}',
      'az login --service-principal -u "$ARM_CLIENT_ID" -p "$ARM_CLIENT_SECRET" --tenant "$ARM_TENANT_ID"',
    ],
  }),
  token({
    id: 'azure-entra-refresh-token',
    title: 'Entra ID (Azure AD) refresh token',
    severity: 'high',
    keywords: ['.AgAB'],
    left: String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_.-])`,
    token: String.raw`[01]\.A[A-Za-z0-9_-]{40,90}\.AgAB[A-Za-z0-9_-]{200}[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]{20,200})?`,
    right: String.raw`(?:[^A-Za-z0-9_.-]|$)`,
    entropy: 4,
    maxLength: 2600,
    destinations: AZURE_LOGIN,
    positive: [
      '{"token_type":"Bearer","expires_in":4799,"refresh_token":"0.AXkAq7Yx2Wv9Ut4Sr6Qp1On8Ml3Kj5Hg0FdZa9Xc8Vb7Nm6Lk5Jh4Gf3Ds.AgABAAEAAAD--DLA3VO7QrddgJg7WevrAgDs_wUA9P8Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2PaQw8eR4tY2uIo1Hn3Jk8Lp2ZxGh72kLm9QzXk9pQ2vLm7Tr0ub4dor3xPlRz8vT2nQe4Wq3rT7yU9iOpLk8Jh5Gf2Ds1Mv4rT8qLzPm3Kd7Qs1Hq4Wz8Lx2VbYt6Re3Wq9ZxLq83Jd92Kz71Mv40Pw5xa8Fk29Dkq0Lmz83KdPq1Vx7Wt9f8e7d6c5b4a39281706f5e4d3c2b1a0Zq7Yx2Wv9Ut4Sr6Qp1On8Ml3Kj5Hg0Fd"}',
    ],
    negative: ['"refresh_token":"0.AXkA..."', '"refresh_token":"0.AXkAq7Yx2Wv9Ut4Sr6Qp1On8Ml3Kj5Hg0FdZa9Xc8Vb7Nm6Lk5Jh4Gf3Ds.AgABAAEAAAD--short"'],
  }),
  // ---------------------------------------------------------------- connection strings
  token({
    id: 'azure-cosmos-connection-string',
    title: 'Azure Cosmos DB account key (connection string)',
    severity: 'critical',
    keywords: ['documents.azure'],
    left: String.raw`(?i:AccountEndpoint)=https://[A-Za-z0-9-]{1,64}\.documents\.azure\.(?:com|us|cn)(?::443)?/?;[ \t]*(?i:AccountKey)=`,
    token: KEY64,
    right: E64,
    entropy: 4,
    destinations: COSMOS,
    positive: [
      'COSMOS_CONNECTION_STRING="AccountEndpoint=https://acme-orders.documents.azure.com:443/;AccountKey=hu2xFBDppWtoei45OQDR6T4AAWwwzMjYZSC7pT8c2uh58LWNf/fnNhgp5hyB5iUbbNEtOFYtpdaWUB+E601q7H==;"',
    ],
    negative: [
      'AccountEndpoint=https://localhost:8081/;AccountKey=C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==',
      'AccountEndpoint=https://acme-orders.documents.azure.com:443/;AccountKey=${COSMOS_KEY};',
    ],
  }),
  token({
    id: 'azure-cosmos-key-named',
    title: 'Azure Cosmos DB account key (named, az cosmosdb keys list)',
    severity: 'critical',
    keywords: ['cosmos', 'masterkey'],
    left: String.raw`(?i:cosmos(?:db)?[\w.-]{0,24}?key|(?:primary|secondary)(?:readonly)?masterkey)${TAIL}${ASSIGN}`,
    token: KEY64,
    right: E64,
    entropy: 4,
    destinations: COSMOS,
    positive: [
      'AZURE_COSMOS_KEY=hu2xFBDppWtoei45OQDR6T4AAWwwzMjYZSC7pT8c2uh58LWNf/fnNhgp5hyB5iUbbNEtOFYtpdaWUB+E601q7H==',
      '  "primaryMasterKey": "hu2xFBDppWtoei45OQDR6T4AAWwwzMjYZSC7pT8c2uh58LWNf/fnNhgp5hyB5iUbbNEtOFYtpdaWUB+E601q7H==",',
    ],
    negative: ['COSMOS_KEY=C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==', 'COSMOS_KEY=$(az cosmosdb keys list -n acme -g rg --query primaryMasterKey -o tsv)'],
  }),
  token({
    id: 'azure-app-configuration-connection-string',
    title: 'Azure App Configuration access key (connection string)',
    severity: 'high',
    keywords: ['azconfig.io'],
    left: String.raw`(?i:Endpoint=https://)[A-Za-z0-9-]{1,64}\.azconfig\.io/?;[ \t]*(?i:Id)=[^;\s"']{1,64};[ \t]*(?i:Secret)=`,
    token: String.raw`[A-Za-z0-9+/]{40,90}={0,2}`,
    right: E64,
    entropy: 4,
    destinations: ['*.azconfig.io'],
    positive: ['APPCONFIG_CONNECTION_STRING="Endpoint=https://acme-config.azconfig.io;Id=Xk9p-l0-s0:Rt5Yu8Io2PaZq7Yx2Wv9;Secret=Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2PaQw8eR4tY2u="'],
    negative: ['Endpoint=https://acme-config.azconfig.io;Id=Xk9p-l0-s0:Rt5Yu8Io2PaZq7Yx2Wv9;Secret=<secret>'],
  }),
  // ---------------------------------------------------------------- API Management, Service Bus
  token({
    id: 'azure-apim-subscription-key',
    title: 'Azure API Management / AI services subscription key (Ocp-Apim-Subscription-Key)',
    severity: 'high',
    keywords: ['subscription-key'],
    left: String.raw`(?:^|[^A-Za-z0-9_-])(?i:ocp-apim-subscription-key|subscription-key)["']?[ \t]{0,4}[:=][ \t]{0,4}["']?${SGR12}`,
    token: '[a-fA-F0-9]{32}',
    right: E,
    destinations: [...APIM, ...COGNITIVE],
    positive: [
      'curl -H "Ocp-Apim-Subscription-Key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0" https://acme-apim.azure-api.net/orders/v1/status',
      'GET https://acme-apim.azure-api.net/echo/resource?subscription-key=4f1c9e7a2b8d6053c1e9f7a2d4b60c83 200 OK',
    ],
    negative: ['Ocp-Apim-Subscription-Key: {subscription key}', 'Ocp-Apim-Subscription-Key: 00000000000000000000000000000000'],
  }),
  token({
    id: 'azure-apim-repository-credentials',
    title: 'Azure API Management git repository credentials',
    severity: 'high',
    keywords: ['scm.azure-api.net'],
    left: String.raw`(?i:https://apim:)`,
    token: String.raw`[^\s:/?#@"'<>\x60]{20,256}`,
    right: String.raw`@[A-Za-z0-9-]{1,64}\.scm\.azure-api\.net`,
    entropy: 3.5,
    destinations: APIM,
    positive: ['git clone https://apim:git%26202612011200%26Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2PaQw8eR4tY2u%3D%3D@acme-apim.scm.azure-api.net/'],
    negative: ['git clone https://apim:$APIM_GIT_PASSWORD@acme-apim.scm.azure-api.net/'],
  }),
  token({
    id: 'azure-apim-management-sas',
    title: 'Azure API Management direct management SAS token',
    severity: 'high',
    keywords: ['sharedaccesssignature'],
    left: String.raw`(?i:SharedAccessSignature)[ \t]+`,
    token: String.raw`uid=[^&\s"']{1,64}&ex=[0-9T:.Z-]{10,40}&sn=[A-Za-z0-9+/]{40,100}={0,2}|[A-Za-z0-9_-]{1,64}&[0-9]{12}&[A-Za-z0-9+/]{40,100}={0,2}`,
    right: E64,
    entropy: 3.5,
    destinations: APIM,
    positive: [
      'Authorization: SharedAccessSignature uid=53dd860e1b72ff0467030003&ex=2026-08-04T22:03:00.0000000Z&sn=Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2PaQw8eR4tY2uIo1Hn3Jk8Lp2ZxGh72kLm9Qz+/Aw==',
      'APIM_SAS="SharedAccessSignature integration&202612011200&Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2PaQw8eR4tY2uIo1Hn3Jk8Lp2Zx=="',
    ],
    negative: ['Authorization: SharedAccessSignature uid=...&ex=...&sn=...', 'Authorization: SharedAccessSignature ${APIM_TOKEN}'],
  }),
  token({
    id: 'azure-service-bus-sas-token',
    title: 'Azure Service Bus / Event Hubs / IoT Hub SAS token',
    severity: 'high',
    keywords: ['sharedaccesssignature'],
    left: String.raw`(?i:SharedAccessSignature)[ \t]+`,
    token: String.raw`(?:(?:sr|se|skn)=[^&\s"']{1,200}&){1,3}sig=[A-Za-z0-9%+/]{40,100}(?:%3[Dd]|=){0,2}(?:&(?:sr|se|skn)=[^&\s"']{1,200}){0,3}`,
    right: String.raw`(?:["'\s,;]|$)`,
    entropy: 3.5,
    maxLength: 1100,
    destinations: ['*.servicebus.windows.net', '*.azure-devices.net', '*.servicebus.usgovcloudapi.net', '*.servicebus.chinacloudapi.cn'],
    positive: [
      'Authorization: SharedAccessSignature sr=https%3A%2F%2Facme-bus.servicebus.windows.net%2Forders&sig=Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2PaQw8eR4tY2u%3D&se=1798765432&skn=RootManageSharedAccessKey',
    ],
    negative: ['Authorization: SharedAccessSignature sr=https%3A%2F%2Facme-bus.servicebus.windows.net&sig=<signature>&se=1798765432&skn=send'],
  }),
  // ---------------------------------------------------------------- legacy keys by context
  token({
    id: 'azure-storage-key-cli',
    title: 'Azure storage account key (az storage account keys list, --account-key)',
    severity: 'critical',
    keywords: ['"keyname"', '--account-key'],
    left: String.raw`(?:"keyName"[ \t]*:[ \t]*"key[12]"[ \t]*,\s{0,20}"permissions"[ \t]*:[ \t]*"(?i:full|read)"[ \t]*,\s{0,20}"value"[ \t]*:[ \t]*"|--account-key(?:=|[ \t]+)["']?)`,
    token: KEY64,
    right: E64,
    entropy: 4,
    destinations: AZURE_STORAGE,
    positive: [
      '[\n  {\n    "creationTime": "2026-01-12T09:14:02.310000+00:00",\n    "keyName": "key1",\n    "permissions": "FULL",\n    "value": "hu2xFBDppWtoei45OQDR6T4AAWwwzMjYZSC7pT8c2uh58LWNf/fnNhgp5hyB5iUbbNEtOFYtpdaWUB+E601q7H=="\n  }\n]',
      'az storage blob upload --account-name cistore01 --account-key hu2xFBDppWtoei45OQDR6T4AAWwwzMjYZSC7pT8c2uh58LWNf/fnNhgp5hyB5iUbbNEtOFYtpdaWUB+E601q7H== -c builds -f app.zip',
    ],
    negative: [
      'az storage blob upload --account-name devstoreaccount1 --account-key Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw== -c builds',
      'az storage blob upload --account-name cistore01 --account-key "$STORAGE_KEY" -c builds -f app.zip',
    ],
  }),
  token({
    id: 'azure-batch-key-named',
    title: 'Azure Batch account key (named, az batch account keys list)',
    severity: 'critical',
    keywords: ['batch_', 'batch-', 'batch.', 'batchaccount', 'batchaccess', 'batchshared', 'batchkey', '"primary"', '"secondary"'],
    left: String.raw`(?:(?i:batch[_.-]?(?:account[_.-]?)?(?:access[_.-]?|shared[_.-]?)?key)${TAIL}${ASSIGN}|"(?:primary|secondary)"[ \t]*:[ \t]*")`,
    token: KEY64,
    right: E64,
    entropy: 4,
    destinations: BATCH,
    positive: [
      'AZURE_BATCH_ACCOUNT_KEY=hu2xFBDppWtoei45OQDR6T4AAWwwzMjYZSC7pT8c2uh58LWNf/fnNhgp5hyB5iUbbNEtOFYtpdaWUB+E601q7H==',
      '{"accountName": "acmebatch", "primary": "hu2xFBDppWtoei45OQDR6T4AAWwwzMjYZSC7pT8c2uh58LWNf/fnNhgp5hyB5iUbbNEtOFYtpdaWUB+E601q7H==", "secondary": null}',
    ],
    negative: ['AZURE_BATCH_ACCOUNT_URL=https://acmebatch.westeurope.batch.azure.com', 'AZURE_BATCH_ACCOUNT_KEY=${BATCH_KEY}'],
  }),
  token({
    id: 'azure-search-key-legacy',
    title: 'Azure AI Search admin or query key (legacy, by context)',
    severity: 'medium',
    // `search` alone is in every other line of front-end code: the keywords include what follows it.
    keywords: ['search_', 'search-', 'search.', 'searchadmin', 'searchquery', 'searchapi', 'searchservice'],
    left: String.raw`(?:(?i:(?:azure[_.-]?)?(?:cognitive[_.-]?)?search[_.-]?(?:service[_.-]?)?(?:admin|query|api)[_.-]?key)${TAIL}${ASSIGN}|(?i:\.search\.windows\.net)[^\n]{0,300}?(?i:api-key)["']?[ \t]{0,4}[:=][ \t]{0,4}["']?)`,
    token: '[A-Fa-f0-9]{32}',
    right: E,
    destinations: ['*.search.windows.net', '*.search.azure.us', '*.search.azure.cn'],
    positive: [
      'AZURE_SEARCH_ADMIN_KEY=9F8E7D6C5B4A39281706F5E4D3C2B1A0',
      'curl -X GET "https://acme-search.search.windows.net/indexes?api-version=2024-07-01" -H "api-key: 4F1C9E7A2B8D6053C1E9F7A2D4B60C83"',
    ],
    negative: ['AZURE_SEARCH_ENDPOINT=https://acme-search.search.windows.net', 'AZURE_SEARCH_ADMIN_KEY=<admin-key>'],
  }),
  token({
    id: 'azure-function-key-legacy',
    title: 'Azure Functions key (legacy, x-functions-key or ?code=)',
    severity: 'medium',
    keywords: ['x-functions-key', 'azurewebsites.net/api/'],
    left: String.raw`(?:(?i:x-functions-key)["']?[ \t]{0,4}[:=][ \t]{0,4}["']?|(?i:azurewebsites\.net)/api/[^\s?"'#]{1,100}\?(?:[^\s"'#&]{1,200}&){0,5}code=)`,
    token: String.raw`[A-Za-z0-9_/+-]{40,60}(?:={0,2}|(?:%3[Dd]){1,2})`,
    right: String.raw`(?:[^A-Za-z0-9_/+=%-]|$)`,
    entropy: 3.5,
    destinations: ['*.azurewebsites.net'],
    positive: [
      'curl -H "x-functions-key: Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2PaQw8eR4tY2uIo1Hn3Jk8==" https://acme-fn.azurewebsites.net/api/deploy',
      'POST https://acme-fn.azurewebsites.net/api/HttpTrigger1?code=Rt5Yu8Io2PaZq7Yx2Wv9Ut4Sr6Qp1On8Ml3Kj5Hg0Fd8uVb%3D%3D&name=ci',
    ],
    negative: ['x-functions-key: <function-key>', 'https://acme-fn.azurewebsites.net/api/deploy?code=${FUNCTION_KEY}'],
  }),
  token({
    id: 'azure-container-registry-password',
    title: 'Azure Container Registry admin password (legacy, by context)',
    severity: 'high',
    keywords: ['azurecr', 'acr_', 'acr-', 'acr.', 'acrpassword', 'acradmin', 'container_registry', 'container-registry', 'container.registry', 'containerregistry', '"passwords"'],
    left: String.raw`(?:(?i:azurecr\.(?:io|cn|us))[^\n]{0,200}?[ \t](?:-p|--password)(?:=|[ \t]+)["']?|(?i:(?:azure[_.-]?)?(?:acr|container[_.-]?registry)[_.-]?(?:admin[_.-]?)?password)${TAIL}${ASSIGN}|"passwords"[ \t]*:[ \t]*\[\s{0,20}\{\s{0,20}"name"[ \t]*:[ \t]*"password2?"[ \t]*,\s{0,20}"value"[ \t]*:[ \t]*")`,
    token: '[A-Za-z0-9+/=]{32}',
    right: String.raw`(?:[^A-Za-z0-9+/=]|$)`,
    entropy: 3.5,
    destinations: ACR,
    positive: [
      '+ docker login acmeregistry.azurecr.io -u acmeregistry -p Zk38dkLq93nDk2lQp0xMv7Rt5Yu8Io2P',
      'ACR_PASSWORD=Rt5Yu8Io2PaZq7Yx2Wv9Ut4Sr6Qp1On=',
      '{\n  "passwords": [\n    {\n      "name": "password",\n      "value": "Hn3Jk8Lp2Zx+Gh72kLm9QzXk9pQ2vL/7"\n    }\n  ],\n  "username": "acmeregistry"\n}',
    ],
    negative: ['docker login acmeregistry.azurecr.io -u acmeregistry -p "$ACR_PASSWORD"', 'ACR_PASSWORD=${{ secrets.ACR_PASSWORD }}'],
  }),
];
