import dnsPacket from 'dns-packet';
import { parseConfig } from '/work/wt-dnswire/config/index.js';
import { EventBus } from '/work/wt-dnswire/proxy/events/events.js';
import { DnsListener } from '/work/wt-dnswire/proxy/wire/dns-listener.js';
import { Engine } from '/work/wt-dnswire/detectors/engine.js';
import { defaultRules } from '/work/wt-dnswire/detectors/rules/index.js';
import { startUpstream } from '/work/wt-dnswire/test/helpers/dns.js';
import { createMetrics } from '/work/wt-dnswire/proxy/events/metrics.js';
import { accessLogSink, createLogger } from '/work/wt-dnswire/proxy/events/access-log.js';
import { createWriteStream } from 'node:fs';
const up = await startUpstream({ 'a.bench.example.com': [{ type: 'A', name: 'a.bench.example.com', ttl: 3600, data: '104.16.0.1' }] });
const config = parseConfig(`dns:\n  listen: 127.0.0.1:0\n  servers: [127.0.0.1:${up.port}]\n  rateLimit: {perSecond: 0}\npools:\n  - name: b\n    sources: [127.0.0.0/8]\n    mode: enforce\n    allow: ["*.bench.example.com"]\n`, 'x', {});
const bus = new EventBus();
const mode = process.argv[2] ?? '';
if (mode.includes('m')) { const m = createMetrics({ activeTunnels: () => 0, defaultMetrics: false }); m.initPools(config); bus.subscribe(m.sink); }
if (mode.includes('l')) { bus.subscribe(accessLogSink(createLogger({ destination: createWriteStream('/dev/null') }))); }
const engine = new Engine({ rules: defaultRules, fingerprintKey: Buffer.alloc(32) });
const l = new DnsListener({ config, engine, bus });
const q = dnsPacket.encode({ type: 'query', id: 1, flags: 256, questions: [{ type: 'A', name: 'a.bench.example.com' }] });
await l.answer(q, '127.0.0.1', 'udp');
for (let r = 0; r < 3; r++) {
  const N = 50000; const t0 = performance.now();
  for (let i = 0; i < N; i++) await l.answer(q, '127.0.0.1', 'udp');
  console.log(mode, ((performance.now() - t0) * 1000 / N).toFixed(2), 'µs/answer');
}
await up.close(); process.exit(0);
