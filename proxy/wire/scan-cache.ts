// Request targets and header lines found clean before, remembered by keyed hash (moved
// from http-exchange.ts, which re-exports them): HTTP/1.1 and HTTP/2 exchanges share it.
import { hash, randomBytes } from 'node:crypto';
import { scanHeaders, scanUrl } from '../../detectors/decode.js';
import type { Engine, Finding } from '../../detectors/index.js';

/**
 * Header lines already scanned and found clean, per engine (a reload with other rules or
 * known secrets starts afresh). Clients repeat most headers on every request (User-Agent,
 * Accept, Host...) and scanning them cost more than the rest of a plain request (about
 * 9 µs a line with the full rule pack). Only a keyed hash of a clean line is kept, never
 * its text: a header may carry a credential no rule knows. A line with findings is never
 * cached, so it is scanned (and its findings reported) every time: findings are unchanged.
 */
const CLEAN_LINES_MAX = 10_000;
const cleanLineKey = randomBytes(32).toString('base64');

/** Digests of the request targets and header lines one engine found clean (kept apart). */
interface CleanMemory {
  urls: Set<string>;
  lines: Set<string>;
  /** Whole request heads (target and every forwarded line) found clean: their header and URL bytes. */
  heads: Map<string, readonly [number, number]>;
}
const cleanMemory = new WeakMap<Engine, CleanMemory>();

function memoryOf(engine: Engine): CleanMemory {
  let m = cleanMemory.get(engine);
  if (!m) {
    m = { urls: new Set(), lines: new Set(), heads: new Map() };
    cleanMemory.set(engine, m);
  }
  return m;
}

/** Keep a clean digest; a full memory starts over rather than growing. */
function remember(set: Set<string>, digest: string): void {
  if (set.size >= CLEAN_LINES_MAX) set.clear();
  set.add(digest);
}

/**
 * SHA-256 of a random per-process key followed by the line: a keyed hash (nothing leaves
 * the process, so length extension is no concern) in one call: an HMAC object per line
 * cost 1.5 µs, this 0.3 µs. Header names and values cannot hold NUL, so the join is
 * unambiguous.
 */
function lineDigest(name: string, value: string | string[]): string {
  const values = Array.isArray(value) ? value.join('\0') : value;
  return hash('sha256', `${cleanLineKey}${name}\0${values}`, 'base64');
}

/**
 * scanUrl, skipping a request target seen clean before (the same keyed-hash memory as for
 * header lines): the jobs of a fleet fetch the same package and image URLs.
 */
export function scanUrlCached(engine: Engine, path: string): Finding[] {
  const { urls } = memoryOf(engine);
  const digest = lineDigest('', path);
  if (urls.has(digest)) return [];
  const found = scanUrl(engine, path);
  if (found.length === 0) remember(urls, digest);
  return found;
}

/** scanHeaders (each header on its own, as it scans them), skipping lines seen clean before. */
export function scanHeadersCached(engine: Engine, headers: Record<string, string | string[] | undefined>): Array<Finding & { header: string }> {
  const { lines } = memoryOf(engine);
  const out: Array<Finding & { header: string }> = [];
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    const digest = lineDigest(name, value);
    if (lines.has(digest)) continue;
    const found = scanHeaders(engine, { [name]: value });
    if (found.length > 0) out.push(...found);
    else remember(lines, digest);
  }
  return out;
}

/** What scanHeadCached found: the target's findings, the lines', and the bytes each scan read. */
export interface HeadScan {
  url: Finding[];
  headers: Array<Finding & { header: string }>;
  /** Bytes of `name: value` lines read (exchange-judge.ts headerBytes). */
  headerBytes: number;
  /** Bytes of the request target. */
  urlBytes: number;
}

/**
 * A request's target and forwarded headers, scanned as scanUrlCached and scanHeadersCached
 * would, with one more memory in front: the keyed hash of the whole head. A client that
 * sends the same head again (a package manager's keep-alive requests) costs one hash, not
 * one per line and one for the target (issue #19). Only a head whose target and every line
 * were clean is remembered; anything else goes through the per-line memories, so findings
 * are the same, every time.
 */
export function scanHeadCached(engine: Engine, path: string, headers: Record<string, string | string[] | undefined>): HeadScan {
  const { heads } = memoryOf(engine);
  // Lengths first: neither a target nor a header line can hold NUL or a newline, and the
  // target's length keeps it apart from the lines after it.
  let text = `${cleanLineKey}\u0001${path.length}:${path}\n`;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    text += `${name}\0${Array.isArray(value) ? value.join('\0') : value}\n`;
  }
  const digest = hash('sha256', text, 'base64');
  const known = heads.get(digest);
  if (known) return { url: [], headers: [], headerBytes: known[0], urlBytes: known[1] };
  const url = scanUrlCached(engine, path);
  const found = scanHeadersCached(engine, headers);
  const headerBytes = lineBytes(headers);
  const urlBytes = Buffer.byteLength(path);
  if (url.length === 0 && found.length === 0) {
    if (heads.size >= CLEAN_LINES_MAX) heads.clear();
    heads.set(digest, [headerBytes, urlBytes]);
  }
  return { url, headers: found, headerBytes, urlBytes };
}

/** Bytes of `name: value` lines (each value of a list on its own line). */
export function lineBytes(headers: Record<string, string | string[] | number | undefined>): number {
  let n = 0;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) n += name.length + 2 + Buffer.byteLength(v);
    else n += name.length + 2 + Buffer.byteLength(String(value));
  }
  return n;
}
