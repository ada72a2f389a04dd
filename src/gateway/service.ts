// The LoadBalancer Service each Gateway gets, and its EndpointSlices: the Service (owned by the Gateway, in its
// namespace, externalTrafficPolicy Local) has no selector, since the proxy pods live in IronLB's namespace; its
// EndpointSlices copy the proxy's own endpoints (addresses, nodes, readiness) with the Gateway's proxy ports, so
// kube-proxy, the controller and the speaker treat it like any Service. Pure: the edge writes what this returns.
import { ANNOTATIONS } from '../contracts/annotations.ts';
import type { EndpointSliceObject, ServiceObject } from '../ingress/resolve.ts';
import { SERVICE_NAME_LABEL } from '../service/endpoints.ts';
import type { GatewayServiceSpec } from './build.ts';
import { GATEWAY_GROUP } from './types.ts';

/** GATEWAY_NAME_LABEL marks a Gateway's Service and EndpointSlices with the Gateway's name. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/** MANAGED_BY_LABEL / MANAGED_BY: objects the Gateway controller owns and rewrites. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'ironlb-gateway';

/** SLICE_MANAGED_BY_LABEL tells the endpointslice controller that these slices are not its own (a label value). */
export const SLICE_MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SLICE_MANAGED_BY = 'gateway.ironlb.io';

/** GatewayServiceObject is the Service as written (client-node accepts it as V1Service). */
export interface GatewayServiceObject {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: boolean;
      blockOwnerDeletion: boolean;
    }[];
  };
  spec: {
    type: 'LoadBalancer';
    externalTrafficPolicy: 'Local';
    ipFamilyPolicy?: 'RequireDualStack';
    ports: { name: string; port: number; targetPort: number; protocol: 'TCP' }[];
  };
}

function owner(spec: GatewayServiceSpec, uid: string): GatewayServiceObject['metadata']['ownerReferences'] {
  return [
    {
      apiVersion: `${GATEWAY_GROUP}/v1`,
      kind: 'Gateway',
      name: spec.gatewayName,
      uid,
      controller: true,
      blockOwnerDeletion: false,
    },
  ];
}

/** gatewayServiceObject is the Service a Gateway must have (requested addresses → metallb.io/loadBalancerIPs). */
export function gatewayServiceObject(spec: GatewayServiceSpec, gatewayUid: string): GatewayServiceObject {
  const families = new Set(spec.requestedIPs.map((ip) => (ip.includes(':') ? 6 : 4)));
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: { [GATEWAY_NAME_LABEL]: spec.gatewayName, [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations:
        spec.requestedIPs.length > 0 ? { [ANNOTATIONS.loadBalancerIPs]: spec.requestedIPs.join(',') } : {},
      ownerReferences: owner(spec, gatewayUid),
    },
    spec: {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      ...(families.size > 1 ? { ipFamilyPolicy: 'RequireDualStack' as const } : {}),
      ports: spec.ports.map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.targetPort,
        protocol: 'TCP',
      })),
    },
  };
}

/**
 * serviceDiffers tells whether a live Service lacks what `want` sets (ports, type, policy, our annotation and
 * labels); fields the API server defaults (clusterIP, nodePorts) are ignored.
 */
export function serviceDiffers(
  live: ServiceObject & {
    metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> };
    spec?: { externalTrafficPolicy?: string };
  },
  want: GatewayServiceObject,
): boolean {
  const ports = (live.spec?.ports ?? []).map(
    (p) => `${p.name ?? ''}:${p.port ?? 0}:${String(p.targetPort ?? '')}`,
  );
  const wantPorts = want.spec.ports.map((p) => `${p.name}:${p.port}:${p.targetPort}`);
  return (
    ports.join(',') !== wantPorts.join(',') ||
    live.spec?.type !== 'LoadBalancer' ||
    live.spec.externalTrafficPolicy !== 'Local' ||
    (live.metadata?.annotations?.[ANNOTATIONS.loadBalancerIPs] ?? '') !==
      (want.metadata.annotations[ANNOTATIONS.loadBalancerIPs] ?? '') ||
    live.metadata?.labels?.[GATEWAY_NAME_LABEL] !== want.metadata.labels[GATEWAY_NAME_LABEL]
  );
}

/**
 * assignedPortsFrom reads the proxy ports already given to Gateway listeners back from their Services (the
 * Services are the record): "namespace/gateway/port" → targetPort.
 */
export function assignedPortsFrom(services: readonly ServiceObject[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of services) {
    const meta = s.metadata as { labels?: Record<string, string>; namespace?: string } | undefined;
    const gw = meta?.labels?.[GATEWAY_NAME_LABEL];
    if (gw === undefined || meta?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) continue;
    for (const p of s.spec?.ports ?? [])
      if (typeof p.targetPort === 'number' && p.port !== undefined)
        out.set(`${meta.namespace ?? 'default'}/${gw}/${p.port}`, p.targetPort);
  }
  return out;
}

/** GatewaySliceObject is an EndpointSlice as written. */
export interface GatewaySliceObject extends EndpointSliceObject {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: GatewayServiceObject['metadata']['ownerReferences'];
  };
  addressType: string;
  ports: { name: string; port: number; protocol: 'TCP' }[];
  endpoints: {
    addresses: string[];
    conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null } | null;
    nodeName?: string;
    zone?: string;
  }[];
}

/**
 * gatewaySlices returns the EndpointSlices of a Gateway's Service: one per address family of the proxy's own
 * slices, each listing the proxy's endpoints with the Gateway's proxy ports.
 */
export function gatewaySlices(
  spec: GatewayServiceSpec,
  gatewayUid: string,
  proxySlices: readonly (EndpointSliceObject & {
    endpoints?:
      { addresses?: string[]; conditions?: object | null; nodeName?: string; zone?: string }[] | null;
  })[],
): GatewaySliceObject[] {
  const byFamily = new Map<string, GatewaySliceObject['endpoints']>();
  for (const sl of proxySlices) {
    const family = sl.addressType ?? 'IPv4';
    if (family === 'FQDN') continue;
    const list = byFamily.get(family) ?? [];
    for (const ep of sl.endpoints ?? []) {
      if (!ep.addresses?.length || list.some((e) => e.addresses[0] === ep.addresses?.[0])) continue;
      list.push({
        addresses: [...ep.addresses],
        ...(ep.conditions
          ? { conditions: ep.conditions as GatewaySliceObject['endpoints'][0]['conditions'] }
          : {}),
        ...(ep.nodeName ? { nodeName: ep.nodeName } : {}),
        ...(ep.zone ? { zone: ep.zone } : {}),
      });
    }
    byFamily.set(family, list);
  }
  return [...byFamily.keys()].sort().map((family) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${spec.name}-${family.toLowerCase()}`,
      namespace: spec.namespace,
      labels: {
        [SERVICE_NAME_LABEL]: spec.name,
        [SLICE_MANAGED_BY_LABEL]: SLICE_MANAGED_BY,
        [GATEWAY_NAME_LABEL]: spec.gatewayName,
        [MANAGED_BY_LABEL]: MANAGED_BY,
      },
      ownerReferences: owner(spec, gatewayUid),
    },
    addressType: family,
    ports: spec.ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: 'TCP' })),
    endpoints: (byFamily.get(family) ?? []).sort((a, b) =>
      (a.addresses[0] ?? '') < (b.addresses[0] ?? '') ? -1 : 1,
    ),
  }));
}
