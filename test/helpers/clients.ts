// Real clients for integration tests: curl as a child process (never blocking the event
// loop the proxy under test runs on), and raw sockets for what curl will not send.
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool } from './tools.js';

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  exitCode: number;
  stderr: string;
}

/**
 * Run curl with the given arguments; `-s -i` are added, and the environment is cleaned of
 * proxy variables unless `env` sets them.
 */
export function curl(args: string[], env: Record<string, string> = {}): Promise<CurlResult> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().endsWith('_proxy')) clean[k] = v;
  return new Promise((resolve) => {
    execFile(requireTool('curl'), ['-s', '-i', '--max-time', '10', ...args], { env: { ...clean, ...env }, encoding: 'utf8' }, (err, stdout, stderr) => {
      const exitCode = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ ...parseResponse(stdout), exitCode: typeof exitCode === 'number' ? exitCode : 1, stderr });
    });
  });
}

/** Parse curl -i output; with a proxy CONNECT, the last response is the one that counts. */
function parseResponse(text: string): { status: number; headers: Record<string, string>; body: string } {
  let rest = text;
  let last = { status: 0, headers: {} as Record<string, string>, body: '' };
  while (rest.startsWith('HTTP/')) {
    const end = rest.indexOf('\r\n\r\n');
    const head = end < 0 ? rest : rest.slice(0, end);
    rest = end < 0 ? '' : rest.slice(end + 4);
    const [statusLine = '', ...lines] = head.split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    last = { status: Number(statusLine.split(' ')[1]), headers, body: rest };
  }
  return last;
}

/** Write the CA certificate where curl's --cacert can read it. */
export function writeCa(dir: string, pem: string): string {
  const path = join(dir, 'test-ca.pem');
  writeFileSync(path, pem);
  return path;
}

/** Send raw bytes to the proxy and collect the reply until the server closes or the timeout. */
export function rawRequest(port: number, data: string | Buffer, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, timeoutMs);
    socket.on('data', (c: Buffer) => (out += c.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', () => undefined);
    socket.write(data);
  });
}

/**
 * Open a CONNECT tunnel and return the socket after the proxy's answer (or the refusal
 * text). When the upstream spoke first, the socket comes back paused with those bytes unread.
 */
export function openTunnel(
  port: number,
  authority: string,
  headers: Record<string, string> = {},
): Promise<{ socket: net.Socket; status: number; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = '';
    const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    const onData = (c: Buffer): void => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const rest = Buffer.from(buf.slice(end + 4), 'latin1');
      // Bytes that came with the answer go back for the caller, who gets the socket paused
      // (a flowing socket with no listener would drop them); a 'data' listener then needs resume().
      if (rest.length > 0) {
        socket.pause();
        socket.unshift(rest);
      }
      resolve({ socket, status: Number(buf.split(' ')[1]), head: buf.slice(0, end) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** GET /metrics on the admin port: the exposition text (a status other than 200 rejects). */
export function scrapeMetrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`scrape answered ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}
