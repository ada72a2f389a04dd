import { describe, expect, it } from 'vitest';
import { deadline, ManualClock, sleep } from './clock.ts';

describe('sleep', () => {
  it('resolves when the clock reaches ms, not before', async () => {
    const clock = new ManualClock();
    let done = false;
    const p = sleep(clock, 100).then(() => (done = true));
    clock.advance(99);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);
  });

  it('rejects with the reason and cancels its timer when the signal aborts', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = sleep(clock, 100, ac.signal);
    expect(clock.pending).toBe(1);
    ac.abort(new Error('stopping'));
    await expect(p).rejects.toThrow('stopping');
    expect(clock.pending).toBe(0);
    await expect(sleep(clock, 1, ac.signal)).rejects.toThrow('stopping');
    expect(clock.pending).toBe(0);
  });
});

describe('deadline', () => {
  it('is true until ms have passed on the clock', () => {
    const clock = new ManualClock(1_000);
    const open = deadline(clock, 50);
    expect(open()).toBe(true);
    clock.advance(49);
    expect(open()).toBe(true);
    clock.advance(1);
    expect(open()).toBe(false);
  });
});
