// Origin servers the tests start on loopback: they echo what they received as JSON, so a
// test can assert what reached the destination.
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Origin {
  port: number;
  /** Every request this origin received, in order. */
  received: Received[];
  close(): Promise<void>;
}

function handler(received: Received[]): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      const body = JSON.stringify(r);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'keep-alive': 'timeout=5', 'x-origin': 'yes' });
      res.end(body);
    });
  };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closer(server: http.Server | net.Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close(() => resolve());
    });
}

export async function startHttpOrigin(): Promise<Origin> {
  const received: Received[] = [];
  const server = http.createServer(handler(received));
  return { port: await listen(server), received, close: closer(server) };
}

export async function startHttpsOrigin(tls: { certPem: string; keyPem: string }): Promise<Origin> {
  const received: Received[] = [];
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, handler(received));
  return { port: await listen(server), received, close: closer(server) };
}

/** A server that accepts connections and never answers. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  const port = await listen(server);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port on loopback where nothing listens (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
