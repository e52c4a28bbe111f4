// Development aid: plain-HTTP keep-alive A/B between Chokepoint (the built CLI) and other
// forwarders given as `name=command with args, {port}, {origin} and {config}` (a Chokepoint
// config for that port: another build) on one nginx origin,
// interleaved. Prints req/s and CPU µs/request per run.
//
//   npx tsx bench/peers/ab.ts [--rounds N] [--seconds S] [--workers N] [--npm-headers] [--cpu-prof DIR] ['bare=node bench/peers/bare-forwarder.mjs {port}']
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cpuMs, freePort, run, startServer, stopAll, type Server } from '../lib/proc.js';
import { chokepointConf, nginxConf } from './configs.js';

const argv = process.argv.slice(2);
const opt = (n: string, d: number): number => (argv.includes(n) ? Number(argv[argv.indexOf(n) + 1]) : d);
const rounds = opt('--rounds', 3);
const seconds = opt('--seconds', 4);
const workers = opt('--workers', 1);
const extras = argv.filter((a) => a.includes('='));
// --npm-headers: the headers npm sends with each request (User-Agent, Accept, ...), not just Host.
const npmHeaders = argv.includes('--npm-headers');
const prof = argv.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', resolve(argv[argv.indexOf('--cpu-prof') + 1] as string)] : [];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chokepoint-ab-'));
  chmodSync(dir, 0o755);
  for (const d of ['www', 'logs', 'nginx-tmp']) mkdirSync(join(dir, d));
  try {
    writeFileSync(join(dir, 'www', '1k'), Buffer.alloc(1024, 'x'));
    const origin = { http: await freePort(), https: await freePort(), extraIps: [] };
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, origin).replace(/\n {2}server \{\n {4}listen 127.0.0.1:\d+ ssl;[\s\S]*?\n {2}\}\n/, '\n'));
    await startServer('nginx', 'nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], origin.http);
    const list: Array<{ name: string; port: number; server: Server }> = [];
    const port = await freePort();
    const conf = join(dir, 'c.yaml');
    writeFileSync(conf, chokepointConf({ port, stateDir: join(dir, 'state'), upstreamCa: '/etc/ssl/certs/ca-certificates.crt', originPorts: [origin.http], intercept: false, workers }));
    const cli = resolve(import.meta.dirname, '../../dist/bin/chokepoint.js');
    list.push({ name: 'chokepoint', port, server: await startServer('chokepoint', process.execPath, [...prof, cli, 'start', '--config', conf], port) });
    for (const e of extras) {
      const [name, cmd] = [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)];
      const p = await freePort();
      const cfg = join(dir, `${name}.yaml`);
      writeFileSync(cfg, chokepointConf({ port: p, stateDir: join(dir, `${name}-state`), upstreamCa: '/etc/ssl/certs/ca-certificates.crt', originPorts: [origin.http], intercept: false, workers }));
      const parts = cmd.replaceAll('{port}', String(p)).replaceAll('{origin}', String(origin.http)).replaceAll('{config}', cfg).split(' ');
      list.push({ name, port: p, server: await startServer(name, parts[0] as string, parts.slice(1), p) });
    }
    const lua = join(dir, 'wrk.lua');
    const extraHeaders = npmHeaders
      ? Object.entries({ 'User-Agent': 'npm/10.8.2 node/v20.18.0 linux x64 workspaces/false', Accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*', 'Accept-Encoding': 'gzip, deflate', 'npm-command': 'install', 'npm-session': 'a1b2c3d4e5f60718' })
          .map(([k, v]) => `wrk.headers["${k}"] = "${v}"\n`)
          .join('')
      : '';
    writeFileSync(lua, `${extraHeaders}wrk.headers["Host"] = "127.0.0.1:${origin.http}"\nlocal req = wrk.format("GET", "http://127.0.0.1:${origin.http}/1k")\nrequest = function() return req end\n`);
    for (let r = 0; r < rounds; r++) {
      for (const t of r % 2 === 0 ? list : [...list].reverse()) {
        const c0 = cpuMs(t.server.pid);
        const out = await run('wrk', ['-t1', '-c16', `-d${seconds}s`, '-s', lua, `http://127.0.0.1:${t.port}/`], (seconds + 20) * 1000);
        const cpu = cpuMs(t.server.pid) - c0;
        const reqs = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
        console.log(`${t.name.padEnd(12)} ${(reqs / seconds).toFixed(0).padStart(6)} req/s ${((cpu * 1000) / reqs).toFixed(1).padStart(6)} µs CPU/req`);
      }
    }
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
main().catch(async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exitCode = 1;
});
