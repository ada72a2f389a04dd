// The one rule for which addresses may be given to a Service. Pools are checked against it by the parse step,
// so the webhook, the controller's allocator and `ironlb plan` all refuse the same pools for the same reason.
import type { AddressRange, IPFamily } from '../config/model.ts';
import { familyBits, formatCidr, parseCidr, type Cidr } from './address.ts';

/** SpecialRange is a block of addresses no Service may receive, with the name users read in messages. */
export interface SpecialRange {
  /** name says what the block is: "loopback", "multicast", … */
  name: string;
  cidr: Cidr;
  /** text is the block in canonical CIDR form, e.g. "127.0.0.0/8". */
  text: string;
}

// Order matters only for the message: the first match is reported, so the narrow, well-known names
// (broadcast, unspecified) come before the wide blocks that contain them (240.0.0.0/4, 0.0.0.0/8).
// Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are deliberately
// absent: the lab and many test clusters use them. Private ranges (RFC 1918, ULA) are what pools usually hold.
const SPECIAL: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0/32', 'unspecified'],
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', '"this network" (unspecified)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::ffff:0:0/96', 'IPv4-mapped'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
];

/** SPECIAL_RANGES lists every block the usable-address rule refuses, in the order they are reported. */
export const SPECIAL_RANGES: readonly SpecialRange[] = SPECIAL.map(([text, name]) => {
  const cidr = parseCidr(text);
  return { name, cidr, text: formatCidr(cidr) };
});

function asRange(s: SpecialRange): Pick<AddressRange, 'family' | 'first' | 'last'> {
  const bits = familyBits(s.cidr.family);
  const size = 1n << BigInt(bits - s.cidr.prefixLength);
  return { family: s.cidr.family, first: s.cidr.value, last: s.cidr.value + size - 1n };
}

const SPECIAL_AS_RANGES = SPECIAL_RANGES.map((s) => ({ special: s, range: asRange(s) }));

/**
 * specialRangeIn returns a special block that shares at least one address with the range, or undefined when
 * every address of the range is usable. When the range holds whole blocks, the largest of them is named
 * (240.0.0.0/4 is "reserved", though it holds the broadcast address); otherwise the first block in
 * SPECIAL_RANGES order, narrowest names first. O(number of special blocks).
 */
export function specialRangeIn(
  range: Pick<AddressRange, 'family' | 'first' | 'last'>,
): SpecialRange | undefined {
  let first: SpecialRange | undefined;
  let widest: { special: SpecialRange; size: bigint } | undefined;
  for (const { special, range: r } of SPECIAL_AS_RANGES) {
    if (r.family !== range.family || r.first > range.last || range.first > r.last) continue;
    first ??= special;
    const size = r.last - r.first;
    if (range.first <= r.first && r.last <= range.last && (!widest || size > widest.size)) {
      widest = { special, size };
    }
  }
  return widest?.special ?? first;
}

/** isUsableAddress reports whether one address may be given to a Service (no special block contains it). */
export function isUsableAddress(address: { family: IPFamily; value: bigint }): boolean {
  return specialRangeIn({ family: address.family, first: address.value, last: address.value }) === undefined;
}

/**
 * unusableRangeReason says why a pool's address entry is refused, naming the entry and the block:
 * `address range "0.0.0.0/31" includes addresses in 0.0.0.0/32 (unspecified), which no Service may receive` (the parse
 * step prefixes the pool). Undefined when the range is usable. A range that is only partly special is refused
 * whole: a pool silently smaller than written surprises more than a clear refusal, which is what MetalLB users
 * expect from a bad pool.
 */
export function unusableRangeReason(range: AddressRange): string | undefined {
  const s = specialRangeIn(range);
  if (!s) return undefined;
  return `address range "${range.text}" includes addresses in ${s.text} (${s.name}), which no Service may receive`;
}
