// Mail and messaging APIs: SendGrid, Mailgun, Twilio, Mailchimp / Mandrill, Postmark,
// Brevo (Sendinblue), Mailjet, Resend, MessageBird, Vonage (Nexmo), Plivo, SparkPost,
// MailerSend, Mailtrap, Telnyx. Amazon SES SMTP passwords are AWS credentials (cloud).
// Example values are synthetic: `@@rule-id@@` markers expand from test/corpus/gen/mail.ts.
import type { RuleSpec, Severity, ValidatorName } from '../types.js';

/** Left boundary: start, an ANSI colour sequence, or a non-word character. */
const L = String.raw`(?:^|\x1b\[[0-9;]*m|[^A-Za-z0-9_])`;
/** Right boundary for tokens whose alphabet includes `-`. */
const R = String.raw`(?:[^A-Za-z0-9_-]|$)`;
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

export const rules: RuleSpec[] = [
  prefixed(
    'sendgrid-api-key',
    'SendGrid API key',
    'high',
    ['SG.'],
    String.raw`SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}`,
    ['api.sendgrid.com'],
    ['SENDGRID_API_KEY=@@sendgrid-api-key@@', 'Authorization: Bearer @@sendgrid-api-key@@', '  "sendgrid": {"apiKey": "@@sendgrid-api-key@@"}'],
    ['SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'msg.@@sendgrid-api-key|t@@', 'SG.short.value'],
    { entropy: 3.5 },
  ),
  prefixed(
    'mailgun-api-key-legacy',
    'Mailgun API key (key-…)',
    'high',
    ['key-'],
    'key-[0-9a-f]{32}',
    ['api.mailgun.net', 'api.eu.mailgun.net'],
    ['MAILGUN_API_KEY=@@mailgun-api-key-legacy@@', '$ curl -s --user "api:@@mailgun-api-key-legacy@@" https://api.mailgun.net/v3/domains'],
    ['MAILGUN_API_KEY=key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'cache-key-@@mailgun-api-key-legacy|t@@', 'primary-key-rotation'],
    { left: String.raw`(?:^|\x1b\[[0-9;]*m|[^A-Za-z0-9_-])` },
  ),
  named(
    'mailgun-webhook-signing-key',
    'Mailgun HTTP webhook signing key',
    'high',
    ['mailgun'],
    String.raw`mailgun[\w.-]{0,24}?(?:signing|webhook)[\w.-]{0,12}?key`,
    String.raw`[0-9a-f]{32}(?:-[0-9a-f]{8}-[0-9a-f]{8})?`,
    [],
    ['MAILGUN_WEBHOOK_SIGNING_KEY=@@mailgun-webhook-signing-key@@', 'mailgun_signing_key: "@@mailgun-webhook-signing-key@@"'],
    ['MAILGUN_WEBHOOK_SIGNING_KEY=${MAILGUN_SIGNING_KEY}', 'MAILGUN_DOMAIN=@@mailgun-webhook-signing-key@@'],
  ),
  named(
    'mailgun-api-key',
    'Mailgun private API key',
    'high',
    ['mailgun'],
    'mailgun',
    '[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}',
    ['api.mailgun.net', 'api.eu.mailgun.net'],
    ['MAILGUN_API_KEY=@@mailgun-api-key@@', '  "mailgunApiKey": "@@mailgun-api-key@@",', 'mailgun_private_key = "@@mailgun-api-key@@"'],
    ['MAILGUN_API_KEY=<mailgun-private-key>', 'API_KEY=@@mailgun-api-key@@', 'MAILGUN_API_KEY=@@mailgun-api-key@@0'],
  ),
  named(
    'twilio-auth-token',
    'Twilio auth token',
    'high',
    ['twilio'],
    String.raw`twilio[\w.-]{0,24}?auth[_.-]?token`,
    '[a-f0-9]{32}',
    ['api.twilio.com', '*.twilio.com'],
    ['TWILIO_AUTH_TOKEN=@@twilio-auth-token@@', '  twilio_auth_token: "@@twilio-auth-token@@"', '--twilio-auth-token @@twilio-auth-token@@'],
    ['TWILIO_AUTH_TOKEN=your_auth_token', 'TWILIO_ACCOUNT_SID=@@twilio-auth-token@@', 'TWILIO_AUTH_TOKEN=@@twilio-auth-token@@ab'],
  ),
  named(
    'twilio-api-key',
    'Twilio API key SID',
    'medium',
    ['twilio'],
    'twilio',
    'SK[0-9a-fA-F]{32}',
    ['api.twilio.com', '*.twilio.com'],
    ['TWILIO_API_KEY=@@twilio-api-key@@', '"twilioApiKey": "@@twilio-api-key@@"'],
    ['TWILIO_API_KEY=SKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'TWILIO_API_KEY=@@twilio-api-key|t@@'],
  ),
  named(
    'twilio-api-key-secret',
    'Twilio API key secret',
    'high',
    ['twilio'],
    String.raw`twilio[\w.-]{0,24}?secret`,
    '[A-Za-z0-9]{32}',
    ['api.twilio.com', '*.twilio.com'],
    ['TWILIO_API_SECRET=@@twilio-api-key-secret@@', 'twilio_api_key_secret: @@twilio-api-key-secret@@'],
    ['TWILIO_API_SECRET=${{ secrets.TWILIO_API_SECRET }}', 'TWILIO_API_SECRET=@@twilio-api-key-secret@@99'],
    { entropy: 3.5 },
  ),
  prefixed(
    'mailchimp-api-key',
    'Mailchimp API key',
    'high',
    ['-us'],
    '[0-9a-f]{32}-us[0-9]{1,2}',
    ['*.api.mailchimp.com'],
    ['MAILCHIMP_API_KEY=@@mailchimp-api-key@@', '  "mailchimp": { "apiKey": "@@mailchimp-api-key@@" }'],
    ['MAILCHIMP_API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-us1', 'lang=en-us', 'digest=@@mailchimp-api-key@@abc'],
  ),
  named(
    'mandrill-api-key',
    'Mailchimp Transactional (Mandrill) API key',
    'high',
    ['mandrill', 'mailchimp_transactional', 'mailchimp-transactional'],
    String.raw`(?:mandrill|mailchimp[_-]transactional)`,
    '(?:md-)?[A-Za-z0-9_-]{22}',
    ['mandrillapp.com', '*.mandrillapp.com'],
    ['MANDRILL_API_KEY=@@mandrill-api-key@@', 'mandrill_key: "@@mandrill-api-key@@"'],
    ['MANDRILL_API_KEY=<api-key>', 'MANDRILL_API_KEY=@@mandrill-api-key@@toolong'],
    { entropy: 3.5 },
  ),
  named(
    'postmark-server-token',
    'Postmark server or account token',
    'high',
    ['postmark'],
    'postmark',
    UUID,
    ['api.postmarkapp.com'],
    ['POSTMARK_SERVER_TOKEN=@@postmark-server-token@@', 'X-Postmark-Server-Token: @@postmark-server-token@@', 'postmark_api_token: "@@postmark-server-token@@"'],
    ['POSTMARK_SERVER_TOKEN=00000000-0000-0000-0000-000000000000', 'REQUEST_ID=@@postmark-server-token@@', 'POSTMARK_STREAM=outbound'],
  ),
  prefixed(
    'brevo-api-key',
    'Brevo (Sendinblue) API key',
    'high',
    ['xkeysib-'],
    'xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}',
    ['api.brevo.com', 'api.sendinblue.com'],
    ['BREVO_API_KEY=@@brevo-api-key@@', 'api-key: @@brevo-api-key@@'],
    ['BREVO_API_KEY=xkeysib-xxxxxxxx', 'BREVO_API_KEY=@@brevo-api-key|t@@'],
  ),
  prefixed(
    'brevo-smtp-key',
    'Brevo (Sendinblue) SMTP key',
    'high',
    ['xsmtpsib-'],
    'xsmtpsib-[a-f0-9]{64}-[A-Za-z0-9]{16}',
    ['smtp-relay.brevo.com', 'smtp-relay.sendinblue.com'],
    ['SMTP_PASSWORD=@@brevo-smtp-key@@', 'spring.mail.password: @@brevo-smtp-key@@'],
    ['SMTP_PASSWORD=xsmtpsib-<key>', 'SMTP_PASSWORD=@@brevo-smtp-key|t@@'],
  ),
  named(
    'mailjet-api-secret',
    'Mailjet API key or secret',
    'high',
    ['mailjet', 'mj_apikey'],
    String.raw`(?:mailjet|mj_apikey)`,
    '[a-f0-9]{32}',
    ['api.mailjet.com'],
    ['MAILJET_API_SECRET=@@mailjet-api-secret@@', 'MJ_APIKEY_PRIVATE=@@mailjet-api-secret@@', 'mailjet_secret_key: "@@mailjet-api-secret@@"'],
    ['MAILJET_API_SECRET=${MAILJET_SECRET}', 'MAILJET_API_SECRET=@@mailjet-api-secret@@0', 'SECRET=@@mailjet-api-secret@@'],
  ),
  prefixed(
    'resend-api-key',
    'Resend API key',
    'high',
    ['re_'],
    're_[A-Za-z0-9]{8,10}_[A-Za-z0-9]{20,32}',
    ['api.resend.com'],
    ['RESEND_API_KEY=@@resend-api-key@@', 'Authorization: Bearer @@resend-api-key@@'],
    ['RESEND_API_KEY=re_123456789', 'const store_re_values = compile_re_cache_entries_now_please', 'pre_@@resend-api-key@@'],
    { entropy: 3.5 },
  ),
  named(
    'messagebird-api-key',
    'MessageBird (Bird) API key',
    'high',
    ['messagebird', 'message_bird', 'message-bird'],
    String.raw`message[_-]?bird`,
    '[A-Za-z0-9]{25}',
    ['rest.messagebird.com', '*.messagebird.com', '*.bird.com'],
    ['MESSAGEBIRD_API_KEY=@@messagebird-api-key@@', 'messagebird_access_key: "@@messagebird-api-key@@"'],
    ['MESSAGEBIRD_ORIGINATOR=AcmeCorp', 'MESSAGEBIRD_API_KEY=@@messagebird-api-key@@x'],
    { entropy: 3.5 },
  ),
  named(
    'vonage-api-secret',
    'Vonage (Nexmo) API secret',
    'high',
    ['vonage', 'nexmo'],
    String.raw`(?:vonage|nexmo)[\w.-]{0,24}?secret`,
    '[A-Za-z0-9]{16}',
    ['api.nexmo.com', 'rest.nexmo.com', 'api.vonage.com', '*.vonage.com'],
    ['VONAGE_API_SECRET=@@vonage-api-secret@@', 'NEXMO_API_SECRET=@@vonage-api-secret@@', '"vonageApiSecret": "@@vonage-api-secret@@"'],
    ['VONAGE_API_KEY=1a2b3c4d', 'VONAGE_API_SECRET=@@vonage-api-secret@@abc', 'VONAGE_API_SECRET=<secret>'],
    { entropy: 3.2 },
  ),
  named(
    'plivo-auth-token',
    'Plivo auth token',
    'high',
    ['plivo'],
    'plivo',
    '[A-Za-z0-9]{40}',
    ['api.plivo.com'],
    ['PLIVO_AUTH_TOKEN=@@plivo-auth-token@@', 'plivo_auth_token: "@@plivo-auth-token@@"'],
    ['PLIVO_AUTH_ID=MAXXXXXXXXXXXXXXXXXX', 'PLIVO_AUTH_TOKEN=@@plivo-auth-token@@1'],
    { entropy: 3.5 },
  ),
  named(
    'sparkpost-api-key',
    'SparkPost API key',
    'high',
    ['sparkpost'],
    'sparkpost',
    '[a-f0-9]{40}',
    ['api.sparkpost.com', 'api.eu.sparkpost.com'],
    ['SPARKPOST_API_KEY=@@sparkpost-api-key@@', 'sparkpost_api_key: "@@sparkpost-api-key@@"'],
    ['SPARKPOST_API_KEY=@@sparkpost-api-key@@0', 'SPARKPOST_REGION=eu'],
  ),
  prefixed(
    'mailersend-api-token',
    'MailerSend API token',
    'high',
    ['mlsn.'],
    String.raw`mlsn\.[a-f0-9]{64}`,
    ['api.mailersend.com'],
    ['MAILERSEND_API_KEY=@@mailersend-api-token@@', 'Authorization: Bearer @@mailersend-api-token@@'],
    ['MAILERSEND_API_KEY=mlsn.xxxxxxxx', 'MAILERSEND_API_KEY=@@mailersend-api-token|t@@'],
  ),
  named(
    'mailtrap-api-token',
    'Mailtrap API token',
    'medium',
    ['mailtrap'],
    'mailtrap',
    '[a-f0-9]{32}',
    ['*.mailtrap.io', 'mailtrap.io'],
    ['MAILTRAP_API_TOKEN=@@mailtrap-api-token@@', 'mailtrap_token: "@@mailtrap-api-token@@"'],
    ['MAILTRAP_INBOX_ID=2837465', 'MAILTRAP_API_TOKEN=@@mailtrap-api-token@@ff'],
  ),
  named(
    'telnyx-api-key',
    'Telnyx API key (v2)',
    'high',
    ['telnyx'],
    'telnyx',
    'KEY[0-9A-Fa-f]{32}_[A-Za-z0-9]{22}',
    ['api.telnyx.com'],
    ['TELNYX_API_KEY=@@telnyx-api-key@@', '"telnyxApiKey": "@@telnyx-api-key@@"'],
    ['TELNYX_API_KEY=KEYxxxxxxxx', 'API_KEY=@@telnyx-api-key@@'],
    { entropy: 3.5 },
  ),
];
