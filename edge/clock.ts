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
