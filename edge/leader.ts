// Leader election on a coordination.k8s.io Lease, as client-go does it: acquire when the lease is free or
// expired, renew every retryPeriod, and stop leading when a renewal has not succeeded for renewDeadline.
// renewDeadline < leaseDuration, so a leader stops writing before any other replica may take over:
// isLeader() is the fence every write checks.
import * as k8s from '@kubernetes/client-node';
import { realClock, type Clock, type Timer } from './clock.ts';
import { errorMessage } from './informer.ts';
import type { Logger } from './log.ts';

/** LeaseApi is the part of the coordination API the elector calls (narrow, so unit tests pass a fake). */
export type LeaseApi = Pick<
  k8s.CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

/** LeaderOptions: which Lease, who we are, and the timings (seconds, as client-go). */
export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  clock?: Clock;
  log?: Logger;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  /** api: the Lease calls (default: a CoordinationV1Api on the KubeConfig). */
  api?: LeaseApi;
}

/** LeaderElector holds or waits for a Lease. */
export class LeaderElector {
  private readonly api: LeaseApi;
  private readonly o: Required<
    Pick<LeaderOptions, 'leaseDurationSeconds' | 'renewDeadlineSeconds' | 'retryPeriodSeconds'>
  > &
    LeaderOptions;
  private readonly clock: Clock;
  private lastRenew = -Infinity;
  private leading = false;
  private timer: Timer | undefined;
  private stopped = false;
  private inflight: Promise<void> | undefined;

  constructor(kc: k8s.KubeConfig, options: LeaderOptions) {
    this.api = options.api ?? kc.makeApiClient(k8s.CoordinationV1Api);
    this.o = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2, ...options };
    if (this.o.renewDeadlineSeconds >= this.o.leaseDurationSeconds) {
      throw new RangeError(
        `Lease "${options.namespace}/${options.name}": renewDeadline must be shorter than leaseDuration`,
      );
    }
    this.clock = options.clock ?? realClock;
  }

  /** isLeader is true only while the last successful renewal is younger than renewDeadline. */
  isLeader(): boolean {
    return this.leading && this.clock.now() - this.lastRenew < this.o.renewDeadlineSeconds * 1000;
  }

  /** start begins trying to acquire and then renew the Lease. */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => void this.tick(), this.o.retryPeriodSeconds * 1000);
  }

  private tick(): Promise<void> {
    this.inflight = this.round().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async round(): Promise<void> {
    try {
      // The renewal counts from when it was sent, as client-go's does: the Lease says renewTime = sentAt to
      // everyone else, so a slow answer (or a pause of this process while it was in flight) must shorten our
      // own window, never stretch it past what the other replicas see.
      const sentAt = this.clock.now();
      const ok = await this.tryAcquireOrRenew(sentAt);
      // stop() ran while this renewal was in flight: its result must not make us leader again
      if (this.stopped) return;
      if (ok) {
        this.lastRenew = sentAt;
        if (!this.leading) {
          this.leading = true;
          this.o.log?.info(
            { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity },
            'became leader',
          );
          this.o.onStartedLeading?.();
        }
      } else this.checkLost('held by another replica');
    } catch (err) {
      this.checkLost(errorMessage(err));
    }
    this.schedule();
  }

  private checkLost(why: string): void {
    if (this.leading && !this.isLeader()) {
      this.leading = false;
      this.o.log?.warn({ lease: `${this.o.namespace}/${this.o.name}`, why }, 'lost leadership');
      this.o.onStoppedLeading?.();
    }
  }

  private async tryAcquireOrRenew(sentAt: number): Promise<boolean> {
    const { namespace, name, identity } = this.o;
    const now = new k8s.V1MicroTime(sentAt);
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
      await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: this.o.leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired =
      renewed + (spec.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000 < this.clock.now();
    if (holder && holder !== identity && !expired) return false;
    const takeover = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: this.o.leaseDurationSeconds,
      renewTime: now,
      ...(takeover ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    // replace carries resourceVersion: if someone else wrote in between, this fails with 409 and we retry
    await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    return true;
  }

  /** stop ends renewal (waiting for one in flight) and releases the Lease if it names us, so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.inflight;
    // release whenever the Lease names us, even if a renewal that acquired it finished after stop() began
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (lease.spec?.holderIdentity === this.o.identity) {
        lease.spec = {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: new k8s.V1MicroTime(this.clock.now()),
        };
        await this.api.replaceNamespacedLease({
          name: this.o.name,
          namespace: this.o.namespace,
          body: lease,
        });
      }
    } catch (err) {
      this.o.log?.warn({ err: errorMessage(err) }, 'could not release the lease');
    }
  }
}
