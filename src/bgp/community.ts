// BGP communities in the two forms MetalLB's BGPAdvertisement accepts: standard `asn:value` (RFC 1997, two
// 16-bit halves) and large `large:global:local1:local2` (RFC 8092, three 32-bit parts).

/** LargeCommunity is an RFC 8092 large community; each part is an unsigned 32-bit integer. */
export interface LargeCommunity {
  readonly globalAdmin: number;
  readonly localData1: number;
  readonly localData2: number;
}

/** Community is one parsed community value: a standard one as its 32-bit value, or a large one. */
export type Community =
  | { readonly kind: 'standard'; readonly value: number }
  | { readonly kind: 'large'; readonly value: LargeCommunity };

const UINT = /^(0|[1-9][0-9]*)$/;

function parsePart(text: string, max: number, community: string): number {
  const value = UINT.test(text) ? Number(text) : NaN;
  if (!(value <= max)) {
    throw new RangeError(`Invalid community "${community}": "${text}" is not an integer from 0 to ${max}`);
  }
  return value;
}

/**
 * parseCommunity parses `65000:100` (each half 0–65535) into its 32-bit value `65000 << 16 | 100`, and
 * `large:1:2:3` (each part 0–4294967295) into a LargeCommunity, as MetalLB does. Throws a TypeError for any
 * other shape and a RangeError for an out-of-range part.
 */
export function parseCommunity(text: string): Community {
  const parts = text.split(':');
  if (parts.length === 2) {
    const [high = '', low = ''] = parts;
    return {
      kind: 'standard',
      value: parsePart(high, 0xffff, text) * 0x10000 + parsePart(low, 0xffff, text),
    };
  }
  if (parts.length === 4 && parts[0] === 'large') {
    const [, globalAdmin = '', localData1 = '', localData2 = ''] = parts;
    return {
      kind: 'large',
      value: {
        globalAdmin: parsePart(globalAdmin, 0xffffffff, text),
        localData1: parsePart(localData1, 0xffffffff, text),
        localData2: parsePart(localData2, 0xffffffff, text),
      },
    };
  }
  throw new TypeError(
    `Invalid community "${text}": expected "<0-65535>:<0-65535>" or "large:<uint32>:<uint32>:<uint32>"`,
  );
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
