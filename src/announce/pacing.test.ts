import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextPlanDelay, PLAN_PACING, type PlanPacing } from './pacing.ts';

const pacing: PlanPacing = { minMs: 20, factor: 3, maxMs: 2000 };

describe('nextPlanDelay', () => {
  it.each([
    ['a change after a quiet spell waits only the batching window', 5, 60_000, 20],
    ['a cheap plan changes nothing: the window still batches', 2, 0, 20],
    ['right after a 100 ms plan the next waits three times as long', 100, 0, 300],
    ['part of that wait has passed already', 100, 250, 50],
    ['all of it has passed: the window again', 100, 400, 20],
    ['a 5 s plan (a very large cluster) holds changes back 2 s at most', 5000, 0, 2000],
  ])('%s', (_story, lastPlanMs, sinceLastPlanMs, want) => {
    expect(nextPlanDelay(pacing, { lastPlanMs, sinceLastPlanMs })).toBe(want);
  });

  it('never plans within minMs of a change, nor sooner than factor × the last plan after it ended, nor waits past the cap', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 60_000, noNaN: true }),
        fc.double({ min: 0, max: 600_000, noNaN: true }),
        (lastPlanMs, sinceLastPlanMs) => {
          const d = nextPlanDelay(PLAN_PACING, { lastPlanMs, sinceLastPlanMs });
          const gap = Math.min(PLAN_PACING.maxMs, PLAN_PACING.factor * lastPlanMs);
          return (
            d >= PLAN_PACING.minMs &&
            d <= Math.max(PLAN_PACING.minMs, gap) &&
            sinceLastPlanMs + d >= gap - 1e-9
          );
        },
      ),
    );
  });

  it('keeps planning to at most 1/(1 + factor) of the time while changes arrive without pause', () => {
    fc.assert(
      fc.property(
        fc.array(
          // plans shorter than maxMs / factor (beyond, the cap wins: a change waits 2 s at most)
          fc.double({ min: 0.1, max: 600, noNaN: true }),
          { minLength: 5, maxLength: 60 },
        ),
        (plans) => {
          // a change is always waiting: each plan is followed by the delay nextPlanDelay asks for, then the next
          let busy = 0;
          let elapsed = 0;
          let last = 0;
          for (const p of plans) {
            const wait = nextPlanDelay(PLAN_PACING, { lastPlanMs: last, sinceLastPlanMs: 0 });
            elapsed += wait + p;
            busy += p;
            last = p;
          }
          // the last plan's own gap has not been waited yet: count it, as the next change would
          elapsed += nextPlanDelay(PLAN_PACING, { lastPlanMs: last, sinceLastPlanMs: 0 });
          return busy / elapsed <= 1 / (1 + PLAN_PACING.factor) + 1e-9;
        },
      ),
    );
  });
});
