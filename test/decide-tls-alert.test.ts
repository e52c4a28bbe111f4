// Naming the TLS alert that ended a client's intercepted handshake, from what Node reports.
import { describe, expect, test } from 'vitest';
import { TLS_ALERT_NAMES, tlsAlertName } from '../proxy/decide/tls-alert.js';

describe('tlsAlertName', () => {
  test('OpenSSL alert codes and "alert number" messages name the alert', () => {
    expect(tlsAlertName('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'tlsv1 alert unknown ca')).toBe('unknown_ca');
    expect(tlsAlertName('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', undefined)).toBe('bad_certificate');
    expect(tlsAlertName(undefined, 'error:0A000416:SSL routines::sslv3 alert certificate unknown:../deps/openssl/ssl/record/rec_layer_s3.c:1584:SSL alert number 46')).toBe('certificate_unknown');
    expect(tlsAlertName('ERR_SSL_NO_APPLICATION_PROTOCOL', undefined)).toBe('no_application_protocol');
  });

  test('a client that went away is `none`; anything unknown is `other`, never a raw string (it is a metric label)', () => {
    expect(tlsAlertName('ECONNRESET', 'socket hang up')).toBe('none');
    expect(tlsAlertName(undefined, undefined)).toBe('none');
    expect(tlsAlertName('ERR_SSL_TLSV1_ALERT_MADE_UP', undefined)).toBe('other');
    expect(tlsAlertName(undefined, 'SSL alert number 250')).toBe('other');
    expect(tlsAlertName('ERR_SOMETHING', 'x')).toBe('other');
    for (const n of ['unknown_ca', 'none', 'other', 'no_application_protocol']) expect(TLS_ALERT_NAMES).toContain(n);
  });
});
