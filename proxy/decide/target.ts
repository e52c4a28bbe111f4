// Destination names and addresses as the policy sees them: normalised, judged whole.
import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import RE2 from 're2';

export type Ip = ipaddr.IPv4 | ipaddr.IPv6;

export interface Target {
  /** Lowercase ASCII host name without trailing dot, or the canonical text of an IP literal. */
  host: string;
  port: number;
  /** Set when the host is an IP literal (in any of its numeric forms). */
  ip?: Ip;
}

// What a client may write as a host before normalisation: letters (any script, for IDN),
// digits, dots, hyphens, underscores; or a bracketed IPv6 literal. No `%`, NUL, `@`, `/`,
// spaces or other delimiters (percent-encoded hosts are a classic evasion).
const NAME_CHARS = new RE2('^[\\p{L}\\p{N}\\p{M}._-]+$', 'u');
const V6_LITERAL = new RE2('^\\[[0-9A-Fa-f:.]+\\]$');

/**
 * Normalise a host as a client wrote it (Host header, absolute URI, CONNECT authority).
 * Returns undefined when it is not a valid host. Numeric IPv4 forms (`2130706433`,
 * `0177.0.0.1`, `0x7f.1`) become dotted quads, IPv4-mapped IPv6 becomes IPv4, names
 * become lowercase punycode without a trailing dot.
 */
export function normalizeHost(raw: string): Readonly<{ host: string; ip?: Ip }> | undefined {
  if (raw.length === 0 || raw.length > 255) return undefined;
  const known = hostMemo.get(raw);
  if (known !== undefined) return known ?? undefined;
  const norm = normalizeUncached(raw);
  if (hostMemo.size >= HOST_MEMO_MAX) hostMemo.clear();
  hostMemo.set(raw, norm ? Object.freeze(norm) : null);
  return norm;
}

/**
 * Hosts as written, with what normalizeHost made of them (null: not a host). A fleet asks
 * for the same few hundred names again and again, and the normalising (two RE2 tests,
 * domainToASCII, the IPv4 forms) was the largest item of the plain-HTTP profile after
 * the log line (issue #19). Pure, so a remembered answer is the answer; a full memory
 * starts over rather than growing (at most 4,096 names of at most 255 characters).
 */
const HOST_MEMO_MAX = 4096;
const hostMemo = new Map<string, Readonly<{ host: string; ip?: Ip }> | null>();

function normalizeUncached(raw: string): { host: string; ip?: Ip } | undefined {
  if (V6_LITERAL.test(raw)) {
    const inner = raw.slice(1, -1);
    if (!ipaddr.IPv6.isValid(inner)) return undefined;
    const ip = canonicalIp(ipaddr.IPv6.parse(inner));
    return { host: ip.toString(), ip };
  }
  if (!NAME_CHARS.test(raw)) return undefined;
  let ascii = domainToASCII(raw);
  if (ascii === '') return undefined;
  if (ascii.endsWith('.')) ascii = ascii.slice(0, -1);
  if (ascii === '' || ascii.startsWith('.') || ascii.includes('..')) return undefined;
  // domainToASCII has turned every numeric IPv4 form into a dotted quad. Only digits and
  // dots can be one: ipaddr's check throws and catches inside for a name (8 µs a call).
  if (digitsAndDots(ascii) && ipaddr.IPv4.isValidFourPartDecimal(ascii)) {
    const ip = ipaddr.IPv4.parse(ascii);
    return { host: ip.toString(), ip };
  }
  return { host: ascii };
}

function digitsAndDots(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x2e && (c < 0x30 || c > 0x39)) return false;
  }
  return true;
}

/** Parse an address from DNS or a socket; IPv4-mapped IPv6 is judged as its IPv4. */
export function parseAddress(address: string): Ip | undefined {
  const known = addressMemo.get(address);
  if (known !== undefined) return known ?? undefined;
  const ip = parseAddressUncached(address);
  if (addressMemo.size >= HOST_MEMO_MAX) addressMemo.clear();
  addressMemo.set(address, ip ?? null);
  return ip;
}

/**
 * Addresses as written (client sockets, DNS answers), parsed: every request parses its
 * client's address (the pool by source) and ipaddr's parsing was 1.6% of the plain-HTTP
 * profile (issue #19). Pure and bounded like the host memory. The Ip objects are shared:
 * nothing of ours changes one (ipaddr's methods read them).
 */
const addressMemo = new Map<string, Ip | null>();

function parseAddressUncached(address: string): Ip | undefined {
  // The family is chosen by its characters first: ipaddr.isValid tries both, and a family
  // that does not fit throws and is caught inside it (3 µs for an IPv6 address).
  if (address.includes(':')) {
    return ipaddr.IPv6.isValid(address) ? canonicalIp(ipaddr.IPv6.parse(address)) : undefined;
  }
  if (!digitsAndDots(address) || !ipaddr.IPv4.isValidFourPartDecimal(address)) return undefined;
  return ipaddr.IPv4.parse(address);
}

function canonicalIp(ip: Ip): Ip {
  return ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress() ? ip.toIPv4Address() : ip;
}

/**
 * Split an authority (`host:port`, `[v6]:port`) as in CONNECT. The port is required and
 * must be 1-65535; user-info and anything else is rejected.
 */
export function parseAuthority(authority: string): Target | undefined {
  const colon = authority.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const hostPart = authority.slice(0, colon);
  const portPart = authority.slice(colon + 1);
  if (!hostPart.startsWith('[') && hostPart.includes(':')) return undefined; // IPv6 without brackets
  const port = parsePort(portPart);
  if (port === undefined) return undefined;
  const norm = normalizeHost(hostPart);
  return norm && { ...norm, port };
}

export function parsePort(text: string): number | undefined {
  if (text.length === 0 || text.length > 5) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Cloud metadata addresses outside the special ranges (the rest are link-local anyway). */
const METADATA = [
  ipaddr.parse('168.63.129.16'), // Azure wireserver
];

/**
 * A special address: anything not globally routed unicast (loopback, RFC 1918, CGNAT,
 * link-local, multicast, unspecified, ULA, documentation and reserved ranges, NAT64,
 * 6to4, Teredo), and cloud metadata endpoints.
 */
export function isSpecialAddress(ip: Ip): boolean {
  if (ip.range() !== 'unicast') return true;
  return METADATA.some((m) => m.kind() === ip.kind() && m.toString() === ip.toString());
}

/** `http://host[:port]/path?query` → target, authority and origin-form path. */
export function parseAbsoluteUri(url: string): { target: Target; authority: string; path: string } | undefined {
  if (url.length < 8 || url.slice(0, 7).toLowerCase() !== 'http://') return undefined;
  const rest = url.slice(7);
  let end = rest.length;
  for (const c of ['/', '?', '#']) {
    const i = rest.indexOf(c);
    if (i >= 0 && i < end) end = i;
  }
  const authority = rest.slice(0, end);
  let path = rest.slice(end) || '/';
  if (path.startsWith('?')) path = '/' + path;
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  if (authority.includes('@')) return undefined; // user-info in a proxy request is refused
  let hostText = authority;
  let port = 80;
  const colon = authority.lastIndexOf(':');
  if (colon > 0 && (!authority.startsWith('[') || authority.lastIndexOf(']') < colon)) {
    const p = parsePort(authority.slice(colon + 1));
    if (p === undefined) return undefined;
    port = p;
    hostText = authority.slice(0, colon);
  }
  if (!hostText.startsWith('[') && hostText.includes(':')) return undefined;
  const norm = normalizeHost(hostText);
  if (!norm) return undefined;
  return { target: { ...norm, port }, authority, path };
}

/**
 * The host part of a Host header or an HTTP/2 `:authority` (`host:port`, `[v6]:port`),
 * as written; normalizeHost reads it.
 */
export function stripPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

/**
 * The host as the client wrote it (without a trailing dot) when it is the target's name in
 * another letter case, else the normalised name (an IDN's punycode, say): what the
 * secret reader reads of a host (base64url is case-sensitive; the policy reads `host`).
 */
export function asWritten(written: string, host: string): string {
  const bare = written.endsWith('.') ? written.slice(0, -1) : written;
  if (bare.length !== host.length) return host;
  for (let i = 0; i < bare.length; i++) {
    const c = bare.charCodeAt(i);
    if (c !== host.charCodeAt(i) && !(c >= 0x41 && c <= 0x5a && c + 0x20 === host.charCodeAt(i))) return host;
  }
  return bare;
}
