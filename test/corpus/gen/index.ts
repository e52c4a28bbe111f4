// Secret generators for the labelled corpus, one file per rule family, and the
// variable names under which name-anchored values appear (`contextNames`; a family
// file that does not export them counts as having none). A family may also bring its
// own surroundings for a rule (`contexts`: a curl line, Azure CLI output) where the
// shared `NAME=value` contexts do not fit, and its own look-alike files (`lookalikes`).
import type { Rng } from '../rng.js';
import type { Generator, OwnContext } from './types.js';
import * as azure from './azure.js';
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
import * as cmdline from './cmdline.js';
import * as generic from './generic.js';

export type { Generator, OwnContext } from './types.js';


/** The shape of a family file; everything but `generators` is optional. */
interface FamilyModule {
  generators: Record<string, Generator>;
  contextNames?: Record<string, string[]>;
  /** rule id → its own contexts, used instead of the shared ones. */
  contexts?: Record<string, OwnContext[]>;
  /** look-alike kind → a file of values shaped like this family's credentials that are none. */
  lookalikes?: Record<string, (rng: Rng) => string>;
}

const modules: Readonly<Record<string, FamilyModule>> = {
  azure,
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
  cmdline,
  generic,
};

export const familyGenerators: Readonly<Record<string, Record<string, Generator>>> = Object.fromEntries(
  Object.entries(modules).map(([family, m]) => [family, m.generators]),
);

/** family → rule id → variable names the value is assigned to (name-anchored rules). */
export const familyContextNames: Readonly<Record<string, Record<string, string[]>>> = Object.fromEntries(
  Object.entries(modules).map(([family, m]) => [family, m.contextNames ?? {}]),
);

/** family → rule id → the rule's own contexts (rules without use the shared ones). */
export const familyContexts: Readonly<Record<string, Record<string, OwnContext[]>>> = Object.fromEntries(
  Object.entries(modules).map(([family, m]) => [family, m.contexts ?? {}]),
);

/** family → look-alike kind → generator of a file that must yield no finding. */
export const familyLookalikes: Readonly<Record<string, Record<string, (rng: Rng) => string>>> = Object.fromEntries(
  Object.entries(modules).map(([family, m]) => [family, m.lookalikes ?? {}]),
);
