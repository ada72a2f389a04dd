// Events on objects, as `kubectl describe` shows them. Repeats of the same (object, reason, message) within
// ten minutes bump the count of the existing Event instead of creating a new one. Every write is a keyed
// reconcile on a work queue with backoff.
import * as k8s from '@kubernetes/client-node';
import { errorMessage } from './informer.ts';
import type { Logger } from './log.ts';
import { realClock, type Clock } from './clock.ts';
import { DONE, WorkQueue, type ReconcileResult } from './workqueue.ts';

/** EventTarget identifies the object an Event is about. */
export interface EventTarget {
  kind: string;
  apiVersion: string;
  namespace?: string;
  name: string;
  uid?: string;
}

/** Recorder is the narrow interface reconcilers use; tests pass a recording fake. */
export interface Recorder {
  event(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** EventsApi is the part of the core/v1 API the recorder writes through (a recording fake in tests). */
export type EventsApi = Pick<k8s.CoreV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

/** EventEntry is one deduplicated Event: what it says, how often, and how far its write has got. */
interface EventEntry {
  target: EventTarget;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  name: string;
  namespace: string;
  count: number;
  first: number;
  at: number;
  /** created: the Event object exists (later repeats patch its count). */
  created: boolean;
  /** written: the count the API server has. */
  written: number;
}

/**
 * EventRecorder writes core/v1 Events for one component. event() never blocks: each distinct Event is a key
 * on a work queue whose reconcile creates the object or patches its count to the latest; a failed write is
 * retried with backoff (capped at a minute) and never lost while it is within the ten-minute window.
 */
export class EventRecorder implements Recorder {
  private readonly api: EventsApi;
  private readonly seen = new Map<string, EventEntry>();
  private readonly component: string;
  private readonly host: string;
  private readonly clock: Clock;
  private readonly queue: WorkQueue;

  constructor(
    kc: k8s.KubeConfig,
    options: { component: string; host?: string; log?: Logger; clock?: Clock; api?: EventsApi },
  ) {
    this.api = options.api ?? kc.makeApiClient(k8s.CoreV1Api);
    this.component = options.component;
    this.host = options.host ?? '';
    this.clock = options.clock ?? realClock;
    this.queue = new WorkQueue({
      clock: this.clock,
      onError: (key, err, retryInMs) => {
        const e = this.seen.get(key);
        options.log?.warn(
          {
            object: `${e?.target.namespace ?? ''}/${e?.target.name ?? ''}`,
            reason: e?.reason,
            err: errorMessage(err),
            retryInMs,
          },
          'could not write event',
        );
      },
    });
    void this.queue.run((key) => this.reconcile(key), 2);
  }

  event(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const namespace = target.namespace ?? 'default';
    const key = `${target.kind}/${namespace}/${target.name}/${target.uid ?? ''}/${type}/${reason}/${message}`;
    const now = this.clock.now();
    const prev = this.seen.get(key);
    if (prev && now - prev.at < 600_000) {
      prev.count++;
      prev.at = now;
    } else {
      const name = `${target.name}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
      if (this.seen.size > 5000) this.seen.clear();
      this.seen.set(key, {
        target,
        type,
        reason,
        message,
        name,
        namespace,
        count: 1,
        first: now,
        at: now,
        created: false,
        written: 0,
      });
    }
    this.queue.add(key);
  }

  /** reconcile brings one Event object to its latest count: create it once, then patch count and time. */
  private async reconcile(key: string): Promise<ReconcileResult> {
    const e = this.seen.get(key);
    if (!e || e.written === e.count) return DONE;
    const count = e.count;
    const at = e.at;
    const patch = () =>
      this.api.patchNamespacedEvent(
        { name: e.name, namespace: e.namespace, body: { count, lastTimestamp: new Date(at) } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    if (e.created) {
      await patch();
    } else {
      const t = e.target;
      try {
        await this.api.createNamespacedEvent({
          namespace: e.namespace,
          body: {
            metadata: { name: e.name, namespace: e.namespace },
            involvedObject: {
              kind: t.kind,
              apiVersion: t.apiVersion,
              namespace: t.namespace,
              name: t.name,
              uid: t.uid,
            },
            reason: e.reason,
            message: e.message,
            type: e.type,
            count,
            firstTimestamp: new Date(e.first),
            lastTimestamp: new Date(at),
            source: { component: this.component, host: this.host || undefined },
            reportingComponent: this.component,
            reportingInstance: this.host || this.component,
          },
        });
        e.created = true;
      } catch (err) {
        // an earlier attempt got through but its answer was lost: the object is there, bring its count up
        if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
        e.created = true;
        await patch();
      }
    }
    e.written = count;
    return DONE;
  }

  /** stop ends the queue; Events not written by then are dropped. */
  stop(): void {
    this.queue.shutDown();
  }
}

/** serviceTarget names a Service as the object of an Event. */
export function serviceTarget(svc: k8s.V1Service): EventTarget {
  return {
    kind: 'Service',
    apiVersion: 'v1',
    namespace: svc.metadata?.namespace,
    name: svc.metadata?.name ?? '',
    uid: svc.metadata?.uid,
  };
}
