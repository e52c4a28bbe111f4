// Small load clients for the benchmark: CONNECT through a proxy (or straight to the
// origin), TLS over it, and HTTP/1.1 requests with keep-alive, parsed just enough
// (Content-Length bodies, as the nginx origin sends them). Every loop is bounded in
// count and in time.
import net from 'node:net';
import tls from 'node:tls';

export interface Dest {
  host: string;
  port: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** A TCP socket to `dest`: through `proxyPort` with CONNECT, or direct without one. */
export function openTunnel(proxyPort: number | undefined, dest: Dest, timeoutMs = 10_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: proxyPort ?? dest.port, noDelay: true });
    const timer = setTimeout(() => fail(new Error('tunnel timeout')), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      if (proxyPort === undefined) {
        clearTimeout(timer);
        socket.off('error', fail);
        return resolve(socket);
      }
      socket.write(`CONNECT ${dest.host}:${dest.port} HTTP/1.1\r\nHost: ${dest.host}:${dest.port}\r\n\r\n`);
      let got = Buffer.alloc(0);
      const onData = (b: Buffer): void => {
        got = Buffer.concat([got, b]);
        const end = got.indexOf(HEAD_END);
        if (end < 0) return;
        socket.off('data', onData);
        socket.pause();
        const status = Number(got.subarray(9, 12).toString());
        if (status !== 200) return fail(new Error(`CONNECT answered ${got.subarray(0, end).toString().split('\r\n')[0]}`));
        clearTimeout(timer);
        socket.off('error', fail);
        if (got.length > end + 4) socket.unshift(got.subarray(end + 4));
        resolve(socket);
      };
      socket.on('data', onData);
    });
  });
}

/** TLS over `socket` to `dest.host` (an IP is verified as an IP SAN), trusting `ca`. */
export function startTls(socket: net.Socket, dest: Dest, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const ip = net.isIP(dest.host) !== 0;
    const t = tls.connect({ socket, ca, ...(ip ? {} : { servername: dest.host }), ALPNProtocols: ['http/1.1'], checkServerIdentity: (_h, cert) => tls.checkServerIdentity(dest.host, cert) });
    t.setNoDelay?.(true);
    t.once('secureConnect', () => {
      t.off('error', reject);
      resolve(t);
    });
    t.once('error', reject);
  });
}

/**
 * Read HTTP/1.1 responses from `s`: calls `onResponse(status, firstByteAt)` per complete
 * response (Content-Length bodies only). Returns a function that detaches the reader.
 */
export function readResponses(s: net.Socket, onResponse: (status: number) => void, onError: (err: Error) => void): () => void {
  let buf: Buffer = Buffer.alloc(0);
  let need = -1; // body bytes still expected for the current response; -1: reading a head
  let status = 0;
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      if (need < 0) {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        status = Number(head.slice(9, 12));
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!m) return onError(new Error(`response without Content-Length: ${head.split('\r\n')[0]}`));
        need = Number(m[1]);
        buf = buf.subarray(end + 4);
      }
      if (buf.length < need) {
        need -= buf.length;
        buf = Buffer.alloc(0);
        return;
      }
      buf = buf.subarray(need);
      need = -1;
      onResponse(status);
    }
  };
  const onClose = (): void => onError(new Error('connection closed'));
  s.on('data', onData);
  s.on('error', onError);
  s.on('close', onClose);
  s.resume();
  return () => {
    s.off('data', onData);
    s.off('error', onError);
    s.off('close', onClose);
  };
}

export interface LoopResult {
  requests: number;
  errors: number;
  ms: number;
  latenciesMs: number[];
}

/**
 * `connections` sockets (made by `open`), each sending `request` again as soon as the
 * previous response is complete, until `durationMs` have passed or `maxRequests` were
 * answered in all. Non-2xx answers count as errors.
 */
export async function keepAliveLoad(
  open: () => Promise<net.Socket>,
  request: Buffer | (() => Buffer[]),
  connections: number,
  durationMs: number,
  maxRequests: number,
): Promise<LoopResult> {
  const sockets = await Promise.all(Array.from({ length: connections }, () => open()));
  const start = performance.now();
  const deadline = start + durationMs;
  let requests = 0;
  let errors = 0;
  let sent = 0;
  const latenciesMs: number[] = [];
  const send = (s: net.Socket): number => {
    const parts = typeof request === 'function' ? request() : [request];
    for (const p of parts) s.write(p);
    sent++;
    return performance.now();
  };
  await Promise.all(
    sockets.map(
      (s) =>
        new Promise<void>((resolve) => {
          let t0 = 0;
          let finished = false;
          const finish = (): void => {
            if (finished) return;
            finished = true;
            detach();
            s.destroy();
            resolve();
          };
          const detach = readResponses(
            s,
            (status) => {
              const now = performance.now();
              latenciesMs.push(now - t0);
              requests++;
              if (status < 200 || status > 299) errors++;
              if (now >= deadline || sent >= maxRequests) return finish();
              t0 = send(s);
            },
            () => {
              errors++;
              finish();
            },
          );
          t0 = send(s);
        }),
    ),
  );
  return { requests, errors, ms: performance.now() - start, latenciesMs };
}

/** One new connection: (CONNECT,) TLS, GET, whole response. Times to first byte and to the end. */
export async function oneShot(proxyPort: number | undefined, dest: Dest, path: string, ca: string): Promise<{ ttfbMs: number; totalMs: number }> {
  const t0 = performance.now();
  const raw = await openTunnel(proxyPort, dest);
  const s = await startTls(raw, dest, ca);
  return new Promise((resolve, reject) => {
    let first = 0;
    s.once('data', () => (first = performance.now()));
    const detach = readResponses(
      s,
      (status) => {
        detach();
        s.destroy();
        if (status !== 200) return reject(new Error(`status ${status}`));
        resolve({ ttfbMs: first - t0, totalMs: performance.now() - t0 });
      },
      (err) => {
        detach();
        s.destroy();
        reject(err);
      },
    );
    s.write(`GET ${path} HTTP/1.1\r\nHost: ${dest.host}:${dest.port}\r\nConnection: close\r\n\r\n`);
  });
}

/** Open `n` idle CONNECT tunnels (in batches); resolves with the sockets that opened. */
export async function openIdleTunnels(proxyPort: number, dest: Dest, n: number, timeoutMs: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  const deadline = Date.now() + timeoutMs;
  const batch = 100;
  for (let i = 0; i < n && Date.now() < deadline; i += batch) {
    const got = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, () => openTunnel(proxyPort, dest, 15_000)));
    for (const g of got) if (g.status === 'fulfilled') out.push(g.value);
    if (got.every((g) => g.status === 'rejected')) break;
  }
  for (const s of out) s.on('error', () => s.destroy());
  return out;
}
