// The CI log recognisers, in the order they are asked. To add one (Jenkins, Buildkite),
// write a module in this folder exporting a `Recogniser` and list it here: nothing else
// changes. The first recogniser to return a tap for a request wins.
import { github } from './github.js';
import { gitlab } from './gitlab.js';
import type { Recogniser } from './types.js';

export const recognisers: readonly Recogniser[] = [gitlab, github];

export type { Recogniser, RecogniserContext } from './types.js';
