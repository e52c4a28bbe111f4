import type { Rng } from '../rng.js';

/** One generator per rule id of detectors/rules/registries.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {};
