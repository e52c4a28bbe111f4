import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64URL, HEX } from '../rng.js';
import { uuid } from '../contexts.js';

const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const DIGITS = '0123456789';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function bytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** `{"u":"<user>","a":"<id>"}` as Mapbox encodes it, then the signature part. */
function mapboxBody(rng: Rng): string {
  const payload = Buffer.from(`{"u":"${rng.pick(['acme', 'maps-ci', 'geo'])}-${rng.chars('abcdefghijklmnopqrstuvwxyz', 5)}","a":"${rng.chars(LOWER_NUM, 25)}"}`)
    .toString('base64url');
  return `${payload}.${rng.chars(BASE64URL, 22)}`;
}

/** One generator per rule id of detectors/rules/services.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'facebook-access-token': (rng) => `EAA${rng.pick(['B', 'G', 'J', 'M', 'C'])}${rng.chars(ALPHA_NUM, 120 + rng.int(120))}`,
  'facebook-app-access-token': (rng) => `${1 + rng.int(9)}${rng.chars(DIGITS, 14 + rng.int(2))}|${rng.chars(BASE64URL, 27 + rng.int(6))}`,
  'facebook-app-secret': (rng) => rng.chars(HEX, 32),
  'hubspot-private-app-token': (rng) => `pat-${rng.pick(['na1', 'na2', 'eu1', 'ap1'])}-${uuid(rng)}`,
  'hubspot-api-key-legacy': uuid,
  'onepassword-secret-key': (rng) =>
    rng.int(2) === 0
      ? `A3-${rng.chars(UPPER_NUM, 6)}-${rng.chars(UPPER_NUM, 6)}-${rng.chars(UPPER_NUM, 5)}-${rng.chars(UPPER_NUM, 5)}-${rng.chars(UPPER_NUM, 5)}-${rng.chars(UPPER_NUM, 5)}`
      : `A3-${rng.chars(UPPER_NUM, 6)}-${rng.chars(UPPER_NUM, 11)}-${rng.chars(UPPER_NUM, 5)}-${rng.chars(UPPER_NUM, 5)}-${rng.chars(UPPER_NUM, 5)}`,
  'aws-bedrock-api-key': (rng) =>
    `ABSK${b64(`BedrockAPIKey-${rng.chars(LOWER_NUM, 4)}-at-${rng.chars(DIGITS, 12)}:${bytes(rng, 32).toString('base64')}`)}`,
  'aws-bedrock-short-term-api-key': (rng) =>
    `bedrock-api-key-${b64(
      `bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIA${rng.chars(BASE32, 16)}` +
        `%2F20261206%2F${rng.pick(['us-east-1', 'eu-west-1'])}%2Fbedrock%2Faws4_request&X-Amz-Date=20261206T0${rng.int(10)}1500Z&X-Amz-Expires=43200` +
        `&X-Amz-Security-Token=${rng.chars(ALPHA_NUM, 200 + rng.int(200))}&X-Amz-Signature=${rng.chars(HEX, 64)}&X-Amz-SignedHeaders=host&Version=1`,
    )}`,
  'aws-appsync-api-key': (rng) => `da2-${rng.chars(LOWER_NUM, 26)}`,
  'square-sandbox-oauth-secret': (rng) => `sq0csb-${rng.chars(BASE64URL, 43)}`,
  'square-sandbox-access-token-legacy': (rng) => `sq0atb-${rng.chars(BASE64URL, 22)}`,
  'newrelic-browser-license-key': (rng) => `NRBR-${rng.chars(HEX, 19)}`,
  'newrelic-mobile-app-token': (rng) => `AA${rng.chars(HEX, 40)}-NRMA`,
  'sumologic-access-id': (rng) => `su${rng.chars(ALPHA_NUM, 12)}`,
  'intra42-client-secret': (rng) => `s-s4t2${rng.pick(['ud', 'af'])}-${rng.chars(HEX, 64)}`,
  'mapbox-secret-token': (rng) => `sk.${mapboxBody(rng)}`,
  'mapbox-public-token': (rng) => `pk.${mapboxBody(rng)}`,
  'dropbox-short-lived-token': (rng) => `sl.${rng.int(2) === 0 ? rng.chars(BASE64URL, 138) : `u.${rng.chars(BASE64URL, 300 + rng.int(600))}`}`,
  // The finding covers the 43 characters after the marker, inside the planted value.
  'dropbox-long-lived-token': (rng) => `${rng.chars(ALPHA_NUM, 11)}AAAAAAAAAA${rng.chars(BASE64URL, 43)}`,
  'dropbox-app-secret': (rng) => rng.chars(LOWER_NUM, 15),
  'posthog-personal-api-key': (rng) => `phx_${rng.chars(ALPHA_NUM + '_', 43)}`,
  'posthog-project-api-key': (rng) => `phc_${rng.chars(ALPHA_NUM + '_', 43)}`,
  'segment-public-api-token': (rng) => `sgp_${rng.chars(ALPHA_NUM, 64)}`,
  'segment-write-key': (rng) => rng.chars(ALPHA_NUM, 32),
  'lokalise-api-token': (rng) => rng.chars(HEX, 40),
  'crowdin-personal-token': (rng) => rng.chars(HEX, 80),
  'infura-api-key': (rng) => rng.chars(HEX, 32),
  'infura-endpoint-url': (rng) => `https://${rng.pick(['mainnet', 'sepolia', 'polygon-mainnet'])}.infura.io/v3/${rng.chars(HEX, 32)}`,
  'nvidia-api-key': (rng) => `nvapi-${rng.chars(BASE64URL, 64)}`,
  'nvidia-ngc-api-key-legacy': (rng) => b64(`${rng.chars(LOWER_NUM, 26)}:${uuid(rng)}`),
  'tailscale-key-legacy': (rng) => `tskey-k${rng.chars(ALPHA_NUM, 10)}CNTRL-${rng.chars(ALPHA_NUM, 20 + rng.int(14))}`,
  'okta-client-secret': (rng) => rng.chars(BASE64URL, 40 + rng.int(25)),
  'mailgun-public-validation-key': (rng) => `pubkey-${rng.chars(HEX, 32)}`,
  'zulip-zuliprc-key': (rng) =>
    `[api]\nemail=${rng.pick(['ci-bot', 'deploy-bot'])}@${rng.pick(['acme', 'infra'])}.zulipchat.com\nkey=${rng.chars(ALPHA_NUM, 32)}\nsite=https://acme.zulipchat.com\n`,
  'fastly-api-token-nearby': (rng) => rng.chars(BASE64URL, 32),
  // Nested one-line JSON: the provider's name is not right before the value, so only the
  // nearby rule (not the stricter named one) sees it.
  'okta-api-token-nearby': (rng) => `{"okta": {"org": "${rng.pick(['acme', 'corp'])}", "apiToken": "00${rng.chars(BASE64URL, 40)}"}}`,
  'zulip-api-key-nearby': (rng) => `{"zulip": {"email": "ci-bot@acme.zulipchat.com", "key": "${rng.chars(ALPHA_NUM, 32)}"}}`,
  'mailgun-api-key-nearby': (rng) =>
    `{"mailgun": {"domain": "mg.acme.example", "secret": "${rng.chars(HEX, 32)}-${rng.chars(HEX, 8)}-${rng.chars(HEX, 8)}"}}`,
  'airtable-token-nearby': (rng) => (rng.int(2) === 0 ? `pat${rng.chars(ALPHA_NUM, 14)}.${rng.chars(HEX, 64)}` : `key${rng.chars(ALPHA_NUM, 14)}`),
};

/** Variable names the name-anchored values of services.ts are assigned to. */
export const contextNames: Record<string, string[]> = {
  'facebook-app-access-token': ['FACEBOOK_APP_TOKEN', 'FACEBOOK_ACCESS_TOKEN', 'FB_APP_ACCESS_TOKEN', 'fb_access_token'],
  'facebook-app-secret': ['FACEBOOK_APP_SECRET', 'FACEBOOK_CLIENT_SECRET', 'FB_APP_SECRET', 'fb_app_secret'],
  'hubspot-api-key-legacy': ['HUBSPOT_API_KEY', 'HUBSPOT_HAPIKEY', 'hubspot_api_key', 'HAPIKEY'],
  'sumologic-access-id': ['SUMO_ACCESS_ID', 'SUMOLOGIC_ACCESSID', 'sumologic_access_id'],
  'mapbox-public-token': ['MAPBOX_ACCESS_TOKEN', 'MAPBOX_TOKEN', 'NEXT_PUBLIC_MAPBOX_TOKEN'],
  'dropbox-long-lived-token': ['DROPBOX_ACCESS_TOKEN', 'DROPBOX_TOKEN', 'dropbox_access_token'],
  'dropbox-app-secret': ['DROPBOX_APP_SECRET', 'DROPBOX_CLIENT_SECRET', 'dropbox_app_secret'],
  'segment-write-key': ['SEGMENT_WRITE_KEY', 'SEGMENT_SOURCE_WRITE_KEY', 'segment_write_key'],
  'lokalise-api-token': ['LOKALISE_API_TOKEN', 'LOKALISE_TOKEN', 'lokalise_api_token'],
  'crowdin-personal-token': ['CROWDIN_PERSONAL_TOKEN', 'CROWDIN_API_TOKEN', 'crowdin_token'],
  'infura-api-key': ['INFURA_API_KEY', 'INFURA_PROJECT_ID', 'infura_key'],
  'nvidia-ngc-api-key-legacy': ['NGC_API_KEY', 'NGC_CLI_API_KEY', 'ngc_api_key'],
  'okta-client-secret': ['OKTA_CLIENT_SECRET', 'OKTA_OAUTH2_CLIENT_SECRET', 'okta_client_secret'],
  // Names the stricter named rules do not take: the provider alone, or with a word other than token/key.
  'fastly-api-token-nearby': ['FASTLY', 'FASTLY_SECRET', 'fastly_credential'],
  'airtable-token-nearby': ['AIRTABLE', 'AIRTABLE_SECRET', 'airtable_credential'],
};

/**
 * Look-alike lines for these providers: identifiers, public configuration, templated and
 * wrong-length values next to the providers' names. None may yield a finding under any rule.
 */
export const lookalikeLines: Array<(rng: Rng) => string> = [
  (rng) => `FACEBOOK_APP_ID=${1 + rng.int(9)}${rng.chars(DIGITS, 14)}`,
  () => 'FACEBOOK_APP_SECRET=${FACEBOOK_APP_SECRET}',
  (rng) => `SQUARE_APPLICATION_ID=sq0idp-${rng.chars(BASE64URL, 22)}`,
  (rng) => `HUBSPOT_PORTAL_ID=${rng.chars(DIGITS, 8)}`,
  () => 'Using configuration from /usr/lib/ssl/openssl.cnf',
  () => 'context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)',
  (rng) => `NEW_RELIC_APP_NAME=${rng.pick(['api', 'web'])}-production`,
  () => 'SUMO_DEPLOYMENT=us2',
  () => 'MAPBOX_STYLE=mapbox://styles/acme/streets-v12',
  () => 'TS_AUTHKEY=tskey-auth-<key>',
  () => 'INFURA_NETWORK=mainnet',
  () => 'ETH_RPC_URL=https://mainnet.infura.io/v3/${INFURA_API_KEY}',
  () => 'NGC_CLI_ORG=nvidia',
  (rng) => `image: nvcr.io/nvidia/pytorch:2${rng.int(5)}.0${1 + rng.int(9)}-py3`,
  () => 'POSTHOG_HOST=https://us.i.posthog.com',
  (rng) => `SEGMENT_WORKSPACE_ID=${rng.chars(ALPHA_NUM, 22)}`,
  () => '[api]\nurl=https://api.internal.example\ntimeout=30',
  (rng) => `OKTA_CLIENT_ID=0oa${rng.chars(ALPHA_NUM, 17)}`,
  () => 'OKTA_ISSUER=https://acme.okta.com/oauth2/default',
  () => 'LOKALISE_PROJECT_ID=123456789abcdef0.12345678',
  (rng) => `CROWDIN_PROJECT_ID=${rng.chars(DIGITS, 6)}`,
  () => 'MAILGUN_DOMAIN=mg.example.org',
  () => 'AWS_BEARER_TOKEN_BEDROCK=${{ secrets.AWS_BEARER_TOKEN_BEDROCK }}',
  (rng) => `APPSYNC_API_ID=${rng.chars(LOWER_NUM, 26)}`,
  () => 'OP_SECRET_KEY=A3-XXXXXX-XXXXXX-XXXXX-XXXXX-XXXXX-XXXXX',
  (rng) => `DROPBOX_APP_NAME=acme-${rng.pick(['backup', 'sync'])}`,
  (rng) => `intra_client_id: u-s4t2ud-${rng.chars(HEX, 64)}`,
];
