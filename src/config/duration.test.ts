import { describe, expect, it } from 'vitest';
import { parseGoDuration } from './duration.ts';

describe('parseGoDuration', () => {
  it.each([
    ['90s', 90_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['0', 0],
    ['0s', 0],
    ['-2s', -2000],
    ['1h2m3s4ms', 3_723_004],
    ['.5s', 500],
    ['1500us', 1.5],
  ])('%s is %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '90', 's', '1d', '1m 30s', 'ninety'])('%j is not a duration', (text) => {
    expect(() => parseGoDuration(text)).toThrow(TypeError);
  });
});
