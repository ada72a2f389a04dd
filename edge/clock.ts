// Clock is the edges' only source of time and timers, so tests can drive time by hand.

/** Timer is a handle returned by Clock.setTimeout. */
export interface Timer {
  cancel(): void;
}

/** Clock gives the time in milliseconds and one-shot timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
}

/** realClock is the wall clock with Node timers (unref'd: a pending retry never keeps a process alive). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * sleep resolves after ms on the clock. When signal aborts first the timer is cancelled and the promise rejects
 * with the signal's reason (as node:timers/promises does).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      timer.cancel();
      reject(signal?.reason as Error);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** deadline returns a test that stays true until ms have passed on the clock (bounds a polling loop). */
export function deadline(clock: Clock, ms: number): () => boolean {
  const end = clock.now() + ms;
  return () => clock.now() < end;
}

/** ManualClock is a Clock for tests: time moves only when advance() is called, firing due timers in order. */
export class ManualClock implements Clock {
  private t: number;
  private timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  private seq = 0;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** advance moves time forward by ms, running every timer that falls due (including ones they schedule). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers
        .filter((x) => !x.cancelled && x.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }

  /** pending is how many timers are waiting. */
  get pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }
}
