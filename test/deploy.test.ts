// deploy/ fits together: the Kubernetes manifests agree with each other and with the policy
// they ship (ports, probes, mounts, selectors, the CA), the ConfigMap's chokepoint.yaml loads,
// the systemd unit is hardened, and the Dockerfile's final stage is pinned and unprivileged.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig, parseListen, type Config } from '../config/full.js';

const ROOT = resolve(import.meta.dirname, '..');
const DEPLOY = join(ROOT, 'deploy');
const K8S = join(DEPLOY, 'kubernetes');

// Just enough of the Kubernetes shapes to check what the test reads.
interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  [key: string]: unknown;
}
interface ContainerPort {
  name?: string;
  containerPort: number;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: ContainerPort[];
  env?: EnvVar[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
}
interface Volume {
  name: string;
  configMap?: { name: string; items?: Array<{ key: string; path: string }> };
  secret?: { secretName: string };
  emptyDir?: object;
}
interface Deployment extends Manifest {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: Container[];
        volumes: Volume[];
        terminationGracePeriodSeconds?: number;
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
      };
    };
  };
}
interface Service extends Manifest {
  spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string | number }> };
}
interface PolicyPort {
  port: string | number;
  protocol?: string;
}
interface Peer {
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string; except?: string[] };
}
interface NetworkPolicy extends Manifest {
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes: string[];
    ingress?: Array<{ from?: Peer[]; ports?: PolicyPort[] }>;
    egress?: Array<{ to?: Peer[]; ports?: PolicyPort[] }>;
  };
}

function loadDir(dir: string): Array<Manifest & { file: string }> {
  const out: Array<Manifest & { file: string }> = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.yaml') || name === 'kustomization.yaml') continue;
    for (const doc of parseAllDocuments(readFileSync(join(dir, name), 'utf8'))) {
      if (!('errors' in doc) || doc.errors.length > 0) throw new Error(`${name}: ${'errors' in doc ? doc.errors.map((e) => e.message).join('; ') : 'unparsable'}`);
      const value = doc.toJS() as Manifest | null;
      if (value) out.push({ ...value, file: name });
    }
  }
  return out;
}

const manifests = loadDir(K8S);
const examples = loadDir(join(K8S, 'examples'));

function one<T extends Manifest>(kind: string, list: Manifest[] = manifests): T {
  const found = list.filter((m) => m.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as T;
}

/** Does a label selector select these labels? */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

const deployment = one<Deployment>('Deployment');
const pod = deployment.spec.template;
const container: Container = ((): Container => {
  const found = pod.spec.containers.find((c) => c.name === 'chokepoint');
  if (!found) throw new Error('the Deployment has no container named chokepoint');
  return found;
})();
const service = one<Service>('Service');
const configMaps = manifests.filter((m) => m.kind === 'ConfigMap') as unknown as Array<Manifest & { data: Record<string, string> }>;
const secrets = manifests.filter((m) => m.kind === 'Secret') as unknown as Array<Manifest & { type?: string; data?: Record<string, string>; stringData?: Record<string, string> }>;

/** A container port by number or name. */
function containerPort(ref: string | number): ContainerPort | undefined {
  return (container.ports ?? []).find((p) => (typeof ref === 'number' ? p.containerPort === ref : p.name === ref));
}

const configArg = ((): string => {
  const args = container.args ?? [];
  const i = args.indexOf('--config');
  const path = i >= 0 ? args[i + 1] : undefined;
  if (!path) throw new Error('the container is not started with --config');
  return path;
})();

/** The ConfigMap key the container's --config file comes from. */
function configSource(): { configMap: Manifest & { data: Record<string, string> }; key: string } {
  const mount = (container.volumeMounts ?? []).find((m) => posix.dirname(configArg) === m.mountPath);
  if (!mount) throw new Error(`no volume is mounted at ${posix.dirname(configArg)}`);
  const volume = pod.spec.volumes.find((v) => v.name === mount.name);
  if (!volume?.configMap) throw new Error(`volume ${mount.name} is not a ConfigMap`);
  const file = posix.basename(configArg);
  const item = volume.configMap.items ? volume.configMap.items.find((it) => it.path === file) : { key: file, path: file };
  if (!item) throw new Error(`ConfigMap volume ${mount.name} has no item at ${file}`);
  const configMap = configMaps.find((c) => c.metadata.name === volume.configMap?.name);
  if (!configMap) throw new Error(`no ConfigMap ${volume.configMap.name}`);
  return { configMap, key: item.key };
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g;

/** The environment the container gets, with stand-in values for what comes from Secrets. */
function containerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  // Base64, so that a value the config wants as base64 (scan.fingerprintKey) is well-formed.
  for (const e of container.env ?? []) env[e.name] = e.value ?? Buffer.from(`stand-in for ${e.valueFrom?.secretKeyRef?.name}/${e.valueFrom?.secretKeyRef?.key}`).toString('base64');
  return env;
}

function loadShippedConfig(): { text: string; config: Config } {
  const { configMap, key } = configSource();
  const text = configMap.data[key];
  if (text === undefined) throw new Error(`ConfigMap ${configMap.metadata.name} has no key ${key}`);
  return { text, config: parseConfig(text, `${configMap.metadata.name}/${key}`, containerEnv()) };
}

describe('Kubernetes manifests', () => {
  test('every manifest parses, carries the app label, and lives in one namespace', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(9);
    for (const m of manifests) {
      expect(m.metadata.labels?.['app.kubernetes.io/name'], `${m.file} ${m.kind}`).toBe('chokepoint');
      if (m.kind !== 'Namespace') expect(m.metadata.namespace, `${m.file} ${m.kind}`).toBe('chokepoint');
    }
    const kinds = new Set(manifests.map((m) => m.kind));
    for (const kind of ['Namespace', 'Deployment', 'Service', 'ConfigMap', 'Secret', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'ServiceMonitor']) {
      expect(kinds.has(kind), kind).toBe(true);
    }
  });

  test('the kustomization lists every manifest but the placeholder Secrets', () => {
    const k = parseAllDocuments(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] };
    for (const r of k.resources) expect(existsSync(join(K8S, r)), r).toBe(true);
    const files = [...new Set(manifests.map((m) => m.file))].filter((f) => f !== 'secret.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  test("the ConfigMap's chokepoint.yaml is a valid config once its placeholders are given", () => {
    const { text, config } = loadShippedConfig();
    expect(config.pools.length).toBeGreaterThan(0);
    // Every required ${NAME} is set by the container's env.
    const env = containerEnv();
    for (const m of text.matchAll(PLACEHOLDER)) if (m[2] === undefined) expect(env, `\${${m[1]}}`).toHaveProperty(m[1] ?? '');
    // ...and without them it fails, naming the variable.
    expect(() => parseConfig(text, 'configmap', {})).toThrow(/CHOKEPOINT_CA_KEY|BUILDERS_TOKEN/);
  });

  test('container ports are the config listen ports, on all interfaces, and the Service targets them', () => {
    const { config } = loadShippedConfig();
    const proxy = parseListen(config.listen);
    const admin = parseListen(config.admin.listen);
    expect(proxy?.host).toBe('0.0.0.0');
    expect(admin?.host).toBe('0.0.0.0');
    expect(containerPort('proxy')?.containerPort).toBe(proxy?.port);
    expect(containerPort('admin')?.containerPort).toBe(admin?.port);
    expect(selects(service.spec.selector, pod.metadata.labels)).toBe(true);
    const proxyPort = service.spec.ports.find((p) => p.name === 'proxy');
    expect(proxyPort && containerPort(proxyPort.targetPort)?.containerPort).toBe(proxy?.port);
    for (const p of service.spec.ports) expect(containerPort(p.targetPort), `Service port ${p.name}`).toBeDefined();
  });

  test('readiness probes /readyz and liveness probes /healthz on the admin port, with no token needed', () => {
    const { config } = loadShippedConfig();
    const adminPort = parseListen(config.admin.listen)?.port;
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(containerPort(container.readinessProbe?.httpGet?.port ?? -1)?.containerPort).toBe(adminPort);
    expect(containerPort(container.livenessProbe?.httpGet?.port ?? -1)?.containerPort).toBe(adminPort);
    expect(config.admin.token).toBe(''); // httpGet probes carry no bearer token
  });

  test('every replica gets the same fingerprint key, from the chokepoint-tokens Secret', () => {
    const { text, config } = loadShippedConfig();
    expect(config.scan.fingerprintKey).toBeTruthy();
    const raw = parseAllDocuments(text)[0]?.toJS() as { scan: { fingerprintKey: string } };
    const name = /^\$\{([A-Za-z_0-9]+)\}$/.exec(raw.scan.fingerprintKey)?.[1];
    expect(container.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef).toEqual({ name: 'chokepoint-tokens', key: 'fingerprint-key' });
  });

  test('--config points at the ConfigMap key, mounted read-only', () => {
    const { configMap, key } = configSource();
    expect(configMap.metadata.name).toBe('chokepoint-config');
    expect(key).toBe('chokepoint.yaml');
    const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === posix.dirname(configArg));
    expect(mount?.readOnly).toBe(true);
  });

  test('the CA comes from the chokepoint-ca Secret, certificate and key, into the variables tls.ca names', () => {
    const { text, config } = loadShippedConfig();
    const ca = config.tls.ca;
    expect(ca?.certPem).toBeTruthy();
    expect(ca?.keyPem).toBeTruthy();
    const raw = parseAllDocuments(text)[0]?.toJS() as { tls: { ca: { certPem: string; keyPem: string } } };
    const certVar = /^\$\{([A-Za-z_0-9]+)\}$/.exec(raw.tls.ca.certPem)?.[1];
    const keyVar = /^\$\{([A-Za-z_0-9]+)\}$/.exec(raw.tls.ca.keyPem)?.[1];
    const from = (name: string | undefined): { name: string; key: string } | undefined => container.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    const certRef = from(certVar);
    const keyRef = from(keyVar);
    expect(certRef).toEqual({ name: 'chokepoint-ca', key: 'tls.crt' });
    expect(keyRef).toEqual({ name: 'chokepoint-ca', key: 'tls.key' });
    const secret = secrets.find((s) => s.metadata.name === 'chokepoint-ca');
    expect(secret?.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual(['tls.crt', 'tls.key']);
    // Every secretKeyRef names a Secret and key that exist; none holds a value in the repository.
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      const s = secrets.find((x) => x.metadata.name === ref.name);
      expect(s?.data ?? {}, `${e.name}`).toHaveProperty([ref.key]);
    }
    for (const s of secrets) {
      for (const v of Object.values(s.data ?? {})) expect(v).toBe('');
      expect(s.stringData).toBeUndefined();
    }
  });

  test('the state directory is a subdirectory of a writable volume (the root file system is read-only)', () => {
    const { config } = loadShippedConfig();
    const mount = (container.volumeMounts ?? []).find((m) => config.stateDir.startsWith(m.mountPath + '/'));
    expect(mount).toBeDefined();
    expect(mount?.readOnly).not.toBe(true);
    expect(config.stateDir).not.toBe(mount?.mountPath); // an emptyDir is 0777: the process makes its own 0700 directory inside
    expect(pod.spec.volumes.find((v) => v.name === mount?.name)?.emptyDir).toBeDefined();
  });

  test('the pod runs unprivileged and outlives the drain', () => {
    const { config } = loadShippedConfig();
    expect(selects(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(pod.spec.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.spec.securityContext?.runAsUser).not.toBe(0);
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect((pod.spec.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(config.timeouts.shutdown);
  });

  test('PodDisruptionBudget, HorizontalPodAutoscaler and ServiceMonitor point at the Deployment and its Service', () => {
    const pdb = one<Manifest & { spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number; minAvailable?: number } }>('PodDisruptionBudget');
    expect(selects(pdb.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    const hpa = one<Manifest & { spec: { scaleTargetRef: { kind: string; name: string; apiVersion: string }; minReplicas: number; maxReplicas: number } }>('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2); // with maxUnavailable 1, one replica always serves
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    const sm = one<Manifest & { spec: { selector: { matchLabels: Record<string, string> }; namespaceSelector?: { matchNames?: string[] }; endpoints: Array<{ port: string; path: string }> } }>('ServiceMonitor');
    expect(selects(sm.spec.selector.matchLabels, service.metadata.labels ?? {})).toBe(true);
    expect(sm.spec.namespaceSelector?.matchNames).toContain(service.metadata.namespace);
    const endpoint = sm.spec.endpoints[0];
    expect(endpoint?.path).toBe('/metrics');
    const servicePort = service.spec.ports.find((p) => p.name === endpoint?.port);
    expect(servicePort && containerPort(servicePort.targetPort)?.name).toBe('admin');
  });

  test("Chokepoint's NetworkPolicy selects its pods, admits the proxy and admin ports, and keeps it off the metadata address", () => {
    const np = one<NetworkPolicy>('NetworkPolicy');
    expect(selects(np.spec.podSelector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(np.spec.policyTypes).toEqual(expect.arrayContaining(['Ingress', 'Egress']));
    const ingressPorts = (np.spec.ingress ?? []).flatMap((r) => r.ports ?? []).map((p) => containerPort(p.port)?.name);
    expect(ingressPorts.sort()).toEqual(['admin', 'dns', 'dns-tcp', 'proxy']);
    const blocks = (np.spec.egress ?? []).flatMap((r) => r.to ?? []).flatMap((p) => (p.ipBlock ? [p.ipBlock] : []));
    const v4 = blocks.find((b) => b.cidr === '0.0.0.0/0');
    expect(v4?.except).toContain('169.254.0.0/16');
  });

  test("the runner egress example lets runner pods reach only Chokepoint's proxy and DNS ports (kube-dns not at all)", () => {
    const np = one<NetworkPolicy>('NetworkPolicy', examples);
    expect(np.spec.policyTypes).toEqual(['Egress']);
    const rules = np.spec.egress ?? [];
    const toProxy = rules.find((r) => (r.to ?? []).some((p) => selects(p.podSelector?.matchLabels, pod.metadata.labels)));
    expect(toProxy?.ports?.map((p) => p.port)).toEqual([containerPort('proxy')?.containerPort]);
    // Every rule leads to Chokepoint's pods; together they open the proxy port and the DNS port (UDP and TCP).
    for (const r of rules) expect(r.to?.every((p) => selects(p.podSelector?.matchLabels, pod.metadata.labels))).toBe(true);
    const opened = rules.flatMap((r) => r.ports ?? []).map((p) => `${String(p.port)}/${p.protocol ?? 'TCP'}`);
    expect(opened.sort()).toEqual([`${containerPort('proxy')?.containerPort}/TCP`, `${containerPort('dns')?.containerPort}/UDP`, `${containerPort('dns-tcp')?.containerPort}/TCP`].sort());
    expect(toProxy?.to?.[0]?.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']).toBe(deployment.metadata.namespace);
    for (const r of rules) {
      expect(r.to?.some((p) => p.ipBlock)).toBeFalsy(); // no address ranges: nothing around the proxy
      expect(r.ports?.length).toBeGreaterThan(0);
    }
    // The namespace label Chokepoint's own policy admits.
    const admits = one<NetworkPolicy>('NetworkPolicy').spec.ingress?.[0]?.from?.[0]?.namespaceSelector?.matchLabels;
    expect(admits).toEqual({ 'chokepoint.io/runners': 'true' });
  });
});

describe('systemd unit', () => {
  const text = readFileSync(join(DEPLOY, 'systemd', 'chokepoint.service'), 'utf8');
  const service = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== '[Service]' || eq < 0) continue;
    const key = line.slice(0, eq);
    service.set(key, [...(service.get(key) ?? []), line.slice(eq + 1)]);
  }
  const value = (key: string): string | undefined => service.get(key)?.at(-1);

  test('it is hardened', () => {
    expect(value('DynamicUser')).toBe('yes');
    expect(value('ProtectSystem')).toBe('strict');
    expect(value('StateDirectory')).toBe('chokepoint');
    expect(value('StateDirectoryMode')).toBe('0700');
    expect(value('NoNewPrivileges')).toBe('yes');
    // The one capability: binding port 53 for the DNS listener.
    expect(value('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(value('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    for (const key of ['ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'RestrictSUIDSGID', 'LockPersonality', 'RestrictNamespaces']) {
      expect(value(key), key).toBe('yes');
    }
    expect(value('RestrictAddressFamilies')?.split(' ')).toEqual(expect.arrayContaining(['AF_INET', 'AF_INET6']));
    expect(service.get('SystemCallFilter')).toEqual(expect.arrayContaining(['@system-service']));
    expect(value('UMask')).toBe('0077');
  });

  test('it starts with a config, reloads on SIGHUP, and waits for the drain', () => {
    expect(value('ExecStart')).toMatch(/dist\/bin\/chokepoint\.js start --config \/etc\/chokepoint\/chokepoint\.yaml$/);
    expect(value('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(value('KillSignal')).toBe('SIGTERM');
    expect(Number(value('TimeoutStopSec'))).toBeGreaterThan(30); // timeouts.shutdown default
    // The CA key reaches the dynamic user as a credential, never as a file it could not read.
    expect(value('LoadCredential')).toMatch(/^ca-key\.pem:\/etc\/chokepoint\/ca-key\.pem$/);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const line of lines) {
    if (/^FROM\s/i.test(line)) stages.push([]);
    stages.at(-1)?.push(line);
  }
  const final = stages.at(-1) ?? [];

  test('it is multi-stage and every base is pinned by digest', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage[0]).toMatch(/^FROM node:20-bookworm-slim@sha256:[0-9a-f]{64}(\s+AS\s+\w+)?$/i);
  });

  test('the final stage runs as a non-root user, the CLI as entrypoint, exposing the config ports', () => {
    const users = final.filter((l) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)?.split(/\s+/)[1] ?? '';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    expect(final.find((l) => l.startsWith('ENTRYPOINT'))).toBe('ENTRYPOINT ["node", "/app/dist/bin/chokepoint.js"]');
    const exposed = final.find((l) => l.startsWith('EXPOSE'))?.split(/\s+/).slice(1);
    const { config } = loadShippedConfig();
    // dns.listen arrives with the DNS listener's schema (issue #16); read loosely so this file stands alone.
    const dnsListen = (config.dns as { listen?: string }).listen ?? '';
    const dnsPort = parseListen(dnsListen)?.port;
    expect(exposed?.sort()).toEqual([`${parseListen(config.listen)?.port}`, `${parseListen(config.admin.listen)?.port}`, `${dnsPort}/udp`, `${dnsPort}/tcp`].sort());
    expect(final.some((l) => /^COPY\s+--from=build\b/.test(l))).toBe(true);
    expect(final.some((l) => /^(RUN|COPY)\b.*\bnpm (ci|install)\b/.test(l))).toBe(false); // no build tools in the final image
  });

  test('what it copies from the context exists and is not ignored', () => {
    const ignore = readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignore[0]).toBe('**');
    const kept = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/\*\*$/, ''));
    const sources = lines
      .filter((l) => /^COPY\s/.test(l) && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1))
      .filter((s) => !s.startsWith('--'));
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), src).toBe(true);
      expect(kept, src).toContain(src.replace(/\/$/, ''));
    }
    // The build compiles what tsconfig.build.json includes.
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    for (const dir of build.include) expect(sources.map((s) => s.replace(/^\.\//, '')), dir).toContain(dir);
    expect(dirname(join(DEPLOY, 'Dockerfile'))).toBe(DEPLOY);
  });
});
