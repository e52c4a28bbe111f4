// Minimal configs for the benchmark's origin (nginx) and peers (squid, tinyproxy,
// mitmproxy), and Chokepoint's, each on its own loopback port. Written to a temp dir at
// run time by bench/run.ts; nothing here starts a process.

export interface OriginPorts {
  http: number;
  https: number;
  /** Extra loopback addresses the HTTPS server also listens on (new-host TTFB). */
  extraIps: readonly string[];
  /** An HTTPS port that also speaks h2 (ALPN), for test 8. */
  h2?: number;
}

/** nginx: /1k (1 KiB), /big (the bulk file), /upload (POST, any size, body discarded). */
export function nginxConf(dir: string, ports: OriginPorts): string {
  const locations = `
    root ${dir}/www;
    location = /upload { client_max_body_size 0; return 200 "ok\\n"; }`;
  return `daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 30000;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/nginx-error.log crit;
events { worker_connections 20000; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  keepalive_timeout 600s;
  client_header_timeout 600s;
  client_body_timeout 600s;
  client_body_temp_path ${dir}/nginx-tmp/body;
  proxy_temp_path ${dir}/nginx-tmp/proxy;
  fastcgi_temp_path ${dir}/nginx-tmp/fastcgi;
  uwsgi_temp_path ${dir}/nginx-tmp/uwsgi;
  scgi_temp_path ${dir}/nginx-tmp/scgi;
  types { application/octet-stream bin; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${ports.http};${locations}
  }
  server {
    listen 127.0.0.1:${ports.https} ssl;
${ports.extraIps.map((ip) => `    listen ${ip}:${ports.https} ssl;`).join('\n')}
    ssl_certificate ${dir}/origin.pem;
    ssl_certificate_key ${dir}/origin-key.pem;
    ssl_session_cache off;
    ssl_session_tickets off;${locations}
  }${ports.h2 ? `
  server {
    listen 127.0.0.1:${ports.h2} ssl http2;
    ssl_certificate ${dir}/origin.pem;
    ssl_certificate_key ${dir}/origin-key.pem;
    http2_max_concurrent_streams 1000;${locations}
  }` : ''}
}
`;
}

/** squid: localhost may use it, nothing is cached or logged, one process (-N). */
export function squidConf(dir: string, port: number): string {
  return `http_port 127.0.0.1:${port}
http_access allow localhost
http_access deny all
cache deny all
cache_mem 0 MB
access_log none
cache_store_log none
cache_log ${dir}/logs/squid-cache.log
pid_filename ${dir}/squid.pid
coredump_dir ${dir}/logs
max_filedescriptors 30000
shutdown_lifetime 0 seconds
via off
forwarded_for delete
`;
}

/** tinyproxy: loopback clients, every CONNECT port, room for 5,000 tunnels. */
export function tinyproxyConf(dir: string, port: number): string {
  return `User nobody
Group nogroup
Port ${port}
Listen 127.0.0.1
Timeout 600
MaxClients 6000
LogLevel Critical
LogFile "${dir}/logs/tinyproxy.log"
PidFile "${dir}/logs/tinyproxy.pid"
Allow 127.0.0.1
DisableViaHeader Yes
`;
}

/** mitmdump in regular proxy mode; `tunnel` passes TLS through untouched (no interception). */
export function mitmdumpArgs(confdir: string, port: number, upstreamCa: string, tunnel: boolean): string[] {
  return [
    '--listen-host',
    '127.0.0.1',
    '--listen-port',
    String(port),
    '--set',
    `confdir=${confdir}`,
    '--set',
    `ssl_verify_upstream_trusted_ca=${upstreamCa}`,
    '--set',
    'flow_detail=0',
    '-q',
    ...(tunnel ? ['--ignore-hosts', '.*'] : []),
  ];
}

export interface ChokepointOptions {
  port: number;
  stateDir: string;
  upstreamCa: string;
  originPorts: readonly number[];
  intercept: boolean;
  workers?: number;
  ingest?: { port: number; token: string };
}

/** Chokepoint: one enforce pool for loopback clients allowing the origin's ports on 127.0.0.0/8. */
export function chokepointConf(o: ChokepointOptions): string {
  return `listen: 127.0.0.1:${o.port}
admin: { listen: 127.0.0.1:0 }
stateDir: ${o.stateDir}
workers: ${o.workers ?? 1}
timeouts: { idle: 10m }
tls:
  intercept: ${o.intercept ? 'all' : 'none'}
  upstreamCAs: [${o.upstreamCa}]
${o.ingest ? `ingest: { listen: 127.0.0.1:${o.ingest.port}, token: ${o.ingest.token} }\n` : ''}pools:
  - name: bench
    sources: [127.0.0.0/8]
    mode: enforce
    allow: [${o.originPorts.map((p) => `"127.0.0.0/8:${p}"`).join(', ')}]
`;
}
