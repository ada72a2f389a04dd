// A keyed work queue in the spirit of client-go's: a key is queued at most once, a key being processed
// that is added again is processed again afterwards (never twice at once), failures back off per key,
// and reconcilers may ask to be called again later.
import { backoffDelay, type BackoffOptions } from '../src/util/backoff.ts';
import { realClock, type Clock, type Timer } from './clock.ts';

/** ReconcileResult is what a reconcile returns: done, or call again after a delay. */
export type ReconcileResult = { done: true } | { requeueAfterMs: number };

/** DONE is the result of a reconcile that converged. */
export const DONE: ReconcileResult = { done: true };

/** TerminalError marks a failure that retrying cannot fix: logged, not retried. */
export class TerminalError extends Error {
  readonly code = 'ETERMINAL';
}

/** WorkQueueOptions: clock, randomness, per-key failure backoff. */
export interface WorkQueueOptions {
  clock?: Clock;
  random?: () => number;
  backoff?: BackoffOptions;
  onError?: (key: string, err: unknown, retryInMs: number | undefined) => void;
}

/** WorkQueue holds keys to reconcile. O(1) add and take. */
export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private readonly clock: Clock;
  private readonly options: WorkQueueOptions;
  private wake: (() => void) | undefined;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.options = options;
    this.clock = options.clock ?? realClock;
  }

  /** length is the number of keys waiting now (not counting delayed ones). */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** add queues key unless it is already waiting; a key in progress is queued again once it finishes. */
  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.wake?.();
  }

  /** addAfter queues key after ms; an earlier pending addAfter for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** addRateLimited queues key after its per-key backoff and returns the delay. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = backoffDelay(
      n,
      (this.options.random ?? Math.random)(),
      this.options.backoff ?? { baseMs: 100, capMs: 60_000, jitter: 0.1 },
    );
    this.addAfter(key, delay);
    return delay;
  }

  /** forget resets key's failure count. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  private take(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++] as string;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }

  private finish(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** process handles one key with reconcile, applying its result; resolves false when there was no key. */
  async processOne(reconcile: (key: string) => Promise<ReconcileResult>): Promise<boolean> {
    const key = this.take();
    if (key === undefined) return false;
    try {
      const result = await reconcile(key);
      this.forget(key);
      if ('requeueAfterMs' in result) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      if (err instanceof TerminalError) {
        this.forget(key);
        this.options.onError?.(key, err, undefined);
      } else {
        const delay = this.addRateLimited(key);
        this.options.onError?.(key, err, delay);
      }
    } finally {
      this.finish(key);
    }
    return true;
  }

  /** run starts `workers` loops that process keys until shutDown(); resolves when they have all stopped. */
  async run(reconcile: (key: string) => Promise<ReconcileResult>, workers = 1): Promise<void> {
    const loop = async () => {
      while (!this.shuttingDown) {
        if (!(await this.processOne(reconcile))) {
          await new Promise<void>((resolve) => {
            // a key added while this worker found none (same tick, before it got here) must not wait for the next add
            if (this.length > 0 || this.shuttingDown) return resolve();
            const prev = this.wake;
            this.wake = () => {
              this.wake = undefined;
              prev?.();
              resolve();
            };
          });
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
  }

  /** shutDown stops the workers after their current key and cancels delayed keys. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
    this.wake?.();
  }
}
