import type { Rng } from '../rng.js';

/** One generator per rule id of detectors/rules/generic.ts: a fresh, valid secret value. */
export const generators: Record<string, (rng: Rng) => string> = {};
