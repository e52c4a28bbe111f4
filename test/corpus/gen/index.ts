// Secret generators for the labelled corpus, one file per rule family, and the
// variable names under which name-anchored values appear (`contextNames`; a family
// file that does not export them counts as having none).
import type { Rng } from '../rng.js';
import * as cloud from './cloud.js';
import * as github from './github.js';
import * as gitlab from './gitlab.js';
import * as registries from './registries.js';
import * as forges from './forges.js';
import * as services from './services.js';
import * as infra from './infra.js';
import * as chat from './chat.js';
import * as mail from './mail.js';
import * as payments from './payments.js';
import * as ai from './ai.js';
import * as observability from './observability.js';
import * as keys from './keys.js';
import * as generic from './generic.js';

export type Generator = (rng: Rng) => string;

/** The shape of a family file; `contextNames` is optional. */
interface FamilyModule {
  generators: Record<string, Generator>;
  contextNames?: Record<string, string[]>;
}

const modules: Readonly<Record<string, FamilyModule>> = {
  cloud,
  github,
  gitlab,
  registries,
  forges,
  services,
  infra,
  chat,
  mail,
  payments,
  ai,
  observability,
  keys,
  generic,
};

export const familyGenerators: Readonly<Record<string, Record<string, Generator>>> = Object.fromEntries(
  Object.entries(modules).map(([family, m]) => [family, m.generators]),
);

/** family → rule id → variable names the value is assigned to (name-anchored rules). */
export const familyContextNames: Readonly<Record<string, Record<string, string[]>>> = Object.fromEntries(
  Object.entries(modules).map(([family, m]) => [family, m.contextNames ?? {}]),
);
