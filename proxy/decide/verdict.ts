// What the content of one exchange means for it: findings and scan errors in, the
// exchange's fate out. Pure (no sockets): the wire calls it once the head is scanned,
// for each finding of a streamed body, and once a held body is scanned.
//
// The pool's mode is applied here, once: an enforce pool refuses what its
// `secrets.action: block` blocks; an audit pool never refuses, it records the exchange
// as `audit` with the reason it would have been refused for.
import type { PoolConfig } from '../../config/index.js';
import type { Finding } from '../../detectors/index.js';
import { judge, type FindingSource, type Judgement } from './judge.js';
import type { Reason } from './reasons.js';

/** A finding with where it was and what it means where it is going. */
export interface Judged {
  finding: Finding;
  source: FindingSource;
  /** The header it was in (source `header`). */
  header?: string;
  /** Verdict and action, after the pool's mode (an audit pool alerts what it would block). */
  judgement: Judgement;
}

/** What happens to the exchange. */
export type ContentVerdict =
  /** Nothing stops it. */
  | { kind: 'pass' }
  /** Refused (403 before the request left; cut when part of it has). */
  | { kind: 'refuse'; reason: Extract<Reason, 'secret-exfiltration' | 'scan-error'>; finding?: Finding }
  /** Forwarded, and recorded as `audit` with the reason it would have been refused for. */
  | { kind: 'audit'; reason: Extract<Reason, 'secret-exfiltration' | 'scan-error'> };

type Pool = Pick<PoolConfig, 'mode' | 'secrets'>;

/** Judge each finding for the destination host, with the pool's mode applied to the action. */
export function judgeFindings(found: readonly Finding[], source: FindingSource, host: string, pool: Pool, header?: string): Judged[] {
  return found.map((finding) => {
    const j = judge(finding, source, host, pool);
    const judgement = pool.mode !== 'enforce' && j.action === 'block' ? { verdict: j.verdict, action: 'alert' as const } : j;
    return { finding, source, ...(header !== undefined ? { header } : {}), judgement };
  });
}

/**
 * The verdict of findings already judged with judgeFindings. In an audit pool a finding
 * its action would block makes the exchange `audit` (its judgement says `alert`).
 */
export function findingsVerdict(judged: readonly Judged[], pool: Pool): ContentVerdict {
  for (const j of judged) {
    if (j.judgement.action === 'block') return { kind: 'refuse', reason: 'secret-exfiltration', finding: j.finding };
  }
  if (pool.mode !== 'enforce' && pool.secrets.action === 'block' && judged.some((j) => j.judgement.verdict === 'exfiltration')) {
    return { kind: 'audit', reason: 'secret-exfiltration' };
  }
  return { kind: 'pass' };
}

/** What `scan.onError` means in this pool: unset, block in enforce pools and allow in audit ones. */
export function scanErrorAction(onError: 'block' | 'allow' | undefined, pool: Pick<PoolConfig, 'mode'>): 'block' | 'allow' {
  return onError ?? (pool.mode === 'enforce' ? 'block' : 'allow');
}

/**
 * The verdict of a scanned body: its findings first, then whether content the scanner
 * could not read (an undecodable encoding, a depth limit) stops it. An audit pool whose
 * onError says block records `audit` with `scan-error`.
 */
export function bodyVerdict(judged: readonly Judged[], scanErrors: number, onError: 'block' | 'allow' | undefined, pool: Pool): ContentVerdict {
  const byFindings = findingsVerdict(judged, pool);
  if (byFindings.kind !== 'pass' || scanErrors === 0) return byFindings;
  if (scanErrorAction(onError, pool) === 'block') {
    return pool.mode === 'enforce' ? { kind: 'refuse', reason: 'scan-error' } : { kind: 'audit', reason: 'scan-error' };
  }
  return { kind: 'pass' };
}
