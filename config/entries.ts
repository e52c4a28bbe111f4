// Allowlist and denylist entries: their syntax. Parsed when a config is validated
// (schema.ts) and when its runtime is compiled (proxy/decide/policy.ts compilePool), never
// per request.
//
//   api.github.com            exact host, ports 80 and 443
//   *.githubusercontent.com   any subdomain at any depth, not the apex
//   productionresultssa*.blob.core.windows.net   a glob inside the first label
//   host:5432 | host:8000-8100 | host:*          explicit ports
//   10.20.0.0/16:5432 | 127.0.0.1 | [fd00::]/8:443 | fd00::/8   IPs and CIDRs
//   @github-actions           a group (shipped, or defined under `groups:`)
//   *                         any host (ports 80 and 443 unless given)
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import RE2 from 're2';

export type Ports = { kind: 'default' } | { kind: 'any' } | { kind: 'range'; lo: number; hi: number };

export type Entry =
  | { kind: 'group'; text: string; name: string }
  | { kind: 'host'; text: string; match: HostMatch; ports: Ports }
  | { kind: 'cidr'; text: string; range: [ipaddr.IPv4 | ipaddr.IPv6, number]; ports: Ports };

export type HostMatch =
  | { kind: 'any' }
  | { kind: 'exact'; host: string }
  /** `*.suffix`: host ends with `.suffix` */
  | { kind: 'subdomain'; suffix: string }
  /** `pre*post.rest`: first label starts with pre and ends with post, the rest is equal */
  | { kind: 'label-glob'; pre: string; post: string; rest: string };

export const DEFAULT_PORTS: readonly number[] = [80, 443];

const HOST_CHARS = new RE2('^[a-z0-9*_-]+(\\.[a-z0-9*_-]+)*$');
const GROUP_NAME = new RE2('^[A-Za-z0-9][A-Za-z0-9_.-]*$');
const PREFIX_LENGTH = new RE2('^/\\d+');
const PORTS = new RE2('^(\\d{1,5})(?:-(\\d{1,5}))?$');

/** Parse one entry; throws an Error with a one-line reason when malformed. */
export function parseEntry(text: string): Entry {
  const raw = text.trim();
  if (raw === '') throw new Error('empty entry');
  if (raw.startsWith('@')) {
    const name = raw.slice(1);
    if (!GROUP_NAME.test(name)) throw new Error(`'${raw}' is not a valid group reference`);
    return { kind: 'group', text: raw, name };
  }

  const { address, ports } = splitPort(raw);
  const cidr = parseCidr(address);
  if (cidr) return { kind: 'cidr', text: raw, range: cidr, ports };
  if (address.includes(':') || address.startsWith('[')) throw new Error(`'${raw}' is not a valid IP address or CIDR`);
  return { kind: 'host', text: raw, match: parseHostPattern(address, raw), ports };
}

function splitPort(raw: string): { address: string; ports: Ports } {
  let address = raw;
  let portText: string | undefined;
  if (raw.startsWith('[')) {
    // [v6] or [v6]/len, optionally followed by :port
    const close = raw.indexOf(']');
    if (close < 0) throw new Error(`'${raw}' has an unclosed '['`);
    let end = close + 1;
    const slash = PREFIX_LENGTH.exec(raw.slice(end));
    if (slash) end += slash[0].length;
    const tail = raw.slice(end);
    address = raw.slice(1, close) + raw.slice(close + 1, end);
    if (tail !== '') {
      if (!tail.startsWith(':')) throw new Error(`'${raw}' has unexpected text after the address`);
      portText = tail.slice(1);
    }
  } else if (raw.split(':').length === 2) {
    const colon = raw.indexOf(':');
    address = raw.slice(0, colon);
    portText = raw.slice(colon + 1);
  }
  return { address, ports: portText === undefined ? { kind: 'default' } : parsePorts(portText, raw) };
}

function parsePorts(text: string, raw: string): Ports {
  if (text === '*') return { kind: 'any' };
  const m = PORTS.exec(text);
  if (!m) throw new Error(`'${raw}' has an invalid port '${text}'`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || lo > hi) throw new Error(`'${raw}' has a port outside 1-65535`);
  return { kind: 'range', lo, hi };
}

function parseCidr(address: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  const slash = address.indexOf('/');
  const ipText = slash < 0 ? address : address.slice(0, slash);
  if (!ipaddr.isValid(ipText) || !(ipaddr.IPv4.isValidFourPartDecimal(ipText) || ipText.includes(':'))) {
    return undefined;
  }
  const ip = ipaddr.parse(ipText);
  const max = ip.kind() === 'ipv4' ? 32 : 128;
  const bits = slash < 0 ? max : Number(address.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`'${address}' has an invalid prefix length`);
  // An IPv4-mapped IPv6 range is the IPv4 range it denotes (addresses are judged that way too).
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress() && bits >= 96) return [ip.toIPv4Address(), bits - 96];
  return [ip, bits];
}

function parseHostPattern(address: string, raw: string): HostMatch {
  if (address === '*') return { kind: 'any' };
  const lower = address.toLowerCase().replace(/\.$/, '');
  if (lower.startsWith('*.')) {
    const suffix = normalizeName(lower.slice(2), raw);
    if (suffix.includes('*')) throw new Error(`'${raw}': '*' may stand only in the first label`);
    return { kind: 'subdomain', suffix };
  }
  const dot = lower.indexOf('.');
  const first = dot < 0 ? lower : lower.slice(0, dot);
  const rest = dot < 0 ? '' : lower.slice(dot + 1);
  if (first.includes('*')) {
    if (first.indexOf('*') !== first.lastIndexOf('*')) throw new Error(`'${raw}': one '*' per label`);
    if (rest === '') throw new Error(`'${raw}': a glob needs a domain after its first label`);
    const restAscii = normalizeName(rest, raw);
    if (restAscii.includes('*')) throw new Error(`'${raw}': '*' may stand only in the first label`);
    const [pre = '', post = ''] = first.split('*');
    return { kind: 'label-glob', pre, post, rest: restAscii };
  }
  if (lower.includes('*')) throw new Error(`'${raw}': '*' may stand only in the first label`);
  return { kind: 'exact', host: normalizeName(lower, raw) };
}

function normalizeName(name: string, raw: string): string {
  const ascii = domainToASCII(name);
  if (ascii === '' || !HOST_CHARS.test(ascii)) throw new Error(`'${raw}' is not a valid host name`);
  return ascii;
}
