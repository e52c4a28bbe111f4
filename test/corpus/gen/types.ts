// The types family files share with the corpus index (apart, so family files need not import the index).
import type { Rng } from '../rng.js';

export type Generator = (rng: Rng) => string;

/** A rule's own surroundings: the text right before and right after the value, on its line(s). */
export interface OwnContext {
  /** Context name for the corpus report: `shell-history`, `az-cli-json`. */
  kind: string;
  build: (rng: Rng, value: string) => readonly [before: string, after: string];
}
