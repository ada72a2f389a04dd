// Address parsing and prefix aggregation for BGP paths. Kept local to src/bgp so path building does not
// depend on the shape of the allocator's address types; the lead may swap in a shared module later.

/** AddressFamily is the IP version of an address or prefix. */
export type AddressFamily = 'ipv4' | 'ipv6';

/** IPAddress is a parsed address: its family and its value as an unsigned integer (32 or 128 bits). */
export interface IPAddress {
  readonly family: AddressFamily;
  readonly value: bigint;
}

/**
 * Prefix is a network prefix whose host bits are zero: `address` is the canonical text of the network address
 * (dotted quad, or RFC 5952 for IPv6, which is how gobgpd and FRR print it) and `length` the mask length.
 */
export interface Prefix {
  readonly family: AddressFamily;
  readonly address: string;
  readonly length: number;
}

/** MAX_PREFIX_LENGTH is the address width in bits per family. */
export const MAX_PREFIX_LENGTH: Readonly<Record<AddressFamily, number>> = { ipv4: 32, ipv6: 128 };

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!DECIMAL_OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseGroups(text: string): bigint[] | undefined {
  if (text === '') return [];
  const groups: bigint[] = [];
  const parts = text.split(':');
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (v4 === undefined) return undefined;
      groups.push(v4 >> 16n, v4 & 0xffffn);
    } else if (HEX_GROUP.test(part)) {
      groups.push(BigInt(`0x${part}`));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseIPv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const group of [...head, ...Array<bigint>(missing).fill(0n), ...tail]) value = (value << 16n) | group;
  return value;
}

/**
 * parseIPAddress parses a textual IPv4 (dotted quad, no leading zeros) or IPv6 address (no zone). Throws a
 * TypeError naming the text when it is neither.
 */
export function parseIPAddress(text: string): IPAddress {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    if (value !== undefined) return { family: 'ipv6', value };
  } else {
    const value = parseIPv4(text);
    if (value !== undefined) return { family: 'ipv4', value };
  }
  throw new TypeError(`Invalid IP address "${text}"`);
}

/** formatIPAddress prints an address canonically: dotted quad for IPv4, RFC 5952 (lowercase, longest zero run compressed) for IPv6. */
export function formatIPAddress(address: IPAddress): string {
  if (address.family === 'ipv4') {
    return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((address.value >> shift) & 0xffffn));
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** isUnspecifiedAddress reports whether the text is `0.0.0.0` or `::` (gobgpd: "use my session address"). */
export function isUnspecifiedAddress(text: string): boolean {
  return parseIPAddress(text).value === 0n;
}

/**
 * maskPrefix returns the prefix of the given length that contains the address (host bits cleared). Throws a
 * RangeError when the length is not an integer between 0 and the family's width.
 */
export function maskPrefix(address: IPAddress, length: number): Prefix {
  const width = MAX_PREFIX_LENGTH[address.family];
  if (!Number.isInteger(length) || length < 0 || length > width) {
    throw new RangeError(
      `Invalid ${address.family} prefix length ${length}: must be an integer from 0 to ${width}`,
    );
  }
  const hostBits = BigInt(width - length);
  const value = (address.value >> hostBits) << hostBits;
  return { family: address.family, address: formatIPAddress({ family: address.family, value }), length };
}

/** parsePrefix parses `address/length` and requires the host bits to be zero (as gobgpd and FRR print prefixes). */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const lengthText = text.slice(slash + 1);
  if (slash < 0 || !/^[0-9]{1,3}$/.test(lengthText)) throw new TypeError(`Invalid prefix "${text}"`);
  const address = parseIPAddress(text.slice(0, slash));
  const prefix = maskPrefix(address, Number(lengthText));
  if (parseIPAddress(prefix.address).value !== address.value) {
    throw new TypeError(`Invalid prefix "${text}": host bits are set`);
  }
  return prefix;
}

/** formatPrefix prints a prefix as `address/length`, the form gobgpd's ListPath and FRR's JSON use as keys. */
export function formatPrefix(prefix: Prefix): string {
  return `${prefix.address}/${prefix.length}`;
}
