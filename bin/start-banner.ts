// What `chokepoint start` tells a person at a terminal once it listens: the next steps
// (the proxy URL to export, the CA to trust, the admin URL, the DNS address), in words.
// Values in, text out; start.ts prints it on stderr only when stderr is a terminal; the
// JSON "chokepoint started" log line on stdout is the machine-readable form either way.

export interface BannerPool {
  name: string;
  mode: string;
  /** Identified by Proxy-Authorization (token or tokenHash): the URL needs the credentials. */
  byToken: boolean;
}

export interface BannerInfo {
  /** The bound proxy listener. */
  proxy: { address: string; port: number };
  /** The bound admin listener; absent when this process runs none. */
  admin?: { address: string; port: number } | undefined;
  /** /metrics needs a bearer token (admin.metricsToken). */
  metricsToken?: boolean;
  /** The DNS listener, "host:port" as bound (or as configured, for a cluster primary). */
  dns?: { address: string; port: number } | string | undefined;
  /** The log ingest listener. */
  ingest?: { address: string; port: number } | undefined;
  /** Some pool intercepts TLS: runners must trust the CA. */
  intercepts: boolean;
  /** Where the CA certificate is; absent when it is inline in the config (tls.ca.certPem). */
  caCertPath?: string | undefined;
  /** The --config file, for the commands shown. */
  configPath?: string | undefined;
  pools: readonly BannerPool[];
  /** Cluster mode: how many workers share the proxy port. */
  workers?: number;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::', '']);

/** host:port with IPv6 in brackets; an all-interfaces bind shown as the loopback address. */
function hostPort(a: { address: string; port: number }): string {
  const host = UNSPECIFIED.has(a.address) ? (a.address === '::' ? '::1' : '127.0.0.1') : a.address;
  return host.includes(':') ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}

/** POSIX single quoting when a value needs it. */
function quote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export function startBanner(info: BannerInfo): string {
  const proxy = `http://${hostPort(info.proxy)}`;
  const config = info.configPath ? ` --config ${quote(info.configPath)}` : '';
  const pools = info.pools.map((p) => `${p.name} (${p.mode})`).join(', ');
  const out: string[] = [];
  const workers = info.workers && info.workers > 1 ? `, ${info.workers} workers` : '';
  out.push(`chokepoint is listening on ${hostPort(info.proxy)}${workers}; pools: ${pools || 'none'}`);
  out.push('');
  out.push('  Send a job through it (in the runner, or this shell):');
  out.push(`    export HTTPS_PROXY=${proxy} HTTP_PROXY=${proxy}`);
  if (UNSPECIFIED.has(info.proxy.address)) out.push('    (it listens on every interface: from other machines use this host\'s address instead of loopback)');
  const byToken = info.pools.filter((p) => p.byToken).map((p) => p.name);
  if (byToken.length > 0) {
    const first = byToken[0] ?? '';
    out.push(`    pools chosen by token (${byToken.join(', ')}): put the pool and its token in the URL, http://${first}:TOKEN@${hostPort(info.proxy)}`);
  }
  if (info.intercepts) {
    out.push('');
    if (info.caCertPath) {
      out.push(`  TLS is intercepted: the runners must trust the CA ${info.caCertPath}`);
      out.push(`    eval "$(chokepoint ca env${config})"      # the variables each client reads`);
    } else {
      out.push('  TLS is intercepted: the runners must trust the CA (inline in the config, tls.ca.certPem)');
      out.push(`    eval "$(chokepoint ca env${config} --bundle ca-bundle.pem)"      # writes it to a file first`);
    }
    out.push(`    chokepoint ca install${config}      # or, as root: the system trust store`);
  }
  if (info.admin && info.admin.port > 0) {
    out.push('');
    const admin = `http://${hostPort(info.admin)}`;
    out.push(`  Metrics: ${admin}/metrics${info.metricsToken ? ' (Authorization: Bearer <admin.metricsToken>)' : ''}   health: ${admin}/healthz ${admin}/readyz`);
  }
  if (info.dns !== undefined) {
    const dns = typeof info.dns === 'string' ? info.dns : hostPort(info.dns);
    out.push(`  DNS: ${dns} (UDP and TCP): point the runners' resolver at it`);
  }
  if (info.ingest) out.push(`  Log ingest: http://${hostPort(info.ingest)}/v1/logs`);
  out.push('');
  out.push('The access log (JSON lines) goes to standard output. SIGHUP reloads the config; Ctrl-C drains and stops.');
  return out.join('\n') + '\n';
}
