// Prefixes for BGP paths, on the one address module (src/address): the parse and format rules are the
// allocator's, so an address the controller hands out is the address the speaker advertises.
import { formatAddress, tryParseAddress, type Address, type IPFamily } from '../address/address.ts';

/** AddressFamily is the IP version of an address or prefix (the one IPFamily). */
export type AddressFamily = IPFamily;

/** IPAddress is a parsed address: its family and its value as an unsigned integer (32 or 128 bits). */
export type IPAddress = Readonly<Address>;

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

/**
 * parseIPAddress parses a textual IPv4 (dotted quad, no leading zeros) or IPv6 address (no zone). Throws a
 * TypeError naming the text when it is neither.
 */
export function parseIPAddress(text: string): IPAddress {
  const a = tryParseAddress(text);
  if (!a) throw new TypeError(`Invalid IP address "${text}"`);
  return a;
}

/** formatIPAddress prints an address canonically: dotted quad for IPv4, RFC 5952 (lowercase, longest zero run compressed) for IPv6. */
export function formatIPAddress(address: IPAddress): string {
  return formatAddress(address.family, address.value);
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
