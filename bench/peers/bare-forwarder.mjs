// Benchmark baseline (issue #19): the least a node:http forward proxy can do for a plain-HTTP
// keep-alive request: no policy, no scanning, no log, no metrics. Absolute-URI requests are
// sent to their host over one keep-alive agent and the response piped back.
//
//   node bench/peers/bare-forwarder.mjs PORT
import http from 'node:http';
/* global process, console, URL */

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node bench/peers/bare-forwarder.mjs PORT');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const hop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const server = http.createServer((req, res) => {
  let url;
  try {
    url = new URL(req.url ?? '');
  } catch {
    res.writeHead(400).end();
    return;
  }
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) if (!hop.has(k)) headers[k] = v;
  const up = http.request({ agent, host: url.hostname, port: url.port || 80, method: req.method, path: url.pathname + url.search, headers }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
  req.pipe(up);
});
server.keepAliveTimeout = 600_000;
server.listen(port, '127.0.0.1');
// A clean exit on SIGTERM (bench/lib/proc.ts stops servers so), so that `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));
