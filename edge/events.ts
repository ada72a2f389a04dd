// Events on objects, as `kubectl describe` shows them. Repeats of the same (object, reason, message) within
// ten minutes bump the count of the existing Event instead of creating a new one.
import * as k8s from '@kubernetes/client-node';
import { errorMessage } from './informer.ts';
import type { Logger } from './log.ts';
import { realClock, type Clock } from './clock.ts';

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

/** EventRecorder writes core/v1 Events for one component. Writes are fire-and-forget; failures are logged. */
export class EventRecorder implements Recorder {
  private readonly api: k8s.CoreV1Api;
  private readonly seen = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  private readonly component: string;
  private readonly host: string;
  private readonly log: Logger | undefined;
  private readonly clock: Clock;

  constructor(
    kc: k8s.KubeConfig,
    options: { component: string; host?: string; log?: Logger; clock?: Clock },
  ) {
    this.api = kc.makeApiClient(k8s.CoreV1Api);
    this.component = options.component;
    this.host = options.host ?? '';
    this.log = options.log;
    this.clock = options.clock ?? realClock;
  }

  event(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.write(target, type, reason, message).catch((err: unknown) =>
      this.log?.warn(
        { object: `${target.namespace ?? ''}/${target.name}`, reason, err: errorMessage(err) },
        'could not write event',
      ),
    );
  }

  private async write(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = target.namespace ?? 'default';
    const key = `${target.kind}/${namespace}/${target.name}/${target.uid ?? ''}/${type}/${reason}/${message}`;
    const now = this.clock.now();
    const prev = this.seen.get(key);
    if (prev && now - prev.at < 600_000) {
      prev.count++;
      prev.at = now;
      await this.api.patchNamespacedEvent(
        {
          name: prev.name,
          namespace: prev.namespace,
          body: { count: prev.count, lastTimestamp: new Date(now) },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      return;
    }
    const name = `${target.name}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    if (this.seen.size > 5000) this.seen.clear();
    this.seen.set(key, { name, namespace, count: 1, at: now });
    await this.api.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name, namespace },
        involvedObject: {
          kind: target.kind,
          apiVersion: target.apiVersion,
          namespace: target.namespace,
          name: target.name,
          uid: target.uid,
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: new Date(now),
        lastTimestamp: new Date(now),
        source: { component: this.component, host: this.host || undefined },
        reportingComponent: this.component,
        reportingInstance: this.host || this.component,
      },
    });
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
