// The detection engine across reloads: a reload that changes pools or allowlists keeps
// the engine it has (warm: RE2's DFA states and the clean-line memory are per engine);
// a change to anything the engine is built from (rule files, known secrets, canaries,
// the fingerprint key) builds a new one, and it finds what the change added.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../config/full.js';
import { buildDetection } from '../proxy/detection.js';

const dir = mkdtempSync(join(tmpdir(), 'chokepoint-detection-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rulesFile = join(dir, 'team.yaml');
const secretsFile = join(dir, 'secrets.txt');
const KEY = Buffer.alloc(32, 4);

const config = (allow: string, canary = 'canary-value-0a1b2c3d'): ReturnType<typeof parseConfig> =>
  parseConfig(
    `stateDir: ${join(dir, 'state')}
scan:
  rules: [${rulesFile}]
  knownSecrets: { files: [${secretsFile}] }
  canaries: [${canary}]
pools:
  - name: ci
    sources: [127.0.0.0/8]
    mode: enforce
    allow: [${allow}]
`,
    'chokepoint.yaml',
    {},
  );

describe('buildDetection across reloads', () => {
  writeFileSync(rulesFile, "rules:\n  - id: zeta-key\n    regex: 'zeta_[0-9a-f]{32}'\n");
  writeFileSync(secretsFile, 'deploy-key-1f2e3d4c5b6a\n');

  test('a pool or allowlist change keeps the engine it has', async () => {
    const first = await buildDetection(config('registry.npmjs.org'), {}, KEY);
    const again = await buildDetection(config('registry.npmjs.org, ghcr.io'), {}, KEY, first);
    expect(again.engine).toBe(first.engine);
  });

  test('a changed canary, fingerprint key, rules file or known-secrets file builds a new engine that finds the change', async () => {
    const first = await buildDetection(config('ghcr.io'), {}, KEY);
    const canary = await buildDetection(config('ghcr.io', 'canary-value-9z8y7x6w'), {}, KEY, first);
    expect(canary.engine).not.toBe(first.engine);
    expect(canary.engine.scan(Buffer.from('x=canary-value-9z8y7x6w')).map((f) => f.ruleId)).toEqual(['canary']);

    const key = await buildDetection(config('ghcr.io'), {}, Buffer.alloc(32, 5), first);
    expect(key.engine).not.toBe(first.engine);

    writeFileSync(secretsFile, 'deploy-key-1f2e3d4c5b6a\nsecond-key-77aa88bb99cc\n');
    const secrets = await buildDetection(config('ghcr.io'), {}, KEY, first);
    expect(secrets.engine).not.toBe(first.engine);
    expect(secrets.engine.scan(Buffer.from('x=second-key-77aa88bb99cc')).map((f) => f.ruleId)).toEqual(['known-secret']);

    writeFileSync(rulesFile, "rules:\n  - id: zeta-key\n    regex: 'zeta_[0-9a-f]{32}'\n  - id: eta-key\n    regex: 'eta_[0-9a-f]{32}'\n");
    const rules = await buildDetection(config('ghcr.io'), {}, KEY, secrets);
    expect(rules.engine).not.toBe(secrets.engine);
    expect(rules.engine.scan(Buffer.from('x eta_7f3a9c1e5b2d8046a1c9e3f7b5d20648')).map((f) => f.ruleId)).toEqual(['eta-key']);
  });
});
