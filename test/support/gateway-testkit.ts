// Helpers shared by the data-plane integration tests (ingress/*.int.test.ts): the route table of one Gateway
// beside an Ingress (legacy.test), built by the pure core from objects over Services whose one endpoint is a
// loopback port, and a real HAProxy data plane on loopback ports in a directory of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDataplane, type Dataplane } from '../../ingress/dataplane.ts';
import { buildGateways, type GatewayBuild } from '../../src/gateway/build.ts';
import type { GRPCRouteObject } from '../../src/gateway/grpc.ts';
import { withGateways } from '../../src/gateway/table.ts';
import type { GatewayObject, HTTPRouteObject, TLSRouteObject } from '../../src/gateway/types.ts';
import { buildRouteTable, emptyRouteTable } from '../../src/ingress/build.ts';
import { snapshotResolver } from '../../src/ingress/resolve.ts';
import type { RouteTable } from '../../src/ingress/types.ts';
import { endpointSlice, freePort, ingress, service, tlsSecret } from './ingress-testkit.ts';

/** LoopbackGateway is one Gateway, its routes and the Services (port 80) they send to, in namespace `ns`. */
export interface LoopbackGateway {
  ns: string;
  /** ports: Service name → the loopback port of its one endpoint. */
  ports: Record<string, number>;
  /** h2c: Services whose port says `appProtocol: kubernetes.io/h2c`. */
  h2c?: string[];
  /** legacy: the Service the Ingress "legacy" (class ironlb) sends legacy.test to; absent: no Ingress. */
  legacy?: string;
  gateway: GatewayObject;
  httpRoutes: HTTPRouteObject[];
  grpcRoutes?: GRPCRouteObject[];
  tlsRoutes?: TLSRouteObject[];
  /** certificates: kubernetes.io/tls Secrets of `ns` by name (HTTPS listeners' certificateRefs). */
  certificates?: Record<string, { cert: string; key: string }>;
  /**
   * base: the first of 4 HTTP proxy ports (HTTPS: the next 4, TLS passthrough: the 4 after; gatewayPortBase);
   * assignedPorts: "ns/gateway/port" → proxy port.
   */
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
    secrets: Object.entries(o.certificates ?? {}).map(([name, pair]) => tlsSecret(o.ns, name, pair)),
  };
  const resolver = snapshotResolver(snapshot);
  const ing =
    o.legacy === undefined
      ? emptyRouteTable()
      : buildRouteTable({
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
      ...(o.tlsRoutes ? { tlsRoutes: o.tlsRoutes } : {}),
      referenceGrants: [],
      namespaces: [{ metadata: { name: o.ns } }],
      services: snapshot.services,
      resolver,
      assignedPorts: o.assignedPorts,
      addresses: new Map(),
    },
    {
      httpPorts: { first: o.base, last: o.base + 3 },
      httpsPorts: { first: o.base + 4, last: o.base + 7 },
      tlsPorts: { first: o.base + 8, last: o.base + 11 },
    },
  );
  return { table: withGateways(ing, build, resolver), build };
}

/**
 * gatewayPortBase picks the first of 12 consecutive proxy ports for Gateway listeners (HTTP, HTTPS and TLS, 4
 * each) below the ephemeral range (32768+), so no client socket of the test takes one meanwhile.
 */
export function gatewayPortBase(): number {
  return 26000 + Math.floor(Math.random() * 6000);
}

/** LoopbackDataplane is a running HAProxy data plane on loopback; stop() ends it and removes its directory. */
export interface LoopbackDataplane {
  dp: Dataplane;
  dir: string;
  /** ingressPort: the Ingress HTTP port. */
  ingressPort: number;
  stop(): Promise<void>;
}

/**
 * startLoopbackDataplane starts HAProxy (ingress/dataplane.ts) with `table` in a fresh directory named after
 * `name`: Ingress HTTP on a free loopback port, Ingress HTTPS on `ingressHttpsPort` when given, and Gateway
 * listeners on the port ranges from `gatewayBase` when given (HTTP; with `gatewayTls`, HTTPS and TLS too).
 */
export async function startLoopbackDataplane(
  table: RouteTable,
  o: { name: string; ingressHttpsPort?: number; gatewayBase?: number; gatewayTls?: boolean },
): Promise<LoopbackDataplane> {
  const dir = mkdtempSync(join(tmpdir(), `ironlb-${o.name}-`));
  const range = (first: number) => [`127.0.0.1:${first}-${first + 3}`];
  const base = o.gatewayBase;
  try {
    const ingressPort = await freePort();
    const dp = await startDataplane(table, {
      dir,
      httpBinds: [`127.0.0.1:${ingressPort}`],
      httpsBinds: o.ingressHttpsPort ? [`127.0.0.1:${o.ingressHttpsPort}`] : [],
      ...(o.ingressHttpsPort ? { httpsPort: o.ingressHttpsPort } : {}),
      ...(base !== undefined
        ? {
            gatewayHttpBinds: range(base),
            ...(o.gatewayTls ? { gatewayHttpsBinds: range(base + 4), gatewayTlsBinds: range(base + 8) } : {}),
            minBackendSlots: 8,
            minServerSlots: 4,
          }
        : {}),
    });
    return {
      dp,
      dir,
      ingressPort,
      stop: async () => {
        await dp.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
