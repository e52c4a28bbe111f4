// `chokepoint start [--config FILE]`: run the proxy until SIGTERM/SIGINT; SIGHUP reloads.
import { loadConfigIsolated, type Config } from '../../config/index.js';
import { startBanner, type BannerInfo } from '../start-banner.js';
import { Exit, parseCommandArgs } from '../usage.js';

const HELP = `Usage: chokepoint start [--config FILE]

Runs the proxy. Without --config it uses the built-in default: proxy on 127.0.0.1:3128,
admin (/metrics, /healthz, /readyz) on 127.0.0.1:9464, one pool 'default' for loopback
clients in audit mode (everything is let through and logged).
SIGHUP or a change to the file reloads the config; SIGTERM drains and exits 0.
With \`workers: N\` (N > 1) a primary process forks N workers sharing the proxy port and
serves the admin listener with the metrics of all of them; signals go to the primary.
Once listening, a terminal on stderr is told the next steps (the proxy URL to export,
the CA to trust, the admin URL); the JSON "chokepoint started" line goes to stdout.`;

/** The parts of the banner every start shares, from the config. */
async function bannerBase(config: Config, configPath: string | undefined, intercepts: boolean): Promise<Pick<BannerInfo, 'intercepts' | 'caCertPath' | 'configPath' | 'pools' | 'metricsToken'>> {
  let caCertPath: string | undefined;
  if (intercepts) {
    // Only here: the CA module loads node-forge, which a proxy that does not intercept never needs (issue #19).
    const { CaError, locateCaCert } = await import('../../proxy/wire/ca.js');
    try {
      caCertPath = locateCaCert(config).certPath;
    } catch (err) {
      // The CA was loaded to start; a file gone since is not worth failing over here.
      if (!(err instanceof CaError)) throw err;
    }
  }
  return {
    intercepts,
    caCertPath,
    configPath,
    metricsToken: config.admin.metricsToken !== '',
    pools: config.pools.map((p) => ({ name: p.name, mode: p.mode, byToken: p.token !== undefined || p.tokenHash !== undefined })),
  };
}

/** Tell a person at a terminal what to do next; a pipe or a file gets nothing (the JSON line says it all). */
function greet(info: BannerInfo): void {
  if (process.stderr.isTTY === true) process.stderr.write(startBanner(info));
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return Exit.ok;
  }
  // Read and validated in a child process: zod and yaml never load in the proxy's (config/isolated.ts).
  // The proxy's modules load meanwhile, so the child's start-up overlaps theirs (two processes, two cores).
  const configRead = loadConfigIsolated(values.config);
  // Awaited below; this only keeps a rejection from counting as unhandled while the modules load.
  configRead.catch(() => undefined);
  const [{ interceptsAnywhere, startApp }, { createLogger }, { isWorker, onPrimaryCommands, runPrimary, serveWorkerMetrics }] = await Promise.all([
    import('../../proxy/app.js'),
    import('../../proxy/events/access-log.js'),
    import('../../proxy/cluster.js'),
  ]);
  const config: Config = await configRead;
  const worker = isWorker();
  if (!worker && config.workers > 1) {
    const logger = createLogger({ level: config.log.level, ...(config.log.file ? { file: config.log.file } : {}) });
    return runPrimary({
      config,
      logger,
      intercepts: interceptsAnywhere(config),
      onStarted: ({ proxyAddress, adminAddress }) =>
        void bannerBase(config, values.config, interceptsAnywhere(config)).then((base) => greet({ ...base, proxy: proxyAddress, admin: adminAddress, dns: config.dns.listen, workers: config.workers })),
    });
  }
  // A worker has no admin listener: the primary serves /metrics for all of them.
  const app = await startApp({ config, ...(values.config ? { configPath: values.config } : {}), ...(worker ? { admin: false } : {}) });

  process.on('SIGHUP', () => void app.reload());
  // Workers share the terminal with their primary, which says it once for all of them.
  if (!worker) greet({ ...(await bannerBase(config, values.config, interceptsAnywhere(config))), proxy: app.proxyAddress, admin: app.adminAddress, dns: app.dnsAddress, ingest: app.ingestAddress });
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
