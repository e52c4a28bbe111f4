// Keeping start-up from growing V8's young generation (issue #19).
//
// Loading the modules (zod, yaml, pino, prom-client, the rule pack) allocates a burst of
// objects that nearly all survive: V8 reads that as a young generation too small and
// doubles it, up to 2 × 8 MiB, which then sits empty while the proxy is idle (`npx tsx
// bench/idle-memory.ts`: new_space 16 MiB committed, 2.5 MiB used). Holding the growth
// factor at 1 while the process starts keeps it at its initial 2 × 1 MiB; releasing it
// once the listeners are up lets traffic grow it as before, when traffic needs it.
// Nothing happens when the operator set the factor or the semi-space size (node flags or
// NODE_OPTIONS): theirs wins.
import v8 from 'node:v8';

/** V8's default factor (node 20, V8 11.3: `node --v8-options`). */
const DEFAULT_GROWTH_FACTOR = 2;

let held = false;

function operatorSetsYoungGeneration(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((f) => /^--(semi[-_]space[-_]growth[-_]factor|max[-_]semi[-_]space[-_]size|min[-_]semi[-_]space[-_]size)\b/.test(f));
}

/** Before the modules of `chokepoint start` load: the young generation stays at its initial size. */
export function holdYoungGeneration(): void {
  if (held || operatorSetsYoungGeneration()) return;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  held = true;
}

/** Once the proxy listens (startApp calls it; a no-op unless held): V8's default growth again. */
export function releaseYoungGeneration(): void {
  if (!held) return;
  v8.setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  held = false;
}
