import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatCommunity, parseCommunity } from './community.ts';

describe('parseCommunity', () => {
  it.each([
    ['65000:100', { kind: 'standard', asn: 65000, value: 100 }],
    ['0:0', { kind: 'standard', asn: 0, value: 0 }],
    ['large:4294967295:0:1', { kind: 'large', global: 4294967295, local1: 0, local2: 1 }],
  ])('%s is a community', (text, community) => {
    expect(parseCommunity(text)).toEqual({ ok: true, community });
  });

  it.each([
    ['65536:1', 'badValue'],
    ['-1:1', 'badValue'],
    ['1:', 'badValue'],
    ['large:1:2:x', 'badValue'],
    ['huge:1:2:3', 'badValue'],
    ['no-export', 'notACommunity'],
    ['1:2:3', 'notACommunity'],
  ])('%s is %s', (text, shape) => {
    expect(parseCommunity(text)).toMatchObject({ ok: false, shape });
  });

  it('format then parse is the identity', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const community = fc.oneof(
      fc.record({ kind: fc.constant('standard' as const), asn: u16, value: u16 }),
      fc.record({ kind: fc.constant('large' as const), global: u32, local1: u32, local2: u32 }),
    );
    fc.assert(
      fc.property(community, (c) => {
        expect(parseCommunity(formatCommunity(c))).toEqual({ ok: true, community: c });
      }),
    );
  });
});
