// The contract of the detection engine: what a rule is, what a finding is.
// detectors/ is pure (bytes in, findings out, no sockets), except load-rules.ts, which
// reads operator rule files from disk.

export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** Names of the structural validators a rule may ask for (each implemented in validators.ts). */
export const VALIDATOR_NAMES = [
  'github-crc32', // gh[pousr]_ + 30 chars + 6-char base62 CRC32 of those 30 chars
  'npm-crc32', // npm_ + 30 chars + 6-char base62 CRC32
  'aws-key-id', // AKIA/ASIA/... followed by base32 alphabet only
  'jwt', // header segment decodes to JSON with an "alg"
  'pem-private-key', // PEM body is base64 of DER (starts with a SEQUENCE)
  'luhn',
  'cloudflare-crc32',
  'atlassian-crc32',
  'json-service-account', // GCP service-account JSON has a private_key and client_email
  'basic-credentials', // HTTP Basic: base64 of printable `user-id:password` (RFC 7617)
  'azure-sas', // Azure Storage SAS query: sv (a service version date), se (expiry) and sig all present
] as const;
export type ValidatorName = (typeof VALIDATOR_NAMES)[number];

/**
 * A rule is declarative data. Rules live one file per provider family under
 * detectors/rules/, and users add their own in the same shape (YAML) or as
 * gitleaks-format TOML.
 */
export interface RuleSpec {
  /** Stable id, kebab-case, unique across the pack: `github-pat-classic`. */
  id: string;
  /** Human title: `GitHub personal access token (classic)`. */
  title: string;
  severity: Severity;
  /**
   * RE2 syntax (no lookaround, no backreferences). Matched against a window of
   * bytes around a keyword hit. Use `(?i)` for case-insensitive rules.
   */
  regex: string;
  /**
   * Literal keywords, at least one of which occurs in (or right before) every
   * match. Matched case-insensitively. The prefilter only runs `regex` near a
   * keyword hit, so a rule without keywords is never run: every rule has one.
   */
  keywords: string[];
  /** Capture group holding the secret itself; 0 (the whole match) by default. */
  secretGroup?: number;
  /** Minimum Shannon entropy (bits per character) of the secret. */
  entropy?: number;
  validator?: ValidatorName;
  /** Values, and RE2 patterns over the secret, that are never findings. */
  allowlist?: {
    values?: string[];
    regexes?: string[];
    /** Substrings (case-insensitive) that make a secret a non-finding: `example`, `dummy`. */
    stopwords?: string[];
  };
  /**
   * Host patterns where this credential is legitimately sent (`api.github.com`,
   * `*.amazonaws.com`). A finding bound for one of these is credential use,
   * anywhere else it is exfiltration. Empty or absent: no legitimate destination.
   */
  destinations?: string[];
  /** Upper bound in bytes of what `regex` can match; sizes the streaming carry-over. Default 512. */
  maxLength?: number;
  /**
   * A cheap test of each keyword hit before `regex` runs near it, for rules whose keyword is
   * common text (`://` is in every URL): the bytes from the hit up to the first byte of the
   * RE2 class `until` after the keyword (at most `within` bytes from the hit) must contain
   * `contains` (ASCII case-insensitive); a hit that fails opens no window. It must hold for
   * every match, through the keyword the match contains: `url-credentials` needs an `@`
   * before the URL's first `/`, space or quote. Bytes >= 0x80 never end the search.
   */
  confirm?: RuleConfirm;
  /**
   * Generic rules (identifier-style `password = ...`) lose to a specific rule on
   * an overlapping span (detectors/scan-state.ts keeps the specific finding).
   */
  generic?: boolean;
  /** Example inputs: every positive yields a finding of this rule, no negative does. */
  examples: {
    positive: string[];
    negative: string[];
  };
}

/** See RuleSpec.confirm. */
export interface RuleConfirm {
  /** Literal text (ASCII case-insensitive) that must follow the hit. */
  contains: string;
  /** RE2 character class (`[\\s/?#]`, `[^\\w.-]`) of the bytes that end the search. */
  until: string;
  /** How many bytes from the start of the hit the search reads at most. */
  within: number;
}

/** One credential found. Never carries the secret itself. */
export interface Finding {
  ruleId: string;
  title: string;
  severity: Severity;
  /** Byte offset of the secret in the scanned input (stream offsets are absolute). */
  offset: number;
  /** Length of the secret in bytes. */
  length: number;
  /** 1-based line and 1-based column (in bytes) of the secret's first byte. */
  line: number;
  column: number;
  /** First 4 characters, an ellipsis and the length: `ghp_…(40)`. */
  redacted: string;
  /** HMAC-SHA-256 of the secret under the per-install key, first 16 hex characters. */
  fingerprint: string;
  /** Host patterns where this credential belongs (copied from the rule). */
  destinations: readonly string[];
  /** Set when the secret was found inside decoded content (`base64`, `gzip`, `url`, ...). */
  decodedFrom?: string[];
  /** True for known-secret and canary matches. */
  known?: 'secret' | 'canary';
}
