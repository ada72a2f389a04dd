import { describe, expect, it } from 'vitest';
import { cidrContains, formatCidr, tryParseCidr } from '../address/address.ts';
import { parseCidrList } from './cidr.ts';

// allow-list entries may be bare addresses
const parseCidr = (text: string) => tryParseCidr(text, { bareAddress: true });

describe('parseCidr / formatCidr', () => {
  it.each([
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['192.168.1.7', '192.168.1.7/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8::1/32', '2001:db8::/32'],
    ['::1', '::1/128'],
    ['::', '::/128'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'],
    ['::ffff:10.0.0.1', '::ffff:a00:1/128'],
    ['fe80::/10', 'fe80::/10'],
  ])('%s → %s', (text, want) => {
    const c = parseCidr(text);
    expect(c && formatCidr(c)).toBe(want);
  });
  it.each([
    '10.0.0.256',
    '10.0.0.0/33',
    '10.0.0',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '::/129',
    'x',
    '10.0.0.0/8/1',
    '010.0.0.1',
    '',
  ])('rejects %j', (text) => expect(parseCidr(text)).toBeUndefined());
});

describe('cidrContains', () => {
  const c = (s: string) => parseCidr(s) ?? expect.unreachable(s);
  it.each([
    ['10.0.0.0/8', '10.1.0.0/16', true],
    ['10.1.0.0/16', '10.0.0.0/8', false],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    ['2001:db8::/32', '2001:db8:1::1', true],
    ['10.0.0.0/8', '::ffff:10.0.0.1', false],
  ])('%s ⊇ %s: %s', (a, b, want) => expect(cidrContains(c(a), c(b))).toBe(want));
});

describe('parseCidrList', () => {
  it('trims, normalises, sorts and de-duplicates; names the first bad entry', () => {
    expect(parseCidrList(' 10.0.0.1/8 ,10.0.0.0/8,, 1.2.3.4')).toEqual({
      cidrs: ['1.2.3.4/32', '10.0.0.0/8'],
    });
    expect(parseCidrList('10.0.0.0/8, bogus, 1.1.1.1')).toEqual({ bad: 'bogus' });
  });
});
