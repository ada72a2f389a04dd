import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalIP,
  canonicalMac,
  ipv4FromBytes,
  ipv4ToBytes,
  ipv6FromBytes,
  ipv6ToBytes,
  macFromBytes,
  macToBytes,
} from './address.ts';
import { bytesToHex } from './hex.ts';

describe('MAC text', () => {
  it('parses colon and dash forms and formats lowercase with colons', () => {
    expect(bytesToHex(macToBytes('02:00:00:AB:cd:0F'))).toBe('020000abcd0f');
    expect(canonicalMac('02-00-00-ab-cd-0f')).toBe('02:00:00:ab:cd:0f');
    expect(canonicalMac('2:0:0:ab:cd:f')).toBe('02:00:00:ab:cd:0f');
  });
  it.each(['', '02:00:00:00:00', '02:00:00:00:00:00:00', 'zz:00:00:00:00:00', '020:00:00:00:00:00'])(
    'rejects %j',
    (bad) => {
      expect(() => macToBytes(bad)).toThrow(TypeError);
    },
  );
  it('round-trips any 6 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
        expect(macToBytes(macFromBytes(b))).toEqual(b);
      }),
    );
  });
});

describe('IPv4 text', () => {
  it.each(['192.0.2.1', '0.0.0.0', '255.255.255.255'])('round-trips %s', (ip) => {
    expect(ipv4FromBytes(ipv4ToBytes(ip))).toBe(ip);
  });
  it.each(['192.0.2', '192.0.2.256', '192.0.2.01', '1.2.3.4.5', ' 1.2.3.4', 'a.b.c.d'])(
    'rejects %j',
    (bad) => {
      expect(() => ipv4ToBytes(bad)).toThrow(TypeError);
    },
  );
});

describe('IPv6 text', () => {
  it.each([
    ['2001:db8::77', '2001:db8::77'],
    ['2001:0DB8:0:0:0:0:0:77', '2001:db8::77'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'], // longest zero run wins
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'], // first of equal runs
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['ff02::1:ff00:77', 'ff02::1:ff00:77'],
  ])('%s is canonically %s (RFC 5952)', (text, canon) => {
    expect(ipv6FromBytes(ipv6ToBytes(text))).toBe(canon);
    expect(canonicalIP(text)).toEqual({ ip: canon, family: 'ipv6' });
  });
  it.each([
    ':',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'fe80::1%eth0',
    '::1.2.3',
    'g::',
  ])('rejects %j', (bad) => {
    expect(() => ipv6ToBytes(bad)).toThrow(TypeError);
    expect(canonicalIP(bad)).toBeUndefined();
  });
  it('round-trips any 16 bytes, and canonical text re-parses to itself', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const text = ipv6FromBytes(b);
        expect(ipv6ToBytes(text)).toEqual(b);
        expect(canonicalIP(text)?.ip).toBe(text);
      }),
    );
  });
  it('agrees with the URL parser on canonical form', () => {
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const ours = canonicalIP(ip);
        expect(ours?.family).toBe('ipv6');
        expect(`[${ours?.ip}]`).toBe(new URL(`http://[${ip}]/`).hostname);
      }),
    );
  });
});
