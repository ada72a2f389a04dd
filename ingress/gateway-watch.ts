// The Gateway controller's watch: one self-restarting informer per Gateway API kind it reads (GatewayClasses,
// Gateways, HTTPRoutes, GRPCRoutes, TLSRoutes, ReferenceGrants) plus Namespaces (allowedRoutes selectors). Services, EndpointSlices
// and TLS Secrets come from the ingress watch: one cache per kind in the process.
import * as k8s from '@kubernetes/client-node';
import { Informer } from '../edge/informer.ts';
import type { Logger } from '../edge/log.ts';
import { informerGroup, type InformerGroup } from './watch.ts';
import { clusterPath, GATEWAY_RESOURCES, type GatewayResource } from '../src/contracts/gateway.ts';
import { RESOURCES } from '../src/contracts/resources.ts';
import type { PoolObject } from '../src/gateway/addresses.ts';
import type { GRPCRouteObject } from '../src/gateway/grpc.ts';
import type {
  GatewayClassObject,
  GatewayObject,
  HTTPRouteObject,
  NamespaceObject,
  ReferenceGrantObject,
  TLSRouteObject,
} from '../src/gateway/types.ts';

type Obj<T> = T & k8s.KubernetesObject;

/** GatewayWatch holds the informers of the Gateway controller. */
export interface GatewayWatch extends InformerGroup {
  gatewayClasses: Informer<Obj<GatewayClassObject>>;
  gateways: Informer<Obj<GatewayObject>>;
  httpRoutes: Informer<Obj<HTTPRouteObject>>;
  tlsRoutes: Informer<Obj<TLSRouteObject>>;
  /** addressPools: IronLB's IPAddressPools, to tell a requested Gateway address no pool holds. */
  addressPools: Informer<Obj<PoolObject>>;
  grpcRoutes: Informer<Obj<GRPCRouteObject>>;
  referenceGrants: Informer<Obj<ReferenceGrantObject>>;
  namespaces: Informer<Obj<NamespaceObject>>;
  all: Informer<k8s.KubernetesObject>[];
}

/**
 * gatewayApiServed tells whether the API server serves the Gateway API (its CRDs are installed): without
 * them the ingress runs Ingresses only.
 */
export async function gatewayApiServed(kc: k8s.KubeConfig): Promise<boolean> {
  return resourceServed(kc, GATEWAY_RESOURCES.GatewayClass);
}

async function resourceServed(kc: k8s.KubeConfig, r: GatewayResource): Promise<boolean> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  try {
    await custom.listClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, limit: 1 });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return false;
    throw err;
  }
}

/** createGatewayWatch builds (does not start) the Gateway API informers. */
export function createGatewayWatch(kc: k8s.KubeConfig, options: { log?: Logger } = {}): GatewayWatch {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const log = options.log;
  const crd = <T>(r: GatewayResource): Informer<Obj<T>> =>
    new Informer<Obj<T>>(kc, {
      name: r.plural,
      path: clusterPath(r),
      list: () =>
        custom.listClusterCustomObject({ group: r.group, version: r.version, plural: r.plural }) as Promise<
          k8s.KubernetesListObject<Obj<T>>
        >,
      ...(log ? { log } : {}),
    });
  const gatewayClasses = crd<GatewayClassObject>(GATEWAY_RESOURCES.GatewayClass);
  const gateways = crd<GatewayObject>(GATEWAY_RESOURCES.Gateway);
  const httpRoutes = crd<HTTPRouteObject>(GATEWAY_RESOURCES.HTTPRoute);
  const tlsRoutes = crd<TLSRouteObject>(GATEWAY_RESOURCES.TLSRoute);
  const pool = RESOURCES.IPAddressPool;
  const addressPools = crd<PoolObject>({ ...pool, namespaced: true });
  const grpcRoutes = crd<GRPCRouteObject>(GATEWAY_RESOURCES.GRPCRoute);
  const referenceGrants = crd<ReferenceGrantObject>(GATEWAY_RESOURCES.ReferenceGrant);
  const namespaces = new Informer<Obj<NamespaceObject>>(kc, {
    name: 'namespaces',
    path: '/api/v1/namespaces',
    list: () => core.listNamespace() as Promise<k8s.KubernetesListObject<Obj<NamespaceObject>>>,
    ...(log ? { log } : {}),
  });
  const all = [
    gatewayClasses,
    gateways,
    httpRoutes,
    grpcRoutes,
    tlsRoutes,
    addressPools,
    referenceGrants,
    namespaces,
  ] as unknown as Informer<k8s.KubernetesObject>[];
  // TLSRoutes are watched only where served (CRDs of v1.5 and later): older CRDs keep the rest working.
  const group = informerGroup(all);
  const rest = informerGroup(all.filter((i) => i !== (tlsRoutes as unknown)));
  let tlsServed = true;
  return {
    gatewayClasses,
    gateways,
    httpRoutes,
    grpcRoutes,
    tlsRoutes,
    addressPools,
    referenceGrants,
    namespaces,
    all,
    ...group,
    async start() {
      tlsServed = await resourceServed(kc, GATEWAY_RESOURCES.TLSRoute);
      if (!tlsServed)
        log?.warn({}, 'TLSRoutes (gateway.networking.k8s.io/v1) are not served: TLS passthrough is off');
      await (tlsServed ? group : rest).start();
    },
    async synced() {
      await (tlsServed ? group : rest).synced();
    },
  };
}
