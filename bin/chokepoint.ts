#!/usr/bin/env node
// The `chokepoint` command: a thin dispatcher to one module per subcommand.
import { holdYoungGeneration } from '../proxy/startup-memory.js';
import { Exit, UsageError } from './usage.js';

interface Command {
  summary: string;
  load: () => Promise<{ run(argv: string[]): Promise<number> }>;
}

const commands: Record<string, Command> = {
  start: { summary: 'start [--config FILE]            run the proxy', load: () => import('./commands/start.js') },
  'check-config': {
    summary: 'check-config FILE               validate a config file (exit 0 valid, 2 invalid)',
    load: () => import('./commands/check-config.js'),
  },
  policy: {
    summary: 'policy suggest [LOGFILE...|-]   turn access logs into a per-pool allowlist',
    load: () => import('./commands/policy.js'),
  },
  config: { summary: 'config schema                   print the JSON Schema of the config file', load: () => import('./commands/config.js') },
  scan: {
    summary: 'scan [--format text|jsonl|sarif] [--rules FILE]... PATH...|-   scan files for secrets',
    load: () => import('./commands/scan.js'),
  },
  ca: { summary: 'ca init|show|env|install [--config FILE]   manage the interception CA', load: () => import('./commands/ca.js') },
  mask: { summary: 'mask [--report URL --token T]    mask secrets in a log on stdin, line by line', load: () => import('./commands/mask.js') },
};

function usage(): string {
  const lines = Object.values(commands).map((c) => `  chokepoint ${c.summary}`);
  return ['Usage:', ...lines, '', 'Run `chokepoint COMMAND --help` for the options of one command.'].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? Exit.error : Exit.ok;
  }
  if (name === '--version' || name === '-v') {
    const { version } = await import('../proxy/version.js');
    process.stdout.write(version + '\n');
    return Exit.ok;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) throw new UsageError(`unknown command '${name}' (try 'chokepoint --help')`);
  // Before the proxy's modules load: startApp releases it once listening (proxy/startup-memory.ts).
  if (name === 'start') holdYoungGeneration();
  const mod = await command.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`chokepoint: ${err.message}\n`);
    } else {
      // Messages only: a stack or an error's properties could carry request data.
      process.stderr.write(`chokepoint: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exitCode = Exit.error;
  },
);
