// Byte-level tests of the encoders and decoders: hand-built frames laid out field by field from RFC 826,
// RFC 5227, RFC 8200 and RFC 4861, plus frames the Linux kernel sent (testdata/kernel-frames.ts).
import { describe, expect, it } from 'vitest';
import {
  ARP_REPLY,
  ARP_REQUEST,
  arpAnnouncement,
  arpProbe,
  arpReply,
  arpRequest,
  decodeArp,
  gratuitousArp,
} from './arp.ts';
import { ETHERTYPE_ARP, ETHERTYPE_IPV6, decodeEthernet, encodeEthernet } from './ethernet.ts';
import { bytesToHex, hexToBytes } from './hex.ts';
import { decodeIPv6, decodeIcmpv6, icmpv6Checksum } from './ipv6.ts';
import {
  dadProbe,
  decodeNeighborAdvertisement,
  decodeNeighborSolicitation,
  ipv6MulticastMac,
  isSolicitedNodeMulticast,
  neighborAdvertisement,
  neighborSolicitation,
  solicitedNodeMulticast,
  unsolicitedNeighborAdvertisement,
} from './ndp.ts';
import { kernelFrames } from './testdata/kernel-frames.ts';

const A = { mac: '02:00:00:00:00:0a', ip: '192.0.2.11' };
const B = { mac: '02:00:00:00:00:0b', ip: '192.0.2.10' };
const PAD18 = '00'.repeat(18);
const kernel = (name: string): Uint8Array => hexToBytes(kernelFrames[name] ?? '');

describe('Ethernet', () => {
  it('decodes an untagged header and keeps the payload as a view', () => {
    const f = hexToBytes('ffffffffffff 02000000000b 0806 aabb');
    const d = decodeEthernet(f);
    expect(d).toMatchObject({
      ok: true,
      value: { dst: 'ff:ff:ff:ff:ff:ff', src: B.mac, vlans: [], etherType: ETHERTYPE_ARP },
    });
    expect(d.ok && bytesToHex(d.value.payload)).toBe('aabb');
  });
  it('skips an 802.1ad outer and an 802.1Q inner tag', () => {
    const f = hexToBytes('ffffffffffff 02000000000b 88a8 000a 8100 a064 0806 aa');
    const d = decodeEthernet(f);
    expect(d).toMatchObject({
      ok: true,
      value: {
        etherType: ETHERTYPE_ARP,
        vlans: [
          { tpid: 0x88a8, pcp: 0, dei: false, vid: 10 },
          { tpid: 0x8100, pcp: 5, dei: false, vid: 100 },
        ],
      },
    });
    expect(encodeEthernet(d.ok ? d.value : (undefined as never))).toEqual(f);
  });
  it.each([
    ['13 bytes', 'ffffffffffff02000000000b08', 'truncated'],
    ['cut inside a tag', 'ffffffffffff02000000000b8100a0', 'truncated'],
    ['three tags', 'ffffffffffff02000000000b 8100 0001 8100 0002 8100 0003 0806', 'malformed'],
    ['an 802.3 length', 'ffffffffffff02000000000b 0040 aa', 'malformed'],
  ])('rejects %s as %s', (_name, hex, reason) => {
    expect(decodeEthernet(hexToBytes(hex))).toMatchObject({ ok: false, reason });
  });
  it('pads to the 60-byte minimum only when asked', () => {
    const input = { dst: B.mac, src: A.mac, etherType: ETHERTYPE_IPV6, payload: new Uint8Array(2) };
    expect(encodeEthernet(input).length).toBe(16);
    expect(encodeEthernet(input, { padTo: 60 }).length).toBe(60);
  });
});

describe('ARP (RFC 826 layout: htype 1, ptype 0x0800, hlen 6, plen 4, op, sha, spa, tha, tpa)', () => {
  it('builds a broadcast request', () => {
    expect(bytesToHex(arpRequest(B, '192.0.2.77'))).toBe(
      'ffffffffffff02000000000b0806' +
        '0001080006040001' +
        '02000000000bc000020a' +
        '000000000000c000024d' +
        PAD18,
    );
  });
  it('builds a unicast reply to the requester', () => {
    expect(bytesToHex(arpReply({ mac: A.mac, ip: '192.0.2.77' }, B))).toBe(
      '02000000000b02000000000a0806' +
        '0001080006040002' +
        '02000000000ac000024d' +
        '02000000000bc000020a' +
        PAD18,
    );
  });
  it('builds the RFC 5227 probe: sender IP 0.0.0.0, zero target MAC', () => {
    expect(bytesToHex(arpProbe(A.mac, '192.0.2.77'))).toBe(
      'ffffffffffff02000000000a0806' +
        '0001080006040001' +
        '02000000000a00000000' +
        '000000000000c000024d' +
        PAD18,
    );
  });
  it('builds gratuitous request (= RFC 5227 announcement) and reply with sender IP = target IP', () => {
    const vip = { mac: A.mac, ip: '192.0.2.77' };
    expect(bytesToHex(gratuitousArp(vip, ARP_REQUEST))).toBe(
      'ffffffffffff02000000000a0806' +
        '0001080006040001' +
        '02000000000ac000024d' +
        '000000000000c000024d' +
        PAD18,
    );
    expect(arpAnnouncement(vip)).toEqual(gratuitousArp(vip, ARP_REQUEST));
    expect(bytesToHex(gratuitousArp(vip, ARP_REPLY))).toBe(
      'ffffffffffff02000000000a0806' +
        '0001080006040002' +
        '02000000000ac000024d' +
        'ffffffffffffc000024d' +
        PAD18,
    );
  });
  it('carries VLAN tags and pads past them', () => {
    const f = arpRequest(B, '192.0.2.77', { vlans: [{ tpid: 0x8100, pcp: 0, dei: false, vid: 100 }] });
    expect(f.length).toBe(64);
    expect(bytesToHex(f.subarray(12, 18))).toBe('810000640806');
  });
  it('decodes the kernel request and reply', () => {
    const req = decodeEthernet(kernel('arp-request'));
    expect(req.ok && decodeArp(req.value.payload)).toEqual({
      ok: true,
      value: { op: 1, senderMac: B.mac, senderIp: B.ip, targetMac: '00:00:00:00:00:00', targetIp: A.ip },
    });
    const rep = decodeEthernet(kernel('arp-reply'));
    expect(rep.ok && decodeArp(rep.value.payload)).toEqual({
      ok: true,
      value: { op: 2, senderMac: A.mac, senderIp: A.ip, targetMac: B.mac, targetIp: B.ip },
    });
  });
  it('answers the kernel request with the same bytes the kernel answered (bar padding)', () => {
    expect(bytesToHex(arpReply(A, B)).slice(0, 84)).toBe(kernelFrames['arp-reply']);
  });
  it.each([
    ['27 bytes', '0001080006040001' + '00'.repeat(19), 'truncated'],
    ['htype 6', '0006080006040001' + '00'.repeat(20), 'malformed'],
    ['ptype IPv6', '000186dd06040001' + '00'.repeat(20), 'malformed'],
    ['hlen 8', '0001080008040001' + '00'.repeat(20), 'malformed'],
    ['op 3 (RARP)', '0001080006040003' + '00'.repeat(20), 'malformed'],
  ])('rejects %s as %s', (_n, hex, reason) => {
    expect(decodeArp(hexToBytes(hex))).toMatchObject({ ok: false, reason });
  });
});

describe('solicited-node multicast (RFC 4291 §2.7.1, RFC 2464 §7)', () => {
  it.each([
    ['2001:db8::77', 'ff02::1:ff00:77', '33:33:ff:00:00:77'],
    ['2001:db8::1234:5678', 'ff02::1:ff34:5678', '33:33:ff:34:56:78'],
    ['fe80::ff:fe00:a', 'ff02::1:ff00:a', '33:33:ff:00:00:0a'],
  ])('%s → %s → %s', (ip, group, mac) => {
    expect(solicitedNodeMulticast(ip)).toBe(group);
    expect(isSolicitedNodeMulticast(group)).toBe(true);
    expect(ipv6MulticastMac(group)).toBe(mac);
  });
  it('knows other groups are not solicited-node groups', () => {
    for (const g of ['ff02::1', 'ff02::1:ff', 'ff02::2:ff00:1', '2001:db8::1:ff00:1']) {
      expect(isSolicitedNodeMulticast(g)).toBe(false);
    }
    expect(ipv6MulticastMac('ff02::1')).toBe('33:33:00:00:00:01');
  });
});

describe('ICMPv6 checksum (RFC 8200 §8.1 pseudo-header)', () => {
  it('verifies every kernel NDP frame', () => {
    for (const name of ['ns', 'ns-dad', 'na']) {
      const eth = decodeEthernet(kernel(name));
      const ip = eth.ok ? decodeIPv6(eth.value.payload) : undefined;
      expect(ip?.ok, name).toBe(true);
      if (!ip?.ok) continue;
      expect(decodeIcmpv6(ip.value.src, ip.value.dst, ip.value.payload).ok, name).toBe(true);
    }
  });
  it('rejects a flipped bit anywhere in the message or the addresses', () => {
    const eth = decodeEthernet(kernel('na'));
    const ip = eth.ok ? decodeIPv6(eth.value.payload) : undefined;
    if (!ip?.ok) throw new Error('fixture');
    const msg = Uint8Array.from(ip.value.payload);
    msg[10] = (msg[10] as number) ^ 1;
    expect(decodeIcmpv6(ip.value.src, ip.value.dst, msg)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(decodeIcmpv6('2001:db8::12', ip.value.dst, ip.value.payload).ok).toBe(false);
  });
  it('folds the carry (an all-ones message)', () => {
    const msg = new Uint8Array(8).fill(0xff);
    const c = icmpv6Checksum('::', '::', msg);
    msg[2] = c >> 8;
    msg[3] = c & 0xff;
    expect(icmpv6Checksum('::', '::', msg)).toBe(c);
    expect(decodeIcmpv6('::', '::', msg).ok).toBe(true);
  });
});

describe('NDP (RFC 4861 §4.3, §4.4, §4.6.1)', () => {
  it('decodes the kernel NS with its source link-layer address', () => {
    const eth = decodeEthernet(kernel('ns'));
    const ip = eth.ok ? decodeIPv6(eth.value.payload) : undefined;
    expect(ip).toMatchObject({
      ok: true,
      value: { src: '2001:db8::10', dst: 'ff02::1:ff00:11', hopLimit: 255, nextHeader: 58 },
    });
    const icmp = ip?.ok ? decodeIcmpv6(ip.value.src, ip.value.dst, ip.value.payload) : undefined;
    expect(icmp).toMatchObject({ ok: true, value: { type: 135, code: 0 } });
    expect(icmp?.ok && decodeNeighborSolicitation(icmp.value.body)).toEqual({
      ok: true,
      value: { target: '2001:db8::11', sourceLinkAddress: B.mac },
    });
  });
  it('decodes the kernel DAD probe (from ::, with a nonce option, no source address option)', () => {
    const eth = decodeEthernet(kernel('ns-dad'));
    const ip = eth.ok ? decodeIPv6(eth.value.payload) : undefined;
    expect(ip).toMatchObject({ ok: true, value: { src: '::', dst: 'ff02::1:ff00:11' } });
    const icmp = ip?.ok ? decodeIcmpv6(ip.value.src, ip.value.dst, ip.value.payload) : undefined;
    expect(icmp?.ok && decodeNeighborSolicitation(icmp.value.body)).toEqual({
      ok: true,
      value: { target: '2001:db8::11' },
    });
  });
  it('decodes the kernel solicited NA (S and O set, target link-layer address)', () => {
    const eth = decodeEthernet(kernel('na'));
    const ip = eth.ok ? decodeIPv6(eth.value.payload) : undefined;
    const icmp = ip?.ok ? decodeIcmpv6(ip.value.src, ip.value.dst, ip.value.payload) : undefined;
    expect(icmp?.ok && decodeNeighborAdvertisement(icmp.value.body)).toEqual({
      ok: true,
      value: {
        router: false,
        solicited: true,
        override: true,
        target: '2001:db8::11',
        targetLinkAddress: A.mac,
      },
    });
  });
  it('builds the same NS and NA bytes the kernel sent', () => {
    expect(bytesToHex(neighborSolicitation({ mac: B.mac, ip: '2001:db8::10' }, '2001:db8::11'))).toBe(
      kernelFrames['ns'],
    );
    expect(
      bytesToHex(
        neighborAdvertisement(
          { mac: A.mac, ip: '2001:db8::11' },
          { mac: B.mac, ip: '2001:db8::10' },
          { solicited: true, override: true },
        ),
      ),
    ).toBe(kernelFrames['na']);
  });
  it('builds a DAD probe from :: to the solicited-node group without options', () => {
    expect(bytesToHex(dadProbe(A.mac, '2001:db8::77'))).toBe(
      '3333ff000077 02000000000a 86dd'.replace(/ /g, '') +
        '60000000 0018 3a ff'.replace(/ /g, '') +
        '0'.repeat(32) +
        'ff0200000000000000000001ff000077' +
        '8700 4c01 00000000'.replace(/ /g, '') + // checksum computed independently (Python, RFC 8200 §8.1)
        '20010db8000000000000000000000077',
    );
  });
  it('builds an unsolicited NA to ff02::1 with Override only', () => {
    expect(bytesToHex(unsolicitedNeighborAdvertisement({ mac: A.mac, ip: '2001:db8::77' }))).toBe(
      '333300000001 02000000000a 86dd'.replace(/ /g, '') +
        '60000000 0020 3a ff'.replace(/ /g, '') +
        '20010db8000000000000000000000077' +
        'ff020000000000000000000000000001' +
        '8800 f835 20000000'.replace(/ /g, '') + // checksum computed independently (Python)
        '20010db8000000000000000000000077' +
        '0201 02000000000a'.replace(/ /g, ''),
    );
  });
  it.each([
    ['a body under 20 bytes', '00'.repeat(19), 'truncated'],
    ['an option of length 0', '00'.repeat(20) + '0100' + '00'.repeat(6), 'malformed'],
    ['an option running past the end', '00'.repeat(20) + '0102' + '00'.repeat(6), 'truncated'],
    ['a lone option type byte', '00'.repeat(20) + '01', 'truncated'],
  ])('rejects an NS with %s', (_n, hex, reason) => {
    expect(decodeNeighborSolicitation(hexToBytes(hex))).toMatchObject({ ok: false, reason });
    expect(decodeNeighborAdvertisement(hexToBytes(hex))).toMatchObject({ ok: false, reason });
  });
  it('takes the first link-layer option of the right direction and skips others', () => {
    const body = hexToBytes(
      '00'.repeat(20) + '0201' + '0a0a0a0a0a0a' + '0e01' + '112233445566' + '0101' + '0b0b0b0b0b0b',
    );
    expect(decodeNeighborSolicitation(body)).toMatchObject({
      ok: true,
      value: { sourceLinkAddress: '0b:0b:0b:0b:0b:0b' },
    });
    expect(decodeNeighborAdvertisement(body)).toMatchObject({
      ok: true,
      value: { targetLinkAddress: '0a:0a:0a:0a:0a:0a' },
    });
  });
  it('rejects IPv6 packets that are not version 6, jumbograms or cut short', () => {
    const eth = decodeEthernet(kernel('na'));
    if (!eth.ok) throw new Error('fixture');
    const p = Uint8Array.from(eth.value.payload);
    expect(decodeIPv6(p.subarray(0, 39))).toMatchObject({ ok: false, reason: 'truncated' });
    expect(decodeIPv6(p.subarray(0, p.length - 1))).toMatchObject({ ok: false, reason: 'truncated' });
    const v4 = Uint8Array.from(p);
    v4[0] = 0x45;
    expect(decodeIPv6(v4)).toMatchObject({ ok: false, reason: 'malformed' });
    const jumbo = Uint8Array.from(p);
    jumbo[4] = 0;
    jumbo[5] = 0;
    expect(decodeIPv6(jumbo)).toMatchObject({ ok: false, reason: 'malformed' });
    const padded = new Uint8Array(p.length + 10);
    padded.set(p);
    expect(decodeIPv6(padded)).toMatchObject({ ok: true, value: { payload: p.subarray(40) } });
  });
});
