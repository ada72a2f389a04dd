import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Address6 } from 'ip-address';
import {
  addressFamily,
  canonicalAddress,
  countBuggy,
  formatAddress,
  formatRange,
  isBuggyAddress,
  parseAddress,
  parseCidr,
  parseRange,
  rangeContains,
  rangeSize,
  rangesOverlap,
  rangeToCidrs,
  tryParseAddress,
  usableAt,
  usableBelow,
} from './address.ts';
import type { AddressRange } from '../config/model.ts';

describe('parseAddress and formatAddress', () => {
  it.each([
    ['192.0.2.1', 'ipv4', 3221225985n, '192.0.2.1'],
    ['0.0.0.0', 'ipv4', 0n, '0.0.0.0'],
    ['255.255.255.255', 'ipv4', 4294967295n, '255.255.255.255'],
    ['2001:DB8:0:0:0:0:0:1', 'ipv6', 0x20010db8000000000000000000000001n, '2001:db8::1'],
    ['::', 'ipv6', 0n, '::'],
    ['::ffff:192.0.2.1', 'ipv6', 0xffffc0000201n, '::ffff:c000:201'],
  ] as const)('%s is %s %s, written back as %s', (text, family, value, canonical) => {
    expect(parseAddress(text)).toEqual({ family, value });
    expect(formatAddress(family, value)).toBe(canonical);
    expect(canonicalAddress(text)).toBe(canonical);
    expect(addressFamily(text)).toBe(family);
  });

  it.each([
    '',
    '1.2.3',
    '256.0.0.1',
    '010.0.0.1',
    '10.0.0.1/32',
    'fe80::1%eth0',
    '1::2::3',
    'host.example',
    ' 10.0.0.1',
  ])('%j is not an address', (text) => {
    expect(tryParseAddress(text)).toBeUndefined();
    expect(addressFamily(text)).toBeUndefined();
    expect(() => parseAddress(text)).toThrow(TypeError);
  });

  it('refuses to format a value outside the family', () => {
    expect(() => formatAddress('ipv4', 1n << 32n)).toThrow(RangeError);
    expect(() => formatAddress('ipv6', -1n)).toThrow(RangeError);
  });
});

describe('parseRange', () => {
  it.each([
    ['192.0.2.0/24', 'ipv4', '192.0.2.0', '192.0.2.255', 256n],
    ['192.0.2.7/24', 'ipv4', '192.0.2.0', '192.0.2.255', 256n], // host bits masked, as MetalLB does
    ['192.0.2.10/32', 'ipv4', '192.0.2.10', '192.0.2.10', 1n],
    ['192.0.2.10-192.0.2.20', 'ipv4', '192.0.2.10', '192.0.2.20', 11n],
    [' 192.0.2.10 - 192.0.2.20 ', 'ipv4', '192.0.2.10', '192.0.2.20', 11n],
    ['2001:db8::/64', 'ipv6', '2001:db8::', '2001:db8::ffff:ffff:ffff:ffff', 1n << 64n],
    ['2001:db8::1-2001:db8::ff', 'ipv6', '2001:db8::1', '2001:db8::ff', 255n],
    ['::/0', 'ipv6', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 1n << 128n],
  ] as const)('%j covers %s %s..%s (%s addresses)', (text, family, first, last, size) => {
    const r = parseRange(text);
    expect(r.family).toBe(family);
    expect(formatAddress(family, r.first)).toBe(first);
    expect(formatAddress(family, r.last)).toBe(last);
    expect(rangeSize(r)).toBe(size);
    expect(r.text).toBe(text);
  });

  it.each([
    ['10.0.0.5-10.0.0.1', RangeError, 'address range "10.0.0.5-10.0.0.1" is reversed'],
    ['10.0.0.1', TypeError, 'write "10.0.0.1/32"'],
    ['2001:db8::1', TypeError, 'write "2001:db8::1/128"'],
    ['10.0.0.0/33', RangeError, 'prefix length 33, more than 32'],
    ['2001:db8::/129', RangeError, 'more than 128'],
    ['10.0.0.0/x', TypeError, 'invalid prefix length'],
    ['10.0.0.1-2001:db8::1', TypeError, 'mixes IPv4 and IPv6'],
    ['10.0.0.1-', TypeError, 'invalid end address ""'],
    ['nonsense', TypeError, 'neither a CIDR nor an address range'],
  ] as const)('%j is rejected: %s', (text, type, message) => {
    expect(() => parseRange(text)).toThrow(type);
    expect(() => parseRange(text)).toThrow(message);
  });

  it('parseCidr returns the network and length', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ family: 'ipv4', value: 10n << 24n, prefixLength: 8 });
  });
});

describe('range relations and formatting', () => {
  const r = (t: string): AddressRange => parseRange(t);

  it.each([
    ['10.0.0.0/24', '10.0.0.255/32', true],
    ['10.0.0.0/24', '10.0.1.0/24', false],
    ['10.0.0.0-10.0.0.10', '10.0.0.10-10.0.0.20', true],
    ['10.0.0.0/8', '10.200.0.0/16', true],
    ['10.0.0.0/32', '::a00:0/128', false], // same number, different family
  ])('%s and %s overlap: %s', (a, b, want) => {
    expect(rangesOverlap(r(a), r(b))).toBe(want);
    expect(rangesOverlap(r(b), r(a))).toBe(want);
  });

  it('contains only addresses of its family', () => {
    expect(rangeContains(r('10.0.0.0/24'), parseAddress('10.0.0.9'))).toBe(true);
    expect(rangeContains(r('10.0.0.0/24'), parseAddress('10.0.1.0'))).toBe(false);
    expect(rangeContains(r('::/96'), parseAddress('::a00:9'))).toBe(true);
    expect(rangeContains(r('10.0.0.0/8'), parseAddress('::a00:9'))).toBe(false);
  });

  it.each([
    ['10.0.0.7/24', '10.0.0.0/24'],
    ['10.0.0.0-10.0.0.255', '10.0.0.0/24'],
    ['10.0.0.1-10.0.0.6', '10.0.0.1-10.0.0.6'],
    ['2001:DB8::-2001:db8::ffff', '2001:db8::/112'],
  ])('%s is written canonically as %s', (text, canonical) => {
    expect(formatRange(r(text))).toBe(canonical);
  });

  it('splits a range into the fewest CIDRs', () => {
    const cidrs = rangeToCidrs(r('10.0.0.1-10.0.0.6')).map(
      (c) => `${formatAddress(c.family, c.value)}/${c.prefixLength}`,
    );
    expect(cidrs).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
  });
});

describe('avoidBuggyIPs arithmetic', () => {
  it.each([
    ['10.0.0.0', true],
    ['10.0.0.255', true],
    ['10.0.0.1', false],
    ['2001:db8::', false],
  ])('%s is buggy: %s', (text, want) => {
    expect(isBuggyAddress(parseAddress(text))).toBe(want);
  });

  it.each([
    ['10.0.0.0/24', 2n],
    ['10.0.0.0/16', 512n],
    ['10.0.0.1-10.0.0.254', 0n],
    ['10.0.0.200-10.0.1.10', 2n],
    ['10.0.0.255/32', 1n],
    ['2001:db8::/64', 0n],
  ])('%s has %s buggy addresses', (text, want) => {
    expect(countBuggy(parseRange(text))).toBe(want);
  });
});

describe('properties', () => {
  const v4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n });
  const v6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

  it('IPv6 text matches ip-address correctForm (RFC 5952), zero runs included', () => {
    const group = fc.oneof(fc.constant(0n), fc.constant(0n), fc.bigInt({ min: 0n, max: 0xffffn }));
    const v6groups = fc
      .array(group, { minLength: 8, maxLength: 8 })
      .map((gs) => gs.reduce((acc, g) => (acc << 16n) | g, 0n));
    fc.assert(
      fc.property(fc.oneof(v6, v6groups), (v) => {
        expect(formatAddress('ipv6', v)).toBe(Address6.fromBigInt(v).correctForm());
      }),
      { numRuns: 2000 },
    );
  });

  it('format then parse is the identity, both families', () => {
    fc.assert(fc.property(v4, (v) => parseAddress(formatAddress('ipv4', v)).value === v));
    fc.assert(fc.property(v6, (v) => parseAddress(formatAddress('ipv6', v)).value === v));
  });

  it('rangeToCidrs covers the range exactly, in order, without gaps', () => {
    fc.assert(
      fc.property(v6, v6, (a, b) => {
        const [first, last] = a <= b ? [a, b] : [b, a];
        const cidrs = rangeToCidrs({ family: 'ipv6', first, last });
        let next = first;
        for (const c of cidrs) {
          expect(c.value).toBe(next);
          expect(c.value % (1n << BigInt(128 - c.prefixLength))).toBe(0n);
          next = c.value + (1n << BigInt(128 - c.prefixLength));
        }
        expect(next).toBe(last + 1n);
        expect(cidrs.length).toBeLessThanOrEqual(2 * 128);
      }),
    );
  });

  it('usableAt and usableBelow number the non-buggy addresses densely', () => {
    fc.assert(
      fc.property(v4, (x) => {
        const rank = usableBelow(x);
        const a = usableAt(rank);
        expect(isBuggyAddress({ family: 'ipv4', value: a })).toBe(false);
        expect(a >= x).toBe(true);
        expect(usableBelow(a)).toBe(rank);
      }),
    );
  });

  it('countBuggy matches a brute-force count on small ranges', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 700 }), (start, len) => {
        const first = BigInt(start);
        const last = first + BigInt(len);
        let brute = 0n;
        for (let x = first; x <= last; x++) if (isBuggyAddress({ family: 'ipv4', value: x })) brute++;
        expect(countBuggy({ family: 'ipv4', first, last })).toBe(brute);
      }),
    );
  });
});
