import { describe, expect, it } from 'vitest';
import {
  formatLargeCommunity,
  formatStandardCommunity,
  normalizeLargeCommunities,
  normalizeStandardCommunities,
  parseCommunity,
} from './community.ts';

describe('parseCommunity', () => {
  it.each([
    ['64512:100', { kind: 'standard', value: 64512 * 65536 + 100 }],
    ['0:0', { kind: 'standard', value: 0 }],
    ['65535:65281', { kind: 'standard', value: 0xffffff01 }], // NO_EXPORT
    ['large:64512:1:2', { kind: 'large', value: { globalAdmin: 64512, localData1: 1, localData2: 2 } }],
    [
      'large:4294967295:0:4294967295',
      { kind: 'large', value: { globalAdmin: 4294967295, localData1: 0, localData2: 4294967295 } },
    ],
  ])('%s', (text, expected) => {
    expect(parseCommunity(text)).toEqual(expected);
  });

  it.each([
    ['65536:1', RangeError],
    ['1:65536', RangeError],
    ['-1:1', RangeError],
    ['01x:1', RangeError],
    ['large:4294967296:1:1', RangeError],
    ['1:2:3', TypeError],
    ['extended:1:2:3', TypeError],
    ['no-export', TypeError],
    ['', TypeError],
  ])('rejects %j', (text, error) => {
    expect(() => parseCommunity(text)).toThrow(error);
  });

  it('names the community in the error', () => {
    expect(() => parseCommunity('64512:70000')).toThrow('Invalid community "64512:70000"');
  });
});

describe('formatting and normalizing', () => {
  it('prints as FRR shows them', () => {
    expect(formatStandardCommunity(64512 * 65536 + 100)).toBe('64512:100');
    expect(formatLargeCommunity({ globalAdmin: 64512, localData1: 1, localData2: 2 })).toBe('64512:1:2');
  });

  it('sorts and deduplicates', () => {
    expect(normalizeStandardCommunities([3, 1, 3, 2])).toEqual([1, 2, 3]);
    expect(
      normalizeLargeCommunities([
        { globalAdmin: 2, localData1: 0, localData2: 0 },
        { globalAdmin: 1, localData1: 5, localData2: 1 },
        { globalAdmin: 1, localData1: 5, localData2: 1 },
        { globalAdmin: 1, localData1: 2, localData2: 9 },
      ]),
    ).toEqual([
      { globalAdmin: 1, localData1: 2, localData2: 9 },
      { globalAdmin: 1, localData1: 5, localData2: 1 },
      { globalAdmin: 2, localData1: 0, localData2: 0 },
    ]);
  });

  it('rejects values outside 32 bits', () => {
    expect(() => normalizeStandardCommunities([2 ** 32])).toThrow(RangeError);
    expect(() => normalizeLargeCommunities([{ globalAdmin: -1, localData1: 0, localData2: 0 }])).toThrow(
      RangeError,
    );
  });
});
