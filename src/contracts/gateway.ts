// The Gateway API resources the ingress program reads and writes status on (gateway.networking.k8s.io, the
// upstream CRDs vendored in deploy/gateway-api), declared once: group, the version read, plural, scope.

/** GatewayResource names one Gateway API resource and where the API server serves it. */
export interface GatewayResource {
  kind: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

const gw = (kind: string, plural: string, namespaced = true, version = 'v1'): GatewayResource => ({
  kind,
  group: 'gateway.networking.k8s.io',
  version,
  plural,
  namespaced,
});

/** GATEWAY_RESOURCES: the Gateway API kinds the Gateway controller watches. */
export const GATEWAY_RESOURCES = {
  GatewayClass: gw('GatewayClass', 'gatewayclasses', false),
  Gateway: gw('Gateway', 'gateways'),
  HTTPRoute: gw('HTTPRoute', 'httproutes'),
  GRPCRoute: gw('GRPCRoute', 'grpcroutes'),
  TLSRoute: gw('TLSRoute', 'tlsroutes'),
  ReferenceGrant: gw('ReferenceGrant', 'referencegrants', true, 'v1beta1'),
} as const satisfies Record<string, GatewayResource>;

/** clusterPath is the list/watch path of a resource across all namespaces. */
export function clusterPath(r: GatewayResource): string {
  return `/apis/${r.group}/${r.version}/${r.plural}`;
}
