// The ingress control loop: informer changes (debounced) → reconcile(snapshot) → the data plane; then Events
// for new issues and the status of every Ingress, both only from the Lease holder. It keeps HAProxy running:
// when it exits unasked, a new one starts (with capped backoff) from the last table that was applied.
import type { Clock, Timer } from '../edge/clock.ts';
import { realClock } from '../edge/clock.ts';
import type { Recorder } from '../edge/events.ts';
import { errorMessage } from '../edge/informer.ts';
import type { Logger } from '../edge/log.ts';
import { backoffDelay, type BackoffOptions } from '../src/util/backoff.ts';
import { emptyRouteTable } from '../src/ingress/build.ts';
import {
  addressesKey,
  planIngressStatus,
  statusAddresses,
  type IngressStatusView,
  type LoadBalancerStatusView,
  type StatusAddress,
} from '../src/ingress/status.ts';
import type { Issue, RouteTable } from '../src/ingress/types.ts';
import type { ApplyResult, Dataplane } from './dataplane.ts';
import type { IngressMetrics } from './metrics.ts';
import {
  createReconciler,
  type IngressSnapshot,
  type ReconcileResult,
  type ReconcilerOptions,
} from './reconcile.ts';

/** StatusWriter writes an Ingress's `status.loadBalancer.ingress` (empty clears it). */
export interface StatusWriter {
  write(namespace: string, name: string, addresses: StatusAddress[]): Promise<void>;
}

/** IngressLoopOptions: where the loop reads, what it drives and writes, and its timings. */
export interface IngressLoopOptions {
  snapshot(): IngressSnapshot;
  /** ingresses returns the cached Ingresses (status and uid are read from them). */
  ingresses(): readonly (IngressStatusView & { metadata?: { uid?: string } })[];
  /** ownService returns the ingress's own LoadBalancer Service, whose addresses Ingresses get. */
  ownService(): LoadBalancerStatusView | undefined;
  /** startDataplane starts HAProxy with a first table; `onExit` is called when it exits. */
  startDataplane(table: RouteTable, onExit: (code: number | null) => void): Promise<Dataplane>;
  recorder: Recorder;
  status: StatusWriter;
  /** isLeader fences Events and status writes: only the Lease holder writes. */
  isLeader(): boolean;
  controller?: string;
  watchWithoutClass?: boolean;
  log: Logger;
  metrics?: IngressMetrics;
  clock?: Clock;
  random?: () => number;
  /** debounceMs: changes within this window are reconciled once (100). */
  debounceMs?: number;
  /** restartBackoff: delays between HAProxy restarts (200 ms doubling to 10 s). */
  restartBackoff?: BackoffOptions;
  /** extendTable adds the Gateway API routes to each table before it is applied (ingress/gateway.ts). */
  extendTable?: ReconcilerOptions['extend'];
  /** writeMore writes what else the leader owns after Ingress status (Gateway API status); false: retry. */
  writeMore?(): Promise<boolean>;
  /** retryMs: delay before a failed reconcile or status write is tried again (1000, doubling to 30 s). */
  retryMs?: number;
}

const INGRESS = { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1' } as const;
const STARTED = 'data plane started';

/**
 * IngressLoop runs the control loop. `trigger()` after every informer change; the first trigger after the
 * caches synced starts HAProxy with the first real table (no window of empty routes).
 */
export class IngressLoop {
  private readonly o: IngressLoopOptions;
  private readonly clock: Clock;
  private readonly reconciler;
  private dp: Dataplane | undefined;
  private dpStartedAt = 0;
  private restartAttempts = 0;
  /** failures: reconciles or status writes that failed in a row (the retry delay doubles with each). */
  private failures = 0;
  private serving: RouteTable | undefined;
  private served: Set<string> | undefined;
  private reported = new Set<string>();
  private readonly written = new Map<string, string>();
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopping = false;
  private cycles = 0;
  /** last is the result of the last reconcile (for debugging endpoints and tests). */
  last: ReconcileResult | undefined;

  constructor(options: IngressLoopOptions) {
    this.o = options;
    this.clock = options.clock ?? realClock;
    this.reconciler = createReconciler({
      dataplane: { apply: (table) => this.apply(table) },
      ...(options.controller !== undefined ? { controller: options.controller } : {}),
      ...(options.watchWithoutClass !== undefined ? { watchWithoutClass: options.watchWithoutClass } : {}),
      ...(options.extendTable ? { extend: options.extendTable } : {}),
    });
  }

  /** ready: HAProxy runs and at least one reconcile reached it. */
  get ready(): boolean {
    return this.dp !== undefined && this.cycles > 0;
  }

  /** dataplane is the running HAProxy, if any. */
  get dataplane(): Dataplane | undefined {
    return this.dp;
  }

  /** trigger schedules a reconcile after the debounce window; triggers within the window coalesce. */
  trigger(delayMs = this.o.debounceMs ?? 100): void {
    if (this.stopping || this.timer) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delayMs);
  }

  /** run reconciles now unless a reconcile is running, in which case one more follows it. */
  async run(): Promise<void> {
    if (this.stopping) return;
    if (this.running) {
      this.dirty = true;
      return this.running;
    }
    this.running = this.cycle().finally(() => {
      this.running = undefined;
      if (this.dirty && !this.stopping) {
        this.dirty = false;
        this.trigger(0);
      }
    });
    return this.running;
  }

  private async cycle(): Promise<void> {
    let result: ReconcileResult;
    try {
      result = await this.reconciler.reconcile(this.o.snapshot());
    } catch (err) {
      this.o.metrics?.reconciles.inc({ result: 'error' });
      this.o.log.warn({ err: errorMessage(err) }, 'reconcile failed; retrying');
      this.retry();
      return;
    }
    this.cycles++;
    this.last = result;
    const { table, applied } = result;
    const m = this.o.metrics;
    m?.reconciles.inc({ result: 'ok' });
    m?.applies.inc({
      mode: applied.mode === 'reload' && applied.reason === STARTED ? 'start' : applied.mode,
    });
    m?.servedIngresses.set(table.ingresses.length);
    m?.issues.reset();
    for (const i of result.issues) m?.issues.inc({ kind: i.kind, reason: i.reason });
    if (applied.mode === 'rejected') {
      this.o.log.error(
        { error: applied.error.slice(0, 2000) },
        'HAProxy rejected the new configuration; the last good one keeps serving',
      );
    } else {
      this.serving = table;
      if (applied.mode !== 'unchanged')
        this.o.log.info({ applied, ingresses: table.ingresses.length }, 'applied');
    }
    this.served = new Set(table.ingresses);
    this.report(result.issues);
    await this.syncStatus();
  }

  private async apply(table: RouteTable): Promise<ApplyResult> {
    if (this.dp) return this.dp.apply(table);
    return this.startDataplane(table);
  }

  /** startDataplane starts HAProxy with `table`, else the last applied table, else no routes at all. */
  private async startDataplane(table: RouteTable): Promise<ApplyResult> {
    const t0 = this.clock.now();
    const candidates = [
      table,
      ...(this.serving && this.serving !== table ? [this.serving] : []),
      emptyRouteTable(),
    ];
    let firstError: string | undefined;
    for (const t of candidates) {
      const holder = { exited: false, dp: undefined as Dataplane | undefined };
      try {
        const dp = await this.o.startDataplane(t, (code) => {
          holder.exited = true;
          if (holder.dp !== undefined) this.onExit(holder.dp, code);
        });
        holder.dp = dp;
        if (holder.exited) throw new Error('HAProxy exited right after it started');
        this.dp = dp;
        this.dpStartedAt = this.clock.now();
        this.o.metrics?.dataplaneUp.set(1);
        this.o.log.info({ pid: dp.pid, fallback: t !== table }, 'data plane started');
        if (t === table) return { mode: 'reload', reason: STARTED, ms: this.clock.now() - t0 };
        return { mode: 'rejected', error: firstError ?? 'the first configuration did not start' };
      } catch (err) {
        firstError ??= errorMessage(err);
        this.o.log.error({ err: errorMessage(err), fallback: t !== table }, 'data plane did not start');
      }
    }
    throw new Error(`HAProxy did not start: ${firstError ?? 'unknown error'}`);
  }

  private onExit(dp: Dataplane, code: number | null): void {
    if (this.dp !== dp || this.stopping) return;
    this.dp = undefined;
    const m = this.o.metrics;
    m?.dataplaneUp.set(0);
    m?.dataplaneRestarts.inc();
    if (this.clock.now() - this.dpStartedAt > 30_000) this.restartAttempts = 0;
    const delay = backoffDelay(
      this.restartAttempts++,
      (this.o.random ?? Math.random)(),
      this.o.restartBackoff ?? { baseMs: 200, capMs: 10_000, jitter: 0.2 },
    );
    this.o.log.error({ code, restartInMs: delay }, 'HAProxy exited; starting a new one');
    this.trigger(delay);
  }

  /** report writes an Event for each issue that was not there at the last reconcile (leader only). */
  private report(issues: readonly Issue[]): void {
    if (!this.o.isLeader()) {
      this.reported = new Set(); // a new leader reports what is current
      return;
    }
    const now = new Set<string>();
    const uids = new Map<string, string | undefined>();
    for (const i of this.o.ingresses()) {
      uids.set(`${i.metadata?.namespace ?? 'default'}/${i.metadata?.name ?? ''}`, i.metadata?.uid);
    }
    for (const issue of issues) {
      const k = `${issue.ingress}\u0000${issue.reason}\u0000${issue.message}`;
      now.add(k);
      if (this.reported.has(k)) continue;
      const [namespace = 'default', name = ''] = issue.ingress.split('/');
      const uid = uids.get(issue.ingress);
      this.o.recorder.event(
        { ...INGRESS, namespace, name, ...(uid !== undefined ? { uid } : {}) },
        'Warning',
        issue.reason,
        issue.message,
      );
      this.o.metrics?.events.inc({ reason: issue.reason });
      this.o.log.warn(
        { ingress: issue.ingress, reason: issue.reason, message: issue.message },
        'ingress issue',
      );
    }
    this.reported = now;
  }

  /** syncStatus writes the status of every Ingress that differs from the plan (leader only). */
  async syncStatus(): Promise<void> {
    if (!this.o.isLeader() || this.served === undefined) return;
    const addresses = statusAddresses(this.o.ownService());
    const writes = planIngressStatus({
      ingresses: this.o.ingresses(),
      served: this.served,
      addresses,
      written: this.written,
    });
    let failed = false;
    for (const w of writes) {
      if (!this.o.isLeader()) return;
      try {
        await this.o.status.write(w.namespace, w.name, w.addresses);
        if (w.addresses.length > 0) this.written.set(w.key, addressesKey(w.addresses));
        else this.written.delete(w.key);
        this.o.metrics?.statusWrites.inc({ result: 'ok' });
        this.o.log.info(
          { ingress: w.key, addresses: w.addresses.map((a) => a.ip ?? a.hostname), why: w.why },
          'ingress status written',
        );
      } catch (err) {
        if ((err as { code?: number }).code === 404) continue; // deleted meanwhile
        failed = true;
        this.o.metrics?.statusWrites.inc({ result: 'error' });
        this.o.log.warn({ ingress: w.key, err: errorMessage(err) }, 'could not write ingress status');
      }
    }
    if (this.o.writeMore && this.o.isLeader() && !(await this.o.writeMore())) failed = true;
    if (failed) this.retry();
    else this.failures = 0;
  }

  /** retry schedules the next attempt after a failure, backing off: retryMs, doubling, at most 30 s. */
  private retry(): void {
    const base = this.o.retryMs ?? 1000;
    this.trigger(
      backoffDelay(this.failures++, 0.5, { baseMs: base, capMs: Math.max(base, 30_000), jitter: 0 }),
    );
  }

  /** stop cancels pending work, waits for a running reconcile, and stops HAProxy (soft stop). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    const dp = this.dp;
    this.dp = undefined;
    this.o.metrics?.dataplaneUp.set(0);
    await dp?.stop();
  }
}
