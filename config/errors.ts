// A config's problems, and the error that lists them. Its own module (no zod, no yaml) so
// that the proxy's process can report them without loading the loader (issue #19,
// config/isolated.ts).

export interface ConfigProblem {
  /** Dotted key path, `pools[0].allow[2]`; empty for the whole file. */
  path: string;
  /** 1-based line in the file, when known. */
  line?: number;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${formatProblems(source, problems)}`);
  }
}

export function formatProblems(source: string, problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => `  ${source}${p.line === undefined ? '' : `:${p.line}`}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`)
    .join('\n');
}

export type Env = Readonly<Record<string, string | undefined>>;
