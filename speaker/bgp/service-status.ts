// "Who announces my IP" in BGP mode: one ServiceBGPStatus per (Service, node advertising it), status {node,
// serviceName, serviceNamespace, peers[]} with the BGPPeer names, as MetalLB keeps them. Writes are batched
// and retried; a failed write never blocks announcing (the API server may be down).
import * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { errorMessage } from '../../edge/informer.ts';
import type { Logger } from '../../edge/log.ts';

/** BgpStatusEntry is one Service this node advertises and the BGPPeers it advertises it to. */
export interface BgpStatusEntry {
  /** key: "namespace/name". */
  key: string;
  peers: readonly string[];
}

/** bgpStatusObjectName is the deterministic name of the ServiceBGPStatus for (service, node). */
export function bgpStatusObjectName(serviceKey: string, node: string): string {
  return `bgp-${createHash('sha256').update(`${serviceKey}#${node}`).digest('hex').slice(0, 16)}`;
}

const API = { group: 'metallb.io', version: 'v1beta1', plural: 'servicebgpstatuses' } as const;

/** BgpStatusObjects keeps this node's ServiceBGPStatus objects equal to what it advertises. */
export class BgpStatusObjects {
  readonly #custom: k8s.CustomObjectsApi;
  readonly #o: { namespace: string; node: string; log: Logger };
  #desired = new Map<string, { service: string; namespace: string; peers: string[] }>();
  #written = new Map<string, string>();
  #adopted = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(kc: k8s.KubeConfig, options: { namespace: string; node: string; log: Logger }) {
    this.#custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.#o = options;
  }

  /** sync records what this node advertises now and schedules the writes (200 ms batching). */
  sync(entries: readonly BgpStatusEntry[]): void {
    const next = new Map<string, { service: string; namespace: string; peers: string[] }>();
    for (const e of entries) {
      const slash = e.key.indexOf('/');
      next.set(bgpStatusObjectName(e.key, this.#o.node), {
        namespace: e.key.slice(0, slash),
        service: e.key.slice(slash + 1),
        peers: [...e.peers].sort(),
      });
    }
    this.#desired = next;
    this.#schedule(200);
  }

  /** removeAll deletes every ServiceBGPStatus of this node (on shutdown). */
  async removeAll(): Promise<void> {
    this.#desired = new Map();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#flush();
  }

  #schedule(ms: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running ??= this.#flush().finally(() => (this.#running = undefined));
    }, ms);
  }

  async #flush(): Promise<void> {
    const { namespace, node } = this.#o;
    const api = { ...API, namespace };
    try {
      if (!this.#adopted) {
        const list = (await this.#custom.listNamespacedCustomObject({
          ...api,
          labelSelector: `metallb.io/node=${node}`,
        })) as { items: { metadata: { name: string } }[] };
        for (const item of list.items) this.#written.set(item.metadata.name, '?');
        this.#adopted = true;
      }
      for (const [name, d] of this.#desired) {
        const status = { node, serviceName: d.service, serviceNamespace: d.namespace, peers: d.peers };
        const fingerprint = JSON.stringify(status);
        if (this.#written.get(name) === fingerprint) continue;
        if (!this.#written.has(name)) {
          try {
            await this.#custom.createNamespacedCustomObject({
              ...api,
              body: {
                apiVersion: 'metallb.io/v1beta1',
                kind: 'ServiceBGPStatus',
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
        await this.#custom.patchNamespacedCustomObjectStatus(
          { ...api, name, body: { status } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
        this.#written.set(name, fingerprint);
      }
      for (const name of [...this.#written.keys()]) {
        if (this.#desired.has(name)) continue;
        try {
          await this.#custom.deleteNamespacedCustomObject({ ...api, name });
        } catch (e) {
          if (!(e instanceof k8s.ApiException && e.code === 404)) throw e;
        }
        this.#written.delete(name);
      }
    } catch (err) {
      this.#o.log.warn({ err: errorMessage(err) }, 'could not update ServiceBGPStatus objects; retrying');
      setTimeout(() => this.#schedule(0), 2000).unref();
    }
  }
}
