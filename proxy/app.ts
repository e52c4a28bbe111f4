// One running Chokepoint: the proxy listener, the admin listener, the access log and the
// metrics, wired to one event bus, with reload and graceful shutdown.
import { watch, type FSWatcher } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Engine } from '../detectors/index.js';
import { ConfigError, loadConfigIsolated } from '../config/index.js';
import { accessLogSink, createLogger } from './events/access-log.js';
import { createAdminServer } from './wire/admin.js';
import { EventBus } from './events/events.js';
import type { LeafIssuer } from './wire/ca.js';
import { buildDetection } from './detection.js';
import { createLogScanning, type LogStreams } from './logs/index.js';
import { createMetrics, type Metrics } from './events/metrics.js';
import type { Resolve } from './decide/gate.js';
import { ProxyServer } from './wire/server.js';
import { DnsListener, type NameReader } from './wire/dns-listener.js';
import { dnsNotes } from './decide/dns.js';
import { ensureStateDir, fingerprintKeyFor } from './state.js';
import { DnsNameReader } from '../detectors/dns-names.js';
import { releaseYoungGeneration } from './startup-memory.js';

export interface AppOptions {
  config: Config;
  /** The file the config came from; reloads reread it. Absent: the built-in default. */
  configPath?: string;
  logger?: Logger;
  resolve?: Resolve;
  env?: NodeJS.ProcessEnv;
  /**
   * Start the admin listener (default true). A cluster worker passes false: the primary
   * serves /metrics (aggregated over the workers), /healthz and /readyz (proxy/cluster.ts).
   */
  admin?: boolean;
  /** Reads DNS query names for secrets and tunnelling (default: the engine scans each name). */
  dnsReadName?: NameReader;
  /** Told of each new engine on reload, for a reader that scans with it (e.g. DnsNameReader.setEngine). */
  dnsOnEngine?: (engine: Engine) => void;
}

export interface App {
  proxy: ProxyServer;
  metrics: Metrics;
  logger: Logger;
  proxyAddress: AddressInfo;
  /** Port 0 when this process runs no admin listener (a cluster worker). */
  adminAddress: AddressInfo;
  /** The DNS listener (UDP and TCP on the same port), when `dns.listen` is configured. */
  dnsAddress: AddressInfo | undefined;
  dns: DnsListener | undefined;
  /** The ingest listener (POST /v1/logs), when `ingest` is configured. */
  ingestAddress: AddressInfo | undefined;
  /** The CI log streams being scanned. */
  logStreams: LogStreams;
  /** Reread the config file; a bad one changes nothing. Resolves whether it took effect. */
  reload(): Promise<boolean>;
  /** The interception CA's leaf issuer, when interception is on. */
  issuer: LeafIssuer | undefined;
  close(deadlineMs?: number): Promise<void>;
}

export async function startApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.log.level, ...(config.log.file ? { file: config.log.file } : {}) });
  const env = options.env ?? process.env;
  ensureStateDir(config.stateDir);
  const fingerprintKey = fingerprintKeyFor(config, { create: true }) as Buffer;
  let detection = await buildDetection(config, env, fingerprintKey);
  for (const note of detection.notes) logger.warn(note);

  let issuer: LeafIssuer | undefined;
  if (interceptsAnywhere(config)) {
    // node-forge (with its sources, about 2 MiB resident) loads only where interception is on (issue #19).
    const { createLeafIssuer, loadCa } = await import('./wire/ca.js');
    const { ca, certPath, created } = loadCa(config, { create: true });
    issuer = createLeafIssuer(ca);
    if (created) logger.info({ certificate: certPath }, 'made a new interception CA: runners must trust this certificate (chokepoint ca env)');
  }

  const bus = new EventBus();
  // One reader of names for secrets (detectors/dns-names.ts, remembered per name): the proxy
  // reads the hosts of requests and tunnels with it, the DNS listener its query names.
  const names = new DnsNameReader({ engine: detection.engine, fingerprintKey });
  const proxy = new ProxyServer({ config, bus, engine: detection.engine, names, ...(issuer ? { issuer } : {}), ...(options.resolve ? { resolve: options.resolve } : {}) });
  // CI log streams: recognised uploads in traffic (taps) and the ingest listener.
  const logs = createLogScanning({ config, engine: detection.engine, bus, pools: () => proxy.config.pools.map((p) => p.name) });
  proxy.taps = logs.taps;
  const caIssuer = issuer;
  const metrics = createMetrics({
    activeTunnels: (pool) => proxy.activeTunnels(pool),
    logStreamsActive: () => logs.activeStreams(),
    // Only when interception is on: without a CA there is no expiry to export.
    ...(caIssuer ? { caNotAfter: () => caIssuer.caNotAfter } : {}),
  });
  metrics.initPools(config);
  bus.subscribe(accessLogSink(logger));
  bus.subscribe(metrics.sink);

  const proxyAddress = await proxy.listen();
  const admin =
    options.admin === false
      ? undefined
      : createAdminServer({
          listen: config.admin.listen,
          token: config.admin.token,
          metricsToken: config.admin.metricsToken,
          registry: metrics.registry,
          ready: () => !proxy.isDraining,
        });
  // The DNS listener binds after the proxy: with workers, the primary's first `listening`
  // is the proxy port (cluster.ts), and every worker shares the DNS sockets as it does the proxy's.
  // Query names are read by the DNS name reader (secrets in encoded labels, tunnelling) unless a caller gives its own.
  const nameReader = config.dns.listen !== undefined && !options.dnsReadName ? names : undefined;
  const readName = options.dnsReadName ?? nameReader?.reader;
  const onEngine = options.dnsOnEngine ?? (nameReader ? (e: Engine) => nameReader.setEngine(e) : undefined);
  const dns = config.dns.listen !== undefined ? new DnsListener({ config, engine: detection.engine, bus, ...(readName ? { readName } : {}), ...(onEngine ? { onEngine } : {}) }) : undefined;
  for (const note of dnsNotes(config)) logger.warn(note);
  let adminAddress: AddressInfo = { address: '', family: '', port: 0 };
  let ingestAddress: AddressInfo | undefined;
  let dnsAddress: AddressInfo | undefined;
  try {
    if (dns) dnsAddress = await dns.listen();
    if (admin) adminAddress = await admin.listen();
    ingestAddress = await logs.listen();
  } catch (err) {
    await proxy.close(0);
    await dns?.close();
    await admin?.close();
    await logs.close();
    throw err;
  }

  let reloading: Promise<boolean> = Promise.resolve(true);
  const reloadOnce = async (): Promise<boolean> => {
    if (!options.configPath) return false;
    try {
      // In a child process, as at start (bin/commands/start.ts): zod and yaml stay out of this one.
      const next = await loadConfigIsolated(options.configPath, env);
      // A changed scan.fingerprintKey takes effect with the new rules: fingerprints from here on use it.
      const nextDetection = await buildDetection(next, env, fingerprintKeyFor(next, { create: true }) as Buffer, detection);
      for (const note of nextDetection.notes) logger.warn(note);
      if (next.listen !== proxy.config.listen || next.admin.listen !== proxy.config.admin.listen) {
        logger.warn('listen addresses changed in the config: they take effect on restart');
      }
      if (next.dns.listen !== proxy.config.dns.listen) logger.warn('dns.listen changed in the config: it takes effect on restart');
      for (const note of dnsNotes(next)) logger.warn(note);
      if (interceptsAnywhere(next) && !issuer) logger.warn('interception turned on in the config: it takes effect on restart');
      proxy.reload(next, nextDetection.engine);
      logs.setEngine(nextDetection.engine);
      dns?.reload(next, nextDetection.engine);
      logs.streams.idleFlushMs = next.logs.idleFlush;
      detection = nextDetection;
      metrics.initPools(next);
      bus.emit({ type: 'reload', result: 'success', source: options.configPath });
      return true;
    } catch (err) {
      const error = err instanceof ConfigError ? err.message : (err as Error).message;
      bus.emit({ type: 'reload', result: 'failure', source: options.configPath, error });
      return false;
    }
  };
  // Reloads run one after another, never interleaved.
  const reload = (): Promise<boolean> => (reloading = reloading.then(reloadOnce, reloadOnce));

  // Editors replace files (rename) as often as they write them: watch again after each
  // change (the old inode may be gone) and debounce, so one save is one reload.
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  const watchConfig = (path: string): void => {
    watcher?.close();
    try {
      watcher = watch(path, { persistent: false }, () => {
        clearTimeout(debounce);
        debounce = setTimeout(() => {
          void reload();
          watchConfig(path);
        }, 200);
      });
    } catch {
      watcher = undefined;
      logger.warn('cannot watch the config file; reload with SIGHUP');
    }
  };
  if (options.configPath) watchConfig(options.configPath);

  logger.info(
    {
      listen: `${proxyAddress.address}:${proxyAddress.port}`,
      ...(admin ? { admin: `${adminAddress.address}:${adminAddress.port}` } : {}),
      ...(ingestAddress ? { ingest: `${ingestAddress.address}:${ingestAddress.port}` } : {}),
      ...(dnsAddress && dns ? { dns: `${dnsAddress.address}:${dnsAddress.port}`, dnsUpstreams: dns.upstreamServers } : {}),
      pools: config.pools.map((p) => `${p.name}(${p.mode})`),
    },
    'chokepoint started',
  );
  // Start-up is over: traffic may grow V8's young generation again (proxy/startup-memory.ts).
  releaseYoungGeneration();

  return {
    proxy,
    metrics,
    logger,
    proxyAddress,
    adminAddress,
    ingestAddress,
    dnsAddress,
    dns,
    logStreams: logs.streams,
    reload,
    issuer,
    async close(deadlineMs) {
      clearTimeout(debounce);
      watcher?.close();
      await dns?.close();
      await proxy.close(deadlineMs);
      await admin?.close();
      await logs.close();
      logger.flush();
    },
  };
}

/** Does any pool (or the global default) open TLS? */
export function interceptsAnywhere(config: Config): boolean {
  return config.pools.some((p) => (p.tls.intercept ?? config.tls.intercept) !== 'none');
}
