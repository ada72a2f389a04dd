// "Who announces my IP": one ServiceL2Status or ServiceBGPStatus object per (Service, announcing node), as
// MetalLB keeps them, and the AddressConflict condition on a Service whose address another host already uses.
// Writes are batched and retried; a failed write never blocks announcing (the API server may be down).
import * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { errorMessage } from '../edge/informer.ts';
import type { Logger } from '../edge/log.ts';
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

/** NodeStatusObjects keeps this node's status objects of one kind equal to what it announces. */
export class NodeStatusObjects {
  private readonly custom: k8s.CustomObjectsApi;
  private readonly kind: StatusKind;
  private readonly o: { namespace: string; node: string; log: Logger };
  private desired = new Map<string, Desired>();
  /** takenOver: Services this node just started announcing (exclusive kinds clean up after other nodes). */
  private takenOver = new Set<string>();
  private written = new Map<string, string>();
  private adopted = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** again: a flush was due while one ran; run another when it ends (desired may have changed meanwhile). */
  private again = false;

  constructor(
    kc: k8s.KubeConfig,
    kind: StatusKind,
    options: { namespace: string; node: string; log: Logger },
  ) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.kind = kind;
    this.o = options;
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
    this.desired = next;
    this.schedule(200);
  }

  /**
   * reverify forgets what this node believes it wrote: the next flush lists its objects again and writes back any
   * that someone else deleted — the announcer on the other side of a partition removes this node's objects as
   * stale, and this node, still announcing, would otherwise never notice.
   */
  reverify(): void {
    this.adopted = false;
    this.written.clear();
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running) {
        this.again = true;
        return;
      }
      this.running = this.flush().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.schedule(0);
        }
      });
    }, ms);
  }

  private async flush(): Promise<void> {
    const { namespace, node } = this.o;
    const r = this.kind.resource;
    const api = { group: r.group, version: r.version, namespace, plural: r.plural };
    const deleteObject = async (name: string) => {
      try {
        await this.custom.deleteNamespacedCustomObject({ ...api, name });
      } catch (e) {
        if (!(e instanceof k8s.ApiException && e.code === 404)) throw e;
      }
    };
    try {
      if (!this.adopted) {
        const list = (await this.custom.listNamespacedCustomObject({
          ...api,
          labelSelector: `${STATUS_LABELS.node}=${node}`,
        })) as {
          items: { metadata: { name: string }; status?: Record<string, unknown> }[];
        };
        // what is there now, so an unchanged object is not written again
        for (const item of list.items) this.written.set(item.metadata.name, fingerprint(item.status));
        this.adopted = true;
      }
      for (const [name, d] of this.desired) {
        const print = fingerprint(d.status);
        if (this.written.get(name) === print) continue;
        if (!this.written.has(name)) {
          try {
            await this.custom.createNamespacedCustomObject({
              ...api,
              body: {
                apiVersion: apiVersionOf(r),
                kind: r.kind,
                metadata: {
                  name,
                  namespace,
                  labels: {
                    [STATUS_LABELS.node]: node,
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
        await this.custom.patchNamespacedCustomObjectStatus(
          { ...api, name, body: { status: d.status } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
        this.written.set(name, print);
      }
      if (this.kind.exclusive) {
        for (const d of [...this.desired.values()].filter((x) =>
          this.takenOver.has(`${x.namespace}/${x.service}`),
        )) {
          const list = (await this.custom.listNamespacedCustomObject({
            ...api,
            labelSelector: `${STATUS_LABELS.serviceName}=${d.service},${STATUS_LABELS.serviceNamespace}=${d.namespace}`,
          })) as { items: { metadata: { name: string; labels?: Record<string, string> } }[] };
          for (const item of list.items)
            if (item.metadata.labels?.[STATUS_LABELS.node] !== node) await deleteObject(item.metadata.name);
          this.takenOver.delete(`${d.namespace}/${d.service}`);
        }
      }
      this.takenOver.clear();
      for (const name of [...this.written.keys()]) {
        if (this.desired.has(name)) continue;
        await deleteObject(name);
        this.written.delete(name);
      }
    } catch (err) {
      this.o.log.warn(
        { err: errorMessage(err), kind: this.kind.resource.kind },
        'could not update status objects; retrying',
      );
      setTimeout(() => this.schedule(0), 2000).unref();
    }
  }

  /** removeAll deletes every status object of this kind of this node (on shutdown). */
  async removeAll(): Promise<void> {
    this.desired = new Map();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.flush();
  }
}

/** reportConflict sets the AddressConflict condition on the Service (strategic merge on the condition type). */
export function reportConflict(
  core: k8s.CoreV1Api,
  svc: k8s.V1Service,
  report: { ip: string; mac: string; interfaceName: string; node: string; log: Logger },
): void {
  const name = svc.metadata?.name ?? '';
  const namespace = svc.metadata?.namespace ?? '';
  const condition = {
    ...encodeInUse(report),
    lastTransitionTime: new Date().toISOString(),
    observedGeneration: svc.metadata?.generation ?? 0,
  };
  void core
    .patchNamespacedServiceStatus(
      { name, namespace, body: { status: { conditions: [condition] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    )
    .catch((err: unknown) =>
      report.log.warn(
        { service: `${namespace}/${name}`, err: errorMessage(err) },
        'could not report the address conflict',
      ),
    );
}
