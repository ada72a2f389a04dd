// "Who announces my IP": one ServiceL2Status or ServiceBGPStatus object per (Service, announcing node), as
// MetalLB keeps them, and the AddressConflict condition on a Service whose address another host already uses.
// Every write is a keyed reconcile on a work queue with backoff; a failed write never blocks announcing (the
// API server may be down).
import * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { errorMessage } from '../edge/informer.ts';
import { realClock, type Clock } from '../edge/clock.ts';
import type { Logger } from '../edge/log.ts';
import { DONE, WorkQueue, type ReconcileResult } from '../edge/workqueue.ts';
import { encodeInUse } from '../src/contracts/conflict.ts';
import { RESOURCES, STATUS_LABELS, apiVersionOf, type Resource } from '../src/contracts/resources.ts';

/** StatusKind says which status objects a NodeStatusObjects keeps. */
export interface StatusKind {
  resource: Resource;
  /** prefix of the object names: "l2" or "bgp". */
  prefix: string;
  /**
   * exclusive: one node announces a Service (L2), so when this node starts announcing one, objects other
   * nodes left for it (a speaker killed, a node lost) are stale and removed.
   */
  exclusive: boolean;
}

/** L2_STATUS: ServiceL2Status objects, one announcer per Service. */
export const L2_STATUS: StatusKind = {
  resource: RESOURCES.ServiceL2Status,
  prefix: 'l2',
  exclusive: true,
};
/** BGP_STATUS: ServiceBGPStatus objects, every advertising node has one. */
export const BGP_STATUS: StatusKind = {
  resource: RESOURCES.ServiceBGPStatus,
  prefix: 'bgp',
  exclusive: false,
};

/** StatusEntry is one Service this node announces and the kind-specific part of its status. */
export interface StatusEntry {
  /** key: "namespace/name". */
  key: string;
  /** detail: { interfaces: [{name}] } for L2, { peers: [...] } for BGP. */
  detail: Record<string, unknown>;
}

interface Desired {
  service: string;
  namespace: string;
  status: Record<string, unknown>;
}

/** statusObjectName is the deterministic name of the status object for (kind, service, node). */
export function statusObjectName(kind: StatusKind, serviceKey: string, node: string): string {
  return `${kind.prefix}-${createHash('sha256').update(`${serviceKey}#${node}`).digest('hex').slice(0, 16)}`;
}

/** fingerprint identifies a status body whatever its key order ('?' for none). */
function fingerprint(s: Record<string, unknown> | undefined): string {
  if (!s) return '?';
  return JSON.stringify(
    Object.keys(s)
      .sort()
      .map((k) => [k, s[k]]),
  );
}

/** StatusObjectsOptions: where, for which node, and the clock retries run on. */
export interface StatusObjectsOptions {
  namespace: string;
  node: string;
  log: Logger;
  clock?: Clock;
}

/** BATCH_MS: changes within this window are written once. */
const BATCH_MS = 200;

/**
 * NodeStatusObjects keeps this node's status objects of one kind equal to what it announces. Each object is a
 * key on a work queue (one worker, so writes never interleave): the reconcile compares the desired status with
 * what was written last and creates, patches or deletes that one object; a failure retries that key with
 * backoff. The first reconcile (and the first after reverify) lists the node's objects so unchanged ones are
 * not written again and stale ones are deleted.
 */
export class NodeStatusObjects {
  private readonly custom: k8s.CustomObjectsApi;
  private readonly kind: StatusKind;
  private readonly o: StatusObjectsOptions;
  private readonly queue: WorkQueue;
  private readonly running: Promise<void>;
  private desired = new Map<string, Desired>();
  /** takenOver: Services this node just started announcing (exclusive kinds clean up after other nodes). */
  private takenOver = new Set<string>();
  private written = new Map<string, string>();
  private adopted = false;

  constructor(kc: k8s.KubeConfig, kind: StatusKind, options: StatusObjectsOptions) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.kind = kind;
    this.o = options;
    this.queue = new WorkQueue({
      ...(options.clock ? { clock: options.clock } : {}),
      onError: (key, err, retryInMs) =>
        options.log.warn(
          { err: errorMessage(err), kind: kind.resource.kind, object: key, retryInMs },
          'could not update status objects; retrying',
        ),
    });
    this.running = this.queue.run((name) => this.reconcile(name));
  }

  /** sync records what this node announces now and schedules the writes (200 ms batching). */
  sync(entries: readonly StatusEntry[]): void {
    const next = new Map<string, Desired>();
    for (const e of entries) {
      const slash = e.key.indexOf('/');
      const namespace = e.key.slice(0, slash);
      const service = e.key.slice(slash + 1);
      const name = statusObjectName(this.kind, e.key, this.o.node);
      if (!this.desired.has(name)) this.takenOver.add(e.key);
      next.set(name, {
        service,
        namespace,
        status: { node: this.o.node, serviceName: service, serviceNamespace: namespace, ...e.detail },
      });
    }
    const before = this.desired;
    this.desired = next;
    for (const name of new Set([...before.keys(), ...next.keys()])) this.queue.addAfter(name, BATCH_MS);
  }

  /**
   * reverify forgets what this node believes it wrote: the next reconcile lists its objects again and writes back
   * any that someone else deleted — the announcer on the other side of a partition removes this node's objects
   * as stale, and this node, still announcing, would otherwise never notice.
   */
  reverify(): void {
    this.adopted = false;
    this.written.clear();
    for (const name of this.desired.keys()) this.queue.add(name);
  }

  private api() {
    const r = this.kind.resource;
    return { group: r.group, version: r.version, namespace: this.o.namespace, plural: r.plural };
  }

  private async deleteObject(name: string): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({ ...this.api(), name });
    } catch (e) {
      if (!(e instanceof k8s.ApiException && e.code === 404)) throw e;
    }
  }

  /** adopt lists this node's objects: what is there now is not written again, what is not desired goes. */
  private async adopt(): Promise<void> {
    const list = (await this.custom.listNamespacedCustomObject({
      ...this.api(),
      labelSelector: `${STATUS_LABELS.node}=${this.o.node}`,
    })) as { items: { metadata: { name: string }; status?: Record<string, unknown> }[] };
    for (const item of list.items) {
      this.written.set(item.metadata.name, fingerprint(item.status));
      if (!this.desired.has(item.metadata.name)) this.queue.add(item.metadata.name);
    }
    this.adopted = true;
  }

  /** reconcile converges one status object (by name) on what this node announces. */
  private async reconcile(name: string): Promise<ReconcileResult> {
    if (!this.adopted) await this.adopt();
    const d = this.desired.get(name);
    if (!d) {
      if (this.written.has(name)) await this.deleteObject(name);
      this.written.delete(name);
      return DONE;
    }
    const print = fingerprint(d.status);
    if (this.written.get(name) !== print) {
      if (!this.written.has(name)) await this.create(name, d);
      await this.custom.patchNamespacedCustomObjectStatus(
        { ...this.api(), name, body: { status: d.status } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      this.written.set(name, print);
    }
    const key = `${d.namespace}/${d.service}`;
    if (this.kind.exclusive && this.takenOver.has(key)) {
      const list = (await this.custom.listNamespacedCustomObject({
        ...this.api(),
        labelSelector: `${STATUS_LABELS.serviceName}=${d.service},${STATUS_LABELS.serviceNamespace}=${d.namespace}`,
      })) as { items: { metadata: { name: string; labels?: Record<string, string> } }[] };
      for (const item of list.items)
        if (item.metadata.labels?.[STATUS_LABELS.node] !== this.o.node)
          await this.deleteObject(item.metadata.name);
    }
    this.takenOver.delete(key);
    return DONE;
  }

  private async create(name: string, d: Desired): Promise<void> {
    const r = this.kind.resource;
    try {
      await this.custom.createNamespacedCustomObject({
        ...this.api(),
        body: {
          apiVersion: apiVersionOf(r),
          kind: r.kind,
          metadata: {
            name,
            namespace: this.o.namespace,
            labels: {
              [STATUS_LABELS.node]: this.o.node,
              [STATUS_LABELS.serviceName]: d.service,
              [STATUS_LABELS.serviceNamespace]: d.namespace,
            },
          },
        },
      });
    } catch (e) {
      if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
    }
  }

  /** removeAll deletes every status object of this kind of this node (on shutdown); the queue stops. */
  async removeAll(): Promise<void> {
    this.desired = new Map();
    this.queue.shutDown();
    await this.running;
    if (!this.adopted) await this.adopt();
    for (const name of [...this.written.keys()]) {
      await this.deleteObject(name);
      this.written.delete(name);
    }
  }
}

/** ConflictReport is an address another host answers for, as one speaker saw it. */
export interface ConflictReport {
  ip: string;
  mac: string;
  interfaceName: string;
  node: string;
}

/**
 * ConflictConditions sets the AddressConflict condition on Services (strategic merge on the condition type,
 * fields through the shared codec). Each Service is a key on a work queue: the reconcile writes the latest
 * report for it, and a failed write is retried with backoff until it lands or a newer report replaces it.
 */
export class ConflictConditions {
  private readonly core: k8s.CoreV1Api;
  private readonly clock: Clock;
  private readonly queue: WorkQueue;
  private readonly pending = new Map<string, { svc: k8s.V1Service; report: ConflictReport; at: number }>();

  constructor(kc: k8s.KubeConfig, options: { log: Logger; clock?: Clock }) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.clock = options.clock ?? realClock;
    this.queue = new WorkQueue({
      clock: this.clock,
      onError: (key, err, retryInMs) =>
        options.log.warn(
          { service: key, err: errorMessage(err), retryInMs },
          'could not report the address conflict',
        ),
    });
    void this.queue.run((key) => this.reconcile(key));
  }

  /** report records that svc's address is in use elsewhere and schedules the write. */
  report(svc: k8s.V1Service, report: ConflictReport): void {
    const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    this.pending.set(key, { svc, report, at: this.clock.now() });
    this.queue.add(key);
  }

  private async reconcile(key: string): Promise<ReconcileResult> {
    const p = this.pending.get(key);
    if (!p) return DONE;
    const condition = {
      ...encodeInUse(p.report),
      lastTransitionTime: new Date(p.at).toISOString(),
      observedGeneration: p.svc.metadata?.generation ?? 0,
    };
    await this.core.patchNamespacedServiceStatus(
      {
        name: p.svc.metadata?.name ?? '',
        namespace: p.svc.metadata?.namespace ?? '',
        body: { status: { conditions: [condition] } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    if (this.pending.get(key) === p) this.pending.delete(key);
    return DONE;
  }

  /** stop ends the queue (reports not written yet are dropped: the next speaker probes again). */
  stop(): void {
    this.queue.shutDown();
  }
}
