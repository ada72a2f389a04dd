import { describe, expect, it } from 'vitest';
import { ARP_REPLY, ARP_REQUEST, arpFrame, arpProbe, arpReply, arpRequest, gratuitousArp } from './arp.ts';
import { classifyFrame, type ClassifyContext, type FrameDecision } from './classify.ts';
import { decodeEthernet } from './ethernet.ts';
import { bytesToHex, hexToBytes } from './hex.ts';
import { decodeIPv6, decodeIcmpv6 } from './ipv6.ts';
import {
  ICMPV6_NEIGHBOR_ADVERTISEMENT,
  ICMPV6_NEIGHBOR_SOLICITATION,
  dadProbe,
  decodeNeighborAdvertisement,
  encodeNeighborAdvertisement,
  encodeNeighborSolicitation,
  ndpFrame,
  neighborAdvertisement,
  neighborSolicitation,
  unsolicitedNeighborAdvertisement,
} from './ndp.ts';
import { kernelFrames } from './testdata/kernel-frames.ts';

const US = '02:00:00:00:00:0a';
const CLIENT = { mac: '02:00:00:00:00:0b', ip: '192.0.2.10' };
const CLIENT6 = { mac: '02:00:00:00:00:0b', ip: '2001:db8::10' };
const RIVAL = '02:00:00:00:00:99';
const VIP = '192.0.2.77';
const VIP6 = '2001:db8::77';
const ctx: ClassifyContext = { mac: US, announced: new Set([VIP, VIP6, '192.0.2.11', '2001:db8::11']) };
const probingCtx: ClassifyContext = {
  mac: US,
  announced: new Set([VIP, VIP6]),
  probing: new Set(['192.0.2.88', '2001:db8::88']),
};

const reason = (d: FrameDecision): string => (d.action === 'ignore' ? d.reason : d.action);

describe('classifyFrame: ARP', () => {
  it('answers a broadcast request for an announced address with a unicast reply from our MAC', () => {
    const d = classifyFrame(arpRequest(CLIENT, VIP), ctx);
    expect(d).toMatchObject({ action: 'reply', family: 'ipv4', ip: VIP, requester: CLIENT });
    expect(d.action === 'reply' && d.frame).toEqual(arpReply({ mac: US, ip: VIP }, CLIENT));
  });
  it('answers the request the kernel sent (fixture) exactly as the kernel did', () => {
    const d = classifyFrame(hexToBytes(kernelFrames['arp-request'] ?? ''), ctx);
    expect(d.action === 'reply' && bytesToHex(d.frame).slice(0, 84)).toBe(kernelFrames['arp-reply']);
  });
  it('answers a request unicast to our MAC (ARP refresh)', () => {
    expect(classifyFrame(arpRequest(CLIENT, VIP, { ethernetDst: US }), ctx).action).toBe('reply');
  });
  it('answers an RFC 5227 probe of an announced address (defends it; the prober backs off)', () => {
    const d = classifyFrame(arpProbe(RIVAL, VIP), ctx);
    expect(d).toMatchObject({ action: 'reply', requester: { mac: RIVAL, ip: '0.0.0.0' } });
    const eth = d.action === 'reply' ? decodeEthernet(d.frame) : undefined;
    expect(eth?.ok && eth.value.dst).toBe(RIVAL);
  });
  it('keeps 802.1Q tags on the reply when the interface expects that VLAN', () => {
    const vlans = [{ tpid: 0x8100, pcp: 0, dei: false, vid: 42 }];
    const d = classifyFrame(arpRequest(CLIENT, VIP, { vlans }), { ...ctx, vlan: 42 });
    const eth = d.action === 'reply' ? decodeEthernet(d.frame) : undefined;
    expect(eth?.ok && eth.value.vlans).toEqual(vlans);
  });
  it.each<[string, Uint8Array, ClassifyContext, string]>([
    ['a request for an address we do not announce', arpRequest(CLIENT, '192.0.2.99'), ctx, 'notForUs'],
    ['a reply', arpReply(CLIENT, { mac: US, ip: VIP }), ctx, 'notRequest'],
    ['our own gratuitous ARP looped back', gratuitousArp({ mac: US, ip: VIP }, ARP_REQUEST), ctx, 'fromSelf'],
    [
      'a request unicast to another MAC',
      arpRequest(CLIENT, VIP, { ethernetDst: RIVAL }),
      ctx,
      'wrongDestination',
    ],
    [
      'a request for an address still being probed',
      arpRequest(CLIENT, '192.0.2.88'),
      probingCtx,
      'stillProbing',
    ],
    [
      'a tagged frame on an untagged interface',
      arpRequest(CLIENT, VIP, { vlans: [{ tpid: 0x8100, pcp: 0, dei: false, vid: 7 }] }),
      ctx,
      'otherVlan',
    ],
    ['an untagged frame on a VLAN interface', arpRequest(CLIENT, VIP), { ...ctx, vlan: 7 }, 'otherVlan'],
    ['a frame cut to 20 bytes', arpRequest(CLIENT, VIP).subarray(0, 20), ctx, 'truncated'],
    [
      'an ARP for another protocol',
      hexToBytes('ffffffffffff02000000000b0806' + '000186dd06040001' + '00'.repeat(20)),
      ctx,
      'malformed',
    ],
    ['an IPv4 packet', hexToBytes('ffffffffffff02000000000b0800' + '45'.padEnd(40, '0')), ctx, 'notArp'],
  ])('ignores %s', (_name, frame, c, why) => {
    expect(reason(classifyFrame(frame, c))).toBe(why);
  });
  it('does not answer a request whose ARP sender MAC is ours even if the Ethernet source differs', () => {
    const f = arpFrame({
      op: ARP_REQUEST,
      senderMac: US,
      senderIp: '192.0.2.10',
      targetMac: '00:00:00:00:00:00',
      targetIp: VIP,
    });
    f.set(hexToBytes('020000000055'), 6);
    expect(reason(classifyFrame(f, ctx))).toBe('fromSelf');
  });
});

describe('classifyFrame: ARP conflicts (RFC 5227)', () => {
  it.each<[string, Uint8Array, ClassifyContext, string, string]>([
    [
      'a rival announces an address we announce',
      gratuitousArp({ mac: RIVAL, ip: VIP }, ARP_REQUEST),
      ctx,
      VIP,
      'arpSender',
    ],
    [
      'a rival sends a gratuitous reply for it',
      gratuitousArp({ mac: RIVAL, ip: VIP }, ARP_REPLY),
      ctx,
      VIP,
      'arpSender',
    ],
    [
      'a rival asks something using our address as sender',
      arpRequest({ mac: RIVAL, ip: VIP }, '192.0.2.1'),
      ctx,
      VIP,
      'arpSender',
    ],
    [
      'a rival answers our probe',
      arpReply({ mac: RIVAL, ip: '192.0.2.88' }, { mac: US, ip: '0.0.0.0' }),
      probingCtx,
      '192.0.2.88',
      'arpSender',
    ],
    [
      'a rival probes the address we probe',
      arpProbe(RIVAL, '192.0.2.88'),
      probingCtx,
      '192.0.2.88',
      'arpProbe',
    ],
  ])('%s', (_name, frame, c, ip, evidence) => {
    expect(classifyFrame(frame, c)).toEqual({ action: 'conflict', family: 'ipv4', ip, mac: RIVAL, evidence });
  });
  it('does not take our own probe, looped back, for a rival', () => {
    expect(reason(classifyFrame(arpProbe(US, '192.0.2.88'), probingCtx))).toBe('fromSelf');
  });
  it('does not report a rival probing an address we neither announce nor probe', () => {
    expect(reason(classifyFrame(arpProbe(RIVAL, '192.0.2.99'), probingCtx))).toBe('notForUs');
  });
});

const naOf = (d: FrameDecision) => {
  if (d.action !== 'reply') throw new Error(`expected a reply, got ${JSON.stringify(d)}`);
  const eth = decodeEthernet(d.frame);
  if (!eth.ok) throw new Error('bad frame');
  const ip = decodeIPv6(eth.value.payload);
  if (!ip.ok) throw new Error('bad ip');
  const icmp = decodeIcmpv6(ip.value.src, ip.value.dst, ip.value.payload);
  if (!icmp.ok) throw new Error('bad icmp');
  const na = decodeNeighborAdvertisement(icmp.value.body);
  if (!na.ok) throw new Error('bad na');
  return { eth: eth.value, ip: ip.value, type: icmp.value.type, na: na.value };
};

describe('classifyFrame: NDP', () => {
  it('answers an NS for an announced address with a solicited NA to the asker', () => {
    const d = classifyFrame(neighborSolicitation(CLIENT6, VIP6), ctx);
    expect(d).toMatchObject({ action: 'reply', family: 'ipv6', ip: VIP6, requester: CLIENT6 });
    const r = naOf(d);
    expect(r.eth).toMatchObject({ dst: CLIENT6.mac, src: US });
    expect(r.ip).toMatchObject({ src: VIP6, dst: CLIENT6.ip, hopLimit: 255 });
    expect(r.type).toBe(136);
    expect(r.na).toEqual({
      router: false,
      solicited: true,
      override: true,
      target: VIP6,
      targetLinkAddress: US,
    });
  });
  it('answers the NS the kernel sent (fixture) with the bytes the kernel answered', () => {
    const d = classifyFrame(hexToBytes(kernelFrames['ns'] ?? ''), ctx);
    expect(d.action === 'reply' && bytesToHex(d.frame)).toBe(kernelFrames['na']);
  });
  it('clears Override on solicited answers when told to (MetalLB did)', () => {
    expect(
      naOf(classifyFrame(neighborSolicitation(CLIENT6, VIP6), { ...ctx, overrideOnSolicited: false })).na
        .override,
    ).toBe(false);
  });
  it('answers a unicast NS (neighbour unreachability detection)', () => {
    const f = ndpFrame({
      srcMac: CLIENT6.mac,
      dstMac: US,
      srcIp: CLIENT6.ip,
      dstIp: VIP6,
      type: ICMPV6_NEIGHBOR_SOLICITATION,
      body: encodeNeighborSolicitation({ target: VIP6 }),
    });
    const r = naOf(classifyFrame(f, ctx));
    expect(r.eth.dst).toBe(CLIENT6.mac); // no source option: answer the frame's sender
  });
  it('answers another host DAD-probing an announced address on all-nodes, Solicited clear (RFC 4861 §7.2.4)', () => {
    const r = naOf(classifyFrame(dadProbe(RIVAL, VIP6), ctx));
    expect(r.eth.dst).toBe('33:33:00:00:00:01');
    expect(r.ip.dst).toBe('ff02::1');
    expect(r.na).toMatchObject({ solicited: false, override: true });
  });
  it('answers the kernel DAD probe (with a nonce option) for an address we announce', () => {
    const other = { ...ctx, mac: '02:00:00:00:00:0c' }; // the fixture was sent from 02:00:00:00:00:0a
    expect(classifyFrame(hexToBytes(kernelFrames['ns-dad'] ?? ''), other)).toMatchObject({
      action: 'reply',
      ip: '2001:db8::11',
    });
  });
  const corrupt = (f: Uint8Array, at: number, value: number): Uint8Array => {
    const g = Uint8Array.from(f);
    g[at] = value;
    return g;
  };
  const ns = neighborSolicitation(CLIENT6, VIP6);
  it.each<[string, string, Uint8Array, ClassifyContext]>([
    [
      'an NS for an address we do not announce',
      'notForUs',
      neighborSolicitation(CLIENT6, '2001:db8::99'),
      ctx,
    ],
    ['an NS with hop limit 64 (off-link forgery)', 'invalidNdp', corrupt(ns, 21, 64), ctx],
    ['an NS with a bad checksum', 'badChecksum', corrupt(ns, 57, 0), ctx],
    ['an NS for a multicast target', 'invalidNdp', neighborSolicitation(CLIENT6, 'ff02::1:ff00:77'), ctx],
    [
      'an NS to another solicited-node group',
      'wrongDestination',
      ndpFrame({
        srcMac: CLIENT6.mac,
        dstMac: '33:33:ff:00:00:99',
        srcIp: CLIENT6.ip,
        dstIp: 'ff02::1:ff00:99',
        type: 135,
        body: encodeNeighborSolicitation({ target: VIP6, sourceLinkAddress: CLIENT6.mac }),
      }),
      ctx,
    ],
    [
      'an NS whose frame goes to the wrong multicast MAC',
      'wrongDestination',
      ndpFrame({
        srcMac: CLIENT6.mac,
        dstMac: '33:33:00:00:00:01',
        srcIp: CLIENT6.ip,
        dstIp: 'ff02::1:ff00:77',
        type: 135,
        body: encodeNeighborSolicitation({ target: VIP6, sourceLinkAddress: CLIENT6.mac }),
      }),
      ctx,
    ],
    [
      'a DAD probe carrying a source address option',
      'invalidNdp',
      ndpFrame({
        srcMac: RIVAL,
        dstMac: '33:33:ff:00:00:77',
        srcIp: '::',
        dstIp: 'ff02::1:ff00:77',
        type: 135,
        body: encodeNeighborSolicitation({ target: VIP6, sourceLinkAddress: RIVAL }),
      }),
      ctx,
    ],
    [
      'a DAD probe to all-nodes',
      'invalidNdp',
      ndpFrame({
        srcMac: RIVAL,
        dstMac: '33:33:00:00:00:01',
        srcIp: '::',
        dstIp: 'ff02::1',
        type: 135,
        body: encodeNeighborSolicitation({ target: VIP6 }),
      }),
      ctx,
    ],
    [
      'a Router Solicitation',
      'notNdp',
      ndpFrame({
        srcMac: CLIENT6.mac,
        dstMac: '33:33:00:00:00:02',
        srcIp: CLIENT6.ip,
        dstIp: 'ff02::2',
        type: 133,
        body: new Uint8Array(4),
      }),
      ctx,
    ],
    [
      'our own unsolicited NA looped back',
      'fromSelf',
      unsolicitedNeighborAdvertisement({ mac: US, ip: VIP6 }),
      ctx,
    ],
    [
      'an NA about someone else',
      'notRequest',
      unsolicitedNeighborAdvertisement({ mac: RIVAL, ip: '2001:db8::99' }),
      ctx,
    ],
    [
      'an NS for an address still being probed',
      'stillProbing',
      neighborSolicitation(CLIENT6, '2001:db8::88'),
      probingCtx,
    ],
    [
      'a UDP packet over IPv6',
      'notNdp',
      hexToBytes('3333000000010200000000bb86dd' + '6000000000081101' + '00'.repeat(32) + '00'.repeat(8)),
      ctx,
    ],
  ])('%s → %s', (_name, why, frame, c) => {
    expect(reason(classifyFrame(frame, c))).toBe(why);
  });
  it('rejects an NS with code 1 even when its checksum is right', () => {
    const body = encodeNeighborSolicitation({ target: VIP6, sourceLinkAddress: CLIENT6.mac });
    const f = ndpFrame({
      srcMac: CLIENT6.mac,
      dstMac: '33:33:ff:00:00:77',
      srcIp: CLIENT6.ip,
      dstIp: 'ff02::1:ff00:77',
      type: 135,
      body,
    });
    const g = Uint8Array.from(f);
    g[55] = 1;
    const sum = ((g[56] as number) << 8) | (g[57] as number);
    let s = sum - 1; // one's-complement: +1 in the data lowers the checksum by 1
    if (s < 0) s += 0xffff;
    g[56] = s >> 8;
    g[57] = s & 0xff;
    expect(reason(classifyFrame(g, ctx))).toBe('invalidNdp');
  });
});

describe('classifyFrame: NDP conflicts (RFC 4862 §5.4.3)', () => {
  it.each<[string, Uint8Array, ClassifyContext, string, string]>([
    [
      'a rival advertises an address we announce',
      unsolicitedNeighborAdvertisement({ mac: RIVAL, ip: VIP6 }),
      ctx,
      VIP6,
      'neighborAdvertisement',
    ],
    [
      'a rival answers our DAD probe',
      neighborAdvertisement(
        { mac: RIVAL, ip: '2001:db8::88' },
        { mac: '33:33:00:00:00:01', ip: 'ff02::1' },
        { solicited: false, override: true },
      ),
      probingCtx,
      '2001:db8::88',
      'neighborAdvertisement',
    ],
    [
      'a rival runs DAD for the address we probe',
      dadProbe(RIVAL, '2001:db8::88'),
      probingCtx,
      '2001:db8::88',
      'dadProbe',
    ],
    [
      'a rival asks something from our address',
      neighborSolicitation({ mac: RIVAL, ip: VIP6 }, '2001:db8::1'),
      ctx,
      VIP6,
      'nsSource',
    ],
  ])('%s', (_name, frame, c, ip, evidence) => {
    expect(classifyFrame(frame, c)).toEqual({ action: 'conflict', family: 'ipv6', ip, mac: RIVAL, evidence });
  });
  it('is not fooled by an NA for our address that carries our own MAC (a bridge echo)', () => {
    const f = ndpFrame({
      srcMac: RIVAL,
      dstMac: '33:33:00:00:00:01',
      srcIp: VIP6,
      dstIp: 'ff02::1',
      type: ICMPV6_NEIGHBOR_ADVERTISEMENT,
      body: encodeNeighborAdvertisement({
        router: false,
        solicited: false,
        override: true,
        target: VIP6,
        targetLinkAddress: US,
      }),
    });
    expect(reason(classifyFrame(f, ctx))).toBe('notRequest');
  });
});
