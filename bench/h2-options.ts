// What node:http2's option handling costs per stream, the options given in full against
// the options the proxy needs alone: `session.request` (the upstream side of every
// intercepted h2 stream) and `stream.respond` (the client side). Node copies the options
// and fills in what is missing (the priority fields for a request, `endStream` for a
// response); given, they are only checked. One process, a loopback h2c server; the calls
// are timed in batches (their synchronous part: what the proxy's event loop pays), the
// variants interleaved, medians of the rounds.
//
//   npx tsx bench/h2-options.ts [--rounds N] [--batch N]
import http2, { type ClientHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';

const args = process.argv.slice(2);
const num = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROUNDS = num('--rounds', 7);
const BATCH = num('--batch', 200);
const BATCHES = 10;

const HEADERS = { ':method': 'GET', ':path': '/x', ':authority': 'api.example.com', ':scheme': 'https', 'user-agent': 'bench', accept: '*/*' };
const { NGHTTP2_DEFAULT_WEIGHT } = http2.constants;
const REQUEST_VARIANTS: Record<string, () => http2.ClientSessionRequestOptions> = {
  'request: endStream only': () => ({ endStream: true }),
  'request: priority fields given': () => ({ endStream: true, waitForTrailers: false, weight: NGHTTP2_DEFAULT_WEIGHT, parent: 0, exclusive: false }),
};
const RESPOND_VARIANTS: Record<string, () => http2.ServerStreamResponseOptions> = {
  'respond: waitForTrailers only': () => ({ waitForTrailers: true }),
  'respond: endStream given': () => ({ endStream: false, waitForTrailers: true }),
};

/** The server answers each stream with the variant the round names, timing respond(). */
let respondWith: () => http2.ServerStreamResponseOptions = () => ({});
let respondMs = 0;

async function main(): Promise<void> {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 10_000 } });
  server.on('stream', (stream: ServerHttp2Stream) => {
    const options = respondWith();
    const t0 = performance.now();
    stream.respond({ ':status': 200 }, options);
    respondMs += performance.now() - t0;
    stream.once('wantTrailers', () => stream.sendTrailers({}));
    stream.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { peerMaxConcurrentStreams: 10_000 });
  await new Promise<void>((resolve) => session.once('connect', () => resolve()));

  const figures = new Map<string, number[]>();
  const add = (name: string, us: number): void => void figures.set(name, [...(figures.get(name) ?? []), us]);
  const requestNames = Object.keys(REQUEST_VARIANTS);
  const respondNames = Object.keys(RESPOND_VARIANTS);
  for (let round = 0; round <= ROUNDS; round++) {
    for (let v = 0; v < requestNames.length; v++) {
      const reqName = requestNames[v] as string;
      const resName = respondNames[v] as string;
      respondWith = RESPOND_VARIANTS[resName] as () => http2.ServerStreamResponseOptions;
      respondMs = 0;
      const requestMs = await load(session, REQUEST_VARIANTS[reqName] as () => http2.ClientSessionRequestOptions);
      if (round === 0) continue; // warm-up
      add(reqName, (requestMs * 1000) / (BATCH * BATCHES));
      add(resName, (respondMs * 1000) / (BATCH * BATCHES));
    }
  }
  session.close();
  server.close();

  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  console.log(`node ${process.version}, ${ROUNDS} rounds of ${BATCHES} × ${BATCH} streams per variant, µs per call (median)`);
  for (const names of [requestNames, respondNames]) {
    const base = median(figures.get(names[0] as string) ?? []);
    for (const name of names) {
      const us = median(figures.get(name) ?? []);
      console.log(`  ${name.padEnd(34)} ${us.toFixed(2).padStart(7)} µs   ${(us / base).toFixed(2)}x`);
    }
  }
}

/** BATCHES batches of BATCH streams; the time spent in request() itself. */
async function load(session: ClientHttp2Session, options: () => http2.ClientSessionRequestOptions): Promise<number> {
  let ms = 0;
  for (let b = 0; b < BATCHES; b++) {
    const done: Promise<void>[] = [];
    for (let i = 0; i < BATCH; i++) {
      const o = options();
      const t0 = performance.now();
      const req = session.request(HEADERS, o);
      ms += performance.now() - t0;
      done.push(
        new Promise<void>((resolve) => {
          req.on('data', () => undefined);
          req.once('close', resolve);
          req.once('error', () => resolve());
        }),
      );
    }
    await Promise.all(done);
  }
  return ms;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
