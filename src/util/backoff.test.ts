import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const o = { baseMs: 100, capMs: 1000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, 0.5, o))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('never leaves [ (1-j)·d, min(cap, (1+j)·d) ]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (attempt, r) => {
          const o = { baseMs: 200, capMs: 30_000, jitter: 0.2 };
          const d = backoffDelay(attempt, r, o);
          const exp = Math.min(o.capMs, o.baseMs * 2 ** Math.min(attempt, 30));
          return d >= Math.floor(exp * 0.8) && d <= o.capMs;
        },
      ),
    );
  });
});
