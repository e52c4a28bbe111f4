// GitHub: personal access tokens (classic and fine-grained), OAuth, app installation,
// user-to-server and refresh tokens, app client secrets, runner registration tokens.
// GitHub App private keys are PEM blocks (see keys.ts). All example values are synthetic.
import type { RuleSpec } from '../types.js';
import { B, E, ASSIGN12 as ASSIGN, TAIL30 as TAIL } from './build.js';


const GITHUB = ['api.github.com', 'github.com', '*.github.com', 'uploads.github.com', '*.githubusercontent.com', 'ghcr.io'];

/** A `gh?_` token: prefix, 30 base62 characters and a 6-character CRC32. */
function checksummed(id: string, title: string, prefix: string, severity: RuleSpec['severity'], examples: RuleSpec['examples']): RuleSpec {
  return {
    id,
    title,
    severity,
    regex: String.raw`${B}(${prefix}[A-Za-z0-9]{36})${E}`,
    secretGroup: 1,
    keywords: [prefix],
    validator: 'github-crc32',
    entropy: 3,
    destinations: GITHUB,
    examples,
  };
}

export const rules: RuleSpec[] = [
  checksummed('github-pat-classic', 'GitHub personal access token (classic)', 'ghp_', 'high', {
    positive: [
      'GITHUB_TOKEN=@@github-pat-classic@@',
      'git clone https://x-access-token:@@github-pat-classic@@@github.com/org/repo.git',
      'Authorization: token @@github-pat-classic@@',
    ],
    negative: [
      'GITHUB_TOKEN=@@github-pat-classic|bad@@',
      'GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      'id=myghp_@@github-pat-classic|t@@',
    ],
  }),
  checksummed('github-oauth-token', 'GitHub OAuth access token', 'gho_', 'high', {
    positive: ['{"access_token": "@@github-oauth-token@@", "token_type": "bearer"}', 'oauth_token: @@github-oauth-token@@'],
    negative: ['{"access_token": "@@github-oauth-token|bad@@"}'],
  }),
  checksummed('github-user-to-server-token', 'GitHub App user-to-server token', 'ghu_', 'high', {
    positive: ['Authorization: Bearer @@github-user-to-server-token@@'],
    negative: ['Authorization: Bearer @@github-user-to-server-token|bad@@'],
  }),
  checksummed('github-server-to-server-token', 'GitHub App installation (server-to-server) token', 'ghs_', 'high', {
    positive: ['GITHUB_TOKEN=@@github-server-to-server-token@@', 'echo "@@github-server-to-server-token@@" | gh auth login --with-token'],
    negative: ['GITHUB_TOKEN=@@github-server-to-server-token|bad@@', 'GITHUB_TOKEN=@@github-server-to-server-token@@x'],
  }),
  checksummed('github-refresh-token', 'GitHub App refresh token', 'ghr_', 'high', {
    positive: ['{"refresh_token": "@@github-refresh-token@@", "refresh_token_expires_in": 15811200}'],
    negative: ['{"refresh_token": "@@github-refresh-token|bad@@"}'],
  }),
  {
    id: 'github-pat-fine-grained',
    title: 'GitHub fine-grained personal access token',
    severity: 'high',
    regex: String.raw`${B}(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})${E}`,
    secretGroup: 1,
    keywords: ['github_pat_'],
    entropy: 3.5,
    destinations: GITHUB,
    examples: {
      positive: ['GH_TOKEN=@@github-pat-fine-grained@@', 'gh auth login --with-token <<< "@@github-pat-fine-grained@@"'],
      negative: ['GH_TOKEN=@@github-pat-fine-grained|t@@', 'GH_TOKEN=github_pat_<your-token>'],
    },
  },
  {
    id: 'github-app-client-secret',
    title: 'GitHub App / OAuth App client secret',
    severity: 'high',
    regex: String.raw`(?i:github|gh)_?${TAIL}(?i:client_?secret|clientsecret|client-secret)${ASSIGN}([a-f0-9]{40})${E}`,
    secretGroup: 1,
    keywords: ['client_secret', 'clientsecret', 'client-secret'],
    entropy: 3,
    destinations: ['github.com', 'api.github.com'],
    examples: {
      positive: ['GITHUB_CLIENT_SECRET=@@github-app-client-secret@@', 'github_oauth_client_secret: "@@github-app-client-secret@@"'],
      negative: ['GITHUB_CLIENT_ID=Iv1.@@github-app-client-secret|t@@', 'GITHUB_CLIENT_SECRET=@@github-app-client-secret|t@@'],
    },
  },
  {
    id: 'github-token-legacy',
    title: 'GitHub token (legacy 40-hex, named)',
    severity: 'high',
    regex: String.raw`(?i:github|gh)_?(?i:api_?|oauth_?|access_?|personal_?access_?|auth_?)?(?i:token|pat)[\w.-]{0,10}${ASSIGN}([a-f0-9]{40})${E}`,
    secretGroup: 1,
    keywords: ['github_token', 'githubtoken', 'gh_token', 'github_pat', 'gh_pat', 'github_api', 'github_oauth', 'github_access', 'github_personal', 'github_auth', 'githubpat'],
    entropy: 3,
    destinations: GITHUB,
    examples: {
      positive: ['GITHUB_TOKEN=@@github-token-legacy@@', 'export HOMEBREW_GITHUB_API_TOKEN="@@github-token-legacy@@"'],
      negative: ['GITHUB_SHA=@@github-token-legacy@@', 'GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}'],
    },
  },
  {
    id: 'github-runner-registration-token',
    title: 'GitHub Actions runner registration token',
    severity: 'high',
    regex: String.raw`(?:(?i:config\.(?:sh|cmd))[^\n]{0,300}?--token[ =]|(?i:runner_?(?:registration_?)?token)[\w.-]{0,10}${ASSIGN})([A-Z0-9]{29})${E}`,
    secretGroup: 1,
    keywords: ['config.sh', 'config.cmd', 'runner_token', 'runnertoken', 'runner_registration_token'],
    entropy: 3.5,
    destinations: ['api.github.com', 'github.com', 'pipelines.actions.githubusercontent.com', '*.actions.githubusercontent.com'],
    examples: {
      positive: [
        './config.sh --url https://github.com/org/repo --token @@github-runner-registration-token@@ --unattended',
        'ACTIONS_RUNNER_TOKEN=@@github-runner-registration-token@@',
      ],
      negative: ['./config.sh --url https://github.com/org/repo --token ${RUNNER_TOKEN}', 'RUNNER_TOKEN=@@github-runner-registration-token|lc@@'],
    },
  },
];
