import { describe, expect, it } from 'vitest';
import { planHaproxy } from '../ingress/haproxy.ts';
import { snapshotResolver } from '../ingress/resolve.ts';
import type { RouteTable } from '../ingress/types.ts';
import { buildGateways, SUPPORTED_FEATURES, type GatewayBuild, type GatewayInput } from './build.ts';
import { grpcMethodPath, grpcRouteAsHttp, type GRPCRouteObject } from './grpc.ts';
import { encodeRule, gatewayMapText } from './render.ts';
import { withGateways } from './table.ts';
import type { GatewayObject, HTTPRouteObject, ListenerObject } from './types.ts';
import { conds } from './conditions.test-helpers.ts';

const OPTIONS = { httpPorts: { first: 10000, last: 10003 }, httpsPorts: { first: 10100, last: 10103 } };
const SVC = 'pkg.Echo';

function gateway(listeners: ListenerObject[]): GatewayObject {
  return {
    metadata: { name: 'gw', namespace: 'infra', generation: 1, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { gatewayClassName: 'ironlb', listeners },
  };
}

function meta(name: string, created = '2024-01-02T00:00:00Z', ns = 'infra') {
  return { name, namespace: ns, generation: 4, creationTimestamp: created };
}

function grpcRoute(
  name: string,
  spec: Partial<NonNullable<GRPCRouteObject['spec']>>,
  o: { created?: string; ns?: string } = {},
): GRPCRouteObject {
  return {
    metadata: meta(name, o.created, o.ns),
    spec: { parentRefs: [{ name: 'gw', namespace: 'infra' }], ...spec },
  };
}

function input(o: Partial<GatewayInput>): GatewayInput {
  const services = [
    { metadata: { namespace: 'infra', name: 'v1' }, spec: { ports: [{ port: 8080 }] } },
    { metadata: { namespace: 'infra', name: 'v2' }, spec: { ports: [{ port: 8080 }] } },
    { metadata: { namespace: 'apps', name: 'api' }, spec: { ports: [{ port: 9000 }] } },
    {
      metadata: { namespace: 'infra', name: 'h2' },
      spec: { ports: [{ port: 8081, appProtocol: 'kubernetes.io/h2c' }, { port: 8080 }] },
    },
  ];
  const endpointSlices = services.map((s, i) => ({
    metadata: {
      namespace: s.metadata.namespace,
      name: `${s.metadata.name}-x`,
      labels: { 'kubernetes.io/service-name': s.metadata.name },
    },
    addressType: 'IPv4',
    ports: [{ port: 3000 }],
    endpoints: [{ addresses: [`10.0.0.${i + 1}`], conditions: { ready: true } }],
  }));
  return {
    gatewayClasses: [
      { metadata: { name: 'ironlb' }, spec: { controllerName: 'ironlb.io/gateway-controller' } },
    ],
    gateways: [gateway([{ name: 'http', port: 80, protocol: 'HTTP' }])],
    httpRoutes: [],
    grpcRoutes: [],
    referenceGrants: [],
    namespaces: [{ metadata: { name: 'infra' } }, { metadata: { name: 'apps' } }],
    services,
    resolver: snapshotResolver({ services, endpointSlices, secrets: [] }),
    assignedPorts: new Map(),
    addresses: new Map(),
    ...o,
  };
}

const grpcConds = (b: GatewayBuild, key: string): Record<string, string> =>
  conds(b.grpcRouteStatus.get(key)?.[0]?.conditions);
const rulesOf = (b: GatewayBuild, host = '*') =>
  b.routing.listeners[0]?.vhosts.find((v) => v.host === host)?.rules ?? [];

describe('grpcMethodPath', () => {
  it.each([
    [undefined, { type: 'PathPrefix', value: '/' }],
    [
      { service: SVC, method: 'Echo' },
      { type: 'Exact', value: '/pkg.Echo/Echo' },
    ],
    [{ service: SVC }, { type: 'PathPrefix', value: '/pkg.Echo' }],
    [{ method: 'Echo' }, { type: 'RegularExpression', value: '/[^/]+/Echo' }],
    [
      { type: 'RegularExpression', service: 'pkg\\..*', method: 'Echo(Two)?' },
      { type: 'RegularExpression', value: '/(?:pkg\\..*)/(?:Echo(Two)?)' },
    ],
    [
      { type: 'RegularExpression', method: 'E.*' },
      { type: 'RegularExpression', value: '/(?:[^/]+)/(?:E.*)' },
    ],
  ])('%j → %j', (m, want) => {
    expect(grpcMethodPath(m)).toEqual(want);
  });

  it.each([
    [{}, /needs a service or a method/],
    [{ service: 'a/b', method: 'M' }, /not a gRPC name/],
    [{ type: 'RegularExpression', service: 'a/b' }, /must not match "\/"/],
    [{ type: 'RegularExpression', method: '(' }, /not a valid regular expression/],
    [{ type: 'Prefix', service: SVC }, /type "Prefix" is not supported/],
  ])('refuses %j', (m, why) => {
    expect(grpcMethodPath(m)).toMatch(why);
  });

  it('reads a GRPCRoute as the HTTPRoute it means; filters it does not have are named', () => {
    const r = grpcRouteAsHttp(
      grpcRoute('r', {
        hostnames: ['grpc.test'],
        rules: [
          {
            name: 'one',
            matches: [{ method: { service: SVC, method: 'Echo' }, headers: [{ name: 'v', value: '1' }] }],
            filters: [
              { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'y' }] } },
              { type: 'URLRewrite', urlRewrite: { hostname: 'z' } },
            ],
            backendRefs: [{ name: 'v1', port: 8080 }],
          },
        ],
      }),
    );
    expect(r.unsupported).toEqual(['rule 0: filter type "URLRewrite" is not supported']);
    expect(r.route.spec?.hostnames).toEqual(['grpc.test']);
    expect(r.route.spec?.rules?.[0]).toEqual({
      name: 'one',
      matches: [{ path: { type: 'Exact', value: '/pkg.Echo/Echo' }, headers: [{ name: 'v', value: '1' }] }],
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'y' }] } },
      ],
      backendRefs: [{ name: 'v1', port: 8080 }],
    });
  });
});

describe('buildGateways with GRPCRoutes', () => {
  it('claims GRPCRoute; the claimed features stay sorted, as GatewayClass status lists them', () => {
    expect(SUPPORTED_FEATURES).toContain('GRPCRoute');
    expect([...SUPPORTED_FEATURES].sort()).toEqual([...SUPPORTED_FEATURES]);
  });

  it('listeners support HTTPRoute and GRPCRoute; allowedRoutes.kinds may name GRPCRoute alone', () => {
    const b = buildGateways(
      input({
        gateways: [
          gateway([
            { name: 'http', port: 80, protocol: 'HTTP' },
            {
              name: 'grpc-only',
              port: 81,
              protocol: 'HTTP',
              allowedRoutes: { kinds: [{ kind: 'GRPCRoute' }] },
            },
          ]),
        ],
        grpcRoutes: [
          grpcRoute('r', {
            parentRefs: [{ name: 'gw' }],
            rules: [{ backendRefs: [{ name: 'v1', port: 8080 }] }],
          }),
        ],
        httpRoutes: [
          {
            metadata: meta('h'),
            spec: {
              parentRefs: [{ name: 'gw', sectionName: 'grpc-only' }],
              rules: [{ backendRefs: [{ name: 'v1', port: 8080 }] }],
            },
          },
        ],
      }),
      OPTIONS,
    );
    const listeners = b.gatewayStatus.get('infra/gw')?.listeners ?? [];
    expect(listeners.map((l) => [l.name, l.supportedKinds.map((k) => k.kind), l.attachedRoutes])).toEqual([
      ['http', ['HTTPRoute', 'GRPCRoute'], 1],
      ['grpc-only', ['GRPCRoute'], 1],
    ]);
    expect(grpcConds(b, 'infra/r')).toEqual({ Accepted: 'True/Accepted', ResolvedRefs: 'True/ResolvedRefs' });
    expect(conds(b.routeStatus.get('infra/h')?.[0]?.conditions).Accepted).toBe('False/NotAllowedByListeners');
    expect(b.routeStatus.has('infra/r')).toBe(false);
  });

  it('serves method and header matches in the gRPC precedence, over HTTP/2 backends', () => {
    const b = buildGateways(
      input({
        grpcRoutes: [
          grpcRoute('r', {
            rules: [
              { backendRefs: [{ name: 'v2', port: 8080 }] },
              {
                matches: [{ method: { method: 'EchoTwo' } }],
                backendRefs: [{ name: 'v2', port: 8080, weight: 3 }],
              },
              {
                matches: [{ method: { service: SVC, method: 'Echo' } }],
                backendRefs: [
                  { name: 'v1', port: 8080, weight: 7 },
                  { name: 'v2', port: 8080, weight: 0 },
                ],
              },
              {
                matches: [{ method: { service: SVC }, headers: [{ name: 'Version', value: 'two' }] }],
                backendRefs: [{ name: 'v1', port: 8080 }],
              },
            ],
          }),
        ],
      }),
      OPTIONS,
    );
    const rules = rulesOf(b);
    expect(rules.map((r) => [r.rule, r.path.kind, r.path.value, r.grpc])).toEqual([
      [2, 'Exact', '/pkg.Echo/Echo', { service: 8, method: 4 }],
      [3, 'Prefix', '/pkg.Echo', { service: 8, method: 0 }],
      [1, 'Regex', '/[^/]+/EchoTwo', { service: 0, method: 7 }],
      [0, 'Prefix', '/', { service: 0, method: 0 }],
    ]);
    expect(rules[0]?.backends).toEqual([{ backend: 'infra/v1:8080', weight: 7, h2: true }]);
    expect(rules[1]?.headers).toEqual([{ name: 'version', kind: 'Exact', value: 'two' }]);
    const slot = (id: string, h2: boolean): string => `${h2 ? 'h' : 'b'}${id === 'infra/v1:8080' ? 0 : 1}`;
    expect(encodeRule(rules[0]!, slot)).toBe('p=E:/pkg.Echo/Echo b=h0:7');
    expect(gatewayMapText(b.routing, slot)).toContain('|0 p=E:/pkg.Echo/Echo b=h0:7\n');
  });

  it('a backend that is not valid answers 503 (UNAVAILABLE); a cross-namespace one needs a grant from GRPCRoute', () => {
    const route = grpcRoute('r', {
      rules: [{ backendRefs: [{ name: 'api', namespace: 'apps', port: 9000 }] }],
    });
    const grant = (kind: string) => ({
      metadata: { namespace: 'apps', name: 'g' },
      spec: {
        from: [{ group: 'gateway.networking.k8s.io', kind, namespace: 'infra' }],
        to: [{ kind: 'Service' }],
      },
    });
    let b = buildGateways(input({ grpcRoutes: [route], referenceGrants: [grant('HTTPRoute')] }), OPTIONS);
    expect(grpcConds(b, 'infra/r')).toEqual({
      Accepted: 'True/Accepted',
      ResolvedRefs: 'False/RefNotPermitted',
    });
    expect(encodeRule(rulesOf(b)[0]!, () => 'b0')).toBe('p=P:/ b=u:1');
    b = buildGateways(input({ grpcRoutes: [route], referenceGrants: [grant('GRPCRoute')] }), OPTIONS);
    expect(grpcConds(b, 'infra/r').ResolvedRefs).toBe('True/ResolvedRefs');
    expect(b.backends.map((x) => x.id)).toEqual(['apps/api:9000']);
  });

  it('refuses what it cannot serve with UnsupportedValue, other routes unaffected', () => {
    const b = buildGateways(
      input({
        grpcRoutes: [
          grpcRoute('bad', { rules: [{ matches: [{ method: { service: 'a/b' } }] }] }),
          grpcRoute('mirror', {
            rules: [
              {
                filters: [
                  { type: 'RequestMirror', requestMirror: { backendRef: { name: 'v2', port: 8080 } } },
                ],
                backendRefs: [{ name: 'v1', port: 8080 }],
              },
            ],
          }),
          grpcRoute('good', {
            hostnames: ['ok.test'],
            rules: [{ backendRefs: [{ name: 'v1', port: 8080 }] }],
          }),
        ],
      }),
      OPTIONS,
    );
    expect(grpcConds(b, 'infra/bad').Accepted).toBe('False/UnsupportedValue');
    expect(grpcConds(b, 'infra/mirror').Accepted).toBe('False/UnsupportedValue');
    expect(grpcConds(b, 'infra/good').Accepted).toBe('True/Accepted');
    expect(b.routing.listeners[0]?.vhosts.map((v) => v.host)).toEqual(['ok.test']);
  });

  it('an HTTPRoute and a GRPCRoute never share a hostname on a listener: the older route wins', () => {
    const httpRoute = (name: string, hostnames: string[], created: string): HTTPRouteObject => ({
      metadata: meta(name, created),
      spec: {
        parentRefs: [{ name: 'gw' }],
        hostnames,
        rules: [{ backendRefs: [{ name: 'v1', port: 8080 }] }],
      },
    });
    const b = buildGateways(
      input({
        httpRoutes: [
          httpRoute('old-http', ['a.test'], '2024-01-01T00:00:00Z'),
          httpRoute('new-http', ['b.test'], '2024-03-01T00:00:00Z'),
        ],
        grpcRoutes: [
          grpcRoute(
            'grpc-a',
            { hostnames: ['*.test'], rules: [{ backendRefs: [{ name: 'v1', port: 8080 }] }] },
            {
              created: '2024-02-01T00:00:00Z',
            },
          ),
          grpcRoute(
            'grpc-c',
            { hostnames: ['c.test'], rules: [{ backendRefs: [{ name: 'v1', port: 8080 }] }] },
            {
              created: '2024-02-01T00:00:00Z',
            },
          ),
        ],
      }),
      OPTIONS,
    );
    expect(conds(b.routeStatus.get('infra/old-http')?.[0]?.conditions).Accepted).toBe('True/Accepted');
    expect(grpcConds(b, 'infra/grpc-a').Accepted).toBe('False/NotAllowedByListeners');
    expect(b.grpcRouteStatus.get('infra/grpc-a')?.[0]?.conditions[0]?.message).toMatch(
      /Hostname "a.test" .* served by HTTPRoute "infra\/old-http"/,
    );
    expect(grpcConds(b, 'infra/grpc-c').Accepted).toBe('True/Accepted');
    expect(conds(b.routeStatus.get('infra/new-http')?.[0]?.conditions).Accepted).toBe('True/Accepted');
    expect(b.routing.listeners[0]?.vhosts.map((v) => [v.host, v.rules.map((r) => r.route)])).toEqual([
      ['a.test', ['infra/old-http']],
      ['b.test', ['infra/new-http']],
      ['c.test', ['infra/grpc-c']],
    ]);
    expect(b.gatewayStatus.get('infra/gw')?.listeners[0]?.attachedRoutes).toBe(3);
  });
});

describe('HTTPRoute backends with appProtocol kubernetes.io/h2c', () => {
  it('are spoken to over HTTP/2 (the other ports of the Service are not)', () => {
    const b = buildGateways(
      input({
        httpRoutes: [
          {
            metadata: meta('h'),
            spec: {
              parentRefs: [{ name: 'gw' }],
              rules: [
                {
                  backendRefs: [
                    { name: 'h2', port: 8081 },
                    { name: 'h2', port: 8080 },
                  ],
                },
              ],
            },
          },
        ],
      }),
      OPTIONS,
    );
    expect(rulesOf(b)[0]?.backends).toEqual([
      { backend: 'infra/h2:8081', weight: 1, h2: true },
      { backend: 'infra/h2:8080', weight: 1 },
    ]);
    expect(encodeRule(rulesOf(b)[0]!, (id, h2) => `${h2 ? 'h' : 'b'}${id.endsWith('8081') ? 0 : 1}`)).toBe(
      'p=P:/ b=h0:1,b1:1',
    );
  });
});

describe('the HAProxy plan for GRPCRoutes', () => {
  const base: RouteTable = {
    hosts: [],
    backends: [],
    certificates: [],
    ingresses: [],
  } as unknown as RouteTable;
  const options = {
    dir: '/run/x',
    httpBinds: ['127.0.0.1:80'],
    httpsBinds: [],
    gatewayHttpBinds: ['127.0.0.1:10000'],
  };
  const table = (grpc: boolean): RouteTable => {
    const i = input({
      grpcRoutes: grpc
        ? [
            grpcRoute('r', {
              hostnames: ['grpc.test'],
              rules: [{ backendRefs: [{ name: 'v1', port: 8080 }] }],
            }),
          ]
        : [],
      httpRoutes: [
        {
          metadata: meta('h'),
          spec: {
            parentRefs: [{ name: 'gw' }],
            hostnames: ['web.test'],
            rules: [{ backendRefs: [{ name: 'v2', port: 8080 }] }],
          },
        },
      ],
    });
    return withGateways(base, buildGateways(i, OPTIONS), i.resolver);
  };

  it('renders HTTP/2 twins of the backend slots only while a rule needs them, and keeps them in step', () => {
    const without = planHaproxy(table(false), options);
    expect(without.state.h2).toBeUndefined();
    expect(without.files['haproxy.cfg']).not.toContain('proto h2');

    const withGrpc = planHaproxy(table(true), { ...options, previous: without.state });
    expect(withGrpc.reload).toBe('listeners or limits changed');
    const cfg = withGrpc.files['haproxy.cfg'] ?? '';
    const slot = (name: string, proto: string): string =>
      `backend ${name}\n  # infra/v1:8080\n  balance roundrobin\n` +
      '  http-request set-timeout server var(txn.gwtmo) if { var(txn.gwtmo) -m found }\n' +
      `  server s0 10.0.0.1:3000${proto}\n`;
    expect(cfg).toContain(slot('b1', ''));
    expect(cfg).toContain(slot('h1', ' proto h2'));
    expect(cfg).toContain('if { var(txn.gwb) -m str u }');
    expect(withGrpc.files['maps/gateway.map']).toContain('p=P:/ b=h1:1');

    // an endpoint change moves both twins through the runtime API
    const t = table(true);
    const moved = {
      ...t,
      backends: t.backends.map((x) =>
        x.id === 'infra/v1:8080' ? { ...x, endpoints: [{ address: '10.0.0.9', port: 3000 }] } : x,
      ),
    } as RouteTable;
    const next = planHaproxy(moved, { ...options, previous: withGrpc.state });
    expect(next.reload).toBeUndefined();
    expect(
      next.ops.filter((o) => o.op === 'setServer').map((o) => `${o.op === 'setServer' ? o.backend : ''}`),
    ).toEqual(['b1', 'h1']);
  });
});
