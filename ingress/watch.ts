// The ingress's watch: one self-restarting informer per kind the route table depends on (IngressClasses,
// Ingresses, Services, EndpointSlices, TLS Secrets), and the snapshot of their caches that `reconcile` reads.
// Only `kubernetes.io/tls` Secrets are listed and watched (field selector): other Secrets never reach memory.
import * as k8s from '@kubernetes/client-node';
import { Informer } from '../edge/informer.ts';
import type { Logger } from '../edge/log.ts';
import type { IngressSnapshot } from './reconcile.ts';

/** TLS_SECRET_SELECTOR is the field selector of the Secrets the ingress reads. */
export const TLS_SECRET_SELECTOR = 'type=kubernetes.io/tls';

/** IngressWatch holds the informers; `snapshot()` is O(objects) and copies no object. */
export interface IngressWatch extends InformerGroup {
  ingressClasses: Informer<k8s.V1IngressClass>;
  ingresses: Informer<k8s.V1Ingress>;
  services: Informer<k8s.V1Service>;
  endpointSlices: Informer<k8s.V1EndpointSlice>;
  secrets: Informer<k8s.V1Secret>;
  /** all lists every informer (start, stop, metrics). */
  all: Informer<k8s.KubernetesObject>[];
  /** snapshot returns the caches as the reconciler's input. */
  snapshot(): IngressSnapshot;
}

/** createIngressWatch builds (does not start) the informers of a cluster-wide ingress controller. */
export function createIngressWatch(kc: k8s.KubeConfig, options: { log?: Logger } = {}): IngressWatch {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const networking = kc.makeApiClient(k8s.NetworkingV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const log = options.log;
  const ingressClasses = new Informer<k8s.V1IngressClass>(kc, {
    name: 'ingressclasses',
    path: '/apis/networking.k8s.io/v1/ingressclasses',
    list: () => networking.listIngressClass(),
    ...(log ? { log } : {}),
  });
  const ingresses = new Informer<k8s.V1Ingress>(kc, {
    name: 'ingresses',
    path: '/apis/networking.k8s.io/v1/ingresses',
    list: () => networking.listIngressForAllNamespaces(),
    ...(log ? { log } : {}),
  });
  const services = new Informer<k8s.V1Service>(kc, {
    name: 'services',
    path: '/api/v1/services',
    list: () => core.listServiceForAllNamespaces(),
    ...(log ? { log } : {}),
  });
  const endpointSlices = new Informer<k8s.V1EndpointSlice>(kc, {
    name: 'endpointslices',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    list: () => discovery.listEndpointSliceForAllNamespaces(),
    ...(log ? { log } : {}),
  });
  // The client's watch keeps the query of its path and adds its own parameters to it.
  const secrets = new Informer<k8s.V1Secret>(kc, {
    name: 'secrets',
    path: `/api/v1/secrets?fieldSelector=${encodeURIComponent(TLS_SECRET_SELECTOR)}`,
    list: () => core.listSecretForAllNamespaces({ fieldSelector: TLS_SECRET_SELECTOR }),
    ...(log ? { log } : {}),
  });
  const all = [
    ingressClasses,
    ingresses,
    services,
    endpointSlices,
    secrets,
  ] as unknown as Informer<k8s.KubernetesObject>[];
  return {
    ingressClasses,
    ingresses,
    services,
    endpointSlices,
    secrets,
    all,
    snapshot: () => ({
      ingressClasses: ingressClasses.list(),
      ingresses: ingresses.list(),
      services: services.list(),
      endpointSlices: endpointSlices.list(),
      secrets: secrets.list(),
    }),
    ...informerGroup(all),
  };
}

/** InformerGroup starts, syncs, stops and listens to a set of informers as one. */
export interface InformerGroup {
  /** onChange registers a callback for any add, update or delete of any object of the group. */
  onChange(cb: (informer: string) => void): void;
  start(): Promise<void>;
  /** synced resolves once every informer has listed once. */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

/** informerGroup returns the InformerGroup of `all`. */
export function informerGroup(all: readonly Informer<k8s.KubernetesObject>[]): InformerGroup {
  return {
    onChange(cb) {
      for (const inf of all)
        for (const verb of ['add', 'update', 'delete'] as const) inf.on(verb, () => cb(inf.name));
    },
    async start() {
      await Promise.all(all.map((i) => i.start()));
    },
    async synced() {
      await Promise.all(all.map((i) => i.synced));
    },
    async stop() {
      await Promise.all(all.map((i) => i.stop()));
    },
  };
}
