import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64URL, HEX } from '../rng.js';

const DIGITS = '0123456789';
const UPPER_NUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Meteor ids (Rocket.Chat): no look-alike characters. */
const METEOR = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';

function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

/** A number that does not start with 0. */
function num(rng: Rng, n: number): string {
  return String(1 + rng.int(9)) + rng.chars(DIGITS, n - 1);
}

/** Discord bot token: base64 of the bot's snowflake id, a timestamp part, an HMAC part. */
function discordBotToken(rng: Rng): string {
  const id = num(rng, 18 + rng.int(2));
  const first = Buffer.from(id, 'ascii').toString('base64url');
  return `${first}.${rng.chars(BASE64URL, 6)}.${rng.chars(BASE64URL, rng.pick([27, 38]))}`;
}

/** One generator per rule id of detectors/rules/chat.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'slack-bot-token': (rng) => `xoxb-${num(rng, 11 + rng.int(3))}-${num(rng, 12 + rng.int(2))}-${rng.chars(ALPHA_NUM, 24)}`,
  'slack-user-token': (rng) =>
    `xoxp-${num(rng, 11 + rng.int(3))}-${num(rng, 12 + rng.int(2))}-${num(rng, 12 + rng.int(2))}-${rng.chars(HEX, 32)}`,
  'slack-app-token': (rng) => `xapp-1-A${rng.chars(UPPER_NUM, 10)}-${num(rng, 13)}-${rng.chars(HEX, 64)}`,
  'slack-config-access-token': (rng) => `xoxe.xoxp-1-${rng.chars(ALPHA_NUM, 163 + rng.int(4))}`,
  'slack-config-refresh-token': (rng) => `xoxe-1-${rng.chars(ALPHA_NUM, 146)}`,
  'slack-legacy-workspace-token': (rng) => `${rng.pick(['xoxa-2-', 'xoxr-'])}${rng.chars(ALPHA_NUM, 32 + rng.int(16))}`,
  'slack-legacy-token': (rng) => `${rng.pick(['xoxo', 'xoxs'])}-${num(rng, 10)}-${num(rng, 11)}-${num(rng, 12)}-${rng.chars(HEX, 64)}`,
  'slack-webhook-url': (rng) =>
    `https://hooks.slack.com/services/T${rng.chars(UPPER_NUM, 6 + rng.int(5))}/B${rng.chars(UPPER_NUM, 6 + rng.int(5))}/${rng.chars(ALPHA_NUM, 24)}`,
  'slack-workflow-webhook-url': (rng) =>
    rng.int(2) === 0
      ? `https://hooks.slack.com/triggers/T${rng.chars(UPPER_NUM, 10)}/${num(rng, 13)}/${rng.chars(HEX, 32)}`
      : `https://hooks.slack.com/workflows/T${rng.chars(UPPER_NUM, 10)}/A${rng.chars(UPPER_NUM, 10)}/${num(rng, 18)}/${rng.chars(ALPHA_NUM, 24)}`,
  'slack-app-secret': (rng) => rng.chars(HEX, 32),
  'discord-bot-token': discordBotToken,
  'discord-webhook-url': (rng) =>
    `https://${rng.pick(['', 'ptb.', 'canary.'])}discord.com/api/webhooks/${num(rng, 18 + rng.int(2))}/${rng.chars(BASE64URL, 68)}`,
  'discord-client-secret': (rng) => rng.chars(BASE64URL, 32),
  'telegram-bot-token': (rng) => `${num(rng, 9 + rng.int(2))}:AA${rng.chars(BASE64URL, 33)}`,
  'msteams-incoming-webhook-url': (rng) =>
    `https://${rng.chars('abcdefghijklmnopqrstuvwxyz', 6 + rng.int(6))}.webhook.office.com/webhookb2/${uuid(rng)}@${uuid(rng)}/IncomingWebhook/${rng.chars(HEX, 32)}/${uuid(rng)}` +
    (rng.int(2) === 0 ? '' : `/V2${rng.chars(BASE64URL, 43)}`),
  'power-automate-webhook-url': (rng) =>
    `https://prod-${rng.int(99)}.${rng.pick(['westus', 'westeurope', 'northeurope', 'eastus2'])}.logic.azure.com:443/workflows/${rng.chars(HEX, 32)}` +
    `/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${rng.chars(BASE64URL, 43)}`,
  'mattermost-access-token': (rng) => rng.chars(LOWER_NUM, 26),
  'mattermost-webhook-url': (rng) =>
    `https://${rng.pick(['mattermost', 'chat-mattermost', 'mattermost.ops'])}.${rng.pick(['acme-corp.net', 'internal.bigco.io'])}/hooks/${rng.chars(LOWER_NUM, 26)}`,
  'rocketchat-access-token': (rng) => rng.chars(BASE64URL, 43),
  'rocketchat-webhook-url': (rng) =>
    `https://${rng.pick(['chat', 'rocket', 'team'])}.${rng.pick(['acme-corp.net', 'internal.bigco.io'])}/hooks/${rng.chars(METEOR, 17)}/${rng.chars(METEOR, 48)}`,
  'zulip-api-key': (rng) => rng.chars(ALPHA_NUM, 32),
  'gitter-access-token': (rng) => rng.chars(HEX, 40),
  'pushbullet-access-token': (rng) => `o.${rng.chars(ALPHA_NUM, 32)}`,
  'pushover-token': (rng) => rng.chars(ALPHA_NUM, 30),
  'webex-access-token': (rng) => `${rng.chars(ALPHA_NUM, 64)}_${rng.pick(['PF84', 'P0A1', 'PE93'])}_${uuid(rng)}`,
};

/** Variable names the name-anchored values of chat.ts are assigned to. */
export const contextNames: Record<string, string[]> = {
  'slack-app-secret': ['SLACK_SIGNING_SECRET', 'SLACK_CLIENT_SECRET', 'slack_signing_secret'],
  'discord-bot-token': ['DISCORD_BOT_TOKEN', 'DISCORD_TOKEN', 'discord_token'],
  'discord-client-secret': ['DISCORD_CLIENT_SECRET', 'discord_client_secret'],
  'mattermost-access-token': ['MATTERMOST_TOKEN', 'MATTERMOST_ACCESS_TOKEN', 'MATTERMOST_BOT_TOKEN'],
  'rocketchat-access-token': ['ROCKETCHAT_AUTH_TOKEN', 'ROCKETCHAT_TOKEN', 'rocketchat_pat'],
  'zulip-api-key': ['ZULIP_API_KEY', 'ZULIP_KEY', 'zulip_api_key'],
  'gitter-access-token': ['GITTER_TOKEN', 'GITTER_ACCESS_TOKEN', 'gitter_token'],
  'pushbullet-access-token': ['PUSHBULLET_TOKEN', 'PUSHBULLET_ACCESS_TOKEN', 'pushbullet_api_key'],
  'pushover-token': ['PUSHOVER_APP_TOKEN', 'PUSHOVER_USER_KEY', 'PUSHOVER_TOKEN'],
  'webex-access-token': ['WEBEX_BOT_TOKEN', 'WEBEX_ACCESS_TOKEN', 'webex_token'],
};
