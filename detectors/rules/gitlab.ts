// GitLab: personal/project/group access tokens (legacy and routable), deploy, runner,
// CI job, pipeline trigger, feed, SCIM, agent, incoming-mail, OAuth-app and
// feature-flag tokens, and the session cookie. Self-managed hosts are added by
// operators. All example values are synthetic.
import type { RuleSpec } from '../types.js';
import { R as ED, SGR12 as SGR } from './build.js';

const B = String.raw`(?:^|\x1b\[[0-9;]{0,12}m|[^A-Za-z0-9_-])`;

const GITLAB = ['gitlab.com', '*.gitlab.com', 'registry.gitlab.com'];

function prefixed(
  id: string,
  title: string,
  severity: RuleSpec['severity'],
  prefix: string,
  body: string,
  examples: RuleSpec['examples'],
): RuleSpec {
  return {
    id,
    title,
    severity,
    regex: `${B}(${prefix.replaceAll('.', '\\.')}${body})${ED}`,
    secretGroup: 1,
    keywords: [prefix],
    entropy: 3,
    destinations: GITLAB,
    examples,
  };
}

export const rules: RuleSpec[] = [
  prefixed('gitlab-pat', 'GitLab personal/project/group access token', 'high', 'glpat-', '[A-Za-z0-9_-]{20}', {
    positive: ['GITLAB_TOKEN=@@gitlab-pat@@', 'PRIVATE-TOKEN: @@gitlab-pat@@', 'git clone https://oauth2:@@gitlab-pat@@@gitlab.com/group/project.git'],
    negative: ['GITLAB_TOKEN=glpat-XXXXXXXXXXX-XXXXXXXX', 'GITLAB_TOKEN=@@gitlab-pat|t@@', 'GITLAB_TOKEN=@@gitlab-pat@@abc'],
  }),
  {
    id: 'gitlab-pat-routable',
    title: 'GitLab access token (routable format)',
    severity: 'high',
    regex: String.raw`${B}(glpat-[A-Za-z0-9_-]{27,300}\.[0-9a-z]{2}(?:\.[0-9a-z]{9}|[0-9a-z]{7}))(?:[^A-Za-z0-9_.-]|$)`,
    secretGroup: 1,
    keywords: ['glpat-'],
    entropy: 3.5,
    maxLength: 400,
    destinations: GITLAB,
    examples: {
      positive: ['GITLAB_TOKEN=@@gitlab-pat-routable@@', 'PRIVATE-TOKEN: @@gitlab-pat-routable@@'],
      negative: ['GITLAB_TOKEN=glpat-xxxxxxxx-xxxxxxxxxxxxxxxxxx.xxxxxxxxx', 'GITLAB_TOKEN=glpat-short.01.abc'],
    },
  },
  prefixed('gitlab-deploy-token', 'GitLab deploy token', 'high', 'gldt-', '[A-Za-z0-9_-]{20}', {
    positive: ['CI_DEPLOY_PASSWORD=@@gitlab-deploy-token@@', 'docker login -u gitlab+deploy-token-12 -p @@gitlab-deploy-token@@ registry.gitlab.com'],
    negative: ['CI_DEPLOY_PASSWORD=@@gitlab-deploy-token|t@@'],
  }),
  prefixed('gitlab-runner-auth-token', 'GitLab runner authentication token', 'high', 'glrt-', '[A-Za-z0-9_-]{20}', {
    positive: ['gitlab-runner register --non-interactive --url https://gitlab.com --token @@gitlab-runner-auth-token@@', '  token = "@@gitlab-runner-auth-token@@"'],
    negative: ['token = "@@gitlab-runner-auth-token|t@@"'],
  }),
  {
    id: 'gitlab-runner-auth-token-routable',
    title: 'GitLab runner authentication token (routable format)',
    severity: 'high',
    regex: String.raw`${B}(glrt-t[0-9]_[A-Za-z0-9_-]{27,300}\.[0-9a-z]{2}(?:\.[0-9a-z]{9}|[0-9a-z]{7}))(?:[^A-Za-z0-9_.-]|$)`,
    secretGroup: 1,
    keywords: ['glrt-'],
    entropy: 3.5,
    maxLength: 400,
    destinations: GITLAB,
    examples: {
      positive: ['  token = "@@gitlab-runner-auth-token-routable@@"', 'RUNNER_TOKEN=@@gitlab-runner-auth-token-routable@@'],
      negative: ['token = "glrt-tx_xxxxxxxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxx"'],
    },
  },
  prefixed('gitlab-runner-registration-token', 'GitLab runner registration token (deprecated)', 'high', 'GR1348941', '[A-Za-z0-9_-]{20}', {
    positive: ['REGISTRATION_TOKEN=@@gitlab-runner-registration-token@@', 'gitlab-runner register --registration-token @@gitlab-runner-registration-token@@'],
    negative: ['REGISTRATION_TOKEN=GR134894112312312312312312312', 'REGISTRATION_TOKEN=GR1348941XXXXXXXXXXXXXXXXXXXX'],
  }),
  prefixed('gitlab-ci-build-token', 'GitLab CI/CD job token', 'high', 'glcbt-', '[A-Za-z0-9]{1,5}_[A-Za-z0-9_-]{20}', {
    positive: ['CI_JOB_TOKEN=@@gitlab-ci-build-token@@', 'JOB-TOKEN: @@gitlab-ci-build-token@@'],
    negative: ['CI_JOB_TOKEN=glcbt-abc_short'],
  }),
  {
    id: 'gitlab-ci-job-token-legacy',
    title: 'GitLab CI/CD job token (unprefixed, named)',
    severity: 'high',
    regex: String.raw`(?i:ci_job_token|job-token|job_token)["']?\s{0,4}(?:=>|:=|[=:])\s{0,4}["'\x60]?${SGR}([A-Za-z0-9_-]{64}|[A-Za-z0-9_-]{20})${ED}`,
    secretGroup: 1,
    keywords: ['ci_job_token', 'job-token', 'job_token'],
    entropy: 3,
    destinations: GITLAB,
    examples: {
      positive: ['CI_JOB_TOKEN=@@gitlab-ci-job-token-legacy@@', 'curl --header "JOB-TOKEN: @@gitlab-ci-job-token-legacy@@" https://gitlab.com/api/v4/jobs'],
      negative: ['curl --header "JOB-TOKEN: $CI_JOB_TOKEN" https://gitlab.com/api/v4/jobs', 'CI_JOB_TOKEN=[MASKED]'],
    },
  },
  prefixed('gitlab-pipeline-trigger-token', 'GitLab pipeline trigger token', 'high', 'glptt-', '[a-f0-9]{40}', {
    positive: ['curl -X POST -F token=@@gitlab-pipeline-trigger-token@@ -F ref=main https://gitlab.com/api/v4/projects/1/trigger/pipeline'],
    negative: ['token=glptt-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'token=@@gitlab-pipeline-trigger-token|uc@@'],
  }),
  prefixed('gitlab-feed-token', 'GitLab feed token', 'medium', 'glft-', '[A-Za-z0-9_-]{20}', {
    positive: ['https://gitlab.com/dashboard/projects.atom?feed_token=@@gitlab-feed-token@@'],
    negative: ['feed_token=@@gitlab-feed-token|t@@'],
  }),
  prefixed('gitlab-scim-token', 'GitLab SCIM token', 'high', 'glsoat-', '[A-Za-z0-9_-]{20}', {
    positive: ['Authorization: Bearer @@gitlab-scim-token@@'],
    negative: ['Authorization: Bearer @@gitlab-scim-token|t@@'],
  }),
  prefixed('gitlab-agent-token', 'GitLab agent for Kubernetes token', 'high', 'glagent-', '[A-Za-z0-9_-]{50}', {
    positive: ['helm upgrade --install gitlab-agent gitlab/gitlab-agent --set config.token=@@gitlab-agent-token@@'],
    negative: ['config.token=@@gitlab-agent-token|t@@'],
  }),
  prefixed('gitlab-incoming-mail-token', 'GitLab incoming email token', 'medium', 'glimt-', '[A-Za-z0-9_-]{25}', {
    positive: ['reply+@@gitlab-incoming-mail-token@@@incoming.gitlab.com'],
    negative: ['reply+@@gitlab-incoming-mail-token|t@@@incoming.gitlab.com'],
  }),
  prefixed('gitlab-oauth-app-secret', 'GitLab OAuth application secret', 'high', 'gloas-', '[A-Za-z0-9_-]{64}', {
    positive: ['GITLAB_OAUTH_SECRET=@@gitlab-oauth-app-secret@@', '"client_secret": "@@gitlab-oauth-app-secret@@"'],
    negative: ['GITLAB_OAUTH_SECRET=@@gitlab-oauth-app-secret|t@@'],
  }),
  prefixed('gitlab-feature-flag-client-token', 'GitLab feature flags client token', 'medium', 'glffct-', '[A-Za-z0-9_-]{20}', {
    positive: ['UNLEASH_INSTANCE_ID=@@gitlab-feature-flag-client-token@@'],
    negative: ['UNLEASH_INSTANCE_ID=@@gitlab-feature-flag-client-token|t@@'],
  }),
  {
    id: 'gitlab-session-cookie',
    title: 'GitLab session cookie',
    severity: 'high',
    regex: String.raw`(?i:_gitlab_session)["']?\s{0,4}[=:]\s{0,4}["']?${SGR}([0-9a-f]{32})(?:[^A-Za-z0-9]|$)`,
    secretGroup: 1,
    keywords: ['_gitlab_session'],
    entropy: 3,
    destinations: GITLAB,
    examples: {
      positive: ['Cookie: _gitlab_session=@@gitlab-session-cookie@@; event_filter=all', 'Set-Cookie: _gitlab_session=@@gitlab-session-cookie@@; path=/; secure; HttpOnly'],
      negative: ['Cookie: _gitlab_session=@@gitlab-session-cookie|t@@', 'Cookie: _gitlab_session=${SESSION}'],
    },
  },
];
