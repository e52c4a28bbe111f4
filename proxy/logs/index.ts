// CI log scanning, as the app wires it: the job streams (one StreamScanner per job), the
// taps the proxy feeds to the recognisers, and the ingest listener when `ingest` is set.
import type { AddressInfo } from 'node:net';
import type { Config } from '../../config/index.js';
import type { Engine } from '../../detectors/index.js';
import { defaultRules } from '../../detectors/rules/index.js';
import type { EventBus } from '../events/events.js';
import { createIngestServer, type IngestServer } from './ingest.js';
import type { Taps } from '../wire/taps.js';
import { LogStreams, type DropReason } from './streams.js';
import { createLogTaps } from './taps.js';

export { LogStreams, JobStream, type LogFinding, type StreamLabels, type DropReason, type LogStreamStats } from './streams.js';
export { createLogTaps } from './taps.js';

export interface LogScanning {
  streams: LogStreams;
  /** For `proxy.taps`. */
  taps: Taps;
  /** Open job streams (the `chokepoint_log_streams_active` gauge). */
  activeStreams(): number;
  /** After a reload: new streams scan with this engine. */
  setEngine(engine: Engine): void;
  /** Start the idle sweep, and the ingest listener when configured. */
  listen(): Promise<AddressInfo | undefined>;
  close(): Promise<void>;
}

/** Drops that are content not scanned: reported as `scan` events with `skipped: oversize`. */
const UNSCANNED: ReadonlySet<DropReason> = new Set<DropReason>(['oversize', 'too-many-streams']);

export function createLogScanning(options: { config: Config; engine: Engine; bus: EventBus; pools: () => readonly string[] }): LogScanning {
  const { config, bus } = options;
  const streams = new LogStreams({
    engine: options.engine,
    maxStreams: config.ingest?.maxStreams ?? 1000,
    idleFlushMs: config.logs.idleFlush,
    onFinding: (event) => bus.emit(event),
    onScan: (event) => bus.emit(event),
    onDrop: (reason, count, labels) => {
      bus.emit({ type: 'log-drop', pool: labels?.pool ?? '', reason, count, ...(labels?.job ? { job: labels.job } : {}) });
      if (UNSCANNED.has(reason)) bus.emit({ type: 'scan', pool: labels?.pool ?? '', source: 'log', bytes: 0, skipped: 'oversize' });
    },
  });
  const ruleIds = new Set<string>([...defaultRules.map((r) => r.id), 'known-secret', 'canary']);
  const ingest: IngestServer | undefined = config.ingest
    ? createIngestServer({
        listen: config.ingest.listen,
        token: config.ingest.token,
        streams,
        pools: () => new Set(options.pools()),
        rules: () => ruleIds,
        emit: (event) => bus.emit(event),
      })
    : undefined;
  return {
    streams,
    taps: createLogTaps({ streams }),
    activeStreams: () => streams.activeStreams(),
    setEngine: (engine) => streams.setEngine(engine),
    async listen() {
      streams.start();
      return ingest?.listen();
    },
    async close() {
      await ingest?.close();
      streams.close();
    },
  };
}
