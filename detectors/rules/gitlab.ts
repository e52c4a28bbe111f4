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
    positive: ['GITLAB_TOKEN=glpat-gyzQEGbyGpo9lPdKEY9D', 'PRIVATE-TOKEN: glpat-Zgi9ccq1sLxnZ51X9Q24', 'git clone https://oauth2:glpat-k9n8_WGFRwQk7nrPrrY3@gitlab.com/group/project.git'],
    negative: ['GITLAB_TOKEN=glpat-XXXXXXXXXXX-XXXXXXXX', 'GITLAB_TOKEN=re0y_KNzNfyDW96F7zL9', 'GITLAB_TOKEN=glpat-MhtRXv2hXvL5FpEGFEy6abc'],
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
      positive: ['GITLAB_TOKEN=glpat-j7LDAYJ13dglmjGudEeodF6Vj9c75pVrrImHvmZaaTaXg.01.3ny43mlzm', 'PRIVATE-TOKEN: glpat-h3pusLTkPM9-XaPxFAIuk_hRUXnVr.01.0lga1bpeg'],
      negative: ['GITLAB_TOKEN=glpat-xxxxxxxx-xxxxxxxxxxxxxxxxxx.xxxxxxxxx', 'GITLAB_TOKEN=glpat-short.01.abc'],
    },
  },
  prefixed('gitlab-deploy-token', 'GitLab deploy token', 'high', 'gldt-', '[A-Za-z0-9_-]{20}', {
    positive: ['CI_DEPLOY_PASSWORD=gldt-Q7xWvA0tDNL6NhscTJrf', 'docker login -u gitlab+deploy-token-12 -p gldt-BRn-dNshTt9uH57QkjWc registry.gitlab.com'],
    negative: ['CI_DEPLOY_PASSWORD=QYbx8WNtj42xbftgf7ls'],
  }),
  prefixed('gitlab-runner-auth-token', 'GitLab runner authentication token', 'high', 'glrt-', '[A-Za-z0-9_-]{20}', {
    positive: ['gitlab-runner register --non-interactive --url https://gitlab.com --token glrt-KZOQ5Ig26Z9xCOd_cg6w', '  token = "glrt-q_ysTUuRscQIoF-RnqFY"'],
    negative: ['token = "UJY8PpA8NzS9yqLmVXaF"'],
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
      positive: ['  token = "glrt-t3_2SUP-mThyQTC4pHlTBn-wAWtJr-GLjEtNB.01.ugldi035z"', 'RUNNER_TOKEN=glrt-t2_btC_XGiLJq7q7RL6EdeqvSXdq8ZkslXp.01.ce0rkgzzp'],
      negative: ['token = "glrt-tx_xxxxxxxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxx"'],
    },
  },
  prefixed('gitlab-runner-registration-token', 'GitLab runner registration token (deprecated)', 'high', 'GR1348941', '[A-Za-z0-9_-]{20}', {
    positive: ['REGISTRATION_TOKEN=GR1348941sMRUvQIZl3CAnkSzt6Rk', 'gitlab-runner register --registration-token GR1348941TUtlTffFXS6YBwSFBsyQ'],
    negative: ['REGISTRATION_TOKEN=GR134894112312312312312312312', 'REGISTRATION_TOKEN=GR1348941XXXXXXXXXXXXXXXXXXXX'],
  }),
  prefixed('gitlab-ci-build-token', 'GitLab CI/CD job token', 'high', 'glcbt-', '[A-Za-z0-9]{1,5}_[A-Za-z0-9_-]{20}', {
    positive: ['CI_JOB_TOKEN=glcbt-q_BE6qC6EGnkHUmWwT2v4I', 'JOB-TOKEN: glcbt-K_bwE_Mcf4vbB7uMHpnzMA'],
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
      positive: ['CI_JOB_TOKEN=vKBk9FJvx4HsTpzBH2R291f1DG2eXfKHCbGBAX5HPBOtlBodpfy2HK9CuQoHCiaO', 'curl --header "JOB-TOKEN: i8OV7u4grxkIoTQIrthmZ9bc3ob7Jih7gW6odMRUDG4vS4svaGoOttwu9zrV64cj" https://gitlab.com/api/v4/jobs'],
      negative: ['curl --header "JOB-TOKEN: $CI_JOB_TOKEN" https://gitlab.com/api/v4/jobs', 'CI_JOB_TOKEN=[MASKED]'],
    },
  },
  prefixed('gitlab-pipeline-trigger-token', 'GitLab pipeline trigger token', 'high', 'glptt-', '[a-f0-9]{40}', {
    positive: ['curl -X POST -F token=glptt-c95d04e8a71cdcd02df6999c73442f97dca3eacb -F ref=main https://gitlab.com/api/v4/projects/1/trigger/pipeline'],
    negative: ['token=glptt-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'token=GLPTT-4CA93141DCAA4FC1636D7D411556F17A4D4F766B'],
  }),
  prefixed('gitlab-feed-token', 'GitLab feed token', 'medium', 'glft-', '[A-Za-z0-9_-]{20}', {
    positive: ['https://gitlab.com/dashboard/projects.atom?feed_token=glft--uR_u1LJbTFYYIAqD5Gy'],
    negative: ['feed_token=fzITQyH_Mr9g2hbt67Og'],
  }),
  prefixed('gitlab-scim-token', 'GitLab SCIM token', 'high', 'glsoat-', '[A-Za-z0-9_-]{20}', {
    positive: ['Authorization: Bearer glsoat-RI3DT-Jy2i2W_MTsLrcr'],
    negative: ['Authorization: Bearer HgcExDffsrEGOLfUD_Dw'],
  }),
  prefixed('gitlab-agent-token', 'GitLab agent for Kubernetes token', 'high', 'glagent-', '[A-Za-z0-9_-]{50}', {
    positive: ['helm upgrade --install gitlab-agent gitlab/gitlab-agent --set config.token=glagent-d0P9zJ3SNXv6LKaOazj8enrz-SpALdcZaPQTwbJhaPk8KXrh1X'],
    negative: ['config.token=4W0dNaZFKs2R5vmqHEMZrWzhMusDloCzwBGaFJzYmYRZzE0gr4'],
  }),
  prefixed('gitlab-incoming-mail-token', 'GitLab incoming email token', 'medium', 'glimt-', '[A-Za-z0-9_-]{25}', {
    positive: ['reply+glimt-mogvqrp5jP4eSwzQohwTD5NLs@incoming.gitlab.com'],
    negative: ['reply+aQB0eljy8J226LEnslcdf7GrG@incoming.gitlab.com'],
  }),
  prefixed('gitlab-oauth-app-secret', 'GitLab OAuth application secret', 'high', 'gloas-', '[A-Za-z0-9_-]{64}', {
    positive: ['GITLAB_OAUTH_SECRET=gloas-5i7Oi-suHlgO-iX_KVByPzPxdUhb2G5DBquEhs8bqLkD-QFqaTrozmLX1s1HnDYw', '"client_secret": "gloas-dUBIF5DuTdJc45n0bwCjUUiAr41bSGwjj8AIOeCUl08Sr-TwXBYiE2jOImoWSdNf"'],
    negative: ['GITLAB_OAUTH_SECRET=vbZK8mh4BbD32qYlMo4CfxpaEfZSGCtz9ojUzgCh5FDx9ulcw2FVoQEWP1uTRI6k'],
  }),
  prefixed('gitlab-feature-flag-client-token', 'GitLab feature flags client token', 'medium', 'glffct-', '[A-Za-z0-9_-]{20}', {
    positive: ['UNLEASH_INSTANCE_ID=glffct-EU07fXUW92FuqoL6iwNx'],
    negative: ['UNLEASH_INSTANCE_ID=FR3NTaZ1Cse-iIH5P8NF'],
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
      positive: ['Cookie: _gitlab_session=6d8b0ef282998e9015f6201e5d304a05; event_filter=all', 'Set-Cookie: _gitlab_session=cb38ecfd6a9dee7365f20b3f547eb95a; path=/; secure; HttpOnly'],
      negative: ['Cookie: _gitlab_session=9cb00347023f1c7d', 'Cookie: _gitlab_session=${SESSION}'],
    },
  },
];
