// Secret generators for the labelled corpus, one file per rule family.
import type { Rng } from '../rng.js';
import { generators as cloud } from './cloud.js';
import { generators as github } from './github.js';
import { generators as gitlab } from './gitlab.js';
import { generators as registries } from './registries.js';
import { generators as infra } from './infra.js';
import { generators as chat } from './chat.js';
import { generators as mail } from './mail.js';
import { generators as payments } from './payments.js';
import { generators as ai } from './ai.js';
import { generators as observability } from './observability.js';
import { generators as keys } from './keys.js';
import { generators as generic } from './generic.js';

export const familyGenerators: Readonly<Record<string, Record<string, (rng: Rng) => string>>> = {
  cloud,
  github,
  gitlab,
  registries,
  infra,
  chat,
  mail,
  payments,
  ai,
  observability,
  keys,
  generic,
};
