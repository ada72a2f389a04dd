import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatIPAddress,
  formatPrefix,
  isUnspecifiedAddress,
  maskPrefix,
  parseIPAddress,
  parsePrefix,
} from './prefix.ts';

describe('parseIPAddress / formatIPAddress', () => {
  it.each([
    ['198.51.100.10', 'ipv4', '198.51.100.10'],
    ['0.0.0.0', 'ipv4', '0.0.0.0'],
    ['255.255.255.255', 'ipv4', '255.255.255.255'],
    ['2001:db8:100::10', 'ipv6', '2001:db8:100::10'],
    ['2001:DB8:0:0:0:0:0:1', 'ipv6', '2001:db8::1'],
    ['::', 'ipv6', '::'],
    ['::1', 'ipv6', '::1'],
    ['1::', 'ipv6', '1::'],
    ['2001:db8:0:0:1:0:0:1', 'ipv6', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:0:0:1:0:0:0:1', 'ipv6', '2001:0:0:1::1'], // longest run wins
    ['2001:db8:0:1:1:1:1:1', 'ipv6', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['::ffff:192.0.2.1', 'ipv6', '::ffff:c000:201'],
  ])('%s is %s, printed %s', (text, family, canonical) => {
    const address = parseIPAddress(text);
    expect(address.family).toBe(family);
    expect(formatIPAddress(address)).toBe(canonical);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-4',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'fe80::1%eth0',
    'g::1',
    '1:2:3:4:5:6:7::8',
  ])('rejects %j', (text) => {
    expect(() => parseIPAddress(text)).toThrow(TypeError);
  });

  it('round-trips every IPv6 value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (value) => {
        const text = formatIPAddress({ family: 'ipv6', value });
        expect(parseIPAddress(text)).toEqual({ family: 'ipv6', value });
      }),
    );
  });

  it('knows the unspecified addresses', () => {
    expect(isUnspecifiedAddress('0.0.0.0')).toBe(true);
    expect(isUnspecifiedAddress('::')).toBe(true);
    expect(isUnspecifiedAddress('192.0.2.11')).toBe(false);
  });
});

describe('maskPrefix', () => {
  it.each([
    ['198.51.100.77', 32, '198.51.100.77/32'],
    ['198.51.100.77', 24, '198.51.100.0/24'],
    ['198.51.100.77', 0, '0.0.0.0/0'],
    ['2001:db8:100::1:10', 64, '2001:db8:100::/64'],
    ['2001:db8:100::1:10', 128, '2001:db8:100::1:10/128'],
    ['2001:db8:100::1:10', 127, '2001:db8:100::1:10/127'],
  ])('%s masked to %i is %s', (address, length, prefix) => {
    expect(formatPrefix(maskPrefix(parseIPAddress(address), length))).toBe(prefix);
  });

  it.each([[33], [-1], [24.5]])('rejects IPv4 length %d', (length) => {
    expect(() => maskPrefix(parseIPAddress('192.0.2.1'), length)).toThrow(RangeError);
  });

  it('always yields a prefix that contains the address', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        fc.integer({ min: 0, max: 128 }),
        (value, length) => {
          const prefix = maskPrefix({ family: 'ipv6', value }, length);
          const network = parseIPAddress(prefix.address).value;
          const hostBits = BigInt(128 - length);
          expect(value >> hostBits).toBe(network >> hostBits);
          expect(network & ((1n << hostBits) - 1n)).toBe(0n);
        },
      ),
    );
  });
});

describe('parsePrefix', () => {
  it('parses what gobgpd prints', () => {
    expect(parsePrefix('2001:db8:100::10/128')).toEqual({
      family: 'ipv6',
      address: '2001:db8:100::10',
      length: 128,
    });
  });
  it.each(['198.51.100.1/24', '198.51.100.0', '198.51.100.0/', '198.51.100.0/33'])('rejects %j', (text) => {
    expect(() => parsePrefix(text)).toThrow();
  });
});
