// `chokepoint start [--config FILE]`: run the proxy until SIGTERM/SIGINT; SIGHUP reloads.
import { defaultConfig, loadConfigFile, type Config } from '../../config/index.js';
import { interceptsAnywhere, startApp } from '../../proxy/app.js';
import { createLogger } from '../../proxy/events/access-log.js';
import { isWorker, onPrimaryCommands, runPrimary, serveWorkerMetrics } from '../../proxy/cluster.js';
import { Exit, parseCommandArgs } from '../usage.js';

const HELP = `Usage: chokepoint start [--config FILE]

Runs the proxy. Without --config it uses the built-in default: proxy on 127.0.0.1:3128,
admin (/metrics, /healthz, /readyz) on 127.0.0.1:9464, one pool 'default' for loopback
clients in audit mode (everything is let through and logged).
SIGHUP or a change to the file reloads the config; SIGTERM drains and exits 0.
With \`workers: N\` (N > 1) a primary process forks N workers sharing the proxy port and
serves the admin listener with the metrics of all of them; signals go to the primary.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return Exit.ok;
  }
  const config: Config = values.config ? loadConfigFile(values.config) : defaultConfig();
  const worker = isWorker();
  if (!worker && config.workers > 1) {
    const logger = createLogger({ level: config.log.level, ...(config.log.file ? { file: config.log.file } : {}) });
    return runPrimary({ config, logger, intercepts: interceptsAnywhere(config) });
  }
  // A worker has no admin listener: the primary serves /metrics for all of them.
  const app = await startApp({ config, ...(values.config ? { configPath: values.config } : {}), ...(worker ? { admin: false } : {}) });

  process.on('SIGHUP', () => void app.reload());
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      app.logger.info({ signal, deadlineMs: config.timeouts.shutdown }, 'draining');
      app.close().then(
        () => resolve(Exit.ok),
        () => resolve(Exit.error),
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    if (worker) {
      serveWorkerMetrics(app.metrics.registry);
      onPrimaryCommands({ reload: () => void app.reload(), shutdown: () => stop('primary') });
    }
  }).then((code) => {
    // A worker's IPC channel keeps it alive: let go of it so the process can end.
    if (worker && process.connected) process.disconnect();
    return code;
  });
}
