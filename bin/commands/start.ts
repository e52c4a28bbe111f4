import { UsageError } from '../usage.js';

export async function run(_argv: string[]): Promise<number> {
  throw new UsageError('start: not built yet');
}
