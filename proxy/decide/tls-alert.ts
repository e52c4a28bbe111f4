// The TLS alert that ended a client's handshake with us, named as RFC 8446 §6 names it,
// from what Node reports (an OpenSSL error code such as ERR_SSL_TLSV1_ALERT_UNKNOWN_CA,
// or "SSL alert number 48" in the message). Pure. A closed set: it is a metric label.
import RE2 from 're2';

const ALERT_NUMBER = new RE2('alert number (\\d+)', 'i');
const ALERT_CODE = new RE2('^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z_]+)$');
const NO_PROTOCOL = new RE2('no application protocol', 'i');

/** Alert descriptions by number (RFC 8446 §6, RFC 5246 for the older ones). */
const ALERTS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  22: 'record_overflow',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

/** Every value tlsAlertName can return. */
export const TLS_ALERT_NAMES: readonly string[] = [...Object.values(ALERTS), 'none', 'other'];

/**
 * The alert named by a handshake error: `none` when the client just went away (no alert
 * seen), `other` for an error that names none we know.
 */
export function tlsAlertName(code: string | undefined, message: string | undefined): string {
  const num = ALERT_NUMBER.exec(message ?? '');
  if (num) return ALERTS[Number(num[1])] ?? 'other';
  const m = ALERT_CODE.exec(code ?? '');
  if (m) {
    const name = (m[1] as string).toLowerCase();
    return Object.values(ALERTS).includes(name) ? name : 'other';
  }
  if (code === 'ERR_SSL_NO_APPLICATION_PROTOCOL' || NO_PROTOCOL.test(message ?? '')) return 'no_application_protocol';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === undefined) return 'none';
  return 'other';
}
