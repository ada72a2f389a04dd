// Property tests: every decoder survives arbitrary, truncated and bit-flipped input without throwing, and
// decode(encode(x)) = x for every codec.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipv4FromBytes, ipv6FromBytes, macFromBytes } from './address.ts';
import { arpProbe, arpRequest, decodeArp, encodeArp, type ArpPacket } from './arp.ts';
import { classifyFrame, type ClassifyContext } from './classify.ts';
import { decodeEthernet, encodeEthernet, type VlanTag } from './ethernet.ts';
import { decodeIPv6, decodeIcmpv6, encodeIPv6, encodeIcmpv6 } from './ipv6.ts';
import {
  dadProbe,
  decodeNeighborAdvertisement,
  decodeNeighborSolicitation,
  encodeNeighborAdvertisement,
  encodeNeighborSolicitation,
  neighborSolicitation,
  unsolicitedNeighborAdvertisement,
} from './ndp.ts';

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => macFromBytes(b));
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ipv4FromBytes(b));
const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ipv6FromBytes(b));
const unicast6 = ipv6.filter((ip) => !ip.startsWith('ff') && ip !== '::');
const vlan: fc.Arbitrary<VlanTag> = fc.record({
  tpid: fc.constantFrom(0x8100, 0x88a8),
  pcp: fc.integer({ min: 0, max: 7 }),
  dei: fc.boolean(),
  vid: fc.integer({ min: 0, max: 0xfff }),
});
const bytes = fc.uint8Array({ maxLength: 200 });

const US = '02:00:00:00:00:0a';
const ctxFor = (announced: string[], probing: string[] = []): ClassifyContext => ({
  mac: US,
  announced: new Set(announced),
  probing: new Set(probing),
});

const validFrames = fc.oneof(
  fc.tuple(mac, ipv4, ipv4).map(([m, s, t]) => arpRequest({ mac: m, ip: s }, t)),
  fc.tuple(mac, ipv4).map(([m, t]) => arpProbe(m, t)),
  fc.tuple(mac, unicast6, unicast6).map(([m, s, t]) => neighborSolicitation({ mac: m, ip: s }, t)),
  fc.tuple(mac, unicast6).map(([m, t]) => dadProbe(m, t)),
  fc.tuple(mac, unicast6).map(([m, t]) => unsolicitedNeighborAdvertisement({ mac: m, ip: t })),
);

const decoders: [string, (b: Uint8Array) => unknown][] = [
  ['decodeEthernet', decodeEthernet],
  ['decodeArp', decodeArp],
  ['decodeIPv6', decodeIPv6],
  ['decodeIcmpv6', (b) => decodeIcmpv6('::', 'ff02::1', b)],
  ['decodeNeighborSolicitation', decodeNeighborSolicitation],
  ['decodeNeighborAdvertisement', decodeNeighborAdvertisement],
  ['classifyFrame', (b) => classifyFrame(b, ctxFor(['192.0.2.77', '2001:db8::77'], ['192.0.2.88']))],
];

describe('decoders never throw', () => {
  it.each(decoders)('%s on random bytes', (_name, decode) => {
    fc.assert(
      fc.property(bytes, (b) => {
        decode(b);
      }),
      { numRuns: 2000 },
    );
  });
  it('classifyFrame on every prefix of a valid frame, and on bit flips of it', () => {
    fc.assert(
      fc.property(validFrames, fc.nat(), fc.nat(7), (frame, at, bit) => {
        for (let n = 0; n <= frame.length; n++) classifyFrame(frame.subarray(0, n), ctxFor([]));
        const flipped = Uint8Array.from(frame);
        const i = at % frame.length;
        flipped[i] = (flipped[i] as number) ^ (1 << bit);
        const d = classifyFrame(flipped, ctxFor(['192.0.2.77', '2001:db8::77']));
        expect(['reply', 'ignore', 'conflict']).toContain(d.action);
      }),
      { numRuns: 300 },
    );
  });
  it('a frame cut before the end of its ARP or NDP message is never answered', () => {
    fc.assert(
      fc.property(mac, ipv4, unicast6, (m, src, src6) => {
        const v4 = arpRequest({ mac: m, ip: src }, '192.0.2.77');
        const v6 = neighborSolicitation({ mac: m, ip: src6 }, '2001:db8::77');
        const c = ctxFor(['192.0.2.77', '2001:db8::77']);
        for (let n = 0; n < 42; n++) expect(classifyFrame(v4.subarray(0, n), c).action).not.toBe('reply');
        for (let n = 0; n < v6.length; n++)
          expect(classifyFrame(v6.subarray(0, n), c).action).not.toBe('reply');
      }),
      { numRuns: 50 },
    );
  });
});

describe('decode(encode(x)) = x', () => {
  it('Ethernet', () => {
    fc.assert(
      fc.property(
        mac,
        mac,
        fc.array(vlan, { maxLength: 2 }),
        fc.integer({ min: 0x0600, max: 0xffff }),
        bytes,
        (dst, src, vlans, etherType, payload) => {
          fc.pre(etherType !== 0x8100 && etherType !== 0x88a8);
          expect(decodeEthernet(encodeEthernet({ dst, src, vlans, etherType, payload }))).toEqual({
            ok: true,
            value: { dst, src, vlans, etherType, payload },
          });
        },
      ),
    );
  });
  it('ARP', () => {
    const arp: fc.Arbitrary<ArpPacket> = fc.record({
      op: fc.constantFrom(1 as const, 2 as const),
      senderMac: mac,
      senderIp: ipv4,
      targetMac: mac,
      targetIp: ipv4,
    });
    fc.assert(
      fc.property(arp, (p) => {
        expect(decodeArp(encodeArp(p))).toEqual({ ok: true, value: p });
      }),
    );
  });
  it('IPv6 and ICMPv6 (checksum verifies)', () => {
    fc.assert(
      fc.property(
        ipv6,
        ipv6,
        fc.nat(255),
        fc.nat(255),
        fc.nat(255),
        fc.uint8Array({ maxLength: 100 }),
        (src, dst, hopLimit, type, code, body) => {
          const icmp = encodeIcmpv6(src, dst, { type, code, body });
          expect(decodeIcmpv6(src, dst, icmp)).toEqual({ ok: true, value: { type, code, body } });
          const input = {
            trafficClass: code,
            flowLabel: type * 1000,
            nextHeader: 58,
            hopLimit,
            src,
            dst,
            payload: icmp,
          };
          expect(decodeIPv6(encodeIPv6(input))).toEqual({ ok: true, value: input });
        },
      ),
    );
  });
  it('Neighbor Solicitation and Advertisement', () => {
    fc.assert(
      fc.property(
        ipv6,
        fc.option(mac, { nil: undefined }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (target, lla, router, solicited, override) => {
          const ns = lla === undefined ? { target } : { target, sourceLinkAddress: lla };
          expect(decodeNeighborSolicitation(encodeNeighborSolicitation(ns))).toEqual({ ok: true, value: ns });
          const na = {
            router,
            solicited,
            override,
            target,
            ...(lla === undefined ? {} : { targetLinkAddress: lla }),
          };
          expect(decodeNeighborAdvertisement(encodeNeighborAdvertisement(na))).toEqual({
            ok: true,
            value: na,
          });
        },
      ),
    );
  });
});

describe('classifyFrame properties', () => {
  it('answers every ARP request for an announced address, from our MAC, and the answer decodes to "vip is-at us"', () => {
    fc.assert(
      fc.property(mac, ipv4, ipv4, (m, src, vip) => {
        fc.pre(m !== US && src !== vip && src !== '0.0.0.0');
        const d = classifyFrame(arpRequest({ mac: m, ip: src }, vip), ctxFor([vip]));
        expect(d.action).toBe('reply');
        if (d.action !== 'reply') return;
        const eth = decodeEthernet(d.frame);
        const arp = eth.ok ? decodeArp(eth.value.payload) : undefined;
        expect(arp).toEqual({
          ok: true,
          value: { op: 2, senderMac: US, senderIp: vip, targetMac: m, targetIp: src },
        });
      }),
    );
  });
  it('never answers for an address outside the announced set', () => {
    fc.assert(
      fc.property(validFrames, fc.array(fc.oneof(ipv4, ipv6), { maxLength: 3 }), (frame, announced) => {
        const d = classifyFrame(frame, ctxFor(announced));
        if (d.action === 'reply') expect(announced).toContain(d.ip);
      }),
    );
  });
});
