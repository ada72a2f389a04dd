// The dry run behind `ironlb plan`: what a configuration change would do to the Services that exist now.
import type { Config } from '../config/model.ts';
import type { ServiceView } from '../service/view.ts';
import { Allocator } from './allocator.ts';
import { AllocationError } from './errors.ts';

/** PlanService is one Service to replay: its view and the labels of its namespace (for namespaceSelectors). */
export interface PlanService {
  view: ServiceView;
  namespaceLabels?: Readonly<Record<string, string>>;
}

/**
 * PlanOutcome: keep (same addresses), change (other addresses), lose (had addresses, would get none),
 * gain (was pending, would get addresses), pending (pending before and after).
 */
export type PlanOutcome = 'keep' | 'change' | 'lose' | 'gain' | 'pending';

/**
 * PlanEntry is what the change does to one Service: its addresses and pool before and after, the outcome,
 * and for change/lose/pending the reason in the words the Service's Events would use.
 */
export interface PlanEntry {
  key: string;
  outcome: PlanOutcome;
  before: string[];
  after: string[];
  beforePool?: string;
  afterPool?: string;
  reason?: string;
}

/** PlanOptions: the Services to replay and the addresses currently avoided (address conflicts). */
export interface PlanOptions {
  services: readonly PlanService[];
  avoided?: ReadonlyArray<{ ip: string; reason: string }>;
}

type Replayed = { ips: string[]; pool: string; dropped?: string } | { error: string };

function replay(config: Config, options: PlanOptions): Map<string, Replayed> {
  const a = new Allocator(config);
  for (const { ip, reason } of options.avoided ?? []) a.avoid(ip, reason);
  for (const s of options.services) a.restore(s.view);
  // As the controller does after a restart: Services with status first, each group oldest first.
  const order = [...options.services].sort((x, y) => {
    const hx = x.view.ingressIPs.length > 0 ? 0 : 1;
    const hy = y.view.ingressIPs.length > 0 ? 0 : 1;
    if (hx !== hy) return hx - hy;
    const cx = x.view.creationTimestamp ?? '\uffff';
    const cy = y.view.creationTimestamp ?? '\uffff';
    if (cx !== cy) return cx < cy ? -1 : 1;
    return x.view.key < y.view.key ? -1 : x.view.key > y.view.key ? 1 : 0;
  });
  const out = new Map<string, Replayed>();
  for (const s of order) {
    try {
      const r = a.assign(s.view, s.namespaceLabels ?? {});
      const entry: Replayed = { ips: r.ips, pool: r.pool };
      if (r.dropped) entry.dropped = r.dropped.reason;
      out.set(s.view.key, entry);
    } catch (e) {
      if (!(e instanceof AllocationError)) throw e;
      out.set(s.view.key, { error: e.dropped ? `${e.dropped.reason}; ${e.message}` : e.message });
    }
  }
  return out;
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x));

/**
 * planPoolChange replays allocation under the current and the next configuration (restore from status, then
 * assign, as the controller does after a restart) and reports, per Service, whether it keeps, changes, loses
 * or gains addresses, and why. Pure: no I/O, the same inputs give the same plan. Entries are sorted by key.
 * Cost: two replays, each O(S · assign) for S Services.
 */
export function planPoolChange(current: Config, next: Config, options: PlanOptions): PlanEntry[] {
  const before = replay(current, options);
  const after = replay(next, options);
  const keys = [...new Set(options.services.map((s) => s.view.key))].sort();
  return keys.map((key) => {
    const b = before.get(key) as Replayed;
    const n = after.get(key) as Replayed;
    const entry: PlanEntry = {
      key,
      outcome: 'pending',
      before: 'ips' in b ? b.ips : [],
      after: 'ips' in n ? n.ips : [],
    };
    if ('pool' in b) entry.beforePool = b.pool;
    if ('pool' in n) entry.afterPool = n.pool;
    if ('error' in n) {
      entry.outcome = entry.before.length > 0 ? 'lose' : 'pending';
      entry.reason = n.error;
    } else if (entry.before.length === 0) {
      entry.outcome = 'gain';
    } else if (sameSet(entry.before, entry.after)) {
      entry.outcome = 'keep';
    } else {
      entry.outcome = 'change';
      entry.reason = n.dropped ?? `would be assigned from pool "${n.pool}"`;
    }
    return entry;
  });
}
