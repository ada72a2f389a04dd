// The Gateway controller's edge: `extend` adds the Gateway API routes (built by the pure core, src/gateway) to
// every Ingress table the ingress loop applies, so both share one HAProxy and one control loop; `write` (the
// Lease holder only, after each reconcile) brings GatewayClass, Gateway and route status, and each
// Gateway's LoadBalancer Service and EndpointSlices, in line with the last build. Writes happen only when the
// object differs; a failed write makes the loop try again.
import * as k8s from '@kubernetes/client-node';
import type { Clock } from '../edge/clock.ts';
import { realClock } from '../edge/clock.ts';
import { errorMessage } from '../edge/informer.ts';
import type { Logger } from '../edge/log.ts';
import { GATEWAY_RESOURCES, type GatewayResource } from '../src/contracts/gateway.ts';
import { buildGateways, objectKey, type GatewayBuild, type PortRange } from '../src/gateway/build.ts';
import {
  assignedPortsFrom,
  gatewayServiceObject,
  gatewaySlices,
  serviceDiffers,
  type GatewaySliceObject,
} from '../src/gateway/service.ts';
import { mergeConditions, mergeRouteParents, sameStatus } from '../src/gateway/status.ts';
import { withGateways } from '../src/gateway/table.ts';
import { GATEWAY_CONTROLLER, type Condition, type RouteParentStatusObject } from '../src/gateway/types.ts';
import { statusAddresses } from '../src/ingress/status.ts';
import type { BackendResolver, RouteTable } from '../src/ingress/types.ts';
import { SERVICE_NAME_LABEL } from '../src/service/endpoints.ts';
import type { GatewayWatch } from './gateway-watch.ts';
import type { IngressSnapshot } from './reconcile.ts';

/** GatewayControllerOptions: what the controller reads and how it writes. */
export interface GatewayControllerOptions {
  kube: k8s.KubeConfig;
  watch: GatewayWatch;
  /** proxyService is the ingress's own Service: its endpoints are the proxy pods each Gateway Service gets. */
  proxyService: { namespace: string; name: string };
  controllerName?: string;
  httpPorts: PortRange;
  httpsPorts: PortRange;
  /** tlsPorts: proxy ports of listener ports with a TLS passthrough listener. */
  tlsPorts?: PortRange;
  log: Logger;
  clock?: Clock;
}

const FIELD_MANAGER = 'ironlb-gateway';
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** GatewayController joins Gateway API routing to the ingress loop and writes what the Gateway API owes. */
export class GatewayController {
  private readonly o: GatewayControllerOptions;
  private readonly controller: string;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly core: k8s.CoreV1Api;
  private readonly discovery: k8s.DiscoveryV1Api;
  private readonly clock: Clock;
  private snapshot: IngressSnapshot | undefined;
  /** last is the last build (for /debug and tests). */
  last: GatewayBuild | undefined;

  constructor(options: GatewayControllerOptions) {
    this.o = options;
    this.controller = options.controllerName ?? GATEWAY_CONTROLLER;
    this.custom = options.kube.makeApiClient(k8s.CustomObjectsApi);
    this.core = options.kube.makeApiClient(k8s.CoreV1Api);
    this.discovery = options.kube.makeApiClient(k8s.DiscoveryV1Api);
    this.clock = options.clock ?? realClock;
  }

  /** extend builds the Gateway routes from the caches and joins them to `table` (the reconciler's hook). */
  extend(table: RouteTable, snapshot: IngressSnapshot, resolver: BackendResolver): RouteTable {
    const w = this.o.watch;
    const services = snapshot.services;
    const addresses = new Map(
      services
        .filter((s) => assignedPortsFrom([s]).size > 0)
        .map((s) => {
          const labels = (s.metadata as { labels?: Record<string, string> }).labels ?? {};
          return [
            `${s.metadata?.namespace ?? 'default'}/${labels['gateway.networking.k8s.io/gateway-name'] ?? ''}`,
            statusAddresses(s as Parameters<typeof statusAddresses>[0]),
          ] as const;
        }),
    );
    const build = buildGateways(
      {
        gatewayClasses: w.gatewayClasses.list(),
        gateways: w.gateways.list(),
        httpRoutes: w.httpRoutes.list(),
        tlsRoutes: w.tlsRoutes.list(),
        addressPools: w.addressPools.list(),
        grpcRoutes: w.grpcRoutes.list(),
        referenceGrants: w.referenceGrants.list(),
        namespaces: w.namespaces.list(),
        services,
        resolver,
        assignedPorts: assignedPortsFrom(services),
        addresses,
      },
      {
        controllerName: this.controller,
        httpPorts: this.o.httpPorts,
        httpsPorts: this.o.httpsPorts,
        ...(this.o.tlsPorts ? { tlsPorts: this.o.tlsPorts } : {}),
      },
    );
    this.last = build;
    this.snapshot = snapshot;
    return withGateways(table, build, resolver);
  }

  /** write brings every object in line with the last build; false when a write failed (retry). */
  async write(): Promise<boolean> {
    const build = this.last;
    if (!build) return true;
    const results = await Promise.all([
      this.writeServices(build),
      this.writeClassStatus(build),
      this.writeGatewayStatus(build),
      this.writeRouteStatus(build),
    ]);
    return results.every(Boolean);
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  private async attempt(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      this.o.log.info({ gateway: what }, 'gateway object written');
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return true; // deleted meanwhile
      this.o.log.warn({ gateway: what, err: errorMessage(err) }, 'could not write gateway object');
      return false;
    }
  }

  private patchStatus(
    r: GatewayResource,
    namespace: string | undefined,
    name: string,
    body: object,
  ): Promise<unknown> {
    const common = {
      group: r.group,
      version: r.version,
      plural: r.plural,
      name,
      body,
      fieldManager: FIELD_MANAGER,
    };
    return namespace === undefined
      ? this.custom.patchClusterCustomObjectStatus(common, mergePatch)
      : this.custom.patchNamespacedCustomObjectStatus({ ...common, namespace }, mergePatch);
  }

  private async writeClassStatus(build: GatewayBuild): Promise<boolean> {
    let ok = true;
    for (const c of this.o.watch.gatewayClasses.list()) {
      const name = c.metadata?.name ?? '';
      const want = build.classStatus.get(name);
      if (!want) continue;
      const live = (c as { status?: { conditions?: Condition[]; supportedFeatures?: unknown } }).status;
      const status = {
        conditions: mergeConditions(live?.conditions, want.conditions, this.now()),
        supportedFeatures: want.supportedFeatures,
      };
      if (
        sameStatus(
          { c: live?.conditions, f: live?.supportedFeatures },
          { c: status.conditions, f: status.supportedFeatures },
        )
      )
        continue;
      ok =
        (await this.attempt(`GatewayClass ${name}`, () =>
          this.patchStatus(GATEWAY_RESOURCES.GatewayClass, undefined, name, { status }),
        )) && ok;
    }
    return ok;
  }

  private async writeGatewayStatus(build: GatewayBuild): Promise<boolean> {
    let ok = true;
    for (const g of this.o.watch.gateways.list()) {
      const key = objectKey(g);
      const want = build.gatewayStatus.get(key);
      if (!want) continue;
      const live = (
        g as {
          status?: {
            addresses?: unknown;
            conditions?: Condition[];
            listeners?: { name: string; conditions?: Condition[] }[];
          };
        }
      ).status;
      const now = this.now();
      const status = {
        addresses: want.addresses,
        conditions: mergeConditions(live?.conditions, want.conditions, now),
        listeners: want.listeners.map((l) => ({
          ...l,
          conditions: mergeConditions(
            live?.listeners?.find((x) => x.name === l.name)?.conditions,
            l.conditions,
            now,
          ),
        })),
      };
      const liveView = {
        addresses: live?.addresses ?? [],
        conditions: live?.conditions,
        listeners: live?.listeners ?? [],
      };
      if (sameStatus(liveView, status)) continue;
      ok =
        (await this.attempt(`Gateway ${key}`, () =>
          this.patchStatus(GATEWAY_RESOURCES.Gateway, g.metadata?.namespace, g.metadata?.name ?? '', {
            status,
          }),
        )) && ok;
    }
    return ok;
  }

  private async writeRouteStatus(build: GatewayBuild): Promise<boolean> {
    const [http, grpc, tls] = await Promise.all([
      this.writeRouteStatusOf(GATEWAY_RESOURCES.HTTPRoute, this.o.watch.httpRoutes.list(), build.routeStatus),
      this.writeRouteStatusOf(
        GATEWAY_RESOURCES.GRPCRoute,
        this.o.watch.grpcRoutes.list(),
        build.grpcRouteStatus,
      ),
      this.writeRouteStatusOf(
        GATEWAY_RESOURCES.TLSRoute,
        this.o.watch.tlsRoutes.list(),
        build.tlsRouteStatus,
      ),
    ]);
    return http && grpc && tls;
  }

  private async writeRouteStatusOf(
    resource: GatewayResource,
    routes: readonly (k8s.KubernetesObject & { status?: { parents?: RouteParentStatusObject[] } })[],
    want: ReadonlyMap<string, RouteParentStatusObject[]>,
  ): Promise<boolean> {
    let ok = true;
    for (const r of routes) {
      const key = objectKey(r);
      const ours = want.get(key) ?? [];
      const live = r.status?.parents ?? [];
      if (ours.length === 0 && !live.some((p) => p.controllerName === this.controller)) continue;
      const parents = mergeRouteParents(live, ours, this.controller, this.now());
      if (sameStatus(live, parents)) continue;
      ok =
        (await this.attempt(`${resource.kind} ${key}`, () =>
          this.patchStatus(resource, r.metadata?.namespace, r.metadata?.name ?? '', {
            // the resourceVersion makes this write fail rather than drop another controller's new entry
            metadata: { resourceVersion: (r.metadata as { resourceVersion?: string }).resourceVersion },
            status: { parents },
          }),
        )) && ok;
    }
    return ok;
  }

  private async writeServices(build: GatewayBuild): Promise<boolean> {
    const snapshot = this.snapshot;
    if (!snapshot) return true;
    const proxySlices = snapshot.endpointSlices.filter(
      (s) =>
        s.metadata?.namespace === this.o.proxyService.namespace &&
        s.metadata.labels?.[SERVICE_NAME_LABEL] === this.o.proxyService.name,
    );
    const gateways = new Map(this.o.watch.gateways.list().map((g) => [objectKey(g), g]));
    let ok = true;
    for (const spec of build.services) {
      const uid = gateways.get(spec.gateway)?.metadata?.uid;
      if (!uid || spec.ports.length === 0) continue;
      const want = gatewayServiceObject(spec, uid);
      const live = snapshot.services.find(
        (s) => s.metadata?.namespace === spec.namespace && s.metadata?.name === spec.name,
      );
      if (!live) {
        ok =
          (await this.attempt(`Service ${spec.namespace}/${spec.name}`, () =>
            this.core.createNamespacedService({
              namespace: spec.namespace,
              body: want,
              fieldManager: FIELD_MANAGER,
            }),
          )) && ok;
      } else if (serviceDiffers(live, want)) {
        const liveAnn = (live.metadata as { annotations?: Record<string, string> }).annotations ?? {};
        const annotations: Record<string, string | null> = { ...want.metadata.annotations };
        for (const k of Object.keys(liveAnn))
          if (k.startsWith('metallb.io/loadBalancerIPs') && !(k in annotations)) annotations[k] = null;
        ok =
          (await this.attempt(`Service ${spec.namespace}/${spec.name}`, () =>
            this.core.patchNamespacedService(
              {
                namespace: spec.namespace,
                name: spec.name,
                fieldManager: FIELD_MANAGER,
                body: { metadata: { labels: want.metadata.labels, annotations }, spec: want.spec },
              },
              mergePatch,
            ),
          )) && ok;
      }
      for (const slice of gatewaySlices(spec, uid, proxySlices))
        ok = (await this.writeSlice(slice, snapshot)) && ok;
    }
    return ok;
  }

  private async writeSlice(want: GatewaySliceObject, snapshot: IngressSnapshot): Promise<boolean> {
    const live = snapshot.endpointSlices.find(
      (s) => s.metadata?.namespace === want.metadata.namespace && s.metadata?.name === want.metadata.name,
    );
    const what = `EndpointSlice ${want.metadata.namespace}/${want.metadata.name}`;
    if (!live) {
      return this.attempt(what, () =>
        this.discovery.createNamespacedEndpointSlice({
          namespace: want.metadata.namespace,
          body: want as k8s.V1EndpointSlice,
          fieldManager: FIELD_MANAGER,
        }),
      );
    }
    const view = (s: { ports?: unknown; endpoints?: unknown }) => ({
      ports: s.ports ?? [],
      endpoints: s.endpoints ?? [],
    });
    if (sameStatus(view(live), view(want))) return true;
    return this.attempt(what, () =>
      this.discovery.patchNamespacedEndpointSlice(
        {
          namespace: want.metadata.namespace,
          name: want.metadata.name,
          fieldManager: FIELD_MANAGER,
          body: { ports: want.ports, endpoints: want.endpoints },
        },
        mergePatch,
      ),
    );
  }
}
