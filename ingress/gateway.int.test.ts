// Integration test of the Gateway controller: the ingress program (createIngress) against the real API server
// with the vendored Gateway API CRDs, driving a real HAProxy on loopback. A GatewayClass, a Gateway and
// HTTPRoutes go in; status, the Gateway's LoadBalancer Service and its EndpointSlice come out, and HAProxy
// answers by the routes (redirects and 500s, which need no backend: the API server refuses loopback endpoints,
// so the backends here are documentation addresses never contacted; gateway-dataplane.int.test.ts proxies). Run: flock /tmp/ironlb-integration.lock npx vitest run --project integration ingress/gateway.int.test.ts
import * as k8s from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { realClock } from '../edge/clock.ts';
import { createLogger } from '../edge/log.ts';
import type { App } from '../edge/program.ts';
import { waitFor } from '../test/harness/exec.ts';
import { clients, mergePatch, type Clients } from '../test/harness/kube.ts';
import { freePort, request } from '../test/support/ingress-testkit.ts';
import { createIngress } from './app.ts';
import { IngressMetrics } from './metrics.ts';

const G = { group: 'gateway.networking.k8s.io', version: 'v1' };
type Cond = { type: string; status: string; reason: string };
type Obj = {
  metadata?: { uid?: string };
  status?: {
    conditions?: Cond[];
    supportedFeatures?: { name: string }[];
    addresses?: { value: string }[];
    listeners?: { name: string; attachedRoutes: number; conditions: Cond[] }[];
    parents?: { controllerName: string; conditions: Cond[] }[];
  };
};
const has = (conds: Cond[] | undefined, type: string, status: string, reason: string): boolean =>
  (conds ?? []).some((c) => c.type === type && c.status === status && c.reason === reason);

describe('Gateway controller (real API server, real HAProxy)', () => {
  const id = Math.random().toString(36).slice(2, 8);
  const ns = `gw-${id}`;
  const className = `ironlb-${id}`;
  let c: Clients;
  let app: App;
  let dir: string;
  let base: number;

  const get = async (plural: string, name: string, namespace?: string): Promise<Obj> =>
    (namespace
      ? await c.custom.getNamespacedCustomObject({ ...G, plural, namespace, name })
      : await c.custom.getClusterCustomObject({ ...G, plural, name })) as Obj;
  const create = (plural: string, body: object): Promise<unknown> =>
    c.custom.createNamespacedCustomObject({ ...G, plural, namespace: ns, body });
  const route = (name: string, hostname: string, backend: string) => ({
    apiVersion: `${G.group}/${G.version}`,
    kind: 'HTTPRoute',
    metadata: { name, namespace: ns },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames: [hostname],
      rules: [{ backendRefs: [{ name: backend, port: 80 }] }],
    },
  });

  beforeAll(async () => {
    c = clients(inject('kubeconfig'));
    dir = mkdtempSync(join(tmpdir(), 'ironlb-gwc-'));
    base = 20000 + Math.floor(Math.random() * 6000); // below the ephemeral ports (32768+): no clash with a client socket
    await c.core.createNamespace({ body: { metadata: { name: ns } } });
    // The proxy's own Service and endpoint (what the proxy pods would be), and a backend on loopback.
    for (const [name, port] of [
      ['ironlb-ingress', 80],
      ['web', 80],
    ] as const) {
      await c.core.createNamespacedService({
        namespace: ns,
        body: { metadata: { name }, spec: { ports: [{ name: 'http', port }] } },
      });
      await c.discovery.createNamespacedEndpointSlice({
        namespace: ns,
        body: {
          metadata: {
            name,
            labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'test' },
          },
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 8080 }],
          endpoints: [
            { addresses: [name === 'web' ? '192.0.2.80' : '192.0.2.81'], conditions: { ready: true } },
          ],
        },
      });
    }
    const kube = new k8s.KubeConfig();
    kube.loadFromFile(inject('kubeconfig'));
    app = createIngress(
      {
        kube,
        clock: realClock,
        log: createLogger('ironlb-ingress-test', 'warn'),
        metrics: new IngressMetrics(),
        lease: { isLeader: () => true },
      },
      {
        namespace: ns,
        service: 'ironlb-ingress',
        className: `none-${id}`,
        controller: `example.com/none-${id}`,
        watchWithoutClass: false,
        identity: 'test',
        runDir: dir,
        haproxy: 'haproxy',
        binds: ['127.0.0.1'],
        httpPort: await freePort(),
        httpsPort: 0,
        publicHttpPort: 80,
        publicHttpsPort: 443,
        debounceMs: 20,
        gatewayController: `ironlb.io/gateway-controller-${id}`,
        gatewayHttpPorts: { first: base, last: base + 3 },
        gatewayHttpsPorts: { first: base + 4, last: base + 7 },
      },
    );
    await app.start();
    app.lead?.();
  }, 60_000);

  afterAll(async () => {
    await app?.stop('test');
    await c.custom
      .deleteClusterCustomObject({ ...G, plural: 'gatewayclasses', name: className })
      .catch(() => undefined);
    await c.core.deleteNamespace({ name: ns }).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('accepts its GatewayClass with the features it claims', async () => {
    await c.custom.createClusterCustomObject({
      ...G,
      plural: 'gatewayclasses',
      body: {
        apiVersion: `${G.group}/${G.version}`,
        kind: 'GatewayClass',
        metadata: { name: className },
        spec: { controllerName: `ironlb.io/gateway-controller-${id}` },
      },
    });
    const gc = await waitFor('GatewayClass accepted', async () => {
      const o = await get('gatewayclasses', className);
      return has(o.status?.conditions, 'Accepted', 'True', 'Accepted') ? o : undefined;
    });
    expect(gc.status?.supportedFeatures?.map((f) => f.name)).toContain('HTTPRoute');
  });

  it('gives a Gateway its Service and EndpointSlice, attaches a route and serves it', async () => {
    await create('gateways', {
      apiVersion: `${G.group}/${G.version}`,
      kind: 'Gateway',
      metadata: { name: 'gw', namespace: ns },
      spec: { gatewayClassName: className, listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    });
    await create('httproutes', route('web', 'app.test', 'web'));
    const svc = await waitFor('the Gateway Service', async () =>
      c.core.readNamespacedService({ namespace: ns, name: 'ironlb-gw' }).catch(() => undefined),
    );
    expect(svc.spec?.type).toBe('LoadBalancer');
    expect(svc.spec?.externalTrafficPolicy).toBe('Local');
    expect(svc.spec?.ports?.map((p) => [p.port, p.targetPort])).toEqual([[80, base]]);
    expect(svc.metadata?.ownerReferences?.[0]?.kind).toBe('Gateway');
    const slice = await waitFor('the Gateway EndpointSlice', async () =>
      c.discovery
        .readNamespacedEndpointSlice({ namespace: ns, name: 'ironlb-gw-ipv4' })
        .catch(() => undefined),
    );
    expect((slice.endpoints ?? []).map((e) => e.addresses[0])).toEqual(['192.0.2.81']);
    expect(slice.ports?.[0]?.port).toBe(base);

    const r = await waitFor('the route accepted', async () => {
      const o = await get('httproutes', 'web', ns);
      const p = o.status?.parents?.[0];
      return p &&
        has(p.conditions, 'Accepted', 'True', 'Accepted') &&
        has(p.conditions, 'ResolvedRefs', 'True', 'ResolvedRefs')
        ? o
        : undefined;
    });
    expect(r.status?.parents?.[0]?.controllerName).toBe(`ironlb.io/gateway-controller-${id}`);
    const g = await waitFor('the listener counting the route', async () => {
      const o = await get('gateways', 'gw', ns);
      return o.status?.listeners?.[0]?.attachedRoutes === 1 ? o : undefined;
    });
    expect(has(g.status?.conditions, 'Programmed', 'False', 'AddressNotAssigned')).toBe(true);

    await create('httproutes', {
      ...route('moved', 'moved.test', 'web'),
      spec: {
        parentRefs: [{ name: 'gw' }],
        hostnames: ['moved.test'],
        rules: [
          {
            filters: [
              { type: 'RequestRedirect', requestRedirect: { hostname: 'app.test', statusCode: 301 } },
            ],
          },
        ],
      },
    });
    const reply = await waitFor('HAProxy answering by the route', async () => {
      const res = await request({ port: base, host: 'moved.test', path: '/hello' });
      return res.status === 301 ? res : undefined;
    });
    expect(reply.headers.location).toBe('http://app.test/hello');
    const table = JSON.parse((await app.debug?.('/debug/table'))?.body ?? '{}') as {
      backends: { id: string; endpoints: { address: string }[] }[];
    };
    expect(table.backends.find((b) => b.id === `${ns}/web:80`)?.endpoints).toEqual([
      { address: '192.0.2.80', port: 8080 },
    ]);
  });

  it('writes the address IronLB gives the Gateway Service into the Gateway status', async () => {
    await c.core.patchNamespacedServiceStatus(
      {
        namespace: ns,
        name: 'ironlb-gw',
        body: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.200' }] } } },
      },
      mergePatch,
    );
    const g = await waitFor('the Gateway programmed with its address', async () => {
      const o = await get('gateways', 'gw', ns);
      return has(o.status?.conditions, 'Programmed', 'True', 'Programmed') ? o : undefined;
    });
    expect(g.status?.addresses?.map((a) => a.value)).toEqual(['192.0.2.200']);
  });

  it('reports a route to a missing Service on that route only', async () => {
    await create('httproutes', route('broken', 'broken.test', 'nope'));
    await waitFor('BackendNotFound on the broken route', async () => {
      const o = await get('httproutes', 'broken', ns);
      return has(o.status?.parents?.[0]?.conditions, 'ResolvedRefs', 'False', 'BackendNotFound');
    });
    expect((await request({ port: base, host: 'broken.test', path: '/' })).status).toBe(500);
    expect((await request({ port: base, host: 'moved.test', path: '/' })).status).toBe(301);
    expect(
      has(
        (await get('httproutes', 'web', ns)).status?.parents?.[0]?.conditions,
        'ResolvedRefs',
        'True',
        'ResolvedRefs',
      ),
    ).toBe(true);
    const g = await get('gateways', 'gw', ns);
    expect(g.status?.listeners?.[0]?.attachedRoutes).toBe(3);
  });

  it('writes GRPCRoute status; a GRPCRoute on a hostname an older HTTPRoute serves is not accepted', async () => {
    const grpcRoute = (name: string, hostname: string) => ({
      apiVersion: `${G.group}/${G.version}`,
      kind: 'GRPCRoute',
      metadata: { name, namespace: ns },
      spec: {
        parentRefs: [{ name: 'gw' }],
        hostnames: [hostname],
        rules: [
          {
            matches: [{ method: { service: 'test.Echo', method: 'Echo' } }],
            backendRefs: [{ name: 'web', port: 80 }],
          },
        ],
      },
    });
    await create('grpcroutes', grpcRoute('echo', 'grpc.test'));
    await create('grpcroutes', grpcRoute('clash', 'app.test'));
    await waitFor('the GRPCRoute accepted', async () => {
      const o = await get('grpcroutes', 'echo', ns);
      return has(o.status?.parents?.[0]?.conditions, 'Accepted', 'True', 'Accepted');
    });
    await waitFor('the clashing GRPCRoute refused', async () => {
      const o = await get('grpcroutes', 'clash', ns);
      return has(o.status?.parents?.[0]?.conditions, 'Accepted', 'False', 'NotAllowedByListeners');
    });
    // the listener counts the accepted GRPCRoute beside the three HTTPRoutes, and those keep being served
    const g = await waitFor('the listener counting the GRPCRoute', async () => {
      const o = await get('gateways', 'gw', ns);
      return o.status?.listeners?.[0]?.attachedRoutes === 4 ? o : undefined;
    });
    expect(g.status?.listeners?.[0]?.conditions.length).toBeGreaterThan(0);
    expect((await request({ port: base, host: 'moved.test', path: '/' })).status).toBe(301);
  });
});
