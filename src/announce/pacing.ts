// When the speaker plans again. A plan looks at every Service (src/announce/snapshot.ts and the announcers'
// plans), so its cost grows with the cluster; a change arriving while Services are created by the thousand would
// otherwise start one plan after another and keep the speaker's core busy (measured on the lab: three speakers
// planning back to back took both of its cores at 3,000 Services and starved the API server).

/** PlanPacing says how the speaker spaces its plans while changes keep arriving. */
export interface PlanPacing {
  /** minMs: changes within this window after the first one are planned once. */
  minMs: number;
  /** factor: after a plan that took d ms, the next one starts no sooner than factor × d after it ended. */
  factor: number;
  /** maxMs caps that wait, so a slow plan never holds a change back longer than this (plus minMs). */
  maxMs: number;
}

/** PLAN_PACING is the speaker's pacing: at most a quarter of a core on planning while changes keep coming. */
export const PLAN_PACING: PlanPacing = { minMs: 20, factor: 3, maxMs: 2000 };

/**
 * nextPlanDelay returns how long to wait (ms) before planning a change that arrives sinceLastPlanMs after the last
 * plan ended, given that plan's duration lastPlanMs. Guarantees: never less than minMs (a burst is planned once);
 * never more than max(minMs, min(maxMs, factor × lastPlanMs)); and the next plan starts at least
 * min(maxMs, factor × lastPlanMs) after the last one ended, so while changes keep arriving planning takes at most
 * 1/(1 + factor) of the time (when plans are shorter than maxMs / factor). A change after a quiet spell waits minMs.
 */
export function nextPlanDelay(
  pacing: PlanPacing,
  last: { lastPlanMs: number; sinceLastPlanMs: number },
): number {
  const gap = Math.min(pacing.maxMs, pacing.factor * Math.max(0, last.lastPlanMs));
  return Math.max(pacing.minMs, gap - Math.max(0, last.sinceLastPlanMs));
}
