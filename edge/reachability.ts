// One voice per process for "the API server is down": every watch, and any other caller, reports failures
// and successes here, and the log says once that the API server is unreachable and once that it is back,
// with the outage's length, however many watches and retries there were in between.
import { realClock, type Clock } from './clock.ts';
import type { Logger } from './log.ts';

/**
 * Reachability tracks whether the API server answers every watch of the process. An outage begins with the
 * first failure of any source and ends when every source that failed has succeeded again (an API server that
 * is starting answers some requests before others: counting one success as the end made it flap). Only the
 * two transitions log, so a 60 s outage costs two lines whatever the retry rate.
 */
export class Reachability {
  private downSince: number | undefined;
  private failures = 0;
  private readonly failing = new Set<string>();
  private readonly clock: Clock;

  constructor(clock: Clock = realClock) {
    this.clock = clock;
  }

  /** down is true between the first failure and the moment every failing source succeeded again. */
  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** failed reports a request of `source` that did not reach the API server; logs once per outage. */
  failed(log: Logger | undefined, context: { source: string; err: string }): void {
    this.failures++;
    this.failing.add(context.source);
    if (this.downSince !== undefined) return;
    this.downSince = this.clock.now();
    log?.warn(context, 'API server unreachable; retrying with backoff (logged again when it is back)');
  }

  /** succeeded reports a request of `source` the API server answered; the last one ends the outage, logged once. */
  succeeded(log: Logger | undefined, context: { source: string }): void {
    this.failing.delete(context.source);
    if (this.downSince === undefined || this.failing.size > 0) return;
    const outageMs = this.clock.now() - this.downSince;
    log?.info(
      { ...context, outageMs, failedAttempts: this.failures },
      `API server back after ${(outageMs / 1000).toFixed(1)} s`,
    );
    this.downSince = undefined;
    this.failures = 0;
  }
}

/** apiReachability is the process-wide tracker every informer reports to unless given its own. */
export const apiReachability = new Reachability();
