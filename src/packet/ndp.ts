import { IPV6_ALL_NODES, IPV6_ANY, ipv6FromBytes, ipv6ToBytes, macFromBytes, macToBytes } from './address.ts';
import { decodeFail, decodeOk, type Decoded } from './decoded.ts';
import { ETHERTYPE_IPV6, encodeEthernet, type VlanTag } from './ethernet.ts';
import { NEXT_HEADER_ICMPV6, encodeIPv6, encodeIcmpv6 } from './ipv6.ts';

/** ICMPV6_NEIGHBOR_SOLICITATION is the ICMPv6 type of a Neighbor Solicitation (RFC 4861 §4.3). */
export const ICMPV6_NEIGHBOR_SOLICITATION = 135;
/** ICMPV6_NEIGHBOR_ADVERTISEMENT is the ICMPv6 type of a Neighbor Advertisement (RFC 4861 §4.4). */
export const ICMPV6_NEIGHBOR_ADVERTISEMENT = 136;
/** NDP_HOP_LIMIT is the hop limit every Neighbor Discovery message carries and receivers insist on. */
export const NDP_HOP_LIMIT = 255;
/** OPTION_SOURCE_LINK_ADDRESS is the NDP option type of the source link-layer address. */
export const OPTION_SOURCE_LINK_ADDRESS = 1;
/** OPTION_TARGET_LINK_ADDRESS is the NDP option type of the target link-layer address. */
export const OPTION_TARGET_LINK_ADDRESS = 2;

const NA_ROUTER = 0x80;
const NA_SOLICITED = 0x40;
const NA_OVERRIDE = 0x20;
const NDP_FIXED_BODY = 20; // 4 reserved/flag bytes + 16-byte target, after type/code/checksum

/** NeighborSolicitation is a decoded NS: whom it asks about and, unless it is a DAD probe, who asks. */
export interface NeighborSolicitation {
  target: string;
  sourceLinkAddress?: string;
}

/** NeighborAdvertisement is a decoded NA with its three flags and the advertised link-layer address. */
export interface NeighborAdvertisement {
  router: boolean;
  solicited: boolean;
  override: boolean;
  target: string;
  targetLinkAddress?: string;
}

/** solicitedNodeMulticast returns ff02::1:ffXX:XXXX for an IPv6 address (RFC 4291 §2.7.1); throws on bad text. */
export function solicitedNodeMulticast(ip: string): string {
  const b = ipv6ToBytes(ip);
  const out = ipv6ToBytes('ff02::1:ff00:0');
  out[13] = b[13] as number;
  out[14] = b[14] as number;
  out[15] = b[15] as number;
  return ipv6FromBytes(out);
}

/** ipv6MulticastMac returns the Ethernet address 33:33:xx:xx:xx:xx of an IPv6 multicast group (RFC 2464 §7). */
export function ipv6MulticastMac(group: string): string {
  const b = ipv6ToBytes(group);
  const mac = Uint8Array.from([
    0x33,
    0x33,
    b[12] as number,
    b[13] as number,
    b[14] as number,
    b[15] as number,
  ]);
  return macFromBytes(mac);
}

/** isSolicitedNodeMulticast reports whether canonical IPv6 text is in ff02::1:ff00:0/104. */
export function isSolicitedNodeMulticast(ip: string): boolean {
  return /^ff02::1:ff[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(ip);
}

/** isIPv6Multicast reports whether canonical IPv6 text is a multicast address (ff00::/8). */
export function isIPv6Multicast(ip: string): boolean {
  return /^ff[0-9a-f]{2}:/.test(ip);
}

function linkAddressOption(type: number, mac: string): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = type;
  out[1] = 1;
  out.set(macToBytes(mac), 2);
  return out;
}

/**
 * Reads the options after the fixed part and returns the first link-layer address option of the wanted type.
 * RFC 4861 §4.6: an option of length 0 makes the whole message invalid.
 */
function findLinkAddress(body: Uint8Array, wanted: number): Decoded<string | undefined> {
  let found: string | undefined;
  for (let off = NDP_FIXED_BODY; off < body.length;) {
    if (off + 2 > body.length) return decodeFail('truncated', 'NDP option header is cut off');
    const type = body[off] as number;
    const len = (body[off + 1] as number) * 8;
    if (len === 0) return decodeFail('malformed', `NDP option of type ${type} has length 0`);
    if (off + len > body.length)
      return decodeFail('truncated', `NDP option of type ${type} runs past the message`);
    if (type === wanted && found === undefined && len >= 8) found = macFromBytes(body, off + 2);
    off += len;
  }
  return decodeOk(found);
}

/**
 * decodeNeighborSolicitation reads the body of an ICMPv6 type-135 message (after type, code, checksum). It
 * never throws: a body under 20 bytes or a cut option is "truncated", a zero-length option "malformed".
 */
export function decodeNeighborSolicitation(body: Uint8Array): Decoded<NeighborSolicitation> {
  if (body.length < NDP_FIXED_BODY) {
    return decodeFail(
      'truncated',
      `Neighbor Solicitation body has ${body.length} bytes, needs ${NDP_FIXED_BODY}`,
    );
  }
  const lla = findLinkAddress(body, OPTION_SOURCE_LINK_ADDRESS);
  if (!lla.ok) return lla;
  const target = ipv6FromBytes(body, 4);
  return decodeOk(lla.value === undefined ? { target } : { target, sourceLinkAddress: lla.value });
}

/** encodeNeighborSolicitation writes an NS body (after type, code, checksum), with the source LLA option if given. */
export function encodeNeighborSolicitation(ns: NeighborSolicitation): Uint8Array {
  const opt = ns.sourceLinkAddress === undefined ? undefined : linkAddressOption(1, ns.sourceLinkAddress);
  const out = new Uint8Array(NDP_FIXED_BODY + (opt?.length ?? 0));
  out.set(ipv6ToBytes(ns.target), 4);
  if (opt) out.set(opt, NDP_FIXED_BODY);
  return out;
}

/**
 * decodeNeighborAdvertisement reads the body of an ICMPv6 type-136 message (after type, code, checksum). It
 * never throws: a body under 20 bytes or a cut option is "truncated", a zero-length option "malformed".
 */
export function decodeNeighborAdvertisement(body: Uint8Array): Decoded<NeighborAdvertisement> {
  if (body.length < NDP_FIXED_BODY) {
    return decodeFail(
      'truncated',
      `Neighbor Advertisement body has ${body.length} bytes, needs ${NDP_FIXED_BODY}`,
    );
  }
  const lla = findLinkAddress(body, OPTION_TARGET_LINK_ADDRESS);
  if (!lla.ok) return lla;
  const flags = body[0] as number;
  const na: NeighborAdvertisement = {
    router: (flags & NA_ROUTER) !== 0,
    solicited: (flags & NA_SOLICITED) !== 0,
    override: (flags & NA_OVERRIDE) !== 0,
    target: ipv6FromBytes(body, 4),
  };
  if (lla.value !== undefined) na.targetLinkAddress = lla.value;
  return decodeOk(na);
}

/** encodeNeighborAdvertisement writes an NA body (after type, code, checksum), with the target LLA option if given. */
export function encodeNeighborAdvertisement(na: NeighborAdvertisement): Uint8Array {
  const opt = na.targetLinkAddress === undefined ? undefined : linkAddressOption(2, na.targetLinkAddress);
  const out = new Uint8Array(NDP_FIXED_BODY + (opt?.length ?? 0));
  out[0] = (na.router ? NA_ROUTER : 0) | (na.solicited ? NA_SOLICITED : 0) | (na.override ? NA_OVERRIDE : 0);
  out.set(ipv6ToBytes(na.target), 4);
  if (opt) out.set(opt, NDP_FIXED_BODY);
  return out;
}

/** NdpFrameInput names the link-layer and IPv6 ends of an NDP frame and its ICMPv6 type and body. */
export interface NdpFrameInput {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  type: number;
  body: Uint8Array;
  vlans?: readonly VlanTag[];
}

/** ndpFrame builds Ethernet + IPv6 (hop limit 255) + ICMPv6 with a correct checksum around an NDP body. */
export function ndpFrame(input: NdpFrameInput): Uint8Array {
  const icmp = encodeIcmpv6(input.srcIp, input.dstIp, { type: input.type, code: 0, body: input.body });
  const ip = encodeIPv6({
    nextHeader: NEXT_HEADER_ICMPV6,
    hopLimit: NDP_HOP_LIMIT,
    src: input.srcIp,
    dst: input.dstIp,
    payload: icmp,
  });
  return encodeEthernet({
    dst: input.dstMac,
    src: input.srcMac,
    vlans: input.vlans ?? [],
    etherType: ETHERTYPE_IPV6,
    payload: ip,
  });
}

/**
 * neighborSolicitation asks who has target: from sender's unicast address to target's solicited-node group,
 * carrying sender's MAC as the source link-layer address option.
 */
export function neighborSolicitation(
  sender: { mac: string; ip: string },
  target: string,
  options: { vlans?: readonly VlanTag[] } = {},
): Uint8Array {
  const group = solicitedNodeMulticast(target);
  return ndpFrame({
    srcMac: sender.mac,
    dstMac: ipv6MulticastMac(group),
    srcIp: sender.ip,
    dstIp: group,
    type: ICMPV6_NEIGHBOR_SOLICITATION,
    body: encodeNeighborSolicitation({ target, sourceLinkAddress: sender.mac }),
    vlans: options.vlans ?? [],
  });
}

/**
 * dadProbe is the RFC 4862 §5.4.2 duplicate address detection probe for target: an NS from :: to target's
 * solicited-node group with no source link-layer address option.
 */
export function dadProbe(
  mac: string,
  target: string,
  options: { vlans?: readonly VlanTag[] } = {},
): Uint8Array {
  const group = solicitedNodeMulticast(target);
  return ndpFrame({
    srcMac: mac,
    dstMac: ipv6MulticastMac(group),
    srcIp: IPV6_ANY,
    dstIp: group,
    type: ICMPV6_NEIGHBOR_SOLICITATION,
    body: encodeNeighborSolicitation({ target }),
    vlans: options.vlans ?? [],
  });
}

/** NeighborAdvertisementOptions tunes an NA frame: flags, IPv6 source (default: the target itself) and VLANs. */
export interface NeighborAdvertisementOptions {
  solicited: boolean;
  override: boolean;
  /** sourceIp defaults to the advertised address itself, as Linux answers for addresses it owns. */
  sourceIp?: string;
  vlans?: readonly VlanTag[];
}

/**
 * neighborAdvertisement tells `to` that owner.ip is at owner.mac, with the target link-layer address option
 * and router flag clear. RFC 4861 §7.2.4 picks the flags: solicited for a unicast answer, override unless
 * the address is anycast or proxied.
 */
export function neighborAdvertisement(
  owner: { mac: string; ip: string },
  to: { mac: string; ip: string },
  options: NeighborAdvertisementOptions,
): Uint8Array {
  return ndpFrame({
    srcMac: owner.mac,
    dstMac: to.mac,
    srcIp: options.sourceIp ?? owner.ip,
    dstIp: to.ip,
    type: ICMPV6_NEIGHBOR_ADVERTISEMENT,
    body: encodeNeighborAdvertisement({
      router: false,
      solicited: options.solicited,
      override: options.override,
      target: owner.ip,
      targetLinkAddress: owner.mac,
    }),
    vlans: options.vlans ?? [],
  });
}

/**
 * unsolicitedNeighborAdvertisement is the IPv6 counterpart of gratuitous ARP (RFC 4861 §7.2.6): an NA to
 * all-nodes ff02::1 (33:33:00:00:00:01) with Override set and Solicited clear, so neighbours replace a cached
 * link-layer address.
 */
export function unsolicitedNeighborAdvertisement(
  owner: { mac: string; ip: string },
  options: { sourceIp?: string; vlans?: readonly VlanTag[] } = {},
): Uint8Array {
  return neighborAdvertisement(
    owner,
    { mac: ipv6MulticastMac(IPV6_ALL_NODES), ip: IPV6_ALL_NODES },
    { solicited: false, override: true, ...options },
  );
}
