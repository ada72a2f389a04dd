// A watch-backed cache of one kind of object that restarts itself. The client's informer stops on any error
// other than 410 Gone; here every stop is followed by a restart after a capped, jittered backoff. The backoff
// resets only once a watch has proved healthy: it delivered an event, or it stayed up for a full backoff cap.
// (Not on the client's `connect` event: that fires before every attempt, so resetting there kept the delay
// at its first step through a whole outage.) An unreachable API server is logged once per process
// (edge/reachability.ts), not once per retry; a watch the API server refuses (RBAC, a missing CRD) is logged
// once when the refusals begin, with what to do about it, and once when the watch is allowed again.
import * as k8s from '@kubernetes/client-node';
import { backoffDelay, type BackoffOptions } from '../src/util/backoff.ts';
import { realClock, type Clock } from './clock.ts';
import type { Logger } from './log.ts';
import { collectionPath, type Resource } from '../src/contracts/resources.ts';
import { apiReachability, type Reachability } from './reachability.ts';

/** InformerOptions: what to watch and how to behave when the watch fails. */
export interface InformerOptions<T extends k8s.KubernetesObject> {
  /** name for logs, e.g. "services". */
  name: string;
  /** path of the watch, e.g. "/api/v1/services" or "/apis/metallb.io/v1beta1/namespaces/x/ipaddresspools". */
  path: string;
  list: () => Promise<k8s.KubernetesListObject<T>>;
  labelSelector?: string;
  clock?: Clock;
  random?: () => number;
  backoff?: BackoffOptions;
  log?: Logger;
  /** reachability receives every failure and success (default: the process-wide apiReachability). */
  reachability?: Reachability;
  /**
   * transform slims each object before it enters the cache (default slimObject: no managedFields, no
   * last-applied-configuration). It may mutate its argument; it must keep metadata name, namespace and
   * resourceVersion.
   */
  transform?: (obj: T) => T;
  /**
   * refusedHint tells the operator, in the one warning about a refused watch, what permission is missing and
   * how to grant it (e.g. "apply deploy/'s Role").
   */
  refusedHint?: string;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * WATCH_BACKOFF: 200 ms doubling to 10 s, ±20 %. A lower cap than the work queue's: after an outage every
 * watch is back within about 12 s (a 30 s cap left caches stale for up to 36 s), for about ten attempts per
 * watch and minute against an API server that is down.
 */
export const WATCH_BACKOFF: BackoffOptions = { baseMs: 200, capMs: 10_000, jitter: 0.2 };

/**
 * slimObject drops what no IronLB program reads but every cached object carries: metadata.managedFields (one
 * entry per writer, often larger than the object) and the last-applied-configuration annotation (a copy of
 * the object). Mutates and returns its argument.
 */
export function slimObject<T extends k8s.KubernetesObject>(obj: T): T {
  const m = obj.metadata;
  if (!m) return obj;
  if (m.managedFields !== undefined) delete m.managedFields;
  if (m.annotations && LAST_APPLIED in m.annotations) {
    const { [LAST_APPLIED]: _dropped, ...rest } = m.annotations;
    m.annotations = rest;
  }
  return obj;
}

/** ObjectKey returns "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(o: k8s.KubernetesObject): string {
  const m = o.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

/** Informer is a self-healing watch cache. Handlers get every add, update and delete after the first list. */
export class Informer<T extends k8s.KubernetesObject> {
  private readonly inner: k8s.Informer<T> & k8s.ObjectCache<T>;
  private readonly options: InformerOptions<T>;
  private readonly clock: Clock;
  private attempts = 0;
  /** failures counts every error reported, to tell a start that failed from one that worked. */
  private failures = 0;
  /** connectedAt is when the current watch was established (undefined while failing). */
  private connectedAt: number | undefined;
  private stopped = false;
  private syncedResolve: (() => void) | undefined;
  private pendingRestart: { cancel(): void } | undefined;
  /** refusedSince is when the API server began refusing this watch (undefined while it is allowed). */
  private refusedSince: number | undefined;
  private refusals = 0;
  /** listed: the current attempt's list was answered (so a refusal, if any, came from the watch). */
  private listed = false;
  /** synced resolves after the first successful list. */
  readonly synced: Promise<void>;
  /** restarts counts watch restarts after errors (for metrics and tests). */
  restarts = 0;
  /** onError is called with each watch error before the restart is scheduled. */
  onError: ((err: unknown) => void) | undefined;

  constructor(kc: k8s.KubeConfig, options: InformerOptions<T>) {
    this.options = options;
    this.clock = options.clock ?? realClock;
    // a list that answered proves the API server is back, though the watch after it may still fail
    const transform = options.transform ?? slimObject;
    const list = async () => {
      const result = await options.list();
      this.listed = true;
      this.reachability.succeeded(this.options.log, { source: this.options.name });
      result.items = result.items.map(transform);
      return result;
    };
    // the client's informer caches what its Watch delivers: slim every object on the way in
    const watch = new k8s.Watch(kc);
    const watchInner = watch.watch.bind(watch);
    watch.watch = (path, query, callback, done) =>
      watchInner(
        path,
        query,
        (phase: string, obj: T, raw: unknown) =>
          callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : transform(obj), raw),
        done,
      );
    this.inner = new k8s.ListWatch(options.path, watch, list, false, options.labelSelector);
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
    this.inner.on('error', (err) => this.restartLater(err));
    for (const verb of ['add', 'update', 'delete'] as const) this.inner.on(verb, () => this.healthy());
  }

  private get reachability(): Reachability {
    return this.options.reachability ?? apiReachability;
  }

  // healthy: the watch delivered something, so the API server is up and the next failure starts afresh.
  private healthy(): void {
    this.attempts = 0;
    this.reachability.succeeded(this.options.log, { source: this.options.name });
  }

  /** name is the informer's name (for logs and metrics). */
  get name(): string {
    return this.options.name;
  }

  /** on registers a handler for add, update or delete. */
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void {
    this.inner.on(verb, cb);
  }

  /** list returns the cached objects, optionally of one namespace. */
  list(namespace?: string): readonly T[] {
    return this.inner.list(namespace);
  }

  /** get returns one cached object. */
  get(name: string, namespace?: string): T | undefined {
    return this.inner.get(name, namespace);
  }

  /** start begins listing and watching; it never rejects (failures are retried). */
  async start(): Promise<void> {
    this.stopped = false;
    // The client's start() resolves even when its list or watch failed (it reports those through 'error',
    // synchronously, before it resolves): only a start that reported no error listed and is watching.
    const failuresBefore = this.failures;
    this.listed = false;
    try {
      await this.inner.start();
      if (this.failures !== failuresBefore || this.stopped) return;
      this.connectedAt = this.clock.now();
      this.reachability.succeeded(this.options.log, { source: this.options.name });
      this.allowed();
      this.syncedResolve?.();
    } catch (err) {
      this.restartLater(err);
    }
  }

  private restartLater(err: unknown): void {
    this.failures++;
    if (this.stopped) return;
    this.onError?.(err);
    const backoff = this.options.backoff ?? WATCH_BACKOFF;
    // a watch that stayed up for a whole cap was healthy, though quiet: start the backoff afresh
    if (this.connectedAt !== undefined && this.clock.now() - this.connectedAt >= backoff.capMs)
      this.attempts = 0;
    this.connectedAt = undefined;
    const delay = backoffDelay(this.attempts++, (this.options.random ?? Math.random)(), backoff);
    const message = errorMessage(err);
    if (isUnreachable(err)) {
      // a refusal ends with an attempt that listed and was not refused (its watch may fail to connect)
      if (this.listed) this.allowed();
      this.reachability.failed(this.options.log, { source: this.options.name, err: message });
      this.options.log?.debug(
        { informer: this.options.name, err: message, retryInMs: delay },
        'watch failed; restarting',
      );
    } else {
      this.refused(message, delay);
    }
    this.pendingRestart?.cancel();
    this.pendingRestart = this.clock.setTimeout(() => {
      this.pendingRestart = undefined;
      this.restarts++;
      void this.start();
    }, delay);
  }

  // refused: the API server answered with a refusal (RBAC, a missing CRD), which lasts until an operator acts:
  // one warning saying what to do, then a debug line per (backed-off) attempt.
  private refused(err: string, retryInMs: number): void {
    this.refusals++;
    const context = { informer: this.options.name, err, retryInMs };
    if (this.refusedSince !== undefined) {
      this.options.log?.debug(context, 'watch refused; restarting');
      return;
    }
    this.refusedSince = this.clock.now();
    const hint = this.options.refusedHint ? ` (${this.options.refusedHint})` : '';
    this.options.log?.warn(
      context,
      `watch of ${this.options.name} refused by the API server${hint}; retrying with backoff (logged again when it is allowed)`,
    );
  }

  // allowed: a start listed and is watching; ends a refusal, logged once with how long it lasted.
  private allowed(): void {
    if (this.refusedSince === undefined) return;
    const refusedMs = this.clock.now() - this.refusedSince;
    this.options.log?.info(
      { informer: this.options.name, refusedMs, refusedAttempts: this.refusals },
      `watch of ${this.options.name} allowed again after ${(refusedMs / 1000).toFixed(1)} s`,
    );
    this.refusedSince = undefined;
    this.refusals = 0;
  }

  /** stop ends the watch and cancels any pending restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pendingRestart?.cancel();
    await this.inner.stop();
  }
}

/**
 * isUnreachable tells a failure to reach the API server (network errors, 5xx, 429) from an answer that refuses
 * the request (other 4xx), which no amount of waiting for the server fixes.
 */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof k8s.ApiException) return err.code >= 500 || err.code === 429;
  const code = (err as { statusCode?: unknown; code?: unknown } | undefined)?.statusCode;
  if (typeof code === 'number') return code >= 500 || code === 429;
  return true;
}

/** errorMessage renders an API or network error in one line without response bodies that may hold secrets. */
export function errorMessage(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '');
    let msg = body;
    try {
      msg = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      /* not JSON */
    }
    return `HTTP ${err.code}: ${msg}`.slice(0, 500);
  }
  return err instanceof Error ? err.message : String(err);
}

/** metallbInformer watches one metallb.io resource (from the CRD registry) in one namespace. */
export function metallbInformer<T extends k8s.KubernetesObject>(
  kc: k8s.KubeConfig,
  options: { namespace: string; resource: Resource; log?: Logger },
): Informer<T> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const { namespace, resource: r } = options;
  return new Informer<T>(kc, {
    name: r.plural,
    path: collectionPath(r, namespace),
    list: () =>
      custom.listNamespacedCustomObject({
        group: r.group,
        version: r.version,
        namespace,
        plural: r.plural,
      }) as Promise<k8s.KubernetesListObject<T>>,
    log: options.log,
  });
}

/**
 * serviceInformer watches every Service in the cluster; transform (default slimObject) slims each one before
 * it is cached.
 */
export function serviceInformer(
  kc: k8s.KubeConfig,
  log?: Logger,
  options: { transform?: (svc: k8s.V1Service) => k8s.V1Service } = {},
): Informer<k8s.V1Service> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return new Informer<k8s.V1Service>(kc, {
    name: 'services',
    path: '/api/v1/services',
    list: () => core.listServiceForAllNamespaces(),
    log,
    transform: options.transform,
  });
}
