// Judging a credential by where it is going. Pure: a finding, the destination host and
// the pool's settings in, a verdict and an action out.
import type { PoolConfig } from '../../config/index.js';
import { parseEntry, type HostMatch } from '../../config/index.js';
import type { Finding } from '../../detectors/index.js';
import { hostMatches } from './policy.js';

/** `dns`: a query name (the DNS listener); `host`: the host name a request or tunnel is for (the proxy listener). */
export type FindingSource = 'url' | 'header' | 'body' | 'log' | 'dns' | 'websocket' | 'host';
/** credential-use: bound for where it belongs; exfiltration: anywhere else; leak: in a log. */
export type FindingVerdict = 'credential-use' | 'exfiltration' | 'leak';
/** none: not alerted (credential use); alert: forwarded and recorded; block: refused. */
export type FindingAction = 'none' | 'alert' | 'block';

export interface Judgement {
  verdict: FindingVerdict;
  action: FindingAction;
}

const patterns = new Map<string, HostMatch | null>();

/** Host patterns of rules are compiled once and remembered (the set is the rule pack's). */
function compiled(pattern: string): HostMatch | null {
  let m = patterns.get(pattern);
  if (m === undefined) {
    try {
      const entry = parseEntry(pattern);
      m = entry.kind === 'host' ? entry.match : null;
    } catch {
      m = null;
    }
    patterns.set(pattern, m);
  }
  return m;
}

/** Is `host` one of the destinations where this credential is legitimately sent? */
export function boundFor(finding: Pick<Finding, 'destinations' | 'known'>, host: string): boolean {
  if (finding.known) return false; // operators' own secrets and canaries belong nowhere we know
  for (const d of finding.destinations) {
    const m = compiled(d);
    if (m && hostMatches(m, host)) return true;
  }
  return false;
}

export function judge(finding: Pick<Finding, 'destinations' | 'known'>, source: FindingSource, host: string, pool: Pick<PoolConfig, 'secrets'>): Judgement {
  if (source === 'log') return { verdict: 'leak', action: 'alert' };
  // A credential never belongs in a name (a DNS query's, or the host a request or tunnel
  // names): wherever the name points, it leaves in the lookup of it, and the name is no
  // destination it could be bound for, even one of its own rule's (`<token>.github.com`).
  if (source === 'dns' || source === 'host') return { verdict: 'exfiltration', action: pool.secrets.action };
  if (boundFor(finding, host)) return { verdict: 'credential-use', action: 'none' };
  return { verdict: 'exfiltration', action: pool.secrets.action };
}
