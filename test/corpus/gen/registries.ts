import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64URL, HEX } from '../rng.js';
import { tokenChecksum } from '../../../detectors/checksum.js';

const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

function basicAuth(rng: Rng): string {
  const user = rng.pick(['ci-bot', 'deploy', 'release', 'jenkins']) + rng.chars(LOWER_NUM, 3);
  return Buffer.from(`${user}:${rng.chars(ALPHA_NUM + '!#%', 20)}`).toString('base64');
}

/** One generator per rule id of detectors/rules/registries.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'npm-access-token': (rng) => {
    const body = rng.chars(ALPHA_NUM, 30);
    return 'npm_' + body + tokenChecksum(body);
  },
  'npmrc-auth-token': (rng) => uuid(rng),
  'npmrc-basic-auth': (rng) => basicAuth(rng),
  'pypi-upload-token': (rng) => 'pypi-AgEIcHlwaS5vcmc' + rng.chars(BASE64URL, 150 + rng.int(60)),
  'testpypi-upload-token': (rng) => 'pypi-AgENdGVzdC5weXBpLm9yZw' + rng.chars(BASE64URL, 150 + rng.int(60)),
  'docker-hub-pat': (rng) => 'dckr_pat_' + rng.chars(BASE64URL, 27),
  'docker-hub-org-access-token': (rng) => 'dckr_oat_' + rng.chars(BASE64URL, 32),
  'docker-config-auth': (rng) =>
    `{"auths":{"${rng.pick(['registry.gitlab.com', 'ghcr.io', 'index.docker.io'])}":{"auth":"${basicAuth(rng)}"}}}`,
  'nuget-api-key': (rng) => 'oy2' + rng.chars(LOWER_NUM, 43),
  'rubygems-api-key': (rng) => 'rubygems_' + rng.chars(HEX, 48),
  'crates-io-api-token': (rng) => 'cio' + rng.chars(ALPHA_NUM, 32),
  'cargo-registry-token-legacy': (rng) => rng.chars(ALPHA_NUM, 32),
  'jfrog-api-key': (rng) => 'AKCp' + String(5 + rng.int(4)) + rng.chars(ALPHA_NUM, 68),
  'jfrog-reference-token': (rng) => 'cmVmdGtuOjAxOj' + rng.chars(ALPHA_NUM, 50),
  'jfrog-identity-token': (rng) => rng.chars(ALPHA_NUM, 64),
  'sonatype-nexus-credential': (rng) => rng.chars(ALPHA_NUM + '+/', 44),
  'bitbucket-app-password': (rng) => 'ATBB' + rng.chars(ALPHA_NUM, 24) + rng.chars('0123456789ABCDEF', 8),
  'bitbucket-access-token': (rng) => 'ATCTT3xFfGF0' + rng.chars(BASE64URL, 170) + '=' + rng.chars('0123456789ABCDEF', 8),
  'hex-pm-api-key': (rng) => rng.chars(HEX, 32),
  'packagist-token': (rng) => `packagist_${rng.pick(['ort', 'out', 'uut'])}_${rng.chars(HEX, 68)}`,
  'clojars-deploy-token': (rng) => 'CLOJARS_' + rng.chars(LOWER_NUM, 60),
  'quay-robot-token': (rng) => rng.chars(UPPER_NUM, 64),
  'maven-repository-password': (rng) => rng.chars(ALPHA_NUM + '!#%+', 24),
  'gradle-plugin-portal-credential': (rng) => rng.chars(ALPHA_NUM, 32),
  'conda-anaconda-token': (rng) => `${rng.chars(ALPHA_NUM, 2)}-${rng.chars(BASE64URL, 30)}`,
};

/** Variable names under which name-anchored values realistically appear. */
export const contextNames: Record<string, string[]> = {
  'npmrc-auth-token': ['_authToken', '//registry.npmjs.org/:_authToken', 'npmAuthToken', 'NPM_TOKEN', 'NPM_AUTH_TOKEN'],
  'npmrc-basic-auth': ['_auth', '//npm.pkg.example.com/:_auth'],
  'cargo-registry-token-legacy': ['CARGO_REGISTRY_TOKEN', 'CARGO_REGISTRIES_INTERNAL_TOKEN'],
  'jfrog-identity-token': ['ARTIFACTORY_ACCESS_TOKEN', 'JFROG_ACCESS_TOKEN', 'artifactory_password', 'JF_ACCESS_TOKEN'],
  'sonatype-nexus-credential': ['NEXUS_PASSWORD', 'OSSRH_PASSWORD', 'SONATYPE_TOKEN', 'ossrhPassword', 'mavenCentralPassword'],
  'hex-pm-api-key': ['HEX_API_KEY', 'hex_api_key'],
  'quay-robot-token': ['QUAY_PASSWORD', 'QUAY_ROBOT_TOKEN', 'quay_token'],
  'maven-repository-password': ['MAVEN_PASSWORD', 'MAVEN_REPO_PASS', 'mavenPassword'],
  'gradle-plugin-portal-credential': ['GRADLE_PUBLISH_KEY', 'GRADLE_PUBLISH_SECRET', 'gradle.publish.key', 'gradle.publish.secret'],
  'conda-anaconda-token': ['ANACONDA_API_TOKEN', 'ANACONDA_TOKEN', 'BINSTAR_API_TOKEN'],
};
