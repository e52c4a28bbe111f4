// What every exchange that carries a request does with what the scanner found, HTTP/1.1
// request or HTTP/2 stream alike: judge each finding by its destination
// (decide/verdict.ts), emit it as a finding event, and turn the verdict into a refusal
// or an `audit` mark on the exchange. One place, so that both protocols decide alike.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Config } from '../../config/index.js';
import type { ContentScanResult } from '../../detectors/decode.js';
import type { Engine, Finding } from '../../detectors/index.js';
import { redactFindings } from '../../detectors/redact.js';
import type { FindingSource } from '../decide/judge.js';
import type { PoolRuntime } from '../decide/runtime.js';
import { bodyVerdict, findingsVerdict, judgeFindings, type ContentVerdict, type Judged } from '../decide/verdict.js';
import { noteScanned, noteScanSkipped, type EventBus } from '../events/events.js';
import { recordVerdict, type Exchange } from './exchange.js';
import type { Refusal } from './refusal.js';
import { lineBytes, scanHeadCached, scanHeadersCached } from './scan-cache.js';

/** What judging needs of the exchange context (http-exchange.ts ExchangeContext has it). */
export interface JudgeContext {
  config: Config;
  pool: PoolRuntime;
  engine: Engine;
  bus: EventBus;
}

export type { Refusal };

export interface ExchangeJudge {
  /** Judge findings for this exchange's destination and emit each as a finding event. */
  record(found: readonly Finding[], source: FindingSource, header?: string, partial?: boolean): Judged[];
  /** The finding that refuses the exchange, if any; an audit pool marks the exchange `audit` instead. */
  blocking(judged: readonly Judged[]): Finding | undefined;
  /** Scan a request target and the headers that will be forwarded; the refusal they call for, if any. */
  head(path: string, headers: OutgoingHttpHeaders): Refusal | undefined;
  /** More header lines (HTTP/2 or chunked trailers), judged as headers. */
  headers(headers: OutgoingHttpHeaders): Refusal | undefined;
  /** A scanned body: counted, its findings recorded; the refusal it calls for, if any. */
  body(result: ContentScanResult, source?: FindingSource): Refusal | undefined;
}

/**
 * The secrets found in an exchange's host name (source `host`, recorded by the proxy
 * listener's gate), by rule and fingerprint. A plain request's Host header is that same
 * name (the proxy sets it from the absolute URI): the header scan finding it again is not
 * a second finding.
 */
const hostSecrets = new WeakMap<Exchange, Set<string>>();
const secretKey = (f: Finding): string => `${f.ruleId}\0${f.fingerprint}`;

/**
 * `host` is the destination findings are judged for; the finding events show the host as
 * the exchange does (`ex.host`: redacted when the name itself held a secret).
 */
export function exchangeJudge(ctx: JudgeContext, ex: Exchange, host: string): ExchangeJudge {
  const pool = ctx.pool.config;

  const record = (all: readonly Finding[], source: FindingSource, header?: string, partial = false): Judged[] => {
    let found = all;
    if (source === 'host') {
      let keys = hostSecrets.get(ex);
      if (!keys) hostSecrets.set(ex, (keys = new Set()));
      for (const f of all) keys.add(secretKey(f));
    } else if (source === 'header' && header === 'host') {
      const keys = hostSecrets.get(ex);
      if (keys) found = all.filter((f) => !keys.has(secretKey(f)));
    }
    const judged = judgeFindings(found, source, host, pool, header);
    for (const { finding, judgement } of judged) {
      ex.findings++;
      ctx.bus.emit({
        type: 'finding',
        pool: pool.name,
        client: ex.client,
        host: ex.host !== '' ? ex.host : host,
        kind: ex.kind,
        source,
        ...(header ? { header } : {}),
        rule: finding.ruleId,
        title: finding.title,
        severity: finding.severity,
        verdict: judgement.verdict,
        action: judgement.action,
        fingerprint: finding.fingerprint,
        redacted: finding.redacted,
        ...(finding.known ? { known: finding.known } : {}),
        ...(finding.decodedFrom ? { decodedFrom: finding.decodedFrom } : {}),
        ...(partial ? { partial } : {}),
      });
    }
    return judged;
  };

  /** Apply a verdict to the exchange: the refusal it is, or an audit mark. */
  const apply = (verdict: ContentVerdict): Refusal | undefined => {
    if (verdict.kind === 'pass') return undefined;
    if (verdict.kind === 'audit') {
      recordVerdict(ex, 'audit', verdict.reason);
      return undefined;
    }
    return { status: 403, reason: verdict.reason, ...(verdict.finding ? { finding: verdict.finding } : {}) };
  };

  const headerFindings = (headers: OutgoingHttpHeaders): Judged[] => {
    const found = scanHeadersCached(ctx.engine, headers as Record<string, string | string[] | undefined>);
    noteScanned(ex, 'header', headerBytes(headers));
    return found.flatMap((f) => record([f], 'header', f.header));
  };

  return {
    record,
    blocking(judged) {
      const verdict = findingsVerdict(judged, pool);
      apply(verdict);
      return verdict.kind === 'refuse' ? verdict.finding : undefined;
    },
    head(path, headers) {
      // One memory for the whole head in front of the per-line ones (scan-cache.ts).
      const found = scanHeadCached(ctx.engine, path, headers as Record<string, string | string[] | undefined>);
      // The egress line shows the path: never with the secret in it.
      if (found.url.length > 0 && ex.path !== undefined) ex.path = redactFindings(path, found.url).split('?', 1)[0] ?? '/';
      const judged = record(found.url, 'url');
      noteScanned(ex, 'header', found.headerBytes);
      for (const f of found.headers) judged.push(...record([f], 'header', f.header));
      noteScanned(ex, 'url', found.urlBytes);
      return apply(findingsVerdict(judged, pool));
    },
    headers(headers) {
      return apply(findingsVerdict(headerFindings(headers), pool));
    },
    body(result, source = 'body') {
      noteScanned(ex, 'body', result.scannedBytes);
      for (const e of result.errors) noteScanSkipped(ex, e.code);
      return apply(bodyVerdict(record(result.findings, source), result.errors.length, ctx.config.scan.onError, pool));
    },
  };
}

/** Bytes of `name: value` lines the header scan read. */
export function headerBytes(headers: OutgoingHttpHeaders): number {
  return lineBytes(headers as Record<string, string | string[] | number | undefined>);
}
