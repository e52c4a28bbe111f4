// Many workers (`workers: N`): a node:cluster primary forks N workers that share the
// proxy listener (the primary hands connections out round-robin on Linux). The admin
// listener runs in the primary only: /metrics asks every worker for its registry and
// serves the aggregate (prom-client's AggregatorRegistry; each metric names its rule in
// metrics.ts), /healthz answers, /readyz is ready while a worker listens and the primary
// is not draining. SIGHUP to the primary reloads every worker; SIGTERM (or SIGINT) drains
// every worker and exits 0 when all have.
//
// Single-process mode (`workers: 1`) does not come here: start.ts runs the app directly.
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import { createAdminServer } from './wire/admin.js';
import { ensureStateDir, fingerprintKeyFor } from './state.js';

/** Messages from the primary to its workers (prom-client's own use other types). */
const RELOAD = 'chokepoint:reload';
const SHUTDOWN = 'chokepoint:shutdown';

/** Extra time a draining worker gets beyond timeouts.shutdown before it is killed. */
const KILL_GRACE_MS = 5_000;

/** Is this process a worker forked by the primary? */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/** The primary's aggregate of its workers' registries, as a Registry the admin server can serve. */
class ClusterRegistry extends AggregatorRegistry<PrometheusContentType> {
  override metrics(): Promise<string> {
    return this.clusterMetrics();
  }
}

/** Worker side: answer the primary's metric requests from this registry. */
export function serveWorkerMetrics(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one adds the worker's listener for the primary's requests (idempotent).
  new AggregatorRegistry<PrometheusContentType>();
}

/** Worker side: what to do when the primary asks to reload or to stop. */
export function onPrimaryCommands(handlers: { reload(): void; shutdown(): void }): void {
  process.on('message', (message: unknown) => {
    const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
    if (type === RELOAD) handlers.reload();
    else if (type === SHUTDOWN) handlers.shutdown();
  });
  // The primary went away (killed): nobody routes connections here any more; drain and go.
  process.once('disconnect', () => handlers.shutdown());
}

export interface PrimaryOptions {
  config: Config;
  logger: Logger;
  /** Interception on in some pool: make the CA once, before the workers load it. */
  intercepts: boolean;
  /** Told once every worker listens and the admin listener is up (the CLI greets a terminal). */
  onStarted?: (started: { proxyAddress: AddressInfo; adminAddress: AddressInfo }) => void;
}

/**
 * Run the primary until SIGTERM/SIGINT: fork config.workers workers (the same command
 * line), serve the admin listener, relay reloads and shutdown. Resolves with the exit code.
 */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { config, logger } = options;
  const count = config.workers;

  // State every worker shares is made once here; N workers racing to create a
  // fingerprint key (or a CA) would each make their own.
  ensureStateDir(config.stateDir);
  fingerprintKeyFor(config, { create: true });
  if (options.intercepts) {
    // node-forge (with its sources, about 2 MiB resident) loads only where interception is on (issue #19).
    const { loadCa } = await import('./wire/ca.js');
    const { certPath, created } = loadCa(config, { create: true });
    if (created) logger.info({ certificate: certPath }, 'made a new interception CA: runners must trust this certificate (chokepoint ca env)');
  }

  const listening = new Set<number>();
  const everListened = new Set<number>();
  const exitCodes = new Map<number, number>();
  let proxyAddress: AddressInfo | undefined;
  let stopping = false;
  let failed = false;

  const registry = new ClusterRegistry();
  const admin = createAdminServer({
    listen: config.admin.listen,
    token: config.admin.token,
    metricsToken: config.admin.metricsToken,
    registry,
    ready: () => !stopping && listening.size > 0,
  });

  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let allStarted: () => void = () => undefined;
  let startFailed: (err: Error) => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    allStarted = resolve;
    startFailed = reject;
  });

  const alive = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());

  const finishIfAllGone = (): void => {
    if (alive().length > 0) return;
    void admin.close().then(() => {
      const clean = !failed && [...exitCodes.values()].every((c) => c === 0);
      logger.info({ workers: exitCodes.size }, 'all workers stopped');
      logger.flush();
      resolveDone(clean ? 0 : 1);
    });
  };

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, deadlineMs: config.timeouts.shutdown, workers: alive().length }, 'draining');
    for (const worker of alive()) send(worker, SHUTDOWN);
    const kill = setTimeout(() => {
      for (const worker of alive()) {
        failed = true;
        logger.error({ worker: worker.id }, 'worker did not drain in time: killed');
        worker.process.kill('SIGKILL');
      }
    }, config.timeouts.shutdown + KILL_GRACE_MS);
    kill.unref();
    startFailed(new Error(`stopped (${signal}) while starting`)); // no-op once started
    finishIfAllGone();
  };

  const fork = (): void => {
    const worker = cluster.fork();
    worker.on('error', () => undefined); // a send to a dying worker; its exit is handled below
  };

  cluster.on('listening', (worker, address) => {
    listening.add(worker.id);
    everListened.add(worker.id);
    if (!proxyAddress) {
      proxyAddress = { address: address.address ?? '', family: address.addressType === 6 ? 'IPv6' : 'IPv4', port: address.port };
    }
    if (everListened.size >= count) allStarted();
  });
  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    if (stopping) {
      // How the drain went: a worker that crashed earlier and was replaced does not count.
      exitCodes.set(worker.id, code ?? (signal ? 1 : 0));
      return finishIfAllGone();
    }
    if (!everListened.has(worker.id)) {
      // It never started (bad listen address, unreadable state): more forks would fail too.
      failed = true;
      startFailed(new Error(`worker ${worker.id} exited before listening (code ${code ?? signal})`));
      stop('worker-failed');
      return;
    }
    logger.error({ worker: worker.id, code, signal }, 'worker exited: starting another');
    fork();
  });

  // Signals are ours from the start: SIGHUP's default action would end the primary.
  process.on('SIGHUP', () => {
    if (stopping) return;
    logger.info({ workers: alive().length }, 'reloading every worker');
    for (const worker of alive()) send(worker, RELOAD);
  });
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < count; i++) fork();
  try {
    await started;
  } catch (err) {
    if (!stopping || failed) logger.error({ error: (err as Error).message }, 'workers failed to start');
    return done;
  }

  let adminAddress: AddressInfo;
  try {
    adminAddress = await admin.listen();
  } catch (err) {
    logger.error({ error: (err as Error).message }, 'admin listener failed');
    failed = true;
    stop('admin-failed');
    return done;
  }

  const bound = proxyAddress as AddressInfo | undefined;
  logger.info(
    {
      listen: bound ? `${bound.address}:${bound.port}` : config.listen,
      admin: `${adminAddress.address}:${adminAddress.port}`,
      workers: count,
      pools: config.pools.map((p) => `${p.name}(${p.mode})`),
    },
    'chokepoint started',
  );
  if (bound) options.onStarted?.({ proxyAddress: bound, adminAddress });
  return done;
}

function send(worker: Worker, type: string): void {
  if (!worker.isConnected()) return;
  try {
    worker.send({ type });
  } catch {
    // The channel closed between the check and the send: the worker is exiting anyway.
  }
}
