import { describe, expect, it } from 'vitest';
import {
  formatLargeCommunity,
  formatStandardCommunity,
  normalizeLargeCommunities,
  normalizeStandardCommunities,
} from './community.ts';

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
