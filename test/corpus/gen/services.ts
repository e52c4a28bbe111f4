import type { Rng } from '../rng.js';
export const generators: Record<string, (rng: Rng) => string> = {};
