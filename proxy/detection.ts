// The detection engine the proxy scans with: the shipped rule pack, the operator's rule
// files, the known secrets (values of named environment variables and files) and the
// canaries. Built at start and on every reload; reading files and env happens here, at
// the edge, so the engine itself stays pure.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { Engine, type KnownSecret, type RuleSpec } from '../detectors/index.js';
import type * as LoadRules from '../detectors/load-rules.js';
import { defaultRules } from '../detectors/rules/index.js';

export interface DetectionSetup {
  engine: Engine;
  /** What was left out and why (unset env vars...), for the start-up log. Never values. */
  notes: string[];
  /**
   * A digest of everything the engine is built from (rules, known secrets, canaries,
   * fingerprint key): equal digests make the same engine. Kept in memory only.
   */
  digest: string;
}

/**
 * Builds the engine for `config`, or hands back `previous.engine` when nothing it is built
 * from has changed (a reload that touched pools or allowlists only). A kept engine keeps
 * what it learned: RE2 builds its DFA states as input arrives (a new engine starts at a
 * quarter of its speed and takes tens of MiB to catch up, see bench/warmup.ts), and the
 * clean header and URL memory is per engine. Rule files and known-secret files are read
 * again every time, so a changed file is a changed engine.
 */
/** Stands in for detectors/load-rules.js when the config names no rule files (nothing to read or check). */
const noRuleFiles: Pick<typeof LoadRules, 'checkRuleExamples' | 'loadRulesFile'> = {
  checkRuleExamples: () => undefined,
  loadRulesFile: () => Promise.reject(new Error('no rule files')),
};

export async function buildDetection(config: Config, env: NodeJS.ProcessEnv, fingerprintKey: Buffer, previous?: DetectionSetup): Promise<DetectionSetup> {
  const notes: string[] = [];
  const rules = [...defaultRules];
  const files: Array<{ file: string; rules: RuleSpec[] }> = [];
  // Only with rule files: the rules-file reader loads yaml, zod and smol-toml, which a proxy
  // on the shipped pack never needs (issue #19, idle memory).
  const { checkRuleExamples, loadRulesFile } = config.scan.rules.length > 0 ? await import('../detectors/load-rules.js') : noRuleFiles;
  for (const file of config.scan.rules) {
    const loaded = await loadRulesFile(file);
    rules.push(...loaded.rules);
    files.push({ file, rules: loaded.rules });
    notes.push(...loaded.notes.map((n) => `${file}: ${n}`));
  }

  const known: KnownSecret[] = [];
  for (const name of config.scan.knownSecrets.env) {
    const value = env[name];
    if (value === undefined || value === '') {
      notes.push(`known secret env ${name} is not set: nothing to watch for`);
      continue;
    }
    known.push({ name, value, kind: 'secret' });
  }
  for (const file of config.scan.knownSecrets.files) {
    // One secret per line; blank lines and # comments skipped.
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const value = line.trim();
      if (value !== '' && !value.startsWith('#')) known.push({ name: `${file}:${i + 1}`, value, kind: 'secret' });
    });
  }
  config.scan.canaries.forEach((value, i) => known.push({ name: `canary-${i + 1}`, value, kind: 'canary' }));
  const digest = createHash('sha256').update(JSON.stringify([rules, known])).update(fingerprintKey).digest('hex');
  if (previous?.digest === digest) return { engine: previous.engine, notes, digest };
  // Regexes compiled on first use (issue #19: most rules' keywords never occur in a given
  // fleet's traffic, and their RE2 programs were a fifth of the idle process). Every rule
  // here is known to compile: the shipped pack by its tests, rule files by loadRulesFile.
  const engine = new Engine({ rules, fingerprintKey, knownSecrets: known, lazyRegexes: true });
  // The operator's rules carry their own examples: a file whose examples fail is refused like one that does not parse.
  for (const f of files) checkRuleExamples(engine, f.file, f.rules);
  return { engine, notes, digest };
}
