import type { Rng } from '../rng.js';
import { ALPHA_NUM, BASE64, BASE64URL, HEX } from '../rng.js';

const LOWER_NUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function uuid(rng: Rng): string {
  return `${rng.chars(HEX, 8)}-${rng.chars(HEX, 4)}-4${rng.chars(HEX, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(HEX, 3)}-${rng.chars(HEX, 12)}`;
}

/** Stripe key bodies: 24 characters (older keys) or 99 (`51` + account part + secret part). */
function stripeBody(rng: Rng): string {
  return rng.int(3) === 0 ? rng.chars(ALPHA_NUM, 24) : `51${rng.chars(ALPHA_NUM, 97)}`;
}

/** One generator per rule id of detectors/rules/payments.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {
  'paystack-secret-key': (rng) => `sk_live_${rng.chars(HEX, 40)}`,
  'stripe-secret-key-live': (rng) => `sk_live_${stripeBody(rng)}`,
  'stripe-secret-key-test': (rng) => `sk_test_${stripeBody(rng)}`,
  'stripe-restricted-key-live': (rng) => `rk_live_${stripeBody(rng)}`,
  'stripe-restricted-key-test': (rng) => `rk_test_${stripeBody(rng)}`,
  'stripe-secret-key-prod': (rng) => `sk_prod_${stripeBody(rng)}`,
  'stripe-restricted-key-prod': (rng) => `rk_prod_${stripeBody(rng)}`,
  'stripe-webhook-secret': (rng) => `whsec_${rng.chars(ALPHA_NUM, 32)}`,
  'braintree-access-token': (rng) => `access_token$production$${rng.chars(LOWER_NUM, 16)}$${rng.chars(HEX, 32)}`,
  'braintree-sandbox-access-token': (rng) => `access_token$sandbox$${rng.chars(LOWER_NUM, 16)}$${rng.chars(HEX, 32)}`,
  'braintree-private-key': (rng) => rng.chars(HEX, 32),
  'square-access-token': (rng) => `EAAA${rng.chars(BASE64URL, 60)}`,
  'square-access-token-legacy': (rng) => `sq0atp-${rng.chars(BASE64URL, 22)}`,
  'square-oauth-secret': (rng) => `sq0csp-${rng.chars(BASE64URL, 43)}`,
  'adyen-api-key': (rng) => {
    const head = Buffer.from(rng.chars(ALPHA_NUM, 60 + 3 * rng.int(20)), 'latin1').toString('base64');
    const mac = Buffer.from(rng.chars(ALPHA_NUM, 32), 'latin1').toString('base64');
    return `AQE${head.slice(3)}-${mac}`;
  },
  'razorpay-key-secret': (rng) => rng.chars(ALPHA_NUM, 24),
  'plaid-secret': (rng) => rng.chars(HEX, 30),
  'plaid-access-token': (rng) => `access-${rng.pick(['production', 'development', 'sandbox'])}-${uuid(rng)}`,
  'coinbase-api-secret': (rng) => rng.chars(BASE64, 86) + '==',
  'flutterwave-secret-key': (rng) => `FLWSECK-${rng.chars(HEX, 32)}-X`,
  'flutterwave-test-secret-key': (rng) => `FLWSECK_TEST-${rng.chars(HEX, 32)}-X`,
  'flutterwave-encryption-key': (rng) => `FLWSECK${rng.pick(['', '_TEST'])}${rng.chars(HEX, 12)}`,
  'mollie-live-api-key': (rng) => `live_${rng.chars(ALPHA_NUM, 30)}`,
  'gocardless-access-token': (rng) => `${rng.pick(['live', 'sandbox'])}_${rng.chars(BASE64URL, 40)}`,
  'shippo-api-token': (rng) => `shippo_${rng.pick(['live', 'test'])}_${rng.chars(HEX, 40)}`,
  'easypost-api-key': (rng) => `EZAK${rng.chars(HEX, 54)}`,
  'easypost-test-api-key': (rng) => `EZTK${rng.chars(HEX, 54)}`,
  'checkout-secret-key': (rng) => (rng.int(2) === 0 ? `sk_sbox_${rng.chars(LOWER_NUM, 27)}` : `sk_${uuid(rng)}`),
  'paddle-api-key': (rng) => `pdl_${rng.pick(['live', 'sdbx'])}_apikey_01${rng.chars(LOWER_NUM, 24)}_${rng.chars(ALPHA_NUM, 22)}_${rng.chars(ALPHA_NUM, 3)}`,
  'paypal-client-secret': (rng) => `E${rng.chars(BASE64URL, 79)}`,
  'authorizenet-transaction-key': (rng) => rng.chars(ALPHA_NUM, 16),
};

/** Variable names the name-anchored values of payments.ts are assigned to. */
export const contextNames: Record<string, string[]> = {
  'braintree-private-key': ['BRAINTREE_PRIVATE_KEY', 'braintree_private_key', 'BT_BRAINTREE_PRIVATE_KEY'],
  'razorpay-key-secret': ['RAZORPAY_KEY_SECRET', 'RAZORPAY_SECRET', 'razorpay_secret'],
  'plaid-secret': ['PLAID_SECRET', 'PLAID_SECRET_PRODUCTION', 'plaid_secret'],
  'coinbase-api-secret': ['COINBASE_API_SECRET', 'COINBASE_SECRET', 'coinbase_api_secret'],
  'gocardless-access-token': ['GOCARDLESS_ACCESS_TOKEN', 'GOCARDLESS_TOKEN', 'gocardless_access_token'],
  'checkout-secret-key': ['CHECKOUT_SECRET_KEY', 'CHECKOUT_COM_SECRET_KEY', 'checkout_sk'],
  'paypal-client-secret': ['PAYPAL_CLIENT_SECRET', 'PAYPAL_SECRET', 'paypal_client_secret'],
  'authorizenet-transaction-key': ['AUTHORIZE_NET_TRANSACTION_KEY', 'AUTHORIZENET_TRANSACTION_KEY', 'authorize_net_trans_key'],
};
