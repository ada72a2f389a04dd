import { macFromBytes, macToBytes } from './address.ts';
import { decodeFail, decodeOk, view, type Decoded } from './decoded.ts';

/** ETHERTYPE_IPV4 is the EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** ETHERTYPE_ARP is the EtherType of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** ETHERTYPE_IPV6 is the EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** ETHERTYPE_VLAN is the 802.1Q customer VLAN tag protocol identifier. */
export const ETHERTYPE_VLAN = 0x8100;
/** ETHERTYPE_QINQ is the 802.1ad service VLAN tag protocol identifier. */
export const ETHERTYPE_QINQ = 0x88a8;

/** ETHERNET_HEADER_LENGTH is the length of an untagged Ethernet II header (dst, src, EtherType). */
export const ETHERNET_HEADER_LENGTH = 14;
/** ETHERNET_MIN_FRAME is the minimum Ethernet frame length without the frame check sequence. */
export const ETHERNET_MIN_FRAME = 60;
/** MAX_VLAN_TAGS is how many stacked VLAN tags decodeEthernet skips (802.1ad outer + 802.1Q inner). */
export const MAX_VLAN_TAGS = 2;

/** VlanTag is one 802.1Q/802.1ad tag: protocol identifier, priority, drop-eligible bit and VLAN id. */
export interface VlanTag {
  tpid: number;
  pcp: number;
  dei: boolean;
  vid: number;
}

/** EthernetFrame is a decoded Ethernet II frame; payload is a view into the decoded bytes, not a copy. */
export interface EthernetFrame {
  dst: string;
  src: string;
  /** vlans lists the tags outermost first; empty for an untagged frame. */
  vlans: VlanTag[];
  etherType: number;
  payload: Uint8Array;
}

/** EthernetInput is what encodeEthernet needs; vlans defaults to untagged. */
export interface EthernetInput {
  dst: string;
  src: string;
  vlans?: readonly VlanTag[];
  etherType: number;
  payload: Uint8Array;
}

const isTpid = (t: number): boolean => t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ;

/**
 * decodeEthernet reads an Ethernet II header, skipping up to MAX_VLAN_TAGS VLAN tags. It never throws: short
 * input is "truncated", more stacked tags than supported or an 802.3 length field are "malformed".
 */
export function decodeEthernet(frame: Uint8Array): Decoded<EthernetFrame> {
  if (frame.length < ETHERNET_HEADER_LENGTH) {
    return decodeFail(
      'truncated',
      `Ethernet frame has ${frame.length} bytes, needs ${ETHERNET_HEADER_LENGTH}`,
    );
  }
  const dv = view(frame);
  const vlans: VlanTag[] = [];
  let off = 12;
  let type = dv.getUint16(off);
  while (isTpid(type)) {
    if (vlans.length === MAX_VLAN_TAGS) {
      return decodeFail('malformed', `Ethernet frame has more than ${MAX_VLAN_TAGS} VLAN tags`);
    }
    if (frame.length < off + 6) return decodeFail('truncated', 'Ethernet frame ends inside a VLAN tag');
    const tci = dv.getUint16(off + 2);
    vlans.push({ tpid: type, pcp: tci >> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    off += 4;
    type = dv.getUint16(off);
  }
  if (type < 0x0600) {
    return decodeFail('malformed', `Ethernet frame carries an 802.3 length (${type}), not an EtherType`);
  }
  return decodeOk({
    dst: macFromBytes(frame, 0),
    src: macFromBytes(frame, 6),
    vlans,
    etherType: type,
    payload: frame.subarray(off + 2),
  });
}

/**
 * encodeEthernet builds an Ethernet II frame; with padTo it appends zero bytes up to that length (use
 * ETHERNET_MIN_FRAME for frames sent on real NICs). It throws TypeError on a bad MAC or field value.
 */
export function encodeEthernet(input: EthernetInput, options: { padTo?: number } = {}): Uint8Array {
  const vlans = input.vlans ?? [];
  if (input.etherType < 0x0600 || input.etherType > 0xffff) {
    throw new TypeError(`Invalid EtherType ${input.etherType} for Ethernet frame`);
  }
  const header = ETHERNET_HEADER_LENGTH + 4 * vlans.length;
  const length = Math.max(header + input.payload.length, options.padTo ?? 0);
  const out = new Uint8Array(length);
  const dv = view(out);
  out.set(macToBytes(input.dst), 0);
  out.set(macToBytes(input.src), 6);
  let off = 12;
  for (const tag of vlans) {
    if (!isTpid(tag.tpid) || tag.vid < 0 || tag.vid > 0xfff || tag.pcp < 0 || tag.pcp > 7) {
      throw new TypeError(`Invalid VLAN tag ${JSON.stringify(tag)} for Ethernet frame`);
    }
    dv.setUint16(off, tag.tpid);
    dv.setUint16(off + 2, (tag.pcp << 13) | (tag.dei ? 0x1000 : 0) | tag.vid);
    off += 4;
  }
  dv.setUint16(off, input.etherType);
  out.set(input.payload, off + 2);
  return out;
}
