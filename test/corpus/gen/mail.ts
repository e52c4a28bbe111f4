import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64URL, HEX } from '../rng.js';

function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

/** One generator per rule id of detectors/rules/mail.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'sendgrid-api-key': (rng) => `SG.${rng.chars(BASE64URL, 22)}.${rng.chars(BASE64URL, 43)}`,
  'mailgun-api-key-legacy': (rng) => `key-${rng.chars(HEX, 32)}`,
  'mailgun-webhook-signing-key': (rng) => (rng.int(2) === 0 ? rng.chars(HEX, 32) : `${rng.chars(HEX, 32)}-${rng.chars(HEX, 8)}-${rng.chars(HEX, 8)}`),
  'mailgun-api-key': (rng) => `${rng.chars(HEX, 32)}-${rng.chars(HEX, 8)}-${rng.chars(HEX, 8)}`,
  'twilio-auth-token': (rng) => rng.chars(HEX, 32),
  'twilio-api-key': (rng) => `SK${rng.chars(HEX, 32)}`,
  'twilio-api-key-secret': (rng) => rng.chars(ALPHA_NUM, 32),
  'mailchimp-api-key': (rng) => `${rng.chars(HEX, 32)}-us${1 + rng.int(21)}`,
  'mandrill-api-key': (rng) => (rng.int(2) === 0 ? `md-${rng.chars(BASE64URL, 22)}` : rng.chars(ALPHA_NUM, 22)),
  'postmark-server-token': uuid,
  'brevo-api-key': (rng) => `xkeysib-${rng.chars(HEX, 64)}-${rng.chars(ALPHA_NUM, 16)}`,
  'brevo-smtp-key': (rng) => `xsmtpsib-${rng.chars(HEX, 64)}-${rng.chars(ALPHA_NUM, 16)}`,
  'mailjet-api-secret': (rng) => rng.chars(HEX, 32),
  'resend-api-key': (rng) => `re_${rng.chars(ALPHA_NUM, 8)}_${rng.chars(ALPHA_NUM, 24)}`,
  'messagebird-api-key': (rng) => rng.chars(ALPHA_NUM, 25),
  'vonage-api-secret': (rng) => rng.chars(ALPHA_NUM, 16),
  'plivo-auth-token': (rng) => rng.chars(ALPHA_NUM, 40),
  'sparkpost-api-key': (rng) => rng.chars(HEX, 40),
  'mailersend-api-token': (rng) => `mlsn.${rng.chars(HEX, 64)}`,
  'mailtrap-api-token': (rng) => rng.chars(HEX, 32),
  'telnyx-api-key': (rng) => `KEY${rng.chars('0123456789ABCDEF', 32)}_${rng.chars(ALPHA_NUM, 22)}`,
};

/** Variable names the name-anchored values of mail.ts are assigned to. */
export const contextNames: Record<string, string[]> = {
  'mailgun-webhook-signing-key': ['MAILGUN_WEBHOOK_SIGNING_KEY', 'MAILGUN_SIGNING_KEY', 'mailgun_webhook_key'],
  'mailgun-api-key': ['MAILGUN_API_KEY', 'MAILGUN_PRIVATE_KEY', 'mailgun_api_key'],
  'twilio-auth-token': ['TWILIO_AUTH_TOKEN', 'twilio_auth_token', 'TWILIO_AUTHTOKEN'],
  'twilio-api-key': ['TWILIO_API_KEY', 'TWILIO_API_KEY_SID', 'twilio_api_key'],
  'twilio-api-key-secret': ['TWILIO_API_SECRET', 'TWILIO_API_KEY_SECRET', 'twilio_secret'],
  'mandrill-api-key': ['MANDRILL_API_KEY', 'MANDRILL_KEY', 'MAILCHIMP_TRANSACTIONAL_API_KEY'],
  'postmark-server-token': ['POSTMARK_SERVER_TOKEN', 'POSTMARK_API_TOKEN', 'X-Postmark-Server-Token', 'postmark_token'],
  'mailjet-api-secret': ['MAILJET_API_SECRET', 'MAILJET_SECRET_KEY', 'MJ_APIKEY_PRIVATE', 'mailjet_api_key'],
  'messagebird-api-key': ['MESSAGEBIRD_API_KEY', 'MESSAGEBIRD_ACCESS_KEY', 'messagebird_key'],
  'vonage-api-secret': ['VONAGE_API_SECRET', 'NEXMO_API_SECRET', 'vonage_secret'],
  'plivo-auth-token': ['PLIVO_AUTH_TOKEN', 'plivo_auth_token', 'PLIVO_TOKEN'],
  'sparkpost-api-key': ['SPARKPOST_API_KEY', 'sparkpost_api_key', 'SPARKPOST_KEY'],
  'mailtrap-api-token': ['MAILTRAP_API_TOKEN', 'MAILTRAP_TOKEN', 'mailtrap_api_key'],
  'telnyx-api-key': ['TELNYX_API_KEY', 'telnyx_api_key'],
};
