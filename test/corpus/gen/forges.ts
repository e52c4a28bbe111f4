import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64URL, HEX } from '../rng.js';
import { uuid } from '../contexts.js';

const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const DIGITS = '0123456789';

function bytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

/** Atlassian Data Center token body: base64 of `<12-digit id>:<20 random bytes>` (44 characters). */
function dcToken(rng: Rng): string {
  return Buffer.concat([Buffer.from(`${1 + rng.int(9)}${rng.chars(DIGITS, 11)}:`), bytes(rng, 20)]).toString('base64');
}

/** One generator per rule id of detectors/rules/forges.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'bitbucket-app-password-legacy': (rng) => rng.chars(ALPHA_NUM, 20),
  'bitbucket-dc-http-access-token': (rng) => `BBDC-${dcToken(rng)}`,
  'atlassian-dc-personal-access-token': dcToken,
  'sourcegraph-access-token': (rng) =>
    rng.pick([`sgp_${rng.chars(HEX, 16)}_${rng.chars(HEX, 40)}`, `sgp_local_${rng.chars(HEX, 40)}`, `sgp_${rng.chars(HEX, 40)}`]),
  'sourcegraph-access-token-legacy': (rng) => rng.chars(HEX, 40),
  'sonarqube-token-legacy': (rng) => rng.chars(HEX, 40),
  // A whole ~/.netrc entry (multi-line: planted as a file, `cat` output or a heredoc).
  'heroku-netrc-password': (rng) =>
    `machine ${rng.pick(['api', 'git'])}.heroku.com\n  login ${rng.pick(['ci', 'deploy', 'release'])}@example.org\n  password ${uuid(rng)}\n`,
  // Nested JSON: the name is not right before the value, so only the nearby rule sees it.
  'heroku-api-key-nearby': (rng) => `{"heroku": {"app": "acme-${rng.pick(['api', 'web'])}", "${rng.pick(['apiKey', 'token', 'auth'])}": "${uuid(rng)}"}}`,
  'buildkite-token-legacy': (rng) => (rng.int(2) === 0 ? rng.chars(HEX, 40) : rng.chars(LOWER_NUM, 50)),
  'docker-hub-token-legacy': uuid,
  'docker-config-auth-escaped': (rng) => {
    const auth = Buffer.from(`${rng.pick(['ci-bot', 'deploy', 'robot$acme'])}:${rng.chars(ALPHA_NUM, 24 + rng.int(16))}`).toString('base64');
    return `{\\"auths\\":{\\"${rng.pick(['ghcr.io', 'registry.example.org', 'https://index.docker.io/v1/'])}\\":{\\"auth\\":\\"${auth}\\"}}}`;
  },
  'docker-config-identity-token': (rng) => {
    const token = `${rng.chars(BASE64URL, 36)}.${rng.chars(BASE64URL, 100 + rng.int(100))}.${rng.chars(BASE64URL, 43)}`;
    const host = rng.pick(['acme.azurecr.io', 'harbor.corp.example', 'europe-docker.pkg.dev']);
    return rng.int(2) === 0
      ? `{"auths": {"${host}": {"auth": "", "identitytoken": "${token}"}}}`
      : `{\\"auths\\":{\\"${host}\\":{\\"identitytoken\\":\\"${token}\\"}}}`;
  },
  'codacy-api-token': (rng) => (rng.int(2) === 0 ? rng.chars(HEX, 32) : rng.chars(ALPHA_NUM, 20)),
  'codeclimate-token': (rng) => (rng.int(2) === 0 ? rng.chars(HEX, 64) : rng.chars(HEX, 40)),
  'scrutinizer-api-token': (rng) => rng.chars(ALPHA_NUM, 64),
  'percy-token': (rng) => `${rng.pick(['web_', 'app_', 'auto_', ''])}${rng.chars(HEX, 64)}`,
  'browserstack-access-key': (rng) => rng.chars(ALPHA_NUM, 20),
  'saucelabs-access-key': uuid,
  'knapsack-pro-token': (rng) => rng.chars(LOWER_NUM, 32),
  'endorlabs-api-key': (rng) => `endr+${rng.chars(ALPHA_NUM, 16)}`,
  'semaphore-api-token': (rng) => (rng.int(2) === 0 ? rng.chars(LOWER_NUM, 32) : rng.chars(ALPHA_NUM, 20)),
  'codemagic-api-token': (rng) => rng.chars(BASE64URL, 43),
  'octopus-deploy-api-key': (rng) => `API-${rng.chars(UPPER_NUM, 26)}`,
  'deno-deploy-token': (rng) => `dd${rng.pick(['p', 'o'])}_${rng.chars(ALPHA_NUM, 36)}`,
  'portainer-access-token': (rng) => `ptr_${bytes(rng, 32).toString('base64')}`,
  'cloudsmith-api-key': (rng) => rng.chars(HEX, 40),
  'packagecloud-token': (rng) => rng.chars(HEX, 48),
  'vagrant-cloud-token': (rng) => `${rng.chars(ALPHA_NUM, 14)}.atlasv1.${rng.chars(ALPHA_NUM, 67)}`,
  'sidekiq-gem-credentials': (rng) => `${rng.chars(HEX, 8)}:${rng.chars(HEX, 8)}`,
  'sidekiq-gem-source-url': (rng) => `https://${rng.chars(HEX, 8)}:${rng.chars(HEX, 8)}@${rng.pick(['gems', 'enterprise'])}.contribsys.com/`,
};

/** Variable names the name-anchored values of forges.ts are assigned to. */
export const contextNames: Record<string, string[]> = {
  'bitbucket-app-password-legacy': ['BITBUCKET_APP_PASSWORD', 'BITBUCKET_PASSWORD', 'bitbucket_app_password', 'BB_APP_PASSWORD'],
  'atlassian-dc-personal-access-token': ['JIRA_PAT', 'JIRA_API_TOKEN', 'CONFLUENCE_TOKEN', 'confluence_pat', 'ATLASSIAN_DC_TOKEN'],
  'sourcegraph-access-token-legacy': ['SRC_ACCESS_TOKEN', 'SOURCEGRAPH_TOKEN', 'sourcegraph_access_token'],
  'sonarqube-token-legacy': ['SONAR_TOKEN', 'SONAR_LOGIN', 'sonar.login', 'SONAR_AUTH_TOKEN'],
  'buildkite-token-legacy': ['BUILDKITE_API_TOKEN', 'BUILDKITE_AGENT_TOKEN', 'buildkite_token'],
  'docker-hub-token-legacy': ['DOCKERHUB_TOKEN', 'DOCKER_HUB_TOKEN', 'DOCKER_PASSWORD', 'DOCKERHUB_PASSWORD', 'docker_hub_access_token'],
  'codacy-api-token': ['CODACY_PROJECT_TOKEN', 'CODACY_API_TOKEN', 'codacy_token'],
  'codeclimate-token': ['CC_TEST_REPORTER_ID', 'CODECLIMATE_REPO_TOKEN', 'CODECLIMATE_API_TOKEN'],
  'scrutinizer-api-token': ['SCRUTINIZER_ACCESS_TOKEN', 'SCRUTINIZER_TOKEN', 'scrutinizer_api_token'],
  'percy-token': ['PERCY_TOKEN', 'percy_token', 'PERCY_TOKEN_STORYBOOK'],
  'browserstack-access-key': ['BROWSERSTACK_ACCESS_KEY', 'BROWSERSTACK_KEY', 'browserstack_access_key'],
  'saucelabs-access-key': ['SAUCE_ACCESS_KEY', 'SAUCELABS_KEY', 'sauce_access_key'],
  'knapsack-pro-token': ['KNAPSACK_PRO_TEST_SUITE_TOKEN', 'KNAPSACK_PRO_TEST_SUITE_TOKEN_RSPEC', 'KNAPSACK_PRO_TEST_SUITE_TOKEN_JEST'],
  'semaphore-api-token': ['SEMAPHORE_API_TOKEN', 'SEMAPHORE_TOKEN', 'semaphore_api_token'],
  'codemagic-api-token': ['CODEMAGIC_API_TOKEN', 'CM_API_TOKEN', 'codemagic_token'],
  'cloudsmith-api-key': ['CLOUDSMITH_API_KEY', 'CLOUDSMITH_TOKEN', 'cloudsmith_api_key'],
  'packagecloud-token': ['PACKAGECLOUD_TOKEN', 'PACKAGECLOUD_API_TOKEN', 'packagecloud_token'],
  'vagrant-cloud-token': ['VAGRANT_CLOUD_TOKEN', 'VAGRANT_TOKEN', 'vagrant_cloud_token'],
  'sidekiq-gem-credentials': ['BUNDLE_ENTERPRISE__CONTRIBSYS__COM', 'BUNDLE_GEMS__CONTRIBSYS__COM'],
};

/**
 * Look-alike lines for these providers: their names next to values that are not credentials
 * (build ids, commit SHAs, UUIDs of runs, templated or masked values, wrong lengths).
 * None may yield a finding under any rule.
 */
export const lookalikeLines: Array<(rng: Rng) => string> = [
  () => 'SONAR_HOST_URL=https://sonarcloud.io',
  () => 'SONAR_TOKEN=${{ secrets.SONAR_TOKEN }}',
  (rng) => `sonar.projectKey=${rng.pick(['acme_api', 'acme_web'])}`,
  (rng) => `SONAR_SCANNER_VERSION=5.0.${rng.int(9)}.${3000 + rng.int(999)}`,
  (rng) => `BUILDKITE_BUILD_ID=${uuid(rng)}`,
  (rng) => `BUILDKITE_COMMIT=${rng.chars(HEX, 40)}`,
  (rng) => `BUILDKITE_JOB_ID=${uuid(rng)}`,
  (rng) => `BITBUCKET_COMMIT=${rng.chars(HEX, 40)}`,
  (rng) => `BITBUCKET_REPO_UUID={${uuid(rng)}}`,
  () => 'BITBUCKET_APP_PASSWORD=$BB_APP_PASSWORD',
  (rng) => `PERCY_BUILD_ID=${rng.chars(DIGITS, 8)}`,
  (rng) => `PERCY_COMMIT=${rng.chars(HEX, 40)}`,
  () => 'CC_TEST_REPORTER_ID=${{ secrets.CC_TEST_REPORTER_ID }}',
  (rng) => `CODACY_PROJECT_NAME=${rng.pick(['api', 'web', 'worker'])}`,
  (rng) => `SAUCE_TUNNEL_ID=${uuid(rng)}`,
  () => 'SAUCE_USERNAME=acme-ci',
  (rng) => `DOCKER_BUILD_ID=${uuid(rng)}`,
  () => 'DOCKERHUB_USERNAME=acmebot',
  () => 'echo "$DOCKERHUB_TOKEN" | docker login -u acmebot --password-stdin',
  () => 'X-API-Version: 2',
  (rng) => `API-Version: 2024-0${1 + rng.int(9)}-01`,
  (rng) => `src search -json 'repo:acme/${rng.pick(['api', 'web'])} sgp_' # token prefix, not a token`,
  () => 'BITBUCKET_TOKEN=BBDC-<token>',
  () => 'DOCKER_AUTH_CONFIG="{\\"auths\\":{\\"ghcr.io\\":{\\"auth\\":\\"${DOCKER_AUTH}\\"}}}"',
  () => 'machine api.heroku.com login ci@example.org password ${HEROKU_API_KEY}',
  () => 'BUNDLE_GEMS__CONTRIBSYS__COM=${SIDEKIQ_CREDENTIALS}',
  () => 'source "https://gems.contribsys.com/" do',
  () => 'ptr_t *ptr_list = ptr_alloc(n);',
  () => 'ENDOR_NAMESPACE=acme',
  () => 'VAGRANT_DEFAULT_PROVIDER=virtualbox',
  (rng) => `KNAPSACK_PRO_CI_NODE_INDEX=${rng.int(4)}`,
  (rng) => `JIRA_ISSUE=${rng.pick(['OPS', 'API', 'WEB'])}-${1 + rng.int(9999)}`,
  () => 'JIRA_BASE_URL=https://jira.corp.example',
  (rng) => `DENO_DEPLOYMENT_ID=${rng.chars(LOWER_NUM, 12)}`,
  (rng) => `CLOUDSMITH_REPO=acme/${rng.pick(['stable', 'nightly'])}`,
];
