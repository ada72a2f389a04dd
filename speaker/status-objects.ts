// "Who announces my IP": one ServiceL2Status object per (Service, announcing node), as MetalLB keeps them, and
// the AddressConflict condition on a Service whose address another host already uses. Writes are
// batched and retried; a failed write never blocks announcing (the API server may be down).
import * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { L2Plan } from '../src/announce/l2plan.ts';
import { errorMessage } from '../edge/informer.ts';
import type { Logger } from '../edge/log.ts';

/** CONFLICT_CONDITION is the Service condition type the speaker sets when an address is in use elsewhere. */
export const CONFLICT_CONDITION = 'ironlb.io/AddressConflict';

interface Desired {
  name: string;
  service: string;
  namespace: string;
  interfaces: string[];
}

interface L2StatusBody {
  node?: string;
  serviceName?: string;
  serviceNamespace?: string;
  interfaces?: { name?: string }[];
}

/** fingerprint identifies a status body whatever its key order ('?' for none). */
function fingerprint(s: L2StatusBody | undefined): string {
  if (!s) return '?';
  return JSON.stringify([s.node, s.serviceName, s.serviceNamespace, (s.interfaces ?? []).map((i) => i.name)]);
}

/** statusObjectName is the deterministic name of the ServiceL2Status for (service, node). */
export function statusObjectName(serviceKey: string, node: string): string {
  return `l2-${createHash('sha256').update(`${serviceKey}#${node}`).digest('hex').slice(0, 16)}`;
}

/** StatusObjects keeps this node's ServiceL2Status objects equal to what it announces. */
export class StatusObjects {
  private readonly custom: k8s.CustomObjectsApi;
  private readonly core: k8s.CoreV1Api;
  private readonly o: { namespace: string; node: string; log: Logger };
  private desired = new Map<string, Desired>();
  /** takenOver: Services this node just started announcing; other nodes' objects for them are stale. */
  private takenOver = new Set<string>();
  private written = new Map<string, string>();
  private adopted = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** again: a flush was due while one ran; run another when it ends (desired may have changed meanwhile). */
  private again = false;

  constructor(kc: k8s.KubeConfig, options: { namespace: string; node: string; log: Logger }) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.o = options;
  }

  /** sync records what this node announces now and schedules the writes. */
  sync(
    plan: L2Plan,
    service: (key: string) => k8s.V1Service | undefined,
    interfacesOf: (ip: string) => string[],
  ): void {
    const next = new Map<string, Desired>();
    for (const s of plan.services) {
      if (!s.decision.announce) continue;
      const svc = service(s.key);
      if (!svc) continue;
      const interfaces = [...new Set(s.ips.flatMap((ip) => interfacesOf(ip)))].sort();
      const name = statusObjectName(s.key, this.o.node);
      if (!this.desired.has(name)) this.takenOver.add(s.key);
      next.set(name, {
        name,
        service: svc.metadata?.name ?? '',
        namespace: svc.metadata?.namespace ?? '',
        interfaces: interfaces.length ? interfaces : s.interfaces,
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
    const api = { group: 'metallb.io', version: 'v1beta1', namespace, plural: 'servicel2statuses' };
    try {
      if (!this.adopted) {
        const list = (await this.custom.listNamespacedCustomObject({
          ...api,
          labelSelector: `metallb.io/node=${node}`,
        })) as { items: { metadata: { name: string }; status?: L2StatusBody }[] };
        // what is there now, so an unchanged object is not written again
        for (const item of list.items) this.written.set(item.metadata.name, fingerprint(item.status));
        this.adopted = true;
      }
      for (const [name, d] of this.desired) {
        const status = {
          node,
          serviceName: d.service,
          serviceNamespace: d.namespace,
          interfaces: d.interfaces.map((n) => ({ name: n })),
        };
        const print = fingerprint(status);
        if (this.written.get(name) === print) continue;
        if (!this.written.has(name)) {
          try {
            await this.custom.createNamespacedCustomObject({
              ...api,
              body: {
                apiVersion: 'metallb.io/v1beta1',
                kind: 'ServiceL2Status',
                metadata: {
                  name,
                  namespace,
                  labels: {
                    'metallb.io/node': node,
                    'metallb.io/service-name': d.service,
                    'metallb.io/service-namespace': d.namespace,
                  },
                },
              },
            });
          } catch (e) {
            if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
          }
        }
        await this.custom.patchNamespacedCustomObjectStatus(
          { ...api, name, body: { status } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
        this.written.set(name, print);
      }
      for (const d of [...this.desired.values()].filter((x) =>
        this.takenOver.has(`${x.namespace}/${x.service}`),
      )) {
        // in L2 one node announces a Service: objects other nodes left (a speaker killed, a node lost) are stale
        const list = (await this.custom.listNamespacedCustomObject({
          ...api,
          labelSelector: `metallb.io/service-name=${d.service},metallb.io/service-namespace=${d.namespace}`,
        })) as { items: { metadata: { name: string; labels?: Record<string, string> } }[] };
        for (const item of list.items) {
          if (item.metadata.labels?.['metallb.io/node'] === node) continue;
          try {
            await this.custom.deleteNamespacedCustomObject({ ...api, name: item.metadata.name });
          } catch (e) {
            if (!(e instanceof k8s.ApiException && e.code === 404)) throw e;
          }
        }
        this.takenOver.delete(`${d.namespace}/${d.service}`);
      }
      for (const name of [...this.written.keys()]) {
        if (this.desired.has(name)) continue;
        try {
          await this.custom.deleteNamespacedCustomObject({ ...api, name });
        } catch (e) {
          if (!(e instanceof k8s.ApiException && e.code === 404)) throw e;
        }
        this.written.delete(name);
      }
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, 'could not update ServiceL2Status objects; retrying');
      setTimeout(() => this.schedule(0), 2000).unref();
    }
  }

  /** reportConflict sets the AddressConflict condition on the Service (strategic merge on the condition type). */
  reportConflict(svc: k8s.V1Service, ip: string, mac: string, iface: string): void {
    const name = svc.metadata?.name ?? '';
    const namespace = svc.metadata?.namespace ?? '';
    const condition = {
      type: CONFLICT_CONDITION,
      status: 'True',
      reason: 'AddressInUse',
      message: `Address "${ip}" is already in use by another host (MAC ${mac}), seen by ${this.o.node} on ${iface}`,
      lastTransitionTime: new Date().toISOString(),
      observedGeneration: svc.metadata?.generation ?? 0,
    };
    void this.core
      .patchNamespacedServiceStatus(
        { name, namespace, body: { status: { conditions: [condition] } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      )
      .catch((err: unknown) =>
        this.o.log.warn(
          { service: `${namespace}/${name}`, err: errorMessage(err) },
          'could not report the address conflict',
        ),
      );
  }

  /** removeAll deletes every ServiceL2Status of this node (on shutdown). */
  async removeAll(): Promise<void> {
    this.desired = new Map();
    await this.running;
    await this.flush();
  }
}
