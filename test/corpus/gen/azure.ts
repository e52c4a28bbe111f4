// Azure (detectors/rules/azure.ts): identifiable keys in the shared contexts; connection
// strings, Azure CLI output (az ad sp create-for-rbac, az storage account keys list,
// az acr credential show, az batch account keys list), token responses and MSAL caches,
// curl lines and URLs for the rules that read a key from where it appears. Look-alikes
// are emulator keys, templates and truncated values in the same places.
import type { OwnContext } from './types.js';
import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64, BASE64URL, HEX } from '../rng.js';

const UPPER_HEX = '0123456789ABCDEF';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

/** Microsoft's 64-byte identifiable key: 76 base64 characters, the signature, 5 more, [AQgw]==. */
function identifiable64(rng: Rng, signature: string): string {
  return rng.chars(BASE64, 76) + signature + rng.chars(BASE64, 5) + rng.pick(['A', 'Q', 'g', 'w']) + '==';
}

const key64 = (rng: Rng): string => rng.chars(BASE64, 86) + '==';
const name = (rng: Rng): string => `acme${rng.chars('abcdefghijklmnopqrstuvwxyz', 4 + rng.int(6))}`;
const iso = (rng: Rng): string => `2026-0${1 + rng.int(9)}-${10 + rng.int(18)}T0${rng.int(10)}:${10 + rng.int(50)}:${10 + rng.int(50)}.${rng.chars('0123456789', 6)}+00:00`;

export const generators: Record<string, (rng: Rng) => string> = {
  'azure-storage-key-identifiable': (rng) => identifiable64(rng, '+ASt'),
  'azure-cosmos-key-identifiable': (rng) => identifiable64(rng, 'ACDb'),
  'azure-batch-key-identifiable': (rng) => identifiable64(rng, '+ABa'),
  'azure-apim-key-identifiable': (rng) => identifiable64(rng, 'APIM'),
  'azure-common-annotated-key': (rng) =>
    rng.chars(ALPHA_NUM, 52) + 'JQQJ9' + rng.pick(['9', 'D', 'H']) + rng.chars(ALPHA_NUM, 1) + rng.pick(['A', 'C', 'E', 'G']) +
    rng.chars(ALPHA_NUM, 16) + rng.pick(['AZEG', 'ACOG', 'AZSB']) + rng.chars(ALPHA_NUM, 4),
  // Old-format secrets: 32 to 44 characters, some with the punctuation the portal used to add.
  'azure-entra-client-secret-named': (rng) =>
    rng.int(2) === 0 ? rng.chars(ALPHA_NUM + '-_.[]:@?=', 34) : rng.chars(BASE64, 43) + '=',
  // Old-format passwords (a `Q~` one is cloud.ts's azure-ad-client-secret).
  'azure-entra-sp-password': (rng) => rng.chars(ALPHA_NUM + '-_.', 32 + rng.int(8)),
  'azure-entra-refresh-token': (rng) =>
    `${rng.pick(['0', '1'])}.A${rng.chars(BASE64URL, 47 + rng.int(20))}.AgAB${rng.pick(['AAEAAAD--DLA3VO7QrddgJg7WevrAgDs_wUA9P', 'AwEAAAApTwJmzXqdR4BN2miheQMYAgDs_wEA9P'])}${rng.chars(BASE64URL, 250 + rng.int(600))}`,
  'azure-cosmos-connection-string': key64,
  'azure-cosmos-key-named': key64,
  'azure-app-configuration-connection-string': (rng) => rng.chars(BASE64, 43) + '=',
  'azure-apim-subscription-key': (rng) => rng.chars(HEX, 32),
  'azure-apim-repository-credentials': (rng) =>
    encodeURIComponent(`git&2026${String(1 + rng.int(12)).padStart(2, '0')}${String(10 + rng.int(18))}1200&${rng.chars(BASE64, 86)}==`),
  'azure-apim-management-sas': (rng) =>
    rng.int(2) === 0
      ? `uid=${rng.chars(HEX, 24)}&ex=2026-0${1 + rng.int(9)}-${10 + rng.int(18)}T22:03:00.0000000Z&sn=${rng.chars(BASE64, 86)}==`
      : `integration&2026${String(1 + rng.int(12)).padStart(2, '0')}${String(10 + rng.int(18))}1200&${rng.chars(BASE64, 86)}==`,
  'azure-service-bus-sas-token': (rng) => {
    const ns = name(rng);
    const sr = encodeURIComponent(`https://${ns}.servicebus.windows.net/${rng.pick(['orders', 'events', 'builds'])}`);
    const sig = encodeURIComponent(rng.chars(BASE64, 43) + '=');
    return `sr=${sr}&sig=${sig}&se=${1790000000 + rng.int(9000000)}&skn=${rng.pick(['RootManageSharedAccessKey', 'send', 'listen'])}`;
  },
  'azure-storage-key-cli': key64,
  'azure-batch-key-named': key64,
  'azure-search-key-legacy': (rng) => rng.chars(UPPER_HEX, 32),
  'azure-function-key-legacy': (rng) => rng.chars(ALPHA_NUM + '_-', 54) + '==',
  'azure-container-registry-password': (rng) => rng.chars(ALPHA_NUM + '+/', 31) + rng.pick(['=', rng.chars(ALPHA_NUM, 1)]),
};

/** Variable names of the named rules that use the shared NAME=value contexts. */
export const contextNames: Record<string, string[]> = {
  'azure-entra-client-secret-named': ['AZURE_CLIENT_SECRET', 'ARM_CLIENT_SECRET', 'AAD_CLIENT_SECRET', 'azure_client_secret', 'AzureAdClientSecret'],
  'azure-cosmos-key-named': ['AZURE_COSMOS_KEY', 'COSMOS_DB_KEY', 'COSMOSDB_PRIMARY_KEY', 'primaryMasterKey', 'cosmos_key'],
  'azure-batch-key-named': ['AZURE_BATCH_ACCOUNT_KEY', 'BATCH_ACCOUNT_KEY', 'AZURE_BATCH_KEY', 'batch_shared_key'],
  'azure-apim-subscription-key': ['Ocp-Apim-Subscription-Key'],
};

const oc = (kind: string, build: OwnContext['build']): OwnContext => ({ kind, build });
const SEARCH_NAMES = ['AZURE_SEARCH_ADMIN_KEY', 'AZURE_SEARCH_QUERY_KEY', 'SEARCH_API_KEY', 'AzureSearchAdminKey'];

export const contexts: Record<string, OwnContext[]> = {
  'azure-entra-sp-password': [
    oc('az-cli-json', (rng) => [
      `$ az ad sp create-for-rbac --name ci-${name(rng)} --role Contributor --scopes /subscriptions/${uuid(rng)}\n{\n  "appId": "${uuid(rng)}",\n  "displayName": "ci-${name(rng)}",\n  "password": "`,
      `",\n  "tenant": "${uuid(rng)}"\n}`,
    ]),
    oc('az-cli-json-compact', (rng) => [`{"appId": "${uuid(rng)}", "password": "`, `", "tenant": "${uuid(rng)}"}`]),
    oc('az-login', (rng) => [`+ az login --service-principal -u ${uuid(rng)} -p `, ` --tenant ${uuid(rng)} --output none`]),
  ],
  'azure-entra-refresh-token': [
    oc('token-response', (rng) => [
      `{"token_type":"Bearer","scope":"https://graph.microsoft.com/.default offline_access","expires_in":${3600 + rng.int(1400)},"ext_expires_in":${3600 + rng.int(1400)},"access_token":"[REDACTED]","refresh_token":"`,
      `","id_token":"[REDACTED]"}`,
    ]),
    oc('msal-cache', (rng) => {
      const oid = uuid(rng);
      const tid = uuid(rng);
      const cid = uuid(rng);
      return [
        `{\n  "RefreshToken": {\n    "${oid}.${tid}-login.microsoftonline.com-refreshtoken-${cid}--": {\n      "credential_type": "RefreshToken",\n      "secret": "`,
        `",\n      "home_account_id": "${oid}.${tid}",\n      "environment": "login.microsoftonline.com",\n      "client_id": "${cid}"\n    }\n  }\n}`,
      ];
    }),
    oc('env-dump', () => ['AZURE_REFRESH_TOKEN=', '']),
  ],
  'azure-cosmos-connection-string': [
    oc('env-dump', (rng) => [`COSMOS_CONNECTION_STRING="AccountEndpoint=https://${name(rng)}.documents.azure.com:443/;AccountKey=`, `;"`]),
    oc('appsettings-json', (rng) => [`{\n  "ConnectionStrings": {\n    "Cosmos": "AccountEndpoint=https://${name(rng)}.documents.azure.com:443/;AccountKey=`, `;"\n  }\n}`]),
    oc('az-cli-json', (rng) => [
      `$ az cosmosdb keys list --type connection-strings -n ${name(rng)} -g rg-ci\n{\n  "connectionStrings": [\n    {\n      "connectionString": "AccountEndpoint=https://${name(rng)}.documents.azure.com:443/;AccountKey=`,
      `;",\n      "description": "Primary SQL Connection String",\n      "keyKind": "Primary",\n      "type": "Sql"\n    }\n  ]\n}`,
    ]),
  ],
  'azure-app-configuration-connection-string': [
    oc('env-dump', (rng) => [`APPCONFIG_CONNECTION_STRING="Endpoint=https://${name(rng)}.azconfig.io;Id=${rng.chars(ALPHA_NUM, 4)}-l0-s0:${rng.chars(ALPHA_NUM, 20)};Secret=`, `"`]),
    oc('appsettings-json', (rng) => [`{\n  "ConnectionStrings": {\n    "AppConfig": "Endpoint=https://${name(rng)}.azconfig.io;Id=${rng.chars(ALPHA_NUM, 4)}-l0-s0:${rng.chars(ALPHA_NUM, 20)};Secret=`, `"\n  }\n}`]),
    oc('az-cli-json', (rng) => [
      `$ az appconfig credential list -n ${name(rng)}\n[\n  {\n    "connectionString": "Endpoint=https://${name(rng)}.azconfig.io;Id=${rng.chars(ALPHA_NUM, 4)}-l0-s0:${rng.chars(ALPHA_NUM, 20)};Secret=`,
      `",\n    "name": "Primary",\n    "readOnly": false\n  }\n]`,
    ]),
  ],
  'azure-apim-repository-credentials': [
    oc('git-clone', (rng) => [`$ git clone https://apim:`, `@${name(rng)}.scm.azure-api.net/`]),
    oc('git-remote', (rng) => [`+ git remote -v\norigin\thttps://apim:`, `@${name(rng)}.scm.azure-api.net/ (fetch)`]),
  ],
  'azure-apim-management-sas': [
    oc('http-request', (rng) => [`GET /subscriptions/${uuid(rng)}/resourceGroups/rg/providers/Microsoft.ApiManagement/service/${name(rng)}/apis?api-version=2022-08-01 HTTP/1.1\nHost: ${name(rng)}.management.azure-api.net\nAuthorization: SharedAccessSignature `, `\nAccept: application/json`]),
    oc('curl-line', (rng) => [`$ curl -s -H "Authorization: SharedAccessSignature `, `" "https://${name(rng)}.management.azure-api.net/apis?api-version=2022-08-01"`]),
  ],
  'azure-service-bus-sas-token': [
    oc('http-request', (rng) => [`POST /orders/messages HTTP/1.1\nHost: ${name(rng)}.servicebus.windows.net\nAuthorization: SharedAccessSignature `, `\nContent-Type: application/atom+xml;type=entry;charset=utf-8`]),
    oc('json-config', () => [`{\n  "eventHub": {\n    "sasToken": "SharedAccessSignature `, `"\n  }\n}`]),
    oc('env-dump', () => [`SERVICEBUS_SAS_TOKEN="SharedAccessSignature `, `"`]),
  ],
  'azure-storage-key-cli': [
    oc('az-cli-json', (rng) => [
      `$ az storage account keys list -n ${name(rng)} -g rg-ci\n[\n  {\n    "creationTime": "${iso(rng)}",\n    "keyName": "key1",\n    "permissions": "FULL",\n    "value": "`,
      `"\n  }\n]`,
    ]),
    oc('az-cli-flag', (rng) => [`+ az storage blob upload --account-name ${name(rng)} --account-key `, ` --container-name builds --file dist/app.zip --name app-${rng.int(999)}.zip`]),
    oc('az-cli-flag-quoted', (rng) => [`az storage container create --name artifacts --account-name ${name(rng)} --account-key="`, `"`]),
  ],
  'azure-search-key-legacy': [
    oc('env-dump', (rng) => [`${rng.pick(SEARCH_NAMES)}=`, '']),
    oc('yaml-config', (rng) => [`search:\n  endpoint: https://${name(rng)}.search.windows.net\n  ${rng.pick(SEARCH_NAMES)}: `, `\n  index: products`]),
    oc('curl-line', (rng) => [`$ curl -s -X GET "https://${name(rng)}.search.windows.net/indexes?api-version=2024-07-01" -H "Content-Type: application/json" -H "api-key: `, `"`]),
  ],
  'azure-function-key-legacy': [
    oc('curl-header', (rng) => [`$ curl -sS -X POST -H "x-functions-key: `, `" https://${name(rng)}-fn.azurewebsites.net/api/deploy`]),
    oc('url-query', (rng) => [`${rng.pick(['GET', 'POST'])} https://${name(rng)}-fn.azurewebsites.net/api/HttpTrigger${rng.int(9)}?code=`, `&name=ci 200 OK`]),
    oc('json-config', () => [`{\n  "webhook": {\n    "headers": { "x-functions-key": "`, `" }\n  }\n}`]),
  ],
  'azure-container-registry-password': [
    oc('docker-login', (rng) => {
      const n = name(rng);
      return [`+ docker login ${n}.azurecr.io -u ${n} -p `, ''];
    }),
    oc('az-cli-json', (rng) => [
      `$ az acr credential show -n ${name(rng)}\n{\n  "passwords": [\n    {\n      "name": "password",\n      "value": "`,
      `"\n    },\n    {\n      "name": "password2",\n      "value": null\n    }\n  ],\n  "username": "${name(rng)}"\n}`,
    ]),
    oc('env-dump', (rng) => [`${rng.pick(['ACR_PASSWORD', 'AZURE_CONTAINER_REGISTRY_PASSWORD', 'ACR_ADMIN_PASSWORD'])}=`, '']),
  ],
};

/** Azure-shaped values that are none: emulator keys, templates, masked and truncated values. */
function azurePlaceholders(rng: Rng): string {
  const n = name(rng);
  const lines = [
    'AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"',
    'az storage blob list --account-name devstoreaccount1 --account-key Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw== -c test',
    'COSMOS_CONNECTION_STRING="AccountEndpoint=https://localhost:8081/;AccountKey=C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==;"',
    `AccountEndpoint=https://${n}.documents.azure.com:443/;AccountKey=\${COSMOS_KEY};`,
    `APPCONFIG_CONNECTION_STRING="Endpoint=https://${n}.azconfig.io;Id=<id>;Secret=<secret>"`,
    `{"appId": "${uuid(rng)}", "displayName": "ci-${n}", "password": null, "tenant": "${uuid(rng)}"}`,
    'az login --service-principal -u "$ARM_CLIENT_ID" -p "$ARM_CLIENT_SECRET" --tenant "$ARM_TENANT_ID"',
    '"refresh_token":"0.AXkA..."',
    'Ocp-Apim-Subscription-Key: {subscription key}',
    `curl -H "x-functions-key: <function-key>" https://${n}-fn.azurewebsites.net/api/deploy`,
    `https://${n}.blob.core.windows.net/builds/app.zip?sp=r&se=${iso(rng).slice(0, 10)}&sv=2022-11-02&sr=b`,
    `Authorization: SharedAccessSignature sr=https%3A%2F%2F${n}.servicebus.windows.net&sig=<signature>&se=1798765432&skn=send`,
    `docker login ${n}.azurecr.io -u ${n} -p "$ACR_PASSWORD"`,
    `AZURE_SEARCH_ENDPOINT=https://${n}.search.windows.net`,
    `AZURE_CLIENT_ID=${uuid(rng)}`,
    `AZURE_TENANT_ID=${uuid(rng)}`,
    `subscription-key=${rng.chars(LETTERS, 6)}`,
  ];
  const out: string[] = [];
  for (let i = 0; i < 10; i++) out.push(rng.pick(lines));
  return out.join('\n') + '\n';
}

export const lookalikes: Record<string, (rng: Rng) => string> = {
  'azure-placeholders': azurePlaceholders,
};
