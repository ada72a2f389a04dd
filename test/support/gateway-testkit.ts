// Helpers shared by the Gateway data-plane integration tests: the route table of one Gateway beside an Ingress
// (legacy.test), built by the pure core from objects over Services whose one endpoint is a loopback port.
import { buildGateways, type GatewayBuild } from '../../src/gateway/build.ts';
import type { GRPCRouteObject } from '../../src/gateway/grpc.ts';
import { withGateways } from '../../src/gateway/table.ts';
import type { GatewayObject, HTTPRouteObject } from '../../src/gateway/types.ts';
import { buildRouteTable } from '../../src/ingress/build.ts';
import { snapshotResolver } from '../../src/ingress/resolve.ts';
import type { RouteTable } from '../../src/ingress/types.ts';
import { endpointSlice, ingress, service } from './ingress-testkit.ts';

/** LoopbackGateway is one Gateway, its routes and the Services (port 80) they send to, in namespace `ns`. */
export interface LoopbackGateway {
  ns: string;
  /** ports: Service name → the loopback port of its one endpoint. */
  ports: Record<string, number>;
  /** h2c: Services whose port says `appProtocol: kubernetes.io/h2c`. */
  h2c?: string[];
  /** legacy: the Service the Ingress "legacy" (class ironlb) sends legacy.test to. */
  legacy: string;
  gateway: GatewayObject;
  httpRoutes: HTTPRouteObject[];
  grpcRoutes?: GRPCRouteObject[];
  /** base: the first of 4 HTTP proxy ports (HTTPS: the next 4); assignedPorts: "ns/gateway/port" → proxy port. */
  base: number;
  assignedPorts: Map<string, number>;
}

/** loopbackGatewayTable builds the Ingress table and the Gateway routing joined to it, and the Gateway build. */
export function loopbackGatewayTable(o: LoopbackGateway): { table: RouteTable; build: GatewayBuild } {
  const names = Object.keys(o.ports);
  const snapshot = {
    services: names.map((s) => {
      const svc = service(o.ns, s);
      if (!o.h2c?.includes(s)) return svc;
      return {
        ...svc,
        spec: { ports: (svc.spec?.ports ?? []).map((p) => ({ ...p, appProtocol: 'kubernetes.io/h2c' })) },
      };
    }),
    endpointSlices: names.flatMap((s) =>
      endpointSlice(o.ns, s, [{ address: '127.0.0.1', port: o.ports[s] ?? 0 }]),
    ),
    secrets: [],
  };
  const resolver = snapshotResolver(snapshot);
  const ing = buildRouteTable({
    ingressClasses: [{ metadata: { name: 'ironlb' }, spec: { controller: 'ironlb.io/ingress' } }],
    ingresses: [
      ingress('legacy', {
        className: 'ironlb',
        rules: [{ host: 'legacy.test', paths: [['/', 'Prefix', o.legacy]] }],
      }),
    ],
    resolver,
  });
  const build = buildGateways(
    {
      gatewayClasses: [
        { metadata: { name: 'ironlb' }, spec: { controllerName: 'ironlb.io/gateway-controller' } },
      ],
      gateways: [o.gateway],
      httpRoutes: o.httpRoutes,
      ...(o.grpcRoutes ? { grpcRoutes: o.grpcRoutes } : {}),
      referenceGrants: [],
      namespaces: [{ metadata: { name: o.ns } }],
      services: snapshot.services,
      resolver,
      assignedPorts: o.assignedPorts,
      addresses: new Map(),
    },
    { httpPorts: { first: o.base, last: o.base + 3 }, httpsPorts: { first: o.base + 4, last: o.base + 7 } },
  );
  return { table: withGateways(ing, build, resolver), build };
}
