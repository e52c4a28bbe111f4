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
      'GITHUB_TOKEN=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',
      'git clone https://x-access-token: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@github.com/org/repo.git',
      'Authorization: token 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',
    ],
    negative: [
      'GITHUB_TOKEN=ghp_YLa1PMHohVFnHPHp3wFjeXAsEJ8t8G11oU5A',
      'GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      'id=my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',
    ],
  }),
  checksummed('github-oauth-token', 'GitHub OAuth access token', 'gho_', 'high', {
    positive: ['{"access_token": "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", "token_type": "bearer"}', 'oauth_token: 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'],
    negative: ['{"access_token": "gho_hd2MShazXMQArMjRgzN0Z1ohSwtut521N9cA"}'],
  }),
  checksummed('github-user-to-server-token', 'GitHub App user-to-server token', 'ghu_', 'high', {
    positive: ['Authorization: Bearer ghu_1JYOlOhcHTsoF2hSwzhzCcNqYUlFN93Zbvs5'],
    negative: ['Authorization: Bearer ghu_iuRxti98waYLc18wLNsGDUIHV2t8rA1oXRm0'],
  }),
  checksummed('github-server-to-server-token', 'GitHub App installation (server-to-server) token', 'ghs_', 'high', {
    positive: ['GITHUB_TOKEN=ghs_4VjlLe2nXuxb2tKIBLq6aVAlx7eQQs3Vz5VL', 'echo "ghs_xCzhFNRmOPE1gxoZZiaOnk5RC8rdjJ0T3Gwq" | gh auth login --with-token'],
    negative: ['GITHUB_TOKEN=ghs_Rs5H90wOvlpuJ8UbWvbeBiwl9idpYb2Xd1ZA', 'GITHUB_TOKEN=ghs_lRJkECq6jYQLee3RVrTQuKjbtPncQW0I1U8Dx'],
  }),
  checksummed('github-refresh-token', 'GitHub App refresh token', 'ghr_', 'high', {
    positive: ['{"refresh_token": "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", "refresh_token_expires_in": 15811200}'],
    negative: ['{"refresh_token": "ghr_foQbENfe8ARgrCP9thkxGQXOHopRQx3r79xa"}'],
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
      positive: ['GH_TOKEN=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', 'gh auth login --with-token <<< "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"'],
      negative: ['GH_TOKEN=11YW7TNUDICFSIDUQ38OI3_1DPtVjlD2DKZxiVdpiOcn49FMDqiyCoI9OSLQRumbdFI1W6X2AztpbCVpoN', 'GH_TOKEN=github_pat_<your-token>'],
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
      positive: ['GITHUB_CLIENT_SECRET=7835e8e5bd1d36b5a2dd67678431f54638bed8d1', 'github_oauth_client_secret: "582d4ae0020e80bee440a9c3f9d25daa6db26f18"'],
      negative: ['GITHUB_CLIENT_ID=Iv1.dfd47b77af8af30e3bd1', 'GITHUB_CLIENT_SECRET=ae2e8286ad954317563b'],
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
      positive: ['GITHUB_TOKEN=1a3fef1a3cd381f447c1db3e7ed29783f91f60e8', 'export HOMEBREW_GITHUB_API_TOKEN="53c1e3d4144f34a49f794a04461cf567cefe9d38"'],
      negative: ['GITHUB_SHA=b3cfbac877013830d62abd8a5f26bdb4a05fc2e7', 'GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}'],
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
        './config.sh --url https://github.com/org/repo --token CZK44YSQM4FLTJ0YDYY61OH2LD2PI --unattended',
        'ACTIONS_RUNNER_TOKEN=U6ML2GTBC1HCNPDZZ1K1MKBM5YBU5',
      ],
      negative: ['./config.sh --url https://github.com/org/repo --token ${RUNNER_TOKEN}', 'RUNNER_TOKEN=uccr1c28mdnl4yl2bhw7ype91zjc3'],
    },
  },
];
