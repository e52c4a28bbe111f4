import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64URL, HEX } from '../rng.js';

const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** One generator per rule id of detectors/rules/gitlab.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'gitlab-pat': (rng) => 'glpat-' + rng.chars(BASE64URL, 20),
  'gitlab-pat-routable': (rng) => `glpat-${rng.chars(BASE64URL, 27 + rng.int(20))}.01.${rng.chars(LOWER_NUM, 9)}`,
  'gitlab-deploy-token': (rng) => 'gldt-' + rng.chars(BASE64URL, 20),
  'gitlab-runner-auth-token': (rng) => 'glrt-' + rng.chars(BASE64URL, 20),
  'gitlab-runner-auth-token-routable': (rng) =>
    `glrt-t${1 + rng.int(3)}_${rng.chars(BASE64URL, 27 + rng.int(10))}.01.${rng.chars(LOWER_NUM, 9)}`,
  'gitlab-runner-registration-token': (rng) => 'GR1348941' + rng.chars(BASE64URL, 20),
  'gitlab-ci-build-token': (rng) => `glcbt-${rng.chars(ALPHA_NUM, 1 + rng.int(5))}_${rng.chars(BASE64URL, 20)}`,
  'gitlab-ci-job-token-legacy': (rng) => (rng.int(2) === 0 ? rng.chars(ALPHA_NUM, 20) : rng.chars(ALPHA_NUM, 64)),
  'gitlab-pipeline-trigger-token': (rng) => 'glptt-' + rng.chars(HEX, 40),
  'gitlab-feed-token': (rng) => 'glft-' + rng.chars(BASE64URL, 20),
  'gitlab-scim-token': (rng) => 'glsoat-' + rng.chars(BASE64URL, 20),
  'gitlab-agent-token': (rng) => 'glagent-' + rng.chars(BASE64URL, 50),
  'gitlab-incoming-mail-token': (rng) => 'glimt-' + rng.chars(BASE64URL, 25),
  'gitlab-oauth-app-secret': (rng) => 'gloas-' + rng.chars(BASE64URL, 64),
  'gitlab-feature-flag-client-token': (rng) => 'glffct-' + rng.chars(BASE64URL, 20),
  'gitlab-session-cookie': (rng) => rng.chars(HEX, 32),
};

/** Variable names under which name-anchored values realistically appear. */
export const contextNames: Record<string, string[]> = {
  'gitlab-ci-job-token-legacy': ['CI_JOB_TOKEN', 'JOB-TOKEN', 'ci_job_token'],
  'gitlab-session-cookie': ['_gitlab_session'],
};
