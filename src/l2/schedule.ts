// When to repeat gratuitous ARP / unsolicited NA after taking an address over, as a pure function of the
// time elapsed since takeover and how many rounds were already sent.

/** AnnounceSchedule says when to send announcement rounds, in ms after takeover. */
export interface AnnounceSchedule {
  /** intervalMs: the gap between regular rounds (the first goes out at 0). */
  intervalMs: number;
  /** durationMs: regular rounds are sent while elapsed < durationMs. */
  durationMs: number;
  /** extraOffsetsMs: additional early rounds (e.g. [100, 300]) so one lost frame costs milliseconds, not a second. */
  extraOffsetsMs?: readonly number[];
}

/**
 * METALLB_SCHEDULE is MetalLB's: at once, then every 1.1 s while under 5 s, so rounds at 0, 1.1, 2.2, 3.3 and 4.4 s
 * (REFERENCE §1). Each round is a gratuitous request and reply for IPv4, one unsolicited NA for IPv6.
 */
export const METALLB_SCHEDULE: Readonly<AnnounceSchedule> = { intervalMs: 1100, durationMs: 5000 };

/** FAST_SCHEDULE is METALLB_SCHEDULE plus rounds at 100 and 300 ms, for sub-second takeover on lossy links. */
export const FAST_SCHEDULE: Readonly<AnnounceSchedule> = {
  intervalMs: 1100,
  durationMs: 5000,
  extraOffsetsMs: [100, 300],
};

/**
 * announcementOffsets lists every round's time in ms after takeover, ascending and without duplicates. It throws
 * RangeError for a non-positive interval or negative times (the list would be infinite or meaningless).
 */
export function announcementOffsets(schedule: Readonly<AnnounceSchedule>): number[] {
  const { intervalMs, durationMs } = schedule;
  const extra = schedule.extraOffsetsMs ?? [];
  if (!(intervalMs > 0) || !(durationMs >= 0) || extra.some((x) => !(x >= 0))) {
    throw new RangeError(
      `Invalid announce schedule ${JSON.stringify(schedule)}: interval must be > 0, times ≥ 0`,
    );
  }
  const out = new Set<number>(extra);
  for (let k = 0; k * intervalMs < durationMs; k++) out.add(k * intervalMs);
  if (durationMs === 0) out.add(0);
  return [...out].sort((a, b) => a - b);
}

/** AnnounceStep is what to do now: send one round or not, the new count of rounds done, and when to look again. */
export interface AnnounceStep {
  send: boolean;
  /** done: rounds accounted for after this step (missed rounds count as done); pass it to the next call. */
  done: number;
  /** nextAt: elapsed ms of the next round; undefined when the schedule is finished. */
  nextAt?: number;
}

/**
 * announcementStep says whether a round is due given the elapsed time and the rounds done so far, and when the
 * next one is. Guarantees: at most one round per call, never before its offset, never more rounds than the
 * schedule has; a late caller sends one round and skips the ones it missed rather than sending a burst.
 */
export function announcementStep(
  elapsedMs: number,
  done: number,
  schedule: Readonly<AnnounceSchedule>,
): AnnounceStep {
  const offsets = announcementOffsets(schedule);
  let due = 0;
  while (due < offsets.length && (offsets[due] as number) <= elapsedMs) due++;
  const send = due > done;
  const now = Math.max(due, done);
  const next = offsets[now];
  return next === undefined ? { send, done: now } : { send, done: now, nextAt: next };
}
