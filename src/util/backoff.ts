/** BackoffOptions: the first delay, the cap, and how much jitter (0..1) to spread retries by. */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** jitter as a fraction of the delay: 0.2 spreads delays over [0.8d, 1.2d]. */
  jitter: number;
}

/** DEFAULT_BACKOFF: 200 ms doubling to 30 s, ±20 %. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, capMs: 30_000, jitter: 0.2 };

/**
 * backoffDelay returns the delay before retry number `attempt` (0-based): base·2^attempt capped at capMs, then
 * spread by ±jitter using `random` in [0, 1) supplied by the caller (so this stays pure and testable).
 */
export function backoffDelay(
  attempt: number,
  random: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
): number {
  const exp = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 30));
  const spread = 1 + options.jitter * (2 * random - 1);
  return Math.max(0, Math.round(Math.min(options.capMs, exp * spread)));
}
