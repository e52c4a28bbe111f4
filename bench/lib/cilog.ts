// CI-log-like text for throughput benchmarks: build output with timestamps and ANSI
// colours (npm, pip, docker, compilers, test runners), env dumps, URLs and hashes,
// with a secret planted about once per `secretEvery` bytes in one of the corpus
// contexts. Deterministic from the seed; held in memory, never written out.
import { buildContext, ciLogLine, contextsFor, envNameFromRuleId, fillerLines } from '../../test/corpus/contexts.js';
import { familyContextNames, familyGenerators, type Generator } from '../../test/corpus/gen/index.js';
import { createRng } from '../../test/corpus/rng.js';

export interface CiLog {
  text: Buffer;
  /** Number of secrets planted. */
  planted: number;
}

export interface CiLogOptions {
  bytes: number;
  seed?: number;
  /** Plant one secret per this many bytes on average. Default 64 KiB. */
  secretEvery?: number;
}

export function generateCiLog(opts: CiLogOptions): CiLog {
  const rng = createRng(opts.seed ?? 0xc1106);
  const every = opts.secretEvery ?? 64 * 1024;
  const rules: Array<{ id: string; gen: Generator; names: string[] }> = [];
  for (const [family, gens] of Object.entries(familyGenerators)) {
    const names = familyContextNames[family] ?? {};
    for (const [id, gen] of Object.entries(gens)) rules.push({ id, gen, names: names[id] ?? [] });
  }
  const parts: string[] = [];
  let size = 0;
  let nextSecret = rng.int(every);
  let planted = 0;
  const push = (s: string): void => {
    parts.push(s);
    size += s.length + 1;
  };
  while (size < opts.bytes) {
    if (size >= nextSecret && rules.length > 0) {
      const r = rng.pick(rules);
      const anchored = r.names.length > 0;
      const planting = { value: r.gen(rng), name: anchored ? rng.pick(r.names) : envNameFromRuleId(r.id), anchored };
      push(buildContext(rng.pick(contextsFor(planting)), rng, planting).text.trimEnd());
      planted++;
      nextSecret += Math.max(1, Math.round(every * (0.5 + rng.next())));
      continue;
    }
    const block = rng.int(40);
    if (block === 0) {
      push(ciLogLine(rng, '$ env | sort'));
      for (const l of fillerLines(rng, 10 + rng.int(25), 'env')) push(ciLogLine(rng, l));
    } else {
      for (const l of fillerLines(rng, 1 + rng.int(20), 'log')) push(l);
    }
  }
  // Lines are ASCII apart from a few symbols; trim to exactly `bytes` at a line end.
  const text = Buffer.from(parts.join('\n') + '\n', 'utf8');
  const cut = text.lastIndexOf(0x0a, opts.bytes - 1);
  return { text: cut > 0 ? text.subarray(0, cut + 1) : text, planted };
}
