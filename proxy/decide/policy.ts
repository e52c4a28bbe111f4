// The access decision: which pool may reach which destination. Pure: values in, a
// Decision out, no sockets, no DNS. The proxy asks twice when it must: once with the
// name (deny-by-name needs no DNS lookup, and nothing unlisted is looked up in enforce
// mode), once with the addresses it resolved (and will connect to).
import type { Config, Entry, HostMatch, PoolConfig, Ports } from '../../config/index.js';
import { DEFAULT_PORTS, parseEntry, shippedGroups } from '../../config/index.js';
import type { PolicyReason } from './reasons.js';
import { isSpecialAddress, type Ip, type Target } from './target.js';


export type Verdict = 'allow' | 'deny' | 'audit';

export interface Decision {
  verdict: Verdict;
  /** Set for deny and audit: the reason it was (or would have been) denied. */
  reason?: PolicyReason;
  /** The allowlist entry or group that matched (`@origin`, `api.github.com`), else `unlisted`. */
  destination: string;
}

/** An entry as compiled into a pool, with the label metrics and logs use for it. */
interface Rule {
  entry: Exclude<Entry, { kind: 'group' }>;
  label: string;
}

export interface PoolPolicy {
  name: string;
  mode: 'enforce' | 'audit';
  allow: readonly Rule[];
  deny: readonly Rule[];
  /** IP/CIDR allow entries exist: names must be resolved before an enforce denial. */
  resolveUnlisted: boolean;
}

/** Compile a pool's allow and deny lists, expanding groups (the config's own win over shipped ones). */
export function compilePool(pool: PoolConfig, groups: Config['groups']): PoolPolicy {
  const expand = (texts: readonly string[]): Rule[] =>
    texts.flatMap((text) => {
      const entry = parseEntry(text);
      if (entry.kind !== 'group') return [{ entry, label: entry.text }];
      const members = Object.hasOwn(groups, entry.name) ? groups[entry.name] : shippedGroups[entry.name];
      if (!members) throw new Error(`unknown group '${text}'`);
      return members.map((m) => {
        const member = parseEntry(m);
        if (member.kind === 'group') throw new Error(`group '${text}' contains a group`);
        return { entry: member, label: entry.text };
      });
    });
  const allow = expand(pool.allow);
  return {
    name: pool.name,
    mode: pool.mode,
    allow,
    deny: expand(pool.deny),
    resolveUnlisted: allow.some((r) => r.entry.kind === 'cidr'),
  };
}

/** Does a host pattern match this normalised host name? Names are matched whole. */
export function hostMatches(match: HostMatch, host: string): boolean {
  switch (match.kind) {
    case 'any':
      return true;
    case 'exact':
      return host === match.host;
    case 'subdomain':
      return host.length > match.suffix.length + 1 && host.endsWith(match.suffix) && host[host.length - match.suffix.length - 1] === '.';
    case 'label-glob': {
      const dot = host.indexOf('.');
      if (dot < 0 || host.slice(dot + 1) !== match.rest) return false;
      const label = host.slice(0, dot);
      return label.length >= match.pre.length + match.post.length && label.startsWith(match.pre) && label.endsWith(match.post);
    }
  }
}

function portMatches(ports: Ports, port: number, defaultAll: boolean): boolean {
  switch (ports.kind) {
    case 'any':
      return true;
    case 'default':
      return defaultAll || DEFAULT_PORTS.includes(port);
    case 'range':
      return port >= ports.lo && port <= ports.hi;
  }
}

function cidrContains(entry: Extract<Entry, { kind: 'cidr' }>, ip: Ip): boolean {
  const [base, bits] = entry.range;
  return base.kind() === ip.kind() && ip.match(base, bits);
}

/** Name-based judgement of a target that is a host name (not an IP literal). */
function byName(pool: PoolPolicy, target: Target): { deny?: Rule; allow?: Rule; portMismatch: boolean } {
  // A deny entry without a port covers every port.
  const deny = pool.deny.find((r) => r.entry.kind === 'host' && hostMatches(r.entry.match, target.host) && portMatches(r.entry.ports, target.port, true));
  if (deny) return { deny, portMismatch: false };
  let portMismatch = false;
  for (const r of pool.allow) {
    if (r.entry.kind !== 'host' || !hostMatches(r.entry.match, target.host)) continue;
    if (portMatches(r.entry.ports, target.port, false)) return { allow: r, portMismatch: false };
    portMismatch = true;
  }
  return { portMismatch };
}

export interface DecideInput {
  pool: PoolPolicy;
  target: Target;
  /**
   * The addresses the host resolved to (all of them), or undefined before resolution.
   * For an IP literal the proxy passes the literal itself.
   */
  addresses?: readonly Ip[];
  /** The proxy's own listening sockets, `ip:port` (a request to one of them would loop). */
  self?: ReadonlySet<string>;
}

/** DNS over TLS (RFC 7858). */
export const DOT_PORT = 853;

/** A pool's lists for port 853: allow entries with any port (`:*`) do not reach it, an explicit port does. */
const dotViews = new WeakMap<PoolPolicy, PoolPolicy>();
function dotView(pool: PoolPolicy): PoolPolicy {
  let view = dotViews.get(pool);
  if (!view) {
    const allow = pool.allow.filter((r) => r.entry.ports.kind !== 'any');
    view = { ...pool, allow, resolveUnlisted: allow.some((r) => r.entry.kind === 'cidr') };
    dotViews.set(pool, view);
  }
  return view;
}

/**
 * Decide. Port 853 (DNS over TLS, a way around the DNS listener) is refused with reason
 * `dns-over-tls` unless an allow entry names the port itself (`dot.example.net:853`, a
 * range holding 853); `:*` is not enough. Returns `'resolve'` when the answer depends on addresses not yet known; the
 * caller resolves the name and asks again with `addresses`.
 */
export function decide(input: DecideInput): Decision | 'resolve' {
  if (input.target.port !== DOT_PORT) return decideAny(input);
  const d = decideAny({ ...input, pool: dotView(input.pool) });
  if (d !== 'resolve' && d.verdict !== 'allow' && (d.reason === 'not-allowlisted' || d.reason === 'port-not-allowed')) return { ...d, reason: 'dns-over-tls' };
  return d;
}

function decideAny({ pool, target, addresses, self }: DecideInput): Decision | 'resolve' {
  const names = target.ip ? { portMismatch: false } : byName(pool, target);
  if (names.deny) return finish(pool, 'denylisted', names.deny.label);

  const literal = target.ip ? [target.ip] : undefined;
  const addrs = addresses ?? literal;
  if (!addrs) {
    // Nothing is looked up that enforce mode would refuse anyway (no DNS for unlisted names).
    if (!names.allow && !pool.resolveUnlisted && pool.mode === 'enforce') {
      return finish(pool, names.portMismatch ? 'port-not-allowed' : 'not-allowlisted', 'unlisted');
    }
    return 'resolve';
  }

  if (self) {
    for (const ip of addrs) if (self.has(`${ip.toString()}:${target.port}`)) return { verdict: 'deny', reason: 'proxy-loop', destination: 'unlisted' };
  }

  // Deny CIDRs refuse any name that resolves into them.
  for (const ip of addrs) {
    const deny = pool.deny.find((r) => r.entry.kind === 'cidr' && cidrContains(r.entry, ip) && portMatches(r.entry.ports, target.port, true));
    if (deny) return finish(pool, 'denylisted', deny.label);
  }

  // Every address must be allowed: by the host entry, or by an IP/CIDR entry. Special
  // addresses are lifted only by an IP/CIDR entry that names them. Nothing allowing the
  // destination at all is `not-allowlisted`, whatever its addresses.
  let cidrLabel: string | undefined;
  let allByCidr = true;
  for (const ip of addrs) {
    const byCidr = pool.allow.find((r) => r.entry.kind === 'cidr' && cidrContains(r.entry, ip) && portMatches(r.entry.ports, target.port, false));
    if (byCidr) {
      cidrLabel ??= byCidr.label;
      continue;
    }
    allByCidr = false;
    // An allowed name that leads to a special address: the address is the reason.
    if (names.allow && isSpecialAddress(ip)) return finish(pool, 'private-address', names.allow.label);
  }
  if (names.allow) return { verdict: 'allow', destination: names.allow.label };
  if (allByCidr && cidrLabel !== undefined) return { verdict: 'allow', destination: cidrLabel };
  const cidrPortMismatch =
    !names.portMismatch &&
    addrs.length > 0 &&
    addrs.every((ip) => pool.allow.some((r) => r.entry.kind === 'cidr' && cidrContains(r.entry, ip)));
  return finish(pool, names.portMismatch || cidrPortMismatch ? 'port-not-allowed' : 'not-allowlisted', 'unlisted');
}

function finish(pool: PoolPolicy, reason: PolicyReason, destination: string): Decision {
  return { verdict: pool.mode === 'audit' ? 'audit' : 'deny', reason, destination };
}
