import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64, BASE64URL, HEX } from '../rng.js';

const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

function b64json(obj: unknown): string {
  return Buffer.from(JSON.stringify(obj), 'utf8').toString('base64');
}

/** One generator per rule id of detectors/rules/observability.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'datadog-api-key': (rng) => rng.chars(HEX, 32),
  'datadog-app-key': (rng) => rng.chars(HEX, 40),
  'newrelic-user-api-key': (rng) => `NRAK-${rng.chars(UPPER_NUM, 27)}`,
  'newrelic-insert-key': (rng) => `NRII-${rng.chars(BASE64URL, 32)}`,
  'newrelic-query-key': (rng) => `NRIQ-${rng.chars(BASE64URL, 32)}`,
  'newrelic-browser-api-token': (rng) => `NRJS-${rng.chars(HEX, 19)}`,
  'newrelic-admin-key': (rng) => `NRAA-${rng.chars(HEX, 27)}`,
  'newrelic-license-key': (rng) => `${rng.pick(['', 'eu01xx'])}${rng.chars(HEX, 36)}`.slice(-36) + 'NRAL',
  'newrelic-license-key-legacy': (rng) => rng.chars(HEX, 40),
  'grafana-cloud-api-token': (rng) =>
    'glc_' + b64json({ o: String(100000 + rng.int(900000)), n: `ci-${rng.chars(LOWER_NUM, 8)}`, k: rng.chars(ALPHA_NUM, 24), m: { r: rng.pick(['us', 'eu', 'prod-us-east-0']) } }),
  'grafana-service-account-token': (rng) => `glsa_${rng.chars(ALPHA_NUM, 32)}_${rng.chars(HEX, 8)}`,
  'grafana-api-key-legacy': (rng) => b64json({ k: rng.chars(ALPHA_NUM, 32), n: `ci-${rng.chars(LOWER_NUM, 6)}`, id: 1 + rng.int(99) }),
  'sentry-org-auth-token': (rng) =>
    'sntrys_' +
    b64json({ iat: 1700000000 + rng.int(50000000), url: 'https://sentry.io', region_url: 'https://us.sentry.io', org: rng.chars(LOWER_NUM, 8) }).replace(/=+$/, '') +
    '_' +
    rng.chars(BASE64, 43),
  'sentry-user-auth-token': (rng) => `sntryu_${rng.chars(HEX, 64)}`,
  'sentry-auth-token-legacy': (rng) => rng.chars(HEX, 64),
  'sentry-dsn': (rng) => `https://${rng.chars(HEX, 32)}@o${100000 + rng.int(9000000)}.ingest.${rng.pick(['', 'us.', 'de.'])}sentry.io/${1000000 + rng.int(9000000)}`,
  'honeycomb-api-key': (rng) => `${rng.pick(['hcaik', 'hcaic', 'hcxik', 'hcxmk'])}_01${rng.chars(LOWER_NUM, 56)}`,
  'honeycomb-api-key-legacy': (rng) => (rng.int(2) === 0 ? rng.chars(HEX, 32) : rng.chars(ALPHA_NUM, 22)),
  'dynatrace-api-token': (rng) => `${rng.pick(['dt0c01', 'dt0s01', 'dt0s16'])}.${rng.chars(UPPER_NUM, 24)}.${rng.chars(UPPER_NUM, 64)}`,
  'splunk-hec-token': uuid,
  'lightstep-access-token': (rng) => rng.chars(ALPHA_NUM + '+/', 84),
  'pagerduty-integration-key': (rng) => rng.chars(HEX, 32),
  'pagerduty-api-token': (rng) => `${rng.pick(['u+', 'y_', ''])}${rng.chars(ALPHA_NUM + '_-', 20)}`.slice(0, 20),
  'opsgenie-api-key': uuid,
  'rollbar-access-token': (rng) => rng.chars(HEX, 32),
  'bugsnag-api-key': (rng) => rng.chars(HEX, 32),
  'elastic-api-key': (rng) => Buffer.from(`${rng.chars(BASE64URL, 20)}:${rng.chars(BASE64URL, 22)}`, 'latin1').toString('base64'),
  'elastic-cloud-api-key': (rng) => `essu_${Buffer.from(rng.chars(ALPHA_NUM, 96), 'latin1').toString('base64')}`,
  'logzio-token': (rng) => (rng.int(2) === 0 ? rng.chars(LETTERS, 32) : uuid(rng)),
  'sumologic-access-key': (rng) => rng.chars(ALPHA_NUM, 64),
  'sumologic-http-source-url': (rng) =>
    `https://endpoint${1 + rng.int(6)}.collection.${rng.pick(['', 'us2.', 'eu.'])}sumologic.com/receiver/v1/http/${rng.chars(BASE64URL, 120)}==`,
  'axiom-api-token': (rng) => `xaat-${uuid(rng)}`,
  'axiom-personal-token': (rng) => `xapt-${uuid(rng)}`,
  'betterstack-token': (rng) => rng.chars(ALPHA_NUM, 24),
  'coveralls-repo-token': (rng) => rng.chars(ALPHA_NUM, 32 + rng.int(3) * 4),
  'honeybadger-api-key': (rng) => (rng.int(2) === 0 ? `hbp_${rng.chars(ALPHA_NUM, 36)}` : rng.chars(ALPHA_NUM, 24)),
  'checkly-api-key': (rng) => `cu_${rng.chars(HEX, 32)}`,
  'launchdarkly-access-token': (rng) => `${rng.pick(['api', 'sdk'])}-${uuid(rng)}`,
  'instana-agent-key': (rng) => rng.chars(BASE64URL, 22),
  'appsignal-push-api-key': uuid,
};

/** Variable names the name-anchored values of observability.ts are assigned to. */
export const contextNames: Record<string, string[]> = {
  'datadog-api-key': ['DD_API_KEY', 'DATADOG_API_KEY', 'DD-API-KEY', 'datadog_api_key'],
  'datadog-app-key': ['DD_APP_KEY', 'DATADOG_APP_KEY', 'DD-APPLICATION-KEY', 'DD_APPLICATION_KEY'],
  'newrelic-license-key-legacy': ['NEW_RELIC_LICENSE_KEY', 'NEWRELIC_LICENSE_KEY', 'newrelic_license_key'],
  'sentry-auth-token-legacy': ['SENTRY_AUTH_TOKEN', 'SENTRY_TOKEN', 'sentry_api_token'],
  'honeycomb-api-key-legacy': ['HONEYCOMB_API_KEY', 'HONEYCOMB_WRITEKEY', 'X-Honeycomb-Team'],
  'splunk-hec-token': ['SPLUNK_HEC_TOKEN', 'SPLUNK_TOKEN', 'splunk_hec_token'],
  'lightstep-access-token': ['LIGHTSTEP_ACCESS_TOKEN', 'Lightstep-Access-Token', 'lightstep_token'],
  'pagerduty-integration-key': ['PAGERDUTY_ROUTING_KEY', 'PAGERDUTY_INTEGRATION_KEY', 'pagerduty_service_key'],
  'pagerduty-api-token': ['PAGERDUTY_API_TOKEN', 'PAGERDUTY_TOKEN', 'pagerduty_api_key'],
  'opsgenie-api-key': ['OPSGENIE_API_KEY', 'opsgenie_api_key', 'OPSGENIE_KEY'],
  'rollbar-access-token': ['ROLLBAR_ACCESS_TOKEN', 'ROLLBAR_TOKEN', 'X-Rollbar-Access-Token'],
  'bugsnag-api-key': ['BUGSNAG_API_KEY', 'bugsnag_api_key', 'Bugsnag-Api-Key'],
  'elastic-api-key': ['ELASTIC_API_KEY', 'ELASTICSEARCH_API_KEY', 'elastic_apikey'],
  'logzio-token': ['LOGZIO_TOKEN', 'LOGZIO_SHIPPING_TOKEN', 'LOGZ_IO_API_TOKEN'],
  'sumologic-access-key': ['SUMOLOGIC_ACCESS_KEY', 'SUMO_ACCESS_KEY', 'sumologic_secret'],
  'betterstack-token': ['BETTERSTACK_SOURCE_TOKEN', 'LOGTAIL_SOURCE_TOKEN', 'BETTER_STACK_API_TOKEN'],
  'coveralls-repo-token': ['COVERALLS_REPO_TOKEN', 'coveralls_token', 'COVERALLS_TOKEN'],
  'honeybadger-api-key': ['HONEYBADGER_API_KEY', 'HONEYBADGER_AUTH_TOKEN', 'honeybadger_api_key'],
  'checkly-api-key': ['CHECKLY_API_KEY', 'checkly_api_key'],
  'launchdarkly-access-token': ['LAUNCHDARKLY_ACCESS_TOKEN', 'LAUNCHDARKLY_SDK_KEY', 'LAUNCH_DARKLY_API_KEY'],
  'instana-agent-key': ['INSTANA_AGENT_KEY', 'INSTANA_API_TOKEN', 'instana_key'],
  'appsignal-push-api-key': ['APPSIGNAL_PUSH_API_KEY', 'appsignal_push_api_key', 'APPSIGNAL_API_KEY'],
};
