// Chat and notification services: Slack (tokens, app secrets, webhooks), Discord,
// Telegram, Microsoft Teams / Power Automate webhooks, Mattermost, Rocket.Chat,
// Zulip, Gitter, Pushbullet, Pushover, Webex. Example values are synthetic: the
// `@@rule-id@@` markers are expanded from test/corpus/gen/chat.ts.
import type { RuleSpec, Severity, ValidatorName } from '../types.js';

/** Left boundary: start, an ANSI colour sequence, or a non-word character. */
const L = String.raw`(?:^|\x1b\[[0-9;]*m|[^A-Za-z0-9_])`;
/** Right boundary for tokens whose alphabet includes `-`. */
const R = String.raw`(?:[^A-Za-z0-9_-]|$)`;
/** Right boundary for URLs. */
const RU = String.raw`(?:[^A-Za-z0-9_/?&=%.-]|$)`;
const SGR = String.raw`(?:\x1b\[[0-9;]*m)?`;
/** `=`, `:`, `:=`, `=>` or whitespace between a name and its value, quotes and a colour code allowed. */
const ASSIGN = String.raw`["']?\s{0,4}(?:=>|:=|[=:]|\s)\s{0,4}["'\x60]?${SGR}`;
const TAIL = String.raw`[\w.-]{0,32}?`;
const UUID = String.raw`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`;

interface Opts {
  entropy?: number;
  maxLength?: number;
  validator?: ValidatorName;
  allowlist?: RuleSpec['allowlist'];
  right?: string;
  left?: string;
}

function extra(o: Opts): Partial<RuleSpec> {
  return {
    entropy: o.entropy ?? 3,
    ...(o.maxLength !== undefined ? { maxLength: o.maxLength } : {}),
    ...(o.validator !== undefined ? { validator: o.validator } : {}),
    ...(o.allowlist !== undefined ? { allowlist: o.allowlist } : {}),
  };
}

/** A token with a literal prefix (the keyword); `token` is the RE2 of the whole token. */
function prefixed(
  id: string,
  title: string,
  severity: Severity,
  keywords: string[],
  token: string,
  destinations: string[],
  positive: string[],
  negative: string[],
  o: Opts = {},
): RuleSpec {
  return {
    id,
    title,
    severity,
    regex: `${o.left ?? L}(${token})${o.right ?? R}`,
    secretGroup: 1,
    keywords,
    ...extra(o),
    destinations,
    examples: { positive, negative },
  };
}

/** A value without a prefix, recognised by the variable or header name it is assigned to. */
function named(
  id: string,
  title: string,
  severity: Severity,
  keywords: string[],
  name: string,
  value: string,
  destinations: string[],
  positive: string[],
  negative: string[],
  o: Opts = {},
): RuleSpec {
  return {
    id,
    title,
    severity,
    regex: `(?i:${name})${TAIL}${ASSIGN}(${value})${o.right ?? R}`,
    secretGroup: 1,
    keywords,
    ...extra(o),
    destinations,
    examples: { positive, negative },
  };
}

const SLACK = ['slack.com', '*.slack.com'];
const DISCORD = ['discord.com', '*.discord.com', 'discordapp.com', '*.discordapp.com'];

export const rules: RuleSpec[] = [
  prefixed(
    'slack-bot-token',
    'Slack bot token',
    'high',
    ['xoxb-'],
    String.raw`xoxb-[0-9]{8,14}-(?:[0-9]{8,14}-)?[A-Za-z0-9]{18,34}`,
    SLACK,
    [
      'SLACK_BOT_TOKEN=@@slack-bot-token@@',
      '{"token": "@@slack-bot-token@@", "channel": "#deploys"}',
      'Authorization: Bearer @@slack-bot-token@@',
    ],
    [
      'SLACK_BOT_TOKEN=xoxb-xxxxxxxxxxxx-xxxxxxxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx',
      'SLACK_BOT_TOKEN=${{ secrets.SLACK_BOT_TOKEN }}',
      'prefix_@@slack-bot-token@@',
      'xoxb-1234',
    ],
  ),
  prefixed(
    'slack-user-token',
    'Slack user token',
    'high',
    ['xoxp-'],
    String.raw`xoxp-[0-9]{8,14}-[0-9]{8,14}-[0-9]{8,14}-[A-Za-z0-9]{28,34}`,
    SLACK,
    ['SLACK_USER_TOKEN=@@slack-user-token@@', '  token: "@@slack-user-token@@"'],
    ['SLACK_TOKEN=xoxp-<your-token>', 'token=@@slack-user-token|t@@', 'xoxp-00000000-00000000-00000000-abc'],
  ),
  prefixed(
    'slack-app-token',
    'Slack app-level token',
    'high',
    ['xapp-'],
    String.raw`xapp-[0-9]-[A-Z0-9]{8,12}-[0-9]{10,16}-[a-f0-9]{64}`,
    SLACK,
    ['SLACK_APP_TOKEN=@@slack-app-token@@', 'socket_mode_token: @@slack-app-token@@'],
    ['SLACK_APP_TOKEN=xapp-1-A0000000000-0000000000000-xxxx', 'SLACK_APP_TOKEN=@@slack-app-token|uc@@'],
  ),
  prefixed(
    'slack-config-access-token',
    'Slack app configuration access token',
    'high',
    ['xoxe.xoxp-', 'xoxe.xoxb-'],
    String.raw`xoxe\.xox[bp]-[0-9]-[A-Za-z0-9]{163,166}`,
    SLACK,
    ['SLACK_CONFIG_TOKEN=@@slack-config-access-token@@'],
    ['SLACK_CONFIG_TOKEN=xoxe.xoxp-1-short', 'SLACK_CONFIG_TOKEN=@@slack-config-access-token|t@@'],
    { maxLength: 512 },
  ),
  prefixed(
    'slack-config-refresh-token',
    'Slack app configuration refresh token',
    'high',
    ['xoxe-'],
    String.raw`xoxe-[0-9]-[A-Za-z0-9]{146}`,
    SLACK,
    ['SLACK_CONFIG_REFRESH_TOKEN=@@slack-config-refresh-token@@'],
    ['SLACK_CONFIG_REFRESH_TOKEN=xoxe-1-tooShort0123', 'refresh=@@slack-config-refresh-token|t@@'],
  ),
  prefixed(
    'slack-legacy-workspace-token',
    'Slack legacy workspace or refresh token (xoxa, xoxr)',
    'high',
    ['xoxa-', 'xoxr-'],
    String.raw`xox[ar]-(?:[0-9]-)?[0-9a-zA-Z]{8,48}`,
    SLACK,
    ['SLACK_WORKSPACE_TOKEN=@@slack-legacy-workspace-token@@', 'slack_token: "@@slack-legacy-workspace-token@@"'],
    ['SLACK_WORKSPACE_TOKEN=xoxa-2-xxxxxxxxxxxx', 'see xoxa-docs for details', 'foo@@slack-legacy-workspace-token@@'],
    { entropy: 3.2 },
  ),
  prefixed(
    'slack-legacy-token',
    'Slack legacy token (xoxo, xoxs)',
    'high',
    ['xoxo-', 'xoxs-'],
    String.raw`xox[os]-[0-9]{6,14}-[0-9]{6,14}-[0-9]{6,14}-[a-fA-F0-9]{16,64}`,
    SLACK,
    ['SLACK_LEGACY_TOKEN=@@slack-legacy-token@@'],
    ['SLACK_LEGACY_TOKEN=xoxs-1-2-3-abc', 'SLACK_LEGACY_TOKEN=@@slack-legacy-token|t@@'],
  ),
  prefixed(
    'slack-webhook-url',
    'Slack incoming webhook URL',
    'medium',
    ['hooks.slack.com/services/'],
    String.raw`https?://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24}`,
    ['hooks.slack.com'],
    [
      'SLACK_WEBHOOK_URL=@@slack-webhook-url@@',
      '$ curl -X POST -H "Content-type: application/json" --data \'{"text":"deployed"}\' @@slack-webhook-url@@',
    ],
    [
      'SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
      'see https://hooks.slack.com/services/ for incoming webhooks',
      'SLACK_WEBHOOK_URL=${{ secrets.SLACK_WEBHOOK_URL }}',
    ],
    { right: RU, entropy: 3.5 },
  ),
  prefixed(
    'slack-workflow-webhook-url',
    'Slack workflow (Workflow Builder) webhook URL',
    'medium',
    ['hooks.slack.com/workflows/', 'hooks.slack.com/triggers/'],
    String.raw`https?://hooks\.slack\.com/(?:workflows|triggers)/T[A-Z0-9]{8,12}/(?:A[A-Z0-9]{8,12}/)?[0-9]{8,20}/[A-Za-z0-9]{24,40}`,
    ['hooks.slack.com'],
    ['SLACK_WORKFLOW_WEBHOOK=@@slack-workflow-webhook-url@@', 'webhook-url: "@@slack-workflow-webhook-url@@"'],
    [
      'https://hooks.slack.com/triggers/T00000000/0000000000/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      'https://hooks.slack.com/workflows/ is the base URL',
    ],
    { right: RU, entropy: 3.5 },
  ),
  named(
    'slack-app-secret',
    'Slack app signing secret or client secret',
    'high',
    ['slack'],
    String.raw`slack[\w.-]{0,24}?(?:signing|client)[_.-]?secret`,
    '[a-fA-F0-9]{32}',
    SLACK,
    ['SLACK_SIGNING_SECRET=@@slack-app-secret@@', '  "slack_client_secret": "@@slack-app-secret@@"'],
    [
      'SLACK_SIGNING_SECRET=${SLACK_SIGNING_SECRET}',
      'SLACK_SIGNING_SECRET=@@slack-app-secret@@ff',
      'SLACK_CHANNEL_ID=@@slack-app-secret@@',
    ],
  ),
  named(
    'discord-bot-token',
    'Discord bot token',
    'high',
    ['discord'],
    'discord',
    String.raw`[MNO][A-Za-z0-9_-]{23,26}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}`,
    DISCORD,
    ['DISCORD_BOT_TOKEN=@@discord-bot-token@@', '  "discordToken": "@@discord-bot-token@@",', 'discord_token = "@@discord-bot-token@@"'],
    ['DISCORD_BOT_TOKEN=<your-bot-token>', 'BOT_TOKEN=@@discord-bot-token@@', 'DISCORD_BOT_TOKEN=MTIz.abc.def'],
    { entropy: 4 },
  ),
  prefixed(
    'discord-webhook-url',
    'Discord webhook URL',
    'medium',
    ['discord.com/api', 'discordapp.com/api'],
    String.raw`https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/(?:v[0-9]{1,2}/)?webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68}`,
    DISCORD,
    ['DISCORD_WEBHOOK_URL=@@discord-webhook-url@@', 'webhook: "@@discord-webhook-url@@"'],
    [
      'https://discord.com/api/webhooks/123456789012345678/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
      'POST https://discord.com/api/webhooks/{webhook.id}/{webhook.token}',
    ],
    { right: RU, entropy: 3.5 },
  ),
  named(
    'discord-client-secret',
    'Discord application client secret',
    'high',
    ['discord'],
    String.raw`discord[\w.-]{0,24}?client[_.-]?secret`,
    '[A-Za-z0-9_-]{32}',
    DISCORD,
    ['DISCORD_CLIENT_SECRET=@@discord-client-secret@@', '"discordClientSecret": "@@discord-client-secret@@"'],
    ['DISCORD_CLIENT_ID=@@discord-client-secret@@', 'DISCORD_CLIENT_SECRET=${DISCORD_CLIENT_SECRET}'],
    { entropy: 3.5 },
  ),
  prefixed(
    'telegram-bot-token',
    'Telegram bot token',
    'high',
    [':AA'],
    String.raw`[0-9]{8,10}:AA[A-Za-z0-9_-]{33}`,
    ['api.telegram.org'],
    [
      'TELEGRAM_BOT_TOKEN=@@telegram-bot-token@@',
      'GET https://api.telegram.org/bot@@telegram-bot-token@@/sendMessage?chat_id=-100123',
      '  "telegram": {"token": "@@telegram-bot-token@@"}',
    ],
    ['TELEGRAM_BOT_TOKEN=123456789:AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'time 12345678:AAB', 'id=abc@@telegram-bot-token@@'],
    { entropy: 3.5, left: String.raw`(?:^|\x1b\[[0-9;]*m|[^A-Za-z0-9_]|/bot)` },
  ),
  prefixed(
    'msteams-incoming-webhook-url',
    'Microsoft Teams incoming webhook URL',
    'medium',
    ['webhook.office.com', 'outlook.office.com/webhook', 'outlook.office365.com/webhook'],
    String.raw`https://(?:[a-z0-9-]+\.webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook)/${UUID}@${UUID}/IncomingWebhook/[a-f0-9]{32}/${UUID}(?:/[A-Za-z0-9_-]{20,64})?`,
    ['*.webhook.office.com', 'outlook.office.com', 'outlook.office365.com'],
    ['TEAMS_WEBHOOK_URL=@@msteams-incoming-webhook-url@@', 'teams:\n  webhook: "@@msteams-incoming-webhook-url@@"'],
    [
      'TEAMS_WEBHOOK_URL=https://contoso.webhook.office.com/webhookb2/<group>@<tenant>/IncomingWebhook/<id>/<owner>',
      'docs: https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/',
    ],
    { right: RU, maxLength: 512 },
  ),
  prefixed(
    'power-automate-webhook-url',
    'Power Automate / Logic Apps HTTP trigger URL with signature (Teams workflows)',
    'medium',
    ['logic.azure.com'],
    String.raw`https://[a-z0-9-]+\.[a-z0-9-]+\.logic\.azure\.com(?::443)?/workflows/[a-f0-9]{32}/triggers/[A-Za-z0-9_-]{1,40}/paths/invoke\?[A-Za-z0-9_.~%&=-]{0,200}?sig=[A-Za-z0-9_-]{43}`,
    ['*.logic.azure.com'],
    ['TEAMS_WORKFLOW_URL=@@power-automate-webhook-url@@', '"webhookUrl": "@@power-automate-webhook-url@@"'],
    [
      'https://prod-00.westus.logic.azure.com:443/workflows/<id>/triggers/manual/paths/invoke?api-version=2016-06-01',
      'https://management.azure.com/subscriptions/x/providers/Microsoft.Logic/workflows',
    ],
    { right: RU, maxLength: 600 },
  ),
  named(
    'mattermost-access-token',
    'Mattermost personal access or bot token',
    'high',
    ['mattermost'],
    'mattermost',
    '[a-z0-9]{26}',
    [],
    ['MATTERMOST_TOKEN=@@mattermost-access-token@@', 'mattermost_access_token: @@mattermost-access-token@@'],
    ['MATTERMOST_TEAM=engineering-platform', 'MATTERMOST_TOKEN=@@mattermost-access-token@@abc', 'MATTERMOST_URL=https://chat.example.org'],
    { entropy: 3.5 },
  ),
  prefixed(
    'mattermost-webhook-url',
    'Mattermost incoming webhook URL',
    'medium',
    ['mattermost'],
    String.raw`https?://[A-Za-z0-9.-]*mattermost[A-Za-z0-9.-]*(?::[0-9]{2,5})?/hooks/[a-z0-9]{26}`,
    [],
    ['MATTERMOST_WEBHOOK_URL=@@mattermost-webhook-url@@', 'curl -X POST -d \'payload={"text":"hi"}\' @@mattermost-webhook-url@@'],
    ['https://mattermost.example.org/hooks/xxx-generatedkey-xxx', 'https://mattermost.example.org/api/v4/users/me'],
    { right: RU, entropy: 2.5 },
  ),
  named(
    'rocketchat-access-token',
    'Rocket.Chat personal access token',
    'high',
    ['rocketchat', 'rocket_chat', 'rocket-chat', 'rocket.chat'],
    String.raw`rocket[._-]?chat`,
    '[A-Za-z0-9_-]{43}',
    ['*.rocket.chat'],
    ['ROCKETCHAT_AUTH_TOKEN=@@rocketchat-access-token@@', 'rocketchat_token: "@@rocketchat-access-token@@"'],
    ['ROCKETCHAT_USER_ID=aBcDeFgHiJkLmNoPq', 'ROCKETCHAT_AUTH_TOKEN=@@rocketchat-access-token@@xyz'],
    { entropy: 3.8 },
  ),
  prefixed(
    'rocketchat-webhook-url',
    'Rocket.Chat incoming webhook URL',
    'medium',
    ['/hooks/'],
    String.raw`https?://[A-Za-z0-9.-]+(?::[0-9]{2,5})?/hooks/[A-Za-z0-9]{17}/[A-Za-z0-9]{48}`,
    ['*.rocket.chat'],
    ['ROCKETCHAT_WEBHOOK=@@rocketchat-webhook-url@@'],
    ['https://chat.example.org/hooks/abc/def', 'https://chat.example.org/hooks/@@rocketchat-access-token@@'],
    { right: RU, entropy: 3.5 },
  ),
  named(
    'zulip-api-key',
    'Zulip API key',
    'high',
    ['zulip'],
    'zulip',
    '[A-Za-z0-9]{32}',
    ['*.zulipchat.com'],
    ['ZULIP_API_KEY=@@zulip-api-key@@', '[api]\nzulip_key=@@zulip-api-key@@'],
    ['ZULIP_EMAIL=bot@example.zulipchat.com', 'ZULIP_API_KEY=@@zulip-api-key@@0'],
    { entropy: 3.5 },
  ),
  named(
    'gitter-access-token',
    'Gitter access token',
    'medium',
    ['gitter'],
    'gitter',
    '[a-f0-9]{40}',
    ['api.gitter.im', 'gitter.im'],
    ['GITTER_TOKEN=@@gitter-access-token@@', 'gitter_access_token: "@@gitter-access-token@@"'],
    ['GITTER_ROOM=org/room', 'GITTER_TOKEN=@@gitter-access-token@@a'],
  ),
  named(
    'pushbullet-access-token',
    'Pushbullet access token',
    'medium',
    ['pushbullet'],
    'pushbullet',
    String.raw`o\.[A-Za-z0-9]{32}`,
    ['api.pushbullet.com'],
    ['PUSHBULLET_TOKEN=@@pushbullet-access-token@@', 'pushbullet_api_key: @@pushbullet-access-token@@'],
    ['PUSHBULLET_TOKEN=o.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'PUSHBULLET_DEVICE=phone'],
    { entropy: 3.5 },
  ),
  named(
    'pushover-token',
    'Pushover application token or user key',
    'medium',
    ['pushover'],
    'pushover',
    '[A-Za-z0-9]{30}',
    ['api.pushover.net'],
    ['PUSHOVER_APP_TOKEN=@@pushover-token@@', 'pushover_user_key: "@@pushover-token@@"'],
    ['PUSHOVER_SOUND=cosmic', 'PUSHOVER_APP_TOKEN=@@pushover-token@@xyz'],
    { entropy: 3.5 },
  ),
  named(
    'webex-access-token',
    'Webex bot or integration access token',
    'high',
    ['webex'],
    'webex',
    String.raw`[A-Za-z0-9]{64}_[A-Za-z0-9]{4}_${UUID}`,
    ['webexapis.com', '*.webexapis.com', 'api.ciscospark.com'],
    ['WEBEX_BOT_TOKEN=@@webex-access-token@@', 'webex_access_token: @@webex-access-token@@'],
    ['WEBEX_ROOM_ID=Y2lzY29zcGFyazovL3VzL1JPT00v', 'WEBEX_BOT_TOKEN=<token>'],
    { entropy: 3.5 },
  ),
];
