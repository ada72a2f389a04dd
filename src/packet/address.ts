// Text <-> byte forms of the link-layer and IP addresses that appear in ARP and NDP frames. Decoders in this
// folder return canonical text (lowercase MAC with colons, dotted IPv4, RFC 5952 IPv6), so a decoded address
// can be compared with === and looked up in a Set.
import { formatIPv6Groups, type IPFamily } from '../address/address.ts';

/** MAC_BROADCAST is the Ethernet broadcast address ff:ff:ff:ff:ff:ff. */
export const MAC_BROADCAST = 'ff:ff:ff:ff:ff:ff';
/** MAC_ZERO is the all-zero MAC, used as the unknown target hardware address in ARP requests (RFC 5227). */
export const MAC_ZERO = '00:00:00:00:00:00';
/** IPV4_ANY is 0.0.0.0, the sender address of an RFC 5227 ARP probe. */
export const IPV4_ANY = '0.0.0.0';
/** IPV6_ANY is ::, the source address of an RFC 4862 duplicate address detection probe. */
export const IPV6_ANY = '::';
/** IPV6_ALL_NODES is ff02::1, the destination of unsolicited Neighbor Advertisements. */
export const IPV6_ALL_NODES = 'ff02::1';

/** macToBytes parses "aa:bb:cc:dd:ee:ff" (or with "-") into 6 bytes; it throws TypeError on anything else. */
export function macToBytes(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`Invalid MAC address "${mac}"`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** macFromBytes formats 6 bytes at offset as a lowercase, colon-separated MAC; it never throws for valid offsets. */
export function macFromBytes(bytes: Uint8Array, offset = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    const b = bytes[offset + i] ?? 0;
    s += (i ? ':' : '') + (b < 16 ? '0' : '') + b.toString(16);
  }
  return s;
}

/** canonicalMac returns the lowercase colon form of a MAC, or throws TypeError when it is not one. */
export function canonicalMac(mac: string): string {
  return macFromBytes(macToBytes(mac));
}

/** ipv4ToBytes parses a dotted-quad IPv4 address into 4 bytes; it throws TypeError on anything else. */
export function ipv4ToBytes(ip: string): Uint8Array {
  const out = tryIPv4(ip);
  if (!out) throw new TypeError(`Invalid IPv4 address "${ip}"`);
  return out;
}

function tryIPv4(ip: string): Uint8Array | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** ipv4FromBytes formats 4 bytes at offset as a dotted quad. */
export function ipv4FromBytes(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset] ?? 0}.${bytes[offset + 1] ?? 0}.${bytes[offset + 2] ?? 0}.${bytes[offset + 3] ?? 0}`;
}

/**
 * ipv6ToBytes parses an IPv6 address (any RFC 4291 text form, including "::" and a trailing dotted IPv4) into 16
 * bytes; it throws TypeError on anything else, including zone suffixes.
 */
export function ipv6ToBytes(ip: string): Uint8Array {
  const out = tryIPv6(ip);
  if (!out) throw new TypeError(`Invalid IPv6 address "${ip}"`);
  return out;
}

function tryIPv6(ip: string): Uint8Array | undefined {
  if (ip.length < 2 || ip.length > 45) return undefined;
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (text.includes('.', lastColon)) {
    // A trailing dotted quad stands for the last two groups (RFC 4291 §2.2 form 3).
    const v4 = tryIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    const hi = (((v4[0] as number) << 8) | (v4[1] as number)).toString(16);
    const lo = (((v4[2] as number) << 8) | (v4[3] as number)).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const nums: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      nums.push(parseInt(g, 16));
    }
    return nums;
  };
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  if (!head || !rest) return undefined;
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - total).fill(0), ...rest];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** ipv6FromBytes formats 16 bytes at offset in RFC 5952 canonical form (lowercase, longest zero run as "::"). */
export function ipv6FromBytes(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++)
    groups.push(((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0));
  return formatIPv6Groups(groups);
}

/** IPFamilyName is the family of an address as the packet layer reports it (the one IPFamily). */
export type IPFamilyName = IPFamily;

/**
 * canonicalIP returns the canonical text of an IPv4 or IPv6 address and its family, or undefined when the text
 * is neither. Use it to build the announced-address sets the classifier looks up.
 */
export function canonicalIP(ip: string): { ip: string; family: IPFamilyName } | undefined {
  const v4 = tryIPv4(ip);
  if (v4) return { ip: ipv4FromBytes(v4), family: 'ipv4' };
  const v6 = tryIPv6(ip);
  if (v6) return { ip: ipv6FromBytes(v6), family: 'ipv6' };
  return undefined;
}

/** bytesEqual reports whether two byte ranges hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
