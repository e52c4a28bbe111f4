// Shared plumbing for CLI commands: argument parsing with one-line usage errors.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called: the CLI prints one line and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** parseArgs that turns node's verbose errors into a one-line UsageError. */
export function parseCommandArgs<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UsageError(message ?? 'invalid arguments');
  }
}

/** The exit codes every command uses. */
export const Exit = {
  ok: 0,
  /** `scan`: findings reported. */
  findings: 1,
  /** Usage errors, invalid config, unreadable input. */
  error: 2,
} as const;
