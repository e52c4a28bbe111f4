import type { Rng } from '../rng.js';
import { ALPHA_NUM, HEX } from '../rng.js';
import { tokenChecksum } from '../../../detectors/checksum.js';

const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `prefix` + 30 random base62 characters + their 6-character CRC32 checksum. */
function checksummed(prefix: string, rng: Rng): string {
  const body = rng.chars(ALPHA_NUM, 30);
  return prefix + body + tokenChecksum(body);
}

/** One generator per rule id of detectors/rules/github.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'github-pat-classic': (rng) => checksummed('ghp_', rng),
  'github-oauth-token': (rng) => checksummed('gho_', rng),
  'github-user-to-server-token': (rng) => checksummed('ghu_', rng),
  'github-server-to-server-token': (rng) => checksummed('ghs_', rng),
  'github-refresh-token': (rng) => checksummed('ghr_', rng),
  'github-pat-fine-grained': (rng) => `github_pat_11${rng.chars(UPPER_NUM, 20)}_${rng.chars(ALPHA_NUM, 59)}`,
  'github-app-client-secret': (rng) => rng.chars(HEX, 40),
  'github-token-legacy': (rng) => rng.chars(HEX, 40),
  'github-runner-registration-token': (rng) => rng.chars(UPPER_NUM, 29),
};

/** Variable names under which name-anchored values realistically appear. */
export const contextNames: Record<string, string[]> = {
  'github-app-client-secret': ['GITHUB_CLIENT_SECRET', 'GH_APP_CLIENT_SECRET', 'github_oauth_client_secret', 'GITHUB_APP_CLIENT_SECRET'],
  'github-token-legacy': ['GITHUB_TOKEN', 'GH_TOKEN', 'GITHUB_PAT', 'HOMEBREW_GITHUB_API_TOKEN', 'github_access_token'],
  'github-runner-registration-token': ['RUNNER_TOKEN', 'ACTIONS_RUNNER_TOKEN', 'RUNNER_REGISTRATION_TOKEN'],
};
