// Public API of detectors/: the engine, the streaming scanner, the contract types and
// the helpers other modules build on (validators, redaction, placeholders).
export { Engine, RuleError, type EngineOptions, type KnownSecret } from './engine.js';
export { StreamScanner } from './stream.js';
export { KnownSecretError, MIN_KNOWN_SECRET_BYTES } from './known.js';
export type { Finding, RuleSpec, Severity, ValidatorName } from './types.js';
export { validators, type Validator } from './validators.js';
export { isPlaceholder } from './placeholders.js';
export { redactedPreview, fingerprint } from './redact.js';
export { shannonEntropy } from './entropy.js';
export { utf8SafeEnd } from './utf8.js';
export { DEFAULT_MAX_LENGTH } from './compile.js';
export { tokenChecksum, base62 } from './checksum.js';
