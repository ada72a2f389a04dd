import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseAddress, parseRange } from './address.ts';
import { isUsableAddress, SPECIAL_RANGES, specialRangeIn, unusableRangeReason } from './usable.ts';

describe('the usable-address rule', () => {
  it.each([
    ['0.0.0.0/32', '0.0.0.0/32 (unspecified)'],
    ['0.0.0.0/31', '0.0.0.0/32 (unspecified)'],
    ['0.0.0.1/32', '0.0.0.0/8 ("this network" (unspecified))'],
    ['255.255.255.255/32', '255.255.255.255/32 (broadcast)'],
    ['127.0.0.1/32', '127.0.0.0/8 (loopback)'],
    ['224.0.0.0/4', '224.0.0.0/4 (multicast)'],
    ['239.255.255.250/32', '224.0.0.0/4 (multicast)'],
    ['169.254.1.1/32', '169.254.0.0/16 (link-local)'],
    ['240.0.0.0/4', '240.0.0.0/4 (reserved)'],
    ['250.0.0.1-250.0.0.9', '240.0.0.0/4 (reserved)'],
    ['0.0.0.0/0', '224.0.0.0/4 (multicast)'],
    ['::/128', '::/128 (unspecified)'],
    ['::1/128', '::1/128 (loopback)'],
    ['::ffff:192.0.2.1/128', '::ffff:0:0/96 (IPv4-mapped)'],
    ['fe80::/64', 'fe80::/10 (link-local)'],
    ['ff02::1/128', 'ff00::/8 (multicast)'],
  ])('%s is refused: it includes %s', (text, named) => {
    const range = parseRange(text);
    expect(unusableRangeReason(range)).toBe(
      `address range "${text}" includes addresses in ${named}, which no Service may receive`,
    );
  });

  it.each([
    '192.0.2.0/24', // documentation (the lab)
    '198.51.100.0/24',
    '203.0.113.0/24',
    '2001:db8::/32',
    '10.0.0.0/8',
    '172.16.0.0/12',
    '192.168.0.0/16',
    '1.0.0.0-126.255.255.255', // just below loopback, just above "this network"
    '128.0.0.0-169.253.255.255',
    '169.255.0.0-223.255.255.255', // up to the last address before multicast
    'fd00::/8',
    '::2-::fffe:ffff:ffff', // between loopback and IPv4-mapped
    '2000::/3',
    'fec0::-feff::', // above link-local, below multicast
  ])('%s is usable', (text) => {
    expect(unusableRangeReason(parseRange(text))).toBeUndefined();
  });

  it('every special block is refused as a whole and at both of its ends', () => {
    for (const s of SPECIAL_RANGES) {
      const bits = s.cidr.family === 'ipv4' ? 32 : 128;
      const last = s.cidr.value + (1n << BigInt(bits - s.cidr.prefixLength)) - 1n;
      expect(isUsableAddress({ family: s.cidr.family, value: s.cidr.value })).toBe(false);
      expect(isUsableAddress({ family: s.cidr.family, value: last })).toBe(false);
      expect(specialRangeIn(parseRange(s.text))).toBeDefined();
    }
  });

  it('a range is usable exactly when every address in it is (property)', () => {
    // Ranges near the block edges, where an off-by-one would show.
    const edges = SPECIAL_RANGES.flatMap((s) => {
      const bits = s.cidr.family === 'ipv4' ? 32 : 128;
      const size = 1n << BigInt(bits - s.cidr.prefixLength);
      return [
        { family: s.cidr.family, value: s.cidr.value },
        { family: s.cidr.family, value: s.cidr.value + size - 1n },
      ];
    });
    const near = fc
      .tuple(fc.constantFrom(...edges), fc.integer({ min: -3, max: 3 }), fc.integer({ min: 0, max: 6 }))
      .map(([edge, shift, width]) => {
        const max = edge.family === 'ipv4' ? (1n << 32n) - 1n : (1n << 128n) - 1n;
        const clamp = (v: bigint) => (v < 0n ? 0n : v > max ? max : v);
        const first = clamp(edge.value + BigInt(shift));
        return { family: edge.family, first, last: clamp(first + BigInt(width)), text: '' };
      });
    fc.assert(
      fc.property(near, (range) => {
        let every = true;
        for (let v = range.first; v <= range.last; v++) {
          every &&= isUsableAddress({ family: range.family, value: v });
        }
        expect(specialRangeIn(range) === undefined).toBe(every);
      }),
    );
  });

  it('documentation addresses stay usable', () => {
    for (const a of ['192.0.2.200', '198.51.100.1', '203.0.113.10', '2001:db8:0:1::200']) {
      expect(isUsableAddress(parseAddress(a))).toBe(true);
    }
  });
});
