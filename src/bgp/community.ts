// BGP communities as they go on the wire: standard ones as 32-bit values (RFC 1997, two 16-bit halves) and
// large ones (RFC 8092, three 32-bit parts). Text is parsed once, by the config parse step
// (src/config/community.ts); this file checks, orders and prints the wire values.

import type { Community as ModelCommunity } from '../config/model.ts';

/** LargeCommunity is an RFC 8092 large community; each part is an unsigned 32-bit integer. */
export interface LargeCommunity {
  readonly globalAdmin: number;
  readonly localData1: number;
  readonly localData2: number;
}

/** formatStandardCommunity prints a 32-bit community as `high:low` (FRR's JSON shows the same form). */
export function formatStandardCommunity(value: number): string {
  return `${Math.floor(value / 0x10000)}:${value % 0x10000}`;
}

/** formatLargeCommunity prints a large community as `global:local1:local2` (FRR's JSON form, no marker). */
export function formatLargeCommunity(value: LargeCommunity): string {
  return `${value.globalAdmin}:${value.localData1}:${value.localData2}`;
}

/** assertStandardCommunity throws a RangeError unless the value is an unsigned 32-bit integer. */
export function assertStandardCommunity(value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Invalid standard community value ${value}: must be an unsigned 32-bit integer`);
  }
}

/** assertLargeCommunity throws a RangeError unless every part is an unsigned 32-bit integer. */
export function assertLargeCommunity(value: LargeCommunity): void {
  for (const part of [value.globalAdmin, value.localData1, value.localData2]) {
    if (!Number.isInteger(part) || part < 0 || part > 0xffffffff) {
      throw new RangeError(
        `Invalid large community "${formatLargeCommunity(value)}": parts must be unsigned 32-bit integers`,
      );
    }
  }
}

/** normalizeStandardCommunities returns the values sorted ascending without duplicates (validated). */
export function normalizeStandardCommunities(values: readonly number[]): number[] {
  values.forEach(assertStandardCommunity);
  return [...new Set(values)].sort((a, b) => a - b);
}

function compareLarge(a: LargeCommunity, b: LargeCommunity): number {
  return a.globalAdmin - b.globalAdmin || a.localData1 - b.localData1 || a.localData2 - b.localData2;
}

/** normalizeLargeCommunities returns the values sorted by (global, local1, local2) without duplicates (validated). */
export function normalizeLargeCommunities(values: readonly LargeCommunity[]): LargeCommunity[] {
  values.forEach(assertLargeCommunity);
  const sorted = [...values].sort(compareLarge);
  return sorted
    .filter((value, i) => i === 0 || compareLarge(value, sorted[i - 1] as LargeCommunity) !== 0)
    .map(({ globalAdmin, localData1, localData2 }) => ({ globalAdmin, localData1, localData2 }));
}

/**
 * wireCommunities turns parsed communities (the config model's, from src/config/community.ts) into the path
 * builder's wire values: standard ones as 32-bit numbers, large ones as three parts. Order is kept.
 */
export function wireCommunities(list: readonly ModelCommunity[]): {
  communities: number[];
  largeCommunities: LargeCommunity[];
} {
  const communities: number[] = [];
  const largeCommunities: LargeCommunity[] = [];
  for (const c of list) {
    if (c.kind === 'standard') communities.push(c.asn * 0x10000 + c.value);
    else largeCommunities.push({ globalAdmin: c.global, localData1: c.local1, localData2: c.local2 });
  }
  return { communities, largeCommunities };
}
