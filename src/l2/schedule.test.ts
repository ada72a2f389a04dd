import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FAST_SCHEDULE,
  METALLB_SCHEDULE,
  announcementOffsets,
  announcementStep,
  type AnnounceSchedule,
} from './schedule.ts';

describe('announcement schedule', () => {
  it('is MetalLB’s by default: 0, 1.1, 2.2, 3.3, 4.4 s', () => {
    expect(announcementOffsets(METALLB_SCHEDULE)).toEqual([0, 1100, 2200, 3300, 4400]);
  });
  it('adds early rounds in the fast schedule', () => {
    expect(announcementOffsets(FAST_SCHEDULE)).toEqual([0, 100, 300, 1100, 2200, 3300, 4400]);
  });
  it('walks the schedule one round at a time when called on time', () => {
    const steps: [number, boolean, number | undefined][] = [];
    let done = 0;
    for (const at of [0, 1099, 1100, 2200, 3300, 4400, 9000]) {
      const s = announcementStep(at, done, METALLB_SCHEDULE);
      done = s.done;
      steps.push([at, s.send, s.nextAt]);
    }
    expect(steps).toEqual([
      [0, true, 1100],
      [1099, false, 1100],
      [1100, true, 2200],
      [2200, true, 3300],
      [3300, true, 4400],
      [4400, true, undefined],
      [9000, false, undefined],
    ]);
  });
  it('skips missed rounds instead of bursting when called late', () => {
    expect(announcementStep(3500, 1, METALLB_SCHEDULE)).toEqual({ send: true, done: 4, nextAt: 4400 });
  });
  it('sends a single round for a zero duration', () => {
    expect(announcementOffsets({ intervalMs: 1000, durationMs: 0 })).toEqual([0]);
  });
  it.each<[string, AnnounceSchedule]>([
    ['interval 0', { intervalMs: 0, durationMs: 5000 }],
    ['negative duration', { intervalMs: 1, durationMs: -1 }],
    ['negative extra', { intervalMs: 1, durationMs: 1, extraOffsetsMs: [-5] }],
  ])('rejects %s', (_n, s) => {
    expect(() => announcementOffsets(s)).toThrow(RangeError);
  });
  it('never sends more rounds than the schedule has, never early, at most one per call', () => {
    fc.assert(
      fc.property(
        fc.record({
          intervalMs: fc.integer({ min: 1, max: 3000 }),
          durationMs: fc.nat(10_000),
          extraOffsetsMs: fc.array(fc.nat(5000), { maxLength: 3 }),
        }),
        fc.array(fc.nat(500), { maxLength: 80 }),
        (schedule, gaps) => {
          const offsets = announcementOffsets(schedule);
          let now = 0;
          let done = 0;
          let sent = 0;
          for (const g of [0, ...gaps]) {
            now += g;
            const s = announcementStep(now, done, schedule);
            if (s.send) {
              sent++;
              expect(offsets[s.done - 1]).toBeLessThanOrEqual(now);
            }
            expect(s.done).toBeGreaterThanOrEqual(done);
            if (s.nextAt !== undefined) expect(s.nextAt).toBeGreaterThan(now);
            done = s.done;
          }
          expect(sent).toBeLessThanOrEqual(offsets.length);
        },
      ),
    );
  });
});
