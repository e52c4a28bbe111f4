// The shipped rule pack: one file per provider family.
import type { RuleSpec } from '../types.js';
import { rules as azure } from './azure.js';
import { rules as cloud } from './cloud.js';
import { rules as github } from './github.js';
import { rules as gitlab } from './gitlab.js';
import { rules as registries } from './registries.js';
import { rules as forges } from './forges.js';
import { rules as services } from './services.js';
import { rules as infra } from './infra.js';
import { rules as chat } from './chat.js';
import { rules as mail } from './mail.js';
import { rules as payments } from './payments.js';
import { rules as ai } from './ai.js';
import { rules as observability } from './observability.js';
import { rules as keys } from './keys.js';
import { rules as cmdline } from './cmdline.js';
import { rules as generic } from './generic.js';

export const familyRules: Readonly<Record<string, readonly RuleSpec[]>> = {
  // Before cloud: on the same span (a Cosmos DB key after AccountKey=) the azure.ts rule wins.
  azure,
  cloud,
  github,
  gitlab,
  registries,
  // Before infra: a context-named rule (VAGRANT_CLOUD_TOKEN=<atlasv1 token>) wins a tie on the same span.
  forges,
  infra,
  chat,
  mail,
  payments,
  ai,
  observability,
  // After the provider families: its provider-name-nearby rules lose a tie to the stricter named rule.
  services,
  keys,
  // Before generic: on the same span a command-line rule wins over generic-password.
  cmdline,
  generic,
};

export const defaultRules: readonly RuleSpec[] = Object.values(familyRules).flat();
