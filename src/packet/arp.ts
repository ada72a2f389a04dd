import {
  IPV4_ANY,
  MAC_BROADCAST,
  MAC_ZERO,
  ipv4FromBytes,
  ipv4ToBytes,
  macFromBytes,
  macToBytes,
} from './address.ts';
import { decodeFail, decodeOk, view, type Decoded } from './decoded.ts';
import {
  ETHERNET_MIN_FRAME,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  encodeEthernet,
  type VlanTag,
} from './ethernet.ts';

/** ARP_REQUEST is the ARP operation code of a request. */
export const ARP_REQUEST = 1;
/** ARP_REPLY is the ARP operation code of a reply. */
export const ARP_REPLY = 2;
/** ARP_PACKET_LENGTH is the length of an Ethernet/IPv4 ARP packet (RFC 826). */
export const ARP_PACKET_LENGTH = 28;
const HTYPE_ETHERNET = 1;

/** ArpPacket is an Ethernet/IPv4 ARP packet with canonical MAC and IPv4 text. */
export interface ArpPacket {
  op: typeof ARP_REQUEST | typeof ARP_REPLY;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/**
 * decodeArp reads an Ethernet/IPv4 ARP packet (trailing padding ignored). It never throws: fewer than 28 bytes
 * is "truncated"; another hardware or protocol type, address length or operation is "malformed".
 */
export function decodeArp(bytes: Uint8Array): Decoded<ArpPacket> {
  if (bytes.length < ARP_PACKET_LENGTH) {
    return decodeFail('truncated', `ARP packet has ${bytes.length} bytes, needs ${ARP_PACKET_LENGTH}`);
  }
  const dv = view(bytes);
  const htype = dv.getUint16(0);
  const ptype = dv.getUint16(2);
  if (htype !== HTYPE_ETHERNET || ptype !== ETHERTYPE_IPV4 || bytes[4] !== 6 || bytes[5] !== 4) {
    return decodeFail(
      'malformed',
      `ARP packet is not Ethernet/IPv4 (htype ${htype}, ptype 0x${ptype.toString(16)}, hlen ${bytes[4]}, plen ${bytes[5]})`,
    );
  }
  const op = dv.getUint16(6);
  if (op !== ARP_REQUEST && op !== ARP_REPLY)
    return decodeFail('malformed', `ARP packet has unknown operation ${op}`);
  return decodeOk({
    op,
    senderMac: macFromBytes(bytes, 8),
    senderIp: ipv4FromBytes(bytes, 14),
    targetMac: macFromBytes(bytes, 18),
    targetIp: ipv4FromBytes(bytes, 24),
  });
}

/** encodeArp writes the 28 bytes of an ARP packet; it throws TypeError on a bad address. */
export function encodeArp(pkt: ArpPacket): Uint8Array {
  const out = new Uint8Array(ARP_PACKET_LENGTH);
  const dv = view(out);
  dv.setUint16(0, HTYPE_ETHERNET);
  dv.setUint16(2, ETHERTYPE_IPV4);
  out[4] = 6;
  out[5] = 4;
  dv.setUint16(6, pkt.op);
  out.set(macToBytes(pkt.senderMac), 8);
  out.set(ipv4ToBytes(pkt.senderIp), 14);
  out.set(macToBytes(pkt.targetMac), 18);
  out.set(ipv4ToBytes(pkt.targetIp), 24);
  return out;
}

/** ArpFrameOptions chooses the Ethernet destination (broadcast unless given) and VLAN tags of an ARP frame. */
export interface ArpFrameOptions {
  ethernetDst?: string;
  vlans?: readonly VlanTag[];
}

/**
 * arpFrame wraps an ARP packet in an Ethernet frame from senderMac, padded to the 60-byte Ethernet minimum so
 * the bytes on the wire are the bytes built here.
 */
export function arpFrame(pkt: ArpPacket, options: ArpFrameOptions = {}): Uint8Array {
  return encodeEthernet(
    {
      dst: options.ethernetDst ?? MAC_BROADCAST,
      src: pkt.senderMac,
      vlans: options.vlans ?? [],
      etherType: ETHERTYPE_ARP,
      payload: encodeArp(pkt),
    },
    { padTo: ETHERNET_MIN_FRAME + 4 * (options.vlans?.length ?? 0) },
  );
}

/** arpRequest is a broadcast "who has targetIp, tell senderIp" frame with a zero target MAC. */
export function arpRequest(
  sender: { mac: string; ip: string },
  targetIp: string,
  options: ArpFrameOptions = {},
): Uint8Array {
  return arpFrame(
    { op: ARP_REQUEST, senderMac: sender.mac, senderIp: sender.ip, targetMac: MAC_ZERO, targetIp },
    options,
  );
}

/**
 * arpReply answers a request: "ip is at mac", sent to the requester's MAC (unicast) unless options say
 * otherwise. A probe's requester has IP 0.0.0.0; the reply then targets 0.0.0.0, as Linux does.
 */
export function arpReply(
  owner: { mac: string; ip: string },
  requester: { mac: string; ip: string },
  options: ArpFrameOptions = {},
): Uint8Array {
  return arpFrame(
    {
      op: ARP_REPLY,
      senderMac: owner.mac,
      senderIp: owner.ip,
      targetMac: requester.mac,
      targetIp: requester.ip,
    },
    { ethernetDst: requester.mac, ...options },
  );
}

/**
 * gratuitousArp is a broadcast announcement that ip is at mac, with sender IP = target IP. The request form is
 * an RFC 5227 ARP Announcement (target MAC zero); the reply form carries the broadcast MAC as target, as
 * MetalLB and arping -A send it. MetalLB sends both on takeover; so does the speaker.
 */
export function gratuitousArp(
  owner: { mac: string; ip: string },
  op: typeof ARP_REQUEST | typeof ARP_REPLY,
  options: ArpFrameOptions = {},
): Uint8Array {
  return arpFrame(
    {
      op,
      senderMac: owner.mac,
      senderIp: owner.ip,
      targetMac: op === ARP_REQUEST ? MAC_ZERO : MAC_BROADCAST,
      targetIp: owner.ip,
    },
    options,
  );
}

/** arpAnnouncement is the RFC 5227 §2.3 ARP Announcement: a gratuitous request. */
export function arpAnnouncement(
  owner: { mac: string; ip: string },
  options: ArpFrameOptions = {},
): Uint8Array {
  return gratuitousArp(owner, ARP_REQUEST, options);
}

/**
 * arpProbe is the RFC 5227 §2.1.1 ARP Probe for ip: a broadcast request with sender IP 0.0.0.0 and a zero target
 * MAC, so it asks about ip without polluting anyone's ARP cache.
 */
export function arpProbe(mac: string, ip: string, options: ArpFrameOptions = {}): Uint8Array {
  return arpFrame(
    { op: ARP_REQUEST, senderMac: mac, senderIp: IPV4_ANY, targetMac: MAC_ZERO, targetIp: ip },
    options,
  );
}
