import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { DONE, TerminalError, WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  it('queues a key once, keeps order, and re-runs a key added while it was being processed', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    const seen: string[] = [];
    await q.processOne(async (k) => {
      seen.push(k);
      q.add('a'); // changed while we worked on it
      return DONE;
    });
    await q.processOne(async (k) => (seen.push(k), DONE));
    await q.processOne(async (k) => (seen.push(k), DONE));
    expect(seen).toEqual(['a', 'b', 'a']);
    expect(q.length).toBe(0);
  });

  it('backs off a failing key, doubling, and forgets the count after success', async () => {
    const clock = new ManualClock();
    const delays: (number | undefined)[] = [];
    const q = new WorkQueue({
      clock,
      random: () => 0.5,
      backoff: { baseMs: 100, capMs: 1000, jitter: 0 },
      onError: (_k, _e, d) => delays.push(d),
    });
    const fail = async () => {
      throw new Error('boom');
    };
    q.add('k');
    await q.processOne(fail);
    expect(q.length).toBe(0);
    clock.advance(100);
    await q.processOne(fail);
    clock.advance(200);
    await q.processOne(async () => DONE);
    expect(delays).toEqual([100, 200]);
    q.add('k');
    await q.processOne(fail);
    expect(delays.at(-1)).toBe(100);
  });

  it('does not retry a TerminalError, and honours requeueAfterMs', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    q.add('t');
    await q.processOne(async () => {
      throw new TerminalError('bad spec');
    });
    clock.advance(60_000);
    expect(q.length).toBe(0);
    q.add('r');
    await q.processOne(async () => ({ requeueAfterMs: 500 }));
    clock.advance(499);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
  });

  it('runs a key added in the same tick as run() started, without waiting for another add', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    const seen: string[] = [];
    const running = q.run(async (k) => (seen.push(k), DONE));
    q.add('early');
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(seen).toEqual(['early']);
    q.shutDown();
    await running;
  });
});
