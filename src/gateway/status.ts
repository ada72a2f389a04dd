// Gateway API status writes, decided purely: conditions keep their lastTransitionTime while their status holds,
// our route parent entries replace only our own (other controllers' entries are kept), and a write is needed
// only when something besides the times differs.
import type { Condition, RouteParentStatusObject } from './types.ts';

/**
 * mergeConditions returns `next` with lastTransitionTime taken from `previous` when a condition of the same type
 * kept its status, else `now` (RFC 3339).
 */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  next: readonly Condition[],
  now: string,
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    return {
      ...c,
      lastTransitionTime:
        old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now,
    };
  });
}

/** withoutTimes drops every lastTransitionTime in a JSON-able value (to compare statuses). */
function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      if (k === 'lastTransitionTime') continue;
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = withoutTimes(v);
    }
    return out;
  }
  return value;
}

/** sameStatus tells whether two statuses are equal apart from condition transition times and key order. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return JSON.stringify(withoutTimes(a)) === JSON.stringify(withoutTimes(b));
}

function sameParent(
  a: RouteParentStatusObject['parentRef'],
  b: RouteParentStatusObject['parentRef'],
): boolean {
  return (
    (a.group ?? 'gateway.networking.k8s.io') === (b.group ?? 'gateway.networking.k8s.io') &&
    (a.kind ?? 'Gateway') === (b.kind ?? 'Gateway') &&
    (a.namespace ?? '') === (b.namespace ?? '') &&
    a.name === b.name &&
    (a.sectionName ?? '') === (b.sectionName ?? '') &&
    (a.port ?? 0) === (b.port ?? 0)
  );
}

/**
 * mergeRouteParents returns a route's `status.parents`: every entry of another controller as it is, then ours
 * (`ours`, with transition times carried over from our previous entry for the same parentRef). Entries we wrote
 * for parents that are no longer ours are dropped.
 */
export function mergeRouteParents(
  existing: readonly RouteParentStatusObject[] | undefined,
  ours: readonly RouteParentStatusObject[],
  controllerName: string,
  now: string,
): RouteParentStatusObject[] {
  const others = (existing ?? []).filter((p) => p.controllerName !== controllerName);
  const mine = (existing ?? []).filter((p) => p.controllerName === controllerName);
  return [
    ...others,
    ...ours.map((p) => ({
      ...p,
      conditions: mergeConditions(
        mine.find((m) => sameParent(m.parentRef, p.parentRef))?.conditions,
        p.conditions,
        now,
      ),
    })),
  ];
}
