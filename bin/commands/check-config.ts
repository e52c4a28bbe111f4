// `chokepoint check-config FILE`: exit 0 when valid, 2 with every problem when not.
import { ConfigError, loadConfigFile } from '../../config/full.js';
import { dnsNotes } from '../../proxy/decide/dns.js';
import { Exit, parseCommandArgs, UsageError } from '../usage.js';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: chokepoint check-config FILE\n\nValidates FILE (YAML, with ${ENV} interpolation). Exit 0: valid; 2: problems, each with its key path and line.\n');
    return Exit.ok;
  }
  if (positionals.length !== 1) throw new UsageError('check-config takes exactly one FILE');
  const file = positionals[0] as string;
  try {
    const config = loadConfigFile(file);
    process.stdout.write(`${file}: valid (${config.pools.length} pool${config.pools.length === 1 ? '' : 's'}: ${config.pools.map((p) => `${p.name} ${p.mode}`).join(', ')})\n`);
    for (const note of dnsNotes(config)) process.stdout.write(`note: ${note}\n`);
    return Exit.ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(err.message + '\n');
    return Exit.error;
  }
}
