import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64, BASE64URL, HEX } from '../rng.js';

const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const DIGITS = '0123456789';

function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

/** One generator per rule id of detectors/rules/infra.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'vault-service-token': (rng) => 'hvs.' + rng.chars(BASE64URL, rng.pick([24, 90, 95])),
  'vault-batch-token': (rng) => 'hvb.' + rng.chars(BASE64URL, 138 + rng.int(60)),
  'vault-recovery-token': (rng) => 'hvr.' + rng.chars(BASE64URL, 24),
  'vault-approle-secret-id': (rng) => uuid(rng),
  'vault-token-legacy': (rng) => rng.pick(['s.', 'b.']) + rng.chars(ALPHA_NUM, 24),
  'terraform-cloud-token': (rng) => `${rng.chars(ALPHA_NUM, 14)}.atlasv1.${rng.chars(ALPHA_NUM, 67)}`,
  'pulumi-access-token': (rng) => 'pul-' + rng.chars(HEX, 40),
  'doppler-personal-token': (rng) => 'dp.pt.' + rng.chars(ALPHA_NUM, 43),
  'doppler-service-token': (rng) => 'dp.st.' + rng.pick(['', 'dev.', 'prd.', 'stg.']) + rng.chars(ALPHA_NUM, 43),
  'doppler-cli-token': (rng) => 'dp.ct.' + rng.chars(ALPHA_NUM, 43),
  'doppler-service-account-token': (rng) => 'dp.sa.' + rng.chars(ALPHA_NUM, 43),
  'doppler-scim-token': (rng) => 'dp.scim.' + rng.chars(ALPHA_NUM, 43),
  'doppler-audit-token': (rng) => 'dp.audit.' + rng.chars(ALPHA_NUM, 43),
  'planetscale-service-token': (rng) => 'pscale_tkn_' + rng.chars(BASE64URL, 43),
  'planetscale-password': (rng) => 'pscale_pw_' + rng.chars(BASE64URL, 43),
  'planetscale-oauth-token': (rng) => 'pscale_oauth_' + rng.chars(BASE64URL, 43),
  'postman-api-key': (rng) => `PMAK-${rng.chars(HEX, 24)}-${rng.chars(HEX, 34)}`,
  'linear-api-key': (rng) => 'lin_api_' + rng.chars(ALPHA_NUM, 40),
  'linear-oauth-token': (rng) => 'lin_oauth_' + rng.chars(HEX, 64),
  'shopify-access-token': (rng) => 'shpat_' + rng.chars(HEX, 32),
  'shopify-custom-app-token': (rng) => 'shpca_' + rng.chars(HEX, 32),
  'shopify-private-app-token': (rng) => 'shppa_' + rng.chars(HEX, 32),
  'shopify-shared-secret': (rng) => 'shpss_' + rng.chars(HEX, 32),
  'atlassian-api-token': (rng) => 'ATATT3xFfGF0' + rng.chars(BASE64URL, 170) + '=' + rng.chars('0123456789ABCDEF', 8),
  'atlassian-api-token-legacy': (rng) => rng.chars(ALPHA_NUM, 24),
  'databricks-token': (rng) => 'dapi' + rng.chars(HEX, 32) + (rng.int(2) === 0 ? '' : `-${1 + rng.int(8)}`),
  'netlify-access-token': (rng) => 'nfp_' + rng.chars(ALPHA_NUM, 36),
  'vercel-token': (rng) => rng.chars(ALPHA_NUM, 24),
  'supabase-access-token': (rng) => 'sbp_' + rng.chars(HEX, 40),
  'supabase-secret-key': (rng) => 'sb_secret_' + rng.chars(BASE64URL, 31),
  'snyk-api-token': (rng) => uuid(rng),
  'sonarqube-user-token': (rng) => 'squ_' + rng.chars(HEX, 40),
  'sonarqube-project-token': (rng) => 'sqp_' + rng.chars(HEX, 40),
  'sonarqube-global-token': (rng) => 'sqa_' + rng.chars(HEX, 40),
  'circleci-personal-token': (rng) => `CCIPAT_${rng.chars(ALPHA_NUM, 22)}_${rng.chars(HEX, 40)}`,
  'circleci-project-token': (rng) => `CCIPRJ_${rng.chars(ALPHA_NUM, 22)}_${rng.chars(HEX, 40)}`,
  'circleci-token-legacy': (rng) => rng.chars(HEX, 40),
  'buildkite-api-token': (rng) => 'bkua_' + rng.chars(HEX, 40),
  'buildkite-cluster-token': (rng) => 'bkct_' + rng.chars(ALPHA_NUM, 48),
  'travis-ci-token': (rng) => rng.chars(BASE64URL, 22),
  'okta-api-token': (rng) => '00' + rng.chars(BASE64URL, 40),
  'auth0-client-secret': (rng) => rng.chars(BASE64URL, 64),
  'onepassword-service-account-token': (rng) =>
    'ops_eyJ' + rng.chars(BASE64, 280 + rng.int(200)),
  'tailscale-api-key': (rng) => `tskey-api-${rng.chars(ALPHA_NUM, 11)}CNTRL-${rng.chars(ALPHA_NUM, 33)}`,
  'tailscale-auth-key': (rng) => `tskey-auth-${rng.chars(ALPHA_NUM, 11)}CNTRL-${rng.chars(ALPHA_NUM, 33)}`,
  'tailscale-oauth-client-secret': (rng) => `tskey-client-${rng.chars(ALPHA_NUM, 11)}CNTRL-${rng.chars(ALPHA_NUM, 33)}`,
  'ngrok-authtoken': (rng) => `${1 + rng.int(2)}${rng.chars(ALPHA_NUM, 26)}_${rng.chars(ALPHA_NUM, 21)}`,
  'confluent-api-secret': (rng) => rng.chars(ALPHA_NUM + '+/', 64),
  'contentful-personal-access-token': (rng) => 'CFPAT-' + rng.chars(BASE64URL, 43),
  'algolia-admin-key': (rng) => rng.chars(HEX, 32),
  'twitch-oauth-token': (rng) => rng.chars(LOWER_NUM, 30),
  'figma-personal-access-token': (rng) => `figd_${rng.chars(BASE64URL, 40)}`,
  'notion-integration-token': (rng) => 'ntn_' + rng.chars(DIGITS, 11) + rng.chars(ALPHA_NUM, 35),
  'notion-integration-token-legacy': (rng) => 'secret_' + rng.chars(ALPHA_NUM, 43),
  'asana-personal-access-token': (rng) =>
    rng.int(2) === 0
      ? `1/${rng.chars(DIGITS, 16)}:${rng.chars(HEX, 32)}`
      : `2/${rng.chars(DIGITS, 16)}/${rng.chars(DIGITS, 16)}:${rng.chars(HEX, 32)}`,
  'airtable-personal-access-token': (rng) => `pat${rng.chars(ALPHA_NUM, 14)}.${rng.chars(HEX, 64)}`,
  'prefect-api-key': (rng) => rng.pick(['pnu_', 'pnb_']) + rng.chars(ALPHA_NUM, 36),
  'hcp-client-secret': (rng) => rng.chars(BASE64URL, 64),
  'consul-acl-token': (rng) => uuid(rng),
  'nomad-acl-token': (rng) => uuid(rng),
  'harness-access-token': (rng) =>
    `pat.${rng.chars(BASE64URL, 22)}.${rng.chars(HEX, 24)}.${rng.chars(ALPHA_NUM, 20)}`,
  'drone-ci-token': (rng) => rng.chars(ALPHA_NUM, 32),
  'codecov-upload-token': (rng) => uuid(rng),
  'fastly-api-token': (rng) => rng.chars(BASE64URL, 32),
  'render-api-key': (rng) => 'rnd_' + rng.chars(ALPHA_NUM, 32),
  'railway-token': (rng) => uuid(rng),
  'infracost-api-key': (rng) => 'ico-' + rng.chars(ALPHA_NUM, 32),
};

/** Variable names under which name-anchored values realistically appear. */
export const contextNames: Record<string, string[]> = {
  'vault-approle-secret-id': ['VAULT_SECRET_ID', 'vault_approle_secret_id', 'APPROLE_SECRET_ID'],
  'vault-token-legacy': ['VAULT_TOKEN', 'vault_token', 'X-Vault-Token'],
  'atlassian-api-token-legacy': ['JIRA_API_TOKEN', 'CONFLUENCE_API_TOKEN', 'ATLASSIAN_API_TOKEN', 'jira_token'],
  'vercel-token': ['VERCEL_TOKEN', 'vercel_token', 'VERCEL_API_TOKEN'],
  'snyk-api-token': ['SNYK_TOKEN', 'snyk_token', 'SNYK_API_TOKEN'],
  'circleci-token-legacy': ['CIRCLE_TOKEN', 'CIRCLECI_TOKEN', 'circleci_api_token', 'Circle-Token'],
  'travis-ci-token': ['TRAVIS_TOKEN', 'TRAVIS_API_TOKEN', 'travis_token'],
  'okta-api-token': ['OKTA_API_TOKEN', 'OKTA_CLIENT_TOKEN', 'okta_token'],
  'auth0-client-secret': ['AUTH0_CLIENT_SECRET', 'auth0_client_secret', 'AUTH0_SECRET'],
  'ngrok-authtoken': ['NGROK_AUTHTOKEN', 'NGROK_AUTH_TOKEN', 'ngrok_authtoken', 'NGROK_API_KEY'],
  'confluent-api-secret': ['CONFLUENT_CLOUD_API_SECRET', 'CONFLUENT_API_SECRET', 'confluent_secret'],
  'algolia-admin-key': ['ALGOLIA_ADMIN_KEY', 'ALGOLIA_ADMIN_API_KEY', 'algolia_write_api_key'],
  'twitch-oauth-token': ['TWITCH_OAUTH_TOKEN', 'TWITCH_CLIENT_SECRET', 'twitch_access_token'],
  'asana-personal-access-token': ['ASANA_ACCESS_TOKEN', 'ASANA_PAT', 'asana_token'],
  'airtable-personal-access-token': ['AIRTABLE_API_KEY', 'AIRTABLE_TOKEN', 'airtable_pat'],
  'hcp-client-secret': ['HCP_CLIENT_SECRET', 'hcp_client_secret'],
  'consul-acl-token': ['CONSUL_HTTP_TOKEN', 'CONSUL_TOKEN', 'X-Consul-Token'],
  'nomad-acl-token': ['NOMAD_TOKEN', 'X-Nomad-Token'],
  'drone-ci-token': ['DRONE_TOKEN', 'drone_token'],
  'codecov-upload-token': ['CODECOV_TOKEN', 'codecov_token'],
  'fastly-api-token': ['FASTLY_API_TOKEN', 'FASTLY_API_KEY', 'Fastly-Key'],
  'railway-token': ['RAILWAY_TOKEN', 'RAILWAY_API_TOKEN'],
};
