// Payments: Stripe (secret, restricted, webhook secrets; publishable keys are not
// secrets), Paystack, PayPal / Braintree, Square, Adyen, Razorpay, Plaid, Coinbase,
// Flutterwave, Mollie, GoCardless, Shippo, EasyPost, Checkout.com, Paddle,
// Authorize.net. Live secret keys are critical, test-mode keys low.
// Example values are synthetic: `@@rule-id@@` markers expand from test/corpus/gen/payments.ts.
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

const STRIPE = ['api.stripe.com', 'files.stripe.com', 'connect.stripe.com'];
const BRAINTREE = ['api.braintreegateway.com', 'payments.braintree-api.com', 'api.sandbox.braintreegateway.com'];
const SQUARE = ['connect.squareup.com', 'connect.squareupsandbox.com'];
/** `checkout` alone is in every `actions/checkout` log line: the keywords include what follows it. */
const CHECKOUT_KEYWORDS = ['', '_', '-', '.'].flatMap((sep) => ['com', 'api', 'secret', 'sk'].map((w) => `checkout${sep}${w}`));

export const rules: RuleSpec[] = [
  // Before Stripe: a Paystack key is `sk_live_` + 40 lower-case hex, which Stripe's shape also covers.
  prefixed(
    'paystack-secret-key',
    'Paystack live secret key',
    'critical',
    ['sk_live_'],
    'sk_live_[a-f0-9]{40}',
    ['api.paystack.co'],
    ['PAYSTACK_SECRET_KEY=@@paystack-secret-key@@', 'Authorization: Bearer @@paystack-secret-key@@'],
    ['PAYSTACK_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'PAYSTACK_PUBLIC_KEY=pk_live_@@paystack-secret-key|t@@'],
  ),
  prefixed(
    'stripe-secret-key-live',
    'Stripe live secret key',
    'critical',
    ['sk_live_'],
    'sk_live_[0-9A-Za-z]{24,247}',
    STRIPE,
    [
      'STRIPE_SECRET_KEY=@@stripe-secret-key-live@@',
      '$ curl https://api.stripe.com/v1/charges -u @@stripe-secret-key-live@@:',
      '  "stripe": { "secretKey": "@@stripe-secret-key-live@@" }',
    ],
    [
      'STRIPE_PUBLISHABLE_KEY=pk_live_@@stripe-secret-key-live|t@@',
      'STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx',
      'STRIPE_SECRET_KEY=sk_live_<your-key>',
      'mask_live_@@stripe-secret-key-live|t@@',
    ],
    { entropy: 3.5 },
  ),
  prefixed(
    'stripe-secret-key-test',
    'Stripe test-mode secret key',
    'low',
    ['sk_test_'],
    'sk_test_[0-9A-Za-z]{24,247}',
    STRIPE,
    ['STRIPE_SECRET_KEY=@@stripe-secret-key-test@@', 'stripe.api_key = "@@stripe-secret-key-test@@"'],
    ['STRIPE_PUBLISHABLE_KEY=pk_test_@@stripe-secret-key-test|t@@', 'STRIPE_SECRET_KEY=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx'],
    { entropy: 3.5 },
  ),
  prefixed(
    'stripe-restricted-key-live',
    'Stripe live restricted key',
    'high',
    ['rk_live_'],
    'rk_live_[0-9A-Za-z]{24,247}',
    STRIPE,
    ['STRIPE_RESTRICTED_KEY=@@stripe-restricted-key-live@@', 'Authorization: Bearer @@stripe-restricted-key-live@@'],
    ['STRIPE_RESTRICTED_KEY=rk_live_${KEY}', 'work_live_@@stripe-restricted-key-live|t@@'],
    { entropy: 3.5 },
  ),
  prefixed(
    'stripe-restricted-key-test',
    'Stripe test-mode restricted key',
    'low',
    ['rk_test_'],
    'rk_test_[0-9A-Za-z]{24,247}',
    STRIPE,
    ['STRIPE_RESTRICTED_KEY=@@stripe-restricted-key-test@@'],
    ['STRIPE_RESTRICTED_KEY=rk_test_short', 'fork_test_@@stripe-restricted-key-test|t@@'],
    { entropy: 3.5 },
  ),
  prefixed(
    'stripe-webhook-secret',
    'Stripe (or Svix) webhook signing secret',
    'medium',
    ['whsec_'],
    'whsec_[A-Za-z0-9+/]{32,88}={0,2}',
    [],
    ['STRIPE_WEBHOOK_SECRET=@@stripe-webhook-secret@@', 'endpoint_secret = "@@stripe-webhook-secret@@"'],
    ['STRIPE_WEBHOOK_SECRET=whsec_...', 'STRIPE_WEBHOOK_SECRET=whsec_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'],
    { entropy: 3.5, right: String.raw`(?:[^A-Za-z0-9_+/=-]|$)` },
  ),
  prefixed(
    'braintree-access-token',
    'PayPal Braintree production access token',
    'critical',
    ['access_token$production$'],
    String.raw`access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32}`,
    BRAINTREE,
    ['BRAINTREE_ACCESS_TOKEN=@@braintree-access-token@@', '"accessToken": "@@braintree-access-token@@"'],
    ['BRAINTREE_ACCESS_TOKEN=access_token$production$<merchant>$<token>', 'access_token$production$0000000000000000$xxxx'],
  ),
  prefixed(
    'braintree-sandbox-access-token',
    'PayPal Braintree sandbox access token',
    'low',
    ['access_token$sandbox$'],
    String.raw`access_token\$sandbox\$[0-9a-z]{16}\$[0-9a-f]{32}`,
    BRAINTREE,
    ['BRAINTREE_ACCESS_TOKEN=@@braintree-sandbox-access-token@@'],
    ['BRAINTREE_ACCESS_TOKEN=access_token$sandbox$xxxxxxxxxxxxxxxx$yyyy'],
  ),
  named(
    'braintree-private-key',
    'Braintree API private key',
    'critical',
    ['braintree'],
    String.raw`braintree[\w.-]{0,24}?private[_.-]?key`,
    '[a-f0-9]{32}',
    BRAINTREE,
    ['BRAINTREE_PRIVATE_KEY=@@braintree-private-key@@', 'braintree_private_key: "@@braintree-private-key@@"'],
    ['BRAINTREE_PUBLIC_KEY=@@braintree-private-key@@', 'BRAINTREE_PRIVATE_KEY=${BT_PRIVATE_KEY}'],
  ),
  prefixed(
    'square-access-token',
    'Square access token',
    'critical',
    ['EAAA'],
    'EAAA[A-Za-z0-9_-]{60}',
    SQUARE,
    ['SQUARE_ACCESS_TOKEN=@@square-access-token@@', 'Authorization: Bearer @@square-access-token@@'],
    ['SQUARE_ACCESS_TOKEN=EAAAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'SQUARE_ACCESS_TOKEN=@@square-access-token@@abc'],
    { entropy: 3.5 },
  ),
  prefixed(
    'square-access-token-legacy',
    'Square access token (sq0atp-)',
    'critical',
    ['sq0atp-'],
    'sq0atp-[A-Za-z0-9_-]{22}',
    SQUARE,
    ['SQUARE_ACCESS_TOKEN=@@square-access-token-legacy@@'],
    ['SQUARE_ACCESS_TOKEN=sq0atp-xxxxxxxxxxxxxxxxxxxxxx', 'SQUARE_ACCESS_TOKEN=@@square-access-token-legacy|t@@'],
    { entropy: 3.2 },
  ),
  prefixed(
    'square-oauth-secret',
    'Square OAuth application secret',
    'high',
    ['sq0csp-'],
    'sq0csp-[A-Za-z0-9_-]{43}',
    SQUARE,
    ['SQUARE_APPLICATION_SECRET=@@square-oauth-secret@@', 'client_secret: @@square-oauth-secret@@'],
    ['SQUARE_APPLICATION_SECRET=sq0csp-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'sq0csp-short'],
    { entropy: 3.5 },
  ),
  prefixed(
    'adyen-api-key',
    'Adyen API key',
    'critical',
    ['AQE'],
    'AQE[A-Za-z0-9+/]{40,200}={0,2}-[A-Za-z0-9+/]{42,44}={0,2}',
    ['*.adyen.com', '*.adyenpayments.com'],
    ['ADYEN_API_KEY=@@adyen-api-key@@', 'X-API-Key: @@adyen-api-key@@'],
    ['ADYEN_API_KEY=AQE...', 'ADYEN_MERCHANT_ACCOUNT=AcmeCorpECOM', 'ADYEN_API_KEY=@@adyen-api-key|t@@'],
    { entropy: 4, right: String.raw`(?:[^A-Za-z0-9_+/=]|$)` },
  ),
  named(
    'razorpay-key-secret',
    'Razorpay key secret',
    'critical',
    ['razorpay'],
    String.raw`razorpay[\w.-]{0,24}?secret`,
    '[A-Za-z0-9]{24}',
    ['api.razorpay.com'],
    ['RAZORPAY_KEY_SECRET=@@razorpay-key-secret@@', '"razorpaySecret": "@@razorpay-key-secret@@"'],
    ['RAZORPAY_KEY_ID=rzp_live_AbCdEfGhIjKlMn', 'RAZORPAY_KEY_SECRET=@@razorpay-key-secret@@x'],
    { entropy: 3.5 },
  ),
  named(
    'plaid-secret',
    'Plaid API secret',
    'critical',
    ['plaid'],
    String.raw`plaid[\w.-]{0,24}?secret`,
    '[a-f0-9]{30}',
    ['production.plaid.com', 'development.plaid.com', 'sandbox.plaid.com'],
    ['PLAID_SECRET=@@plaid-secret@@', 'plaid_secret_production: "@@plaid-secret@@"'],
    ['PLAID_CLIENT_ID=5f3c8a2b1d4e6f7a8b9c0d1e', 'PLAID_SECRET=@@plaid-secret@@ab'],
  ),
  prefixed(
    'plaid-access-token',
    'Plaid item access token',
    'high',
    ['access-production-', 'access-development-', 'access-sandbox-'],
    String.raw`access-(?:production|development|sandbox)-${UUID}`,
    ['production.plaid.com', 'development.plaid.com', 'sandbox.plaid.com'],
    ['PLAID_ACCESS_TOKEN=@@plaid-access-token@@', '{"access_token": "@@plaid-access-token@@", "count": 100}'],
    ['access-production-00000000-0000-0000-0000-000000000000', 'grant access-production-team role'],
  ),
  named(
    'coinbase-api-secret',
    'Coinbase API secret',
    'critical',
    ['coinbase'],
    String.raw`coinbase[\w.-]{0,24}?secret`,
    '[A-Za-z0-9+/_-]{32,88}={0,2}',
    ['api.coinbase.com', 'api.exchange.coinbase.com', 'api.cdp.coinbase.com'],
    ['COINBASE_API_SECRET=@@coinbase-api-secret@@', 'coinbase_secret: "@@coinbase-api-secret@@"'],
    ['COINBASE_API_SECRET=${COINBASE_API_SECRET}', 'COINBASE_API_KEY=organizations/acme/apiKeys/key1'],
    { entropy: 3.8, right: String.raw`(?:[^A-Za-z0-9_+/=-]|$)` },
  ),
  prefixed(
    'flutterwave-secret-key',
    'Flutterwave live secret key',
    'critical',
    ['FLWSECK-'],
    'FLWSECK-[a-f0-9]{32}-X',
    ['api.flutterwave.com'],
    ['FLW_SECRET_KEY=@@flutterwave-secret-key@@', 'Authorization: Bearer @@flutterwave-secret-key@@'],
    ['FLW_SECRET_KEY=FLWSECK-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-X', 'FLW_PUBLIC_KEY=FLWPUBK-@@flutterwave-secret-key|t@@'],
  ),
  prefixed(
    'flutterwave-test-secret-key',
    'Flutterwave test secret key',
    'low',
    ['FLWSECK_TEST-'],
    'FLWSECK_TEST-[a-f0-9]{32}-X',
    ['api.flutterwave.com'],
    ['FLW_SECRET_KEY=@@flutterwave-test-secret-key@@'],
    ['FLW_SECRET_KEY=FLWSECK_TEST-<secret>-X', 'FLWPUBK_TEST-@@flutterwave-test-secret-key|t@@'],
  ),
  prefixed(
    'flutterwave-encryption-key',
    'Flutterwave encryption key',
    'high',
    ['FLWSECK'],
    'FLWSECK(?:_TEST)?[a-f0-9]{12}',
    ['api.flutterwave.com'],
    ['FLW_ENCRYPTION_KEY=@@flutterwave-encryption-key@@'],
    ['FLW_ENCRYPTION_KEY=FLWSECK_TESTxxxxxxxxxxxx', 'FLW_ENCRYPTION_KEY=@@flutterwave-encryption-key@@00'],
  ),
  prefixed(
    'mollie-live-api-key',
    'Mollie live API key',
    'critical',
    ['live_'],
    'live_[A-Za-z0-9]{30}',
    ['api.mollie.com'],
    ['MOLLIE_API_KEY=@@mollie-live-api-key@@', 'Authorization: Bearer @@mollie-live-api-key@@'],
    ['MOLLIE_API_KEY=live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'is_live_@@mollie-live-api-key|t@@', 'MOLLIE_API_KEY=@@mollie-live-api-key@@Z'],
    { entropy: 3.5 },
  ),
  named(
    'gocardless-access-token',
    'GoCardless access token',
    'high',
    ['gocardless', 'go_cardless'],
    'go_?cardless',
    '(?:live|sandbox)_[A-Za-z0-9_-]{40}',
    ['api.gocardless.com', 'api-sandbox.gocardless.com'],
    ['GOCARDLESS_ACCESS_TOKEN=@@gocardless-access-token@@', 'gocardless_token: "@@gocardless-access-token@@"'],
    ['GOCARDLESS_ENVIRONMENT=live', 'GOCARDLESS_ACCESS_TOKEN=live_<token>'],
    { entropy: 3.5 },
  ),
  prefixed(
    'shippo-api-token',
    'Shippo API token',
    'high',
    ['shippo_live_', 'shippo_test_'],
    'shippo_(?:live|test)_[a-f0-9]{40}',
    ['api.goshippo.com'],
    ['SHIPPO_API_TOKEN=@@shippo-api-token@@', 'Authorization: ShippoToken @@shippo-api-token@@'],
    ['SHIPPO_API_TOKEN=shippo_live_<token>', 'SHIPPO_API_TOKEN=@@shippo-api-token@@0'],
  ),
  prefixed(
    'easypost-api-key',
    'EasyPost production API key',
    'high',
    ['EZAK'],
    'EZAK[a-f0-9]{54}',
    ['api.easypost.com'],
    ['EASYPOST_API_KEY=@@easypost-api-key@@', '$ curl -u @@easypost-api-key@@: https://api.easypost.com/v2/shipments'],
    ['EASYPOST_API_KEY=EZAKxxxxxxxx', 'EASYPOST_API_KEY=@@easypost-api-key@@ab'],
  ),
  prefixed(
    'easypost-test-api-key',
    'EasyPost test API key',
    'low',
    ['EZTK'],
    'EZTK[a-f0-9]{54}',
    ['api.easypost.com'],
    ['EASYPOST_TEST_API_KEY=@@easypost-test-api-key@@'],
    ['EASYPOST_TEST_API_KEY=EZTK<key>', 'EASYPOST_TEST_API_KEY=@@easypost-test-api-key|t@@'],
  ),
  named(
    'checkout-secret-key',
    'Checkout.com secret key',
    'critical',
    CHECKOUT_KEYWORDS,
    String.raw`checkout[_.-]?(?:com[_.-]?)?(?:api[_.-]?)?(?:secret|sk)`,
    String.raw`sk_(?:sbox_|test_)?(?:[a-z0-9]{26,40}|${UUID})`,
    ['api.checkout.com', 'api.sandbox.checkout.com', '*.api.checkout.com'],
    ['CHECKOUT_SECRET_KEY=@@checkout-secret-key@@', 'checkout_com_secret_key: "@@checkout-secret-key@@"'],
    ['CHECKOUT_PUBLIC_KEY=pk_sbox_abcdefghijklmnopqrstuvwxyz0', 'CHECKOUT_SECRET_KEY=sk_sbox_<secret>'],
    { entropy: 3.2 },
  ),
  prefixed(
    'paddle-api-key',
    'Paddle Billing API key',
    'critical',
    ['pdl_live_apikey_', 'pdl_sdbx_apikey_'],
    'pdl_(?:live|sdbx)_apikey_[a-z0-9]{26}_[A-Za-z0-9]{22}_[A-Za-z0-9]{3}',
    ['api.paddle.com', 'sandbox-api.paddle.com'],
    ['PADDLE_API_KEY=@@paddle-api-key@@', 'Authorization: Bearer @@paddle-api-key@@'],
    ['PADDLE_API_KEY=pdl_live_apikey_...', 'PADDLE_API_KEY=pdl_live_apikey_test_fixture'],
    { entropy: 3.5 },
  ),
  named(
    'paypal-client-secret',
    'PayPal REST API client secret',
    'critical',
    ['paypal'],
    String.raw`paypal[\w.-]{0,24}?secret`,
    'E[A-Za-z0-9_-]{79}',
    ['api-m.paypal.com', 'api.paypal.com', 'api-m.sandbox.paypal.com'],
    ['PAYPAL_CLIENT_SECRET=@@paypal-client-secret@@', 'paypal_secret: "@@paypal-client-secret@@"'],
    ['PAYPAL_CLIENT_ID=@@paypal-client-secret@@', 'PAYPAL_CLIENT_SECRET=${PAYPAL_SECRET}'],
    { entropy: 3.8 },
  ),
  named(
    'authorizenet-transaction-key',
    'Authorize.Net transaction key',
    'critical',
    ['authorize'],
    String.raw`authorize[_.-]?net[\w.-]{0,24}?(?:transaction[_.-]?key|trans[_.-]?key)`,
    '[A-Za-z0-9]{16}',
    ['api.authorize.net', 'apitest.authorize.net'],
    ['AUTHORIZE_NET_TRANSACTION_KEY=@@authorizenet-transaction-key@@', 'authorizenet_transaction_key: "@@authorizenet-transaction-key@@"'],
    ['AUTHORIZE_NET_API_LOGIN_ID=5KP3u95bQpv', 'AUTHORIZE_NET_TRANSACTION_KEY=@@authorizenet-transaction-key@@abc'],
    { entropy: 3 },
  ),
];
