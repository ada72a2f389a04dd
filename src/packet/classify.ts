// The pure heart of the L2 responder: one received frame in, one decision out. The socket loop in speaker/l2
// only reads, calls classifyFrame, sends the reply and counts the reason.
import { IPV4_ANY, IPV6_ALL_NODES, IPV6_ANY, MAC_BROADCAST, type IPFamilyName } from './address.ts';
import { ARP_REQUEST, arpReply, decodeArp } from './arp.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, decodeEthernet, type EthernetFrame } from './ethernet.ts';
import { NEXT_HEADER_ICMPV6, decodeIPv6, decodeIcmpv6 } from './ipv6.ts';
import {
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  NDP_HOP_LIMIT,
  decodeNeighborAdvertisement,
  decodeNeighborSolicitation,
  ipv6MulticastMac,
  isIPv6Multicast,
  isSolicitedNodeMulticast,
  neighborAdvertisement,
  solicitedNodeMulticast,
} from './ndp.ts';

/** ClassifyContext is what the classifier knows about the interface a frame arrived on. */
export interface ClassifyContext {
  /** mac is the interface's own MAC, canonical (lowercase, colons). */
  mac: string;
  /** announced holds the canonical addresses this node answers for on this interface. */
  announced: ReadonlySet<string>;
  /** probing holds canonical addresses being probed: never answered, and any other host using one is a conflict. */
  probing?: ReadonlySet<string>;
  /** vlan is the VLAN id frames must carry (innermost tag); undefined accepts untagged frames only. */
  vlan?: number;
  /** overrideOnSolicited sets the Override flag on solicited Neighbor Advertisements (default true). */
  overrideOnSolicited?: boolean;
}

/** IgnoreReason names why a frame got no answer and showed no conflict; it is the label of the drop counter. */
export type IgnoreReason =
  | 'truncated'
  | 'malformed'
  | 'notArp'
  | 'notNdp'
  | 'fromSelf'
  | 'otherVlan'
  | 'notRequest'
  | 'wrongDestination'
  | 'badChecksum'
  | 'invalidNdp'
  | 'stillProbing'
  | 'notForUs';

/**
 * ConflictEvidence names what showed another host on an address we announce or probe: it sent ARP as that
 * address, ARP-probed it, advertised it by NA, ran DAD for it, or used it as an NS source.
 */
export type ConflictEvidence = 'arpSender' | 'arpProbe' | 'neighborAdvertisement' | 'dadProbe' | 'nsSource';

/** FrameDecision is classifyFrame's verdict: a reply to send, a conflict to report, or a named reason to ignore. */
export type FrameDecision =
  | {
      action: 'reply';
      family: IPFamilyName;
      /** ip is the announced address asked about. */
      ip: string;
      requester: { mac: string; ip: string };
      frame: Uint8Array;
    }
  | { action: 'conflict'; family: IPFamilyName; ip: string; mac: string; evidence: ConflictEvidence }
  | { action: 'ignore'; reason: IgnoreReason; ip?: string; detail?: string };

const ignore = (reason: IgnoreReason, extra: { ip?: string; detail?: string } = {}): FrameDecision => ({
  action: 'ignore',
  reason,
  ...extra,
});

/**
 * classifyFrame decides what to do with one received Ethernet frame. It answers ARP requests and Neighbor
 * Solicitations (including DAD probes and ARP probes) for announced addresses, reports another host's use of an
 * announced or probed address as a conflict (RFC 5227 §2.1.1/§2.4, RFC 4862 §5.4.3), and otherwise names why it
 * ignored the frame. It never throws, whatever the bytes (checked by fuzz tests), and it answers only what
 * RFC 826/RFC 4861 §7.1.1 validation accepts: hop limit 255, a correct checksum, a proper DAD destination.
 */
export function classifyFrame(frame: Uint8Array, ctx: ClassifyContext): FrameDecision {
  const eth = decodeEthernet(frame);
  if (!eth.ok) return ignore(eth.reason, { detail: eth.detail });
  const inner = eth.value.vlans.at(-1)?.vid;
  if (inner !== ctx.vlan) return ignore('otherVlan', { detail: `frame VLAN ${inner ?? 'none'}` });
  if (eth.value.src === ctx.mac) return ignore('fromSelf');
  switch (eth.value.etherType) {
    case ETHERTYPE_ARP:
      return classifyArp(eth.value, ctx);
    case ETHERTYPE_IPV6:
      return classifyNdp(eth.value, ctx);
    default:
      return ignore('notArp', { detail: `EtherType 0x${eth.value.etherType.toString(16)}` });
  }
}

function classifyArp(eth: EthernetFrame, ctx: ClassifyContext): FrameDecision {
  const arp = decodeArp(eth.payload);
  if (!arp.ok) return ignore(arp.reason, { detail: arp.detail });
  const p = arp.value;
  if (p.senderMac === ctx.mac) return ignore('fromSelf');
  const probing = ctx.probing;
  // RFC 5227 §2.1.1 and §2.4: any ARP packet, request or reply, whose sender IP is ours comes from a rival.
  if (p.senderIp !== IPV4_ANY && (ctx.announced.has(p.senderIp) || probing?.has(p.senderIp))) {
    return { action: 'conflict', family: 'ipv4', ip: p.senderIp, mac: p.senderMac, evidence: 'arpSender' };
  }
  // RFC 5227 §2.1.1: another host probing the address we probe is a conflict too (simultaneous probes).
  if (p.senderIp === IPV4_ANY && p.op === ARP_REQUEST && probing?.has(p.targetIp)) {
    return { action: 'conflict', family: 'ipv4', ip: p.targetIp, mac: p.senderMac, evidence: 'arpProbe' };
  }
  if (p.op !== ARP_REQUEST) return ignore('notRequest', { ip: p.targetIp });
  if (eth.dst !== MAC_BROADCAST && eth.dst !== ctx.mac) return ignore('wrongDestination', { ip: p.targetIp });
  if (probing?.has(p.targetIp)) return ignore('stillProbing', { ip: p.targetIp });
  if (!ctx.announced.has(p.targetIp)) return ignore('notForUs', { ip: p.targetIp });
  const requester = { mac: p.senderMac, ip: p.senderIp };
  return {
    action: 'reply',
    family: 'ipv4',
    ip: p.targetIp,
    requester,
    frame: arpReply({ mac: ctx.mac, ip: p.targetIp }, requester, { vlans: eth.vlans }),
  };
}

function classifyNdp(eth: EthernetFrame, ctx: ClassifyContext): FrameDecision {
  const ip = decodeIPv6(eth.payload);
  if (!ip.ok) return ignore(ip.reason, { detail: ip.detail });
  const { src, dst } = ip.value;
  if (ip.value.nextHeader !== NEXT_HEADER_ICMPV6)
    return ignore('notNdp', { detail: `next header ${ip.value.nextHeader}` });
  const icmp = decodeIcmpv6(src, dst, ip.value.payload);
  if (!icmp.ok)
    return ignore(icmp.reason === 'truncated' ? 'truncated' : 'badChecksum', { detail: icmp.detail });
  const { type, code, body } = icmp.value;
  if (type !== ICMPV6_NEIGHBOR_SOLICITATION && type !== ICMPV6_NEIGHBOR_ADVERTISEMENT) {
    return ignore('notNdp', { detail: `ICMPv6 type ${type}` });
  }
  // RFC 4861 §7.1.1/§7.1.2: hop limit 255 proves the sender is on-link; code must be 0.
  if (ip.value.hopLimit !== NDP_HOP_LIMIT || code !== 0) {
    return ignore('invalidNdp', { detail: `hop limit ${ip.value.hopLimit}, code ${code}` });
  }
  const probing = ctx.probing;
  const ours = (a: string): boolean => ctx.announced.has(a) || probing?.has(a) === true;

  if (type === ICMPV6_NEIGHBOR_ADVERTISEMENT) {
    const na = decodeNeighborAdvertisement(body);
    if (!na.ok) return ignore(na.reason, { detail: na.detail });
    const { target, solicited, targetLinkAddress } = na.value;
    if (isIPv6Multicast(target) || (isIPv6Multicast(dst) && solicited)) {
      return ignore('invalidNdp', {
        ip: target,
        detail: 'multicast target, or solicited NA to a multicast group',
      });
    }
    const mac = targetLinkAddress ?? eth.src;
    if (ours(target) && mac !== ctx.mac) {
      return { action: 'conflict', family: 'ipv6', ip: target, mac, evidence: 'neighborAdvertisement' };
    }
    return ignore('notRequest', { ip: target });
  }

  const ns = decodeNeighborSolicitation(body);
  if (!ns.ok) return ignore(ns.reason, { detail: ns.detail });
  const { target, sourceLinkAddress } = ns.value;
  const dad = src === IPV6_ANY;
  if (isIPv6Multicast(target)) return ignore('invalidNdp', { ip: target, detail: 'multicast target' });
  // RFC 4861 §7.1.1: a DAD probe goes to a solicited-node group and carries no source link-layer address.
  if (dad && (!isSolicitedNodeMulticast(dst) || sourceLinkAddress !== undefined)) {
    return ignore('invalidNdp', {
      ip: target,
      detail: 'DAD probe not to a solicited-node group, or with a source address option',
    });
  }
  if (!dad && ours(src)) {
    return {
      action: 'conflict',
      family: 'ipv6',
      ip: src,
      mac: sourceLinkAddress ?? eth.src,
      evidence: 'nsSource',
    };
  }
  if (dad && probing?.has(target)) {
    return { action: 'conflict', family: 'ipv6', ip: target, mac: eth.src, evidence: 'dadProbe' };
  }
  const toGroup = isIPv6Multicast(dst);
  if (toGroup ? dst !== solicitedNodeMulticast(target) : dst !== target) {
    return ignore('wrongDestination', { ip: target, detail: `NS sent to ${dst}` });
  }
  if (eth.dst !== (toGroup ? ipv6MulticastMac(dst) : ctx.mac)) {
    return ignore('wrongDestination', { ip: target, detail: `frame to ${eth.dst}` });
  }
  if (probing?.has(target)) return ignore('stillProbing', { ip: target });
  if (!ctx.announced.has(target)) return ignore('notForUs', { ip: target });
  const owner = { mac: ctx.mac, ip: target };
  // RFC 4861 §7.2.4: answer a DAD probe to all-nodes with Solicited clear; otherwise unicast, Solicited set.
  const requester = dad
    ? { mac: ipv6MulticastMac(IPV6_ALL_NODES), ip: IPV6_ALL_NODES }
    : { mac: sourceLinkAddress ?? eth.src, ip: src };
  return {
    action: 'reply',
    family: 'ipv6',
    ip: target,
    requester,
    frame: neighborAdvertisement(owner, requester, {
      solicited: !dad,
      override: dad || (ctx.overrideOnSolicited ?? true),
      vlans: eth.vlans,
    }),
  };
}
