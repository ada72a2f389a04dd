// The one IP model: families, addresses, CIDRs and ranges for IPv4 and IPv6, as bigint. Address math on bigint. Parsing and formatting go through the `ip-address` package; every
// other operation is arithmetic on the numeric value, so a /8 or an IPv6 /64 costs the same as a /30.
import { Address4, Address6 } from 'ip-address';
import type { AddressRange } from '../config/model.ts';

/** IPFamily is the address family of an address, prefix, range or Service: the only spelling in IronLB. */
export type IPFamily = 'ipv4' | 'ipv6';

/** Address is one parsed address: its family and its numeric value (IPv4 in [0, 2^32), IPv6 in [0, 2^128)). */
export interface Address {
  family: IPFamily;
  value: bigint;
}

/** Cidr is a prefix: the network address (host bits zero) and the prefix length. */
export interface Cidr {
  family: IPFamily;
  value: bigint;
  prefixLength: number;
}

/** familyBits returns the address width of a family: 32 or 128. */
export function familyBits(family: IPFamily): number {
  return family === 'ipv4' ? 32 : 128;
}

/** familyLabel returns the name users read in messages: "IPv4" or "IPv6". */
export function familyLabel(family: IPFamily): string {
  return family === 'ipv4' ? 'IPv4' : 'IPv6';
}

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

function maxValue(family: IPFamily): bigint {
  return family === 'ipv4' ? V4_MAX : V6_MAX;
}

/**
 * tryParseAddress parses one address written without a prefix length or zone ("192.0.2.1", "2001:db8::1") and
 * returns undefined when the text is not exactly that. IPv4 in dotted quad only (no leading zeros, no short
 * forms); IPv4-mapped IPv6 ("::ffff:192.0.2.1") stays IPv6. Cost: O(length of text).
 */
export function tryParseAddress(text: string): Address | undefined {
  if (text.includes('/') || text.includes('%')) return undefined;
  if (text.includes(':')) {
    if (!Address6.isValid(text)) return undefined;
    return { family: 'ipv6', value: new Address6(text).bigInt() };
  }
  if (!Address4.isValid(text)) return undefined;
  return { family: 'ipv4', value: new Address4(text).bigInt() };
}

/**
 * parseAddress parses one address like tryParseAddress and throws a TypeError naming the text when it is not
 * a valid IPv4 or IPv6 address.
 */
export function parseAddress(text: string): Address {
  const a = tryParseAddress(text);
  if (!a) throw new TypeError(`"${text}" is not a valid IP address`);
  return a;
}

/** addressFamily returns the family of an address written as text, or undefined when it is not an address. */
export function addressFamily(text: string): IPFamily | undefined {
  return tryParseAddress(text)?.family;
}

/**
 * formatAddress returns the canonical text of an address: dotted quad for IPv4, RFC 5952 (lowercase, longest
 * zero run compressed) for IPv6. Throws a RangeError when the value does not fit the family.
 */
export function formatAddress(family: IPFamily, value: bigint): string {
  if (value < 0n || value > maxValue(family)) {
    throw new RangeError(`${value} is not a valid ${familyLabel(family)} address value`);
  }
  if (family === 'ipv4') {
    const n = Number(value);
    return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
  }
  return formatV6(value);
}

// Hand-written because the allocator formats every address it hands out and ip-address's formatter costs
// ~8 µs; the tests check it against ip-address's correctForm().
function formatV6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  return formatIPv6Groups(groups);
}

/**
 * formatIPv6Groups writes eight 16-bit groups as RFC 5952 text: lowercase hex without leading zeros, the longest
 * run of two or more zero groups (the first one on a tie) as "::"; a single zero group is not shortened (§4.2.2).
 */
export function formatIPv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: readonly number[]) => xs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** canonicalAddress returns the canonical text of an address written as text; throws a TypeError if invalid. */
export function canonicalAddress(text: string): string {
  const a = parseAddress(text);
  return formatAddress(a.family, a.value);
}

/**
 * parseRange parses one IPAddressPool `spec.addresses` entry: a CIDR ("192.0.2.0/24", host bits are masked off
 * as MetalLB does) or a range "a-b" (split at the first "-", both sides trimmed, same family, a <= b). A bare
 * address is rejected: write /32 or /128. Throws a TypeError (bad syntax) or RangeError (reversed range, bad
 * prefix length) whose message quotes the text. The returned range keeps the text as written.
 */
export function parseRange(text: string): AddressRange {
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const startText = text.slice(0, dash).trim();
    const endText = text.slice(dash + 1).trim();
    const start = tryParseAddress(startText);
    if (!start) throw new TypeError(`address range "${text}" has an invalid start address "${startText}"`);
    const end = tryParseAddress(endText);
    if (!end) throw new TypeError(`address range "${text}" has an invalid end address "${endText}"`);
    if (start.family !== end.family) {
      throw new TypeError(`address range "${text}" mixes IPv4 and IPv6`);
    }
    if (start.value > end.value) throw new RangeError(`address range "${text}" is reversed`);
    return { family: start.family, first: start.value, last: end.value, text };
  }
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  if (slash < 0) {
    const bare = tryParseAddress(trimmed);
    if (bare) {
      const bits = familyBits(bare.family);
      throw new TypeError(
        `address "${text}" is a single address: write "${trimmed}/${bits}" for one address`,
      );
    }
    throw new TypeError(`"${text}" is neither a CIDR nor an address range`);
  }
  const cidr = parseCidr(trimmed);
  const size = 1n << BigInt(familyBits(cidr.family) - cidr.prefixLength);
  return { family: cidr.family, first: cidr.value, last: cidr.value + size - 1n, text };
}

/**
 * parseCidr parses "address/length" and returns the network (host bits cleared). Throws a TypeError for bad
 * syntax and a RangeError for a prefix length outside 0..32 or 0..128.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new TypeError(`"${text}" is not a CIDR`);
  const addr = tryParseAddress(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!addr) throw new TypeError(`"${text}" is not a valid CIDR`);
  if (!/^\d{1,3}$/.test(lenText)) throw new TypeError(`"${text}" has an invalid prefix length`);
  const prefixLength = Number(lenText);
  const bits = familyBits(addr.family);
  if (prefixLength > bits) {
    throw new RangeError(`"${text}" has prefix length ${prefixLength}, more than ${bits}`);
  }
  const hostBits = BigInt(bits - prefixLength);
  const value = (addr.value >> hostBits) << hostBits;
  return { family: addr.family, value, prefixLength };
}

/**
 * tryParseCidr parses "address/length" (surrounding spaces ignored; with bareAddress, also a lone address as a
 * /32 or /128) and returns the network with host bits cleared, or undefined when the text is not that. Unlike
 * parseCidr it never throws: for lists where the caller names the bad entry itself.
 */
export function tryParseCidr(text: string, options: { bareAddress?: boolean } = {}): Cidr | undefined {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addr = tryParseAddress(slash < 0 ? t : t.slice(0, slash));
  if (!addr) return undefined;
  const bits = familyBits(addr.family);
  let prefixLength = bits;
  if (slash < 0) {
    if (!options.bareAddress) return undefined;
  } else {
    const lenText = t.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return undefined;
    prefixLength = Number(lenText);
    if (prefixLength > bits) return undefined;
  }
  const hostBits = BigInt(bits - prefixLength);
  return { family: addr.family, value: (addr.value >> hostBits) << hostBits, prefixLength };
}

/** cidrContains reports whether network `outer` contains network (or address) `inner`; never across families. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefixLength > inner.prefixLength) return false;
  const shift = BigInt(familyBits(outer.family) - outer.prefixLength);
  return inner.value >> shift === outer.value >> shift;
}

/** rangeSize returns the number of addresses in an inclusive range (bigint: an IPv6 /0 has 2^128). */
export function rangeSize(range: Pick<AddressRange, 'first' | 'last'>): bigint {
  return range.last - range.first + 1n;
}

/** rangeContains reports whether an address of the given family lies inside the range. O(1). */
export function rangeContains(range: AddressRange, address: Address): boolean {
  return range.family === address.family && address.value >= range.first && address.value <= range.last;
}

/** rangesOverlap reports whether two ranges share at least one address (never across families). O(1). */
export function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/**
 * rangeToCidrs splits an inclusive range into the fewest CIDRs that cover it exactly, lowest first. At most
 * 2 × bits prefixes; cost O(bits).
 */
export function rangeToCidrs(range: Pick<AddressRange, 'family' | 'first' | 'last'>): Cidr[] {
  const bits = familyBits(range.family);
  const out: Cidr[] = [];
  let cur = range.first;
  while (cur <= range.last) {
    // The largest block aligned at cur that does not pass the end.
    let host = 0;
    while (host < bits) {
      const next = host + 1;
      const size = 1n << BigInt(next);
      if (cur % size !== 0n || cur + size - 1n > range.last) break;
      host = next;
    }
    out.push({ family: range.family, value: cur, prefixLength: bits - host });
    cur += 1n << BigInt(host);
  }
  return out;
}

/** formatCidr returns "network/length" in canonical text. */
export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.family, cidr.value)}/${cidr.prefixLength}`;
}

/**
 * formatRange returns the canonical text of a range: "network/length" when it is exactly one CIDR, else
 * "first-last".
 */
export function formatRange(range: Pick<AddressRange, 'family' | 'first' | 'last'>): string {
  const cidrs = rangeToCidrs(range);
  if (cidrs.length === 1 && cidrs[0]) return formatCidr(cidrs[0]);
  return `${formatAddress(range.family, range.first)}-${formatAddress(range.family, range.last)}`;
}

/**
 * isBuggyAddress reports whether an address is one avoidBuggyIPs skips: an IPv4 address ending in .0 or .255
 * (old consumer gear drops them as broadcast). Never true for IPv6.
 */
export function isBuggyAddress(address: Address): boolean {
  if (address.family !== 'ipv4') return false;
  const low = address.value & 0xffn;
  return low === 0n || low === 255n;
}

/**
 * usableBelow returns how many addresses in [0, x) are not buggy (low octet 1..254): the rank function that
 * lets a pool with avoidBuggyIPs number its usable addresses densely. O(1).
 */
export function usableBelow(x: bigint): bigint {
  const block = x / 256n;
  const rest = x % 256n;
  const inBlock = rest <= 1n ? 0n : rest >= 255n ? 254n : rest - 1n;
  return block * 254n + inBlock;
}

/** usableAt is the inverse of usableBelow: the address whose rank among non-buggy addresses is `rank`. O(1). */
export function usableAt(rank: bigint): bigint {
  return (rank / 254n) * 256n + 1n + (rank % 254n);
}

/**
 * countBuggy returns how many addresses of an IPv4 range avoidBuggyIPs would skip (0 for IPv6). O(1) however
 * large the range.
 */
export function countBuggy(range: Pick<AddressRange, 'family' | 'first' | 'last'>): bigint {
  if (range.family !== 'ipv4') return 0n;
  return rangeSize(range) - (usableBelow(range.last + 1n) - usableBelow(range.first));
}
