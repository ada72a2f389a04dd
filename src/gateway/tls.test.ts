import { describe, expect, it } from 'vitest';
import { snapshotResolver } from '../ingress/resolve.ts';
import { planHaproxy, type PlanOptions } from '../ingress/haproxy.ts';
import type { RouteTable } from '../ingress/types.ts';
import { buildGateways, type GatewayBuild, type GatewayInput } from './build.ts';
import { withGateways } from './table.ts';
import { GATEWAY_TLS_MAP, gatewayTlsMapText } from './tls-render.ts';
import type { GatewayObject, ListenerObject, TLSRouteObject } from './types.ts';
import { conds } from './conditions.test-helpers.ts';

const OPTIONS = {
  httpPorts: { first: 10000, last: 10003 },
  httpsPorts: { first: 10100, last: 10103 },
  tlsPorts: { first: 10200, last: 10203 },
};
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function gw(name: string, listeners: ListenerObject[]): GatewayObject {
  return {
    metadata: { name, namespace: 'infra', generation: 2, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { gatewayClassName: 'ironlb', listeners },
  };
}

function tlsRoute(
  name: string,
  spec: TLSRouteObject['spec'],
  o: { ns?: string; created?: string } = {},
): TLSRouteObject {
  const created = o.created ?? '2024-01-01T00:00:00Z';
  return { metadata: { name, namespace: o.ns ?? 'infra', generation: 3, creationTimestamp: created }, spec };
}

const passthrough = (name: string, extra: Partial<ListenerObject> = {}): ListenerObject => ({
  name,
  port: 443,
  protocol: 'TLS',
  tls: { mode: 'Passthrough' },
  ...extra,
});

/** weightedRoute is TLSRoute "r" on Gateway "g": abc.example.com and *.com to tls-a (weight 3) and `second`. */
const weightedRoute = (second: string): TLSRouteObject =>
  tlsRoute('r', {
    parentRefs: [{ name: 'g' }],
    hostnames: ['abc.example.com', '*.com'],
    rules: [
      {
        backendRefs: [
          { name: 'tls-a', port: 443, weight: 3 },
          { name: second, port: 443 },
        ],
      },
    ],
  });

const https = (name: string, hostname: string, port: number): ListenerObject => ({
  name,
  port,
  protocol: 'HTTPS',
  hostname,
  tls: { certificateRefs: [{ name: 'cert' }] },
});

function input(o: Partial<GatewayInput>): GatewayInput {
  const services = [
    { metadata: { namespace: 'infra', name: 'tls-a' }, spec: { ports: [{ port: 443 }] } },
    { metadata: { namespace: 'infra', name: 'tls-b' }, spec: { ports: [{ port: 443 }] } },
    { metadata: { namespace: 'apps', name: 'tls-c' }, spec: { ports: [{ port: 443 }] } },
  ];
  const secrets = [
    {
      metadata: { namespace: 'infra', name: 'cert' },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': b64('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
        'tls.key': b64('-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n'),
      },
    },
  ];
  return {
    gatewayClasses: [
      { metadata: { name: 'ironlb' }, spec: { controllerName: 'ironlb.io/gateway-controller' } },
    ],
    gateways: [],
    httpRoutes: [],
    tlsRoutes: [],
    referenceGrants: [],
    namespaces: [{ metadata: { name: 'infra' } }, { metadata: { name: 'apps' } }],
    services,
    resolver: snapshotResolver({ services, endpointSlices: [], secrets }),
    assignedPorts: new Map(),
    addresses: new Map(),
    ...o,
  };
}

const routeConds = (b: GatewayBuild, key: string): Record<string, string> =>
  conds(b.tlsRouteStatus.get(key)?.[0]?.conditions);
const listener = (b: GatewayBuild, gwKey: string, name: string) =>
  b.gatewayStatus.get(gwKey)?.listeners.find((l) => l.name === name);

describe('TLS passthrough listeners', () => {
  it('serves a TLSRoute by SNI: hostnames intersected with the listener, weights, a port from the TLS range', () => {
    const b = buildGateways(
      input({
        gateways: [gw('g', [passthrough('tls', { hostname: '*.example.com' })])],
        tlsRoutes: [weightedRoute('tls-b')],
      }),
      OPTIONS,
    );
    expect(routeConds(b, 'infra/r')).toEqual({
      Accepted: 'True/Accepted',
      ResolvedRefs: 'True/ResolvedRefs',
    });
    const l = listener(b, 'infra/g', 'tls');
    expect(l?.supportedKinds).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }]);
    expect(l?.attachedRoutes).toBe(1);
    expect(conds(l?.conditions)).toMatchObject({ Accepted: 'True/Accepted', Programmed: 'True/Programmed' });
    expect(b.routing.passthrough).toEqual([
      {
        gateway: 'infra/g',
        name: 'tls',
        internalPort: 10200,
        port: 443,
        hostname: '*.example.com',
        hosts: [
          {
            host: 'abc.example.com',
            route: 'infra/r',
            backends: [
              { backend: 'infra/tls-a:443', weight: 3 },
              { backend: 'infra/tls-b:443', weight: 1 },
            ],
          },
          { host: '*.example.com', route: 'infra/r', backends: expect.any(Array) },
        ],
      },
    ]);
    expect(b.routing.listeners).toEqual([]);
    expect(b.backends.map((x) => x.id)).toEqual(['infra/tls-a:443', 'infra/tls-b:443']);
    expect(b.services[0]?.ports).toEqual([{ name: 'tls-443', port: 443, targetPort: 10200 }]);
  });

  it('refuses mode Terminate (UnsupportedValue, no kinds) and names unsupported route kinds', () => {
    const b = buildGateways(
      input({
        gateways: [
          gw('g', [
            passthrough('term', {
              port: 8443,
              tls: { mode: 'Terminate', certificateRefs: [{ name: 'cert' }] },
            }),
            passthrough('kinds', { allowedRoutes: { kinds: [{ kind: 'TCPRoute' }, { kind: 'TLSRoute' }] } }),
          ]),
        ],
      }),
      OPTIONS,
    );
    const term = listener(b, 'infra/g', 'term');
    expect(conds(term?.conditions).Accepted).toBe('False/UnsupportedValue');
    expect(term?.supportedKinds).toEqual([]);
    const kinds = listener(b, 'infra/g', 'kinds');
    expect(conds(kinds?.conditions).ResolvedRefs).toBe('False/InvalidRouteKinds');
    expect(kinds?.supportedKinds).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute' }]);
  });

  it('shares a port between HTTPS and TLS listeners (no conflict): both reach the TLS-range proxy port', () => {
    const b = buildGateways(
      input({
        gateways: [
          gw('g', [
            passthrough('tls', { hostname: 'pass.example.com' }),
            https('https', 'web.example.com', 443),
            passthrough('same-host', { port: 8443, hostname: 'x.example.com' }),
            https('same-host-https', 'x.example.com', 8443),
          ]),
        ],
      }),
      OPTIONS,
    );
    for (const name of ['tls', 'https'])
      expect(conds(listener(b, 'infra/g', name)?.conditions)).toMatchObject({
        Accepted: 'True/Accepted',
        Conflicted: 'False/NoConflicts',
        Programmed: 'True/Programmed',
      });
    for (const name of ['same-host', 'same-host-https'])
      expect(conds(listener(b, 'infra/g', name)?.conditions).Conflicted).toBe('True/HostnameConflict');
    expect(b.routing.listeners.map((l) => [l.name, l.internalPort])).toEqual([['https', 10200]]);
    expect(b.routing.passthrough?.map((l) => [l.name, l.internalPort])).toEqual([['tls', 10200]]);
    expect(b.services[0]?.ports).toEqual([{ name: 'tls-443', port: 443, targetPort: 10200 }]);
  });

  it('gives the spec reasons: NotAllowedByListeners, NoMatchingParent, NoMatchingListenerHostname', () => {
    const b = buildGateways(
      input({
        gateways: [
          gw('http-only', [{ name: 'http', port: 80, protocol: 'HTTP' }]),
          gw('exact', [passthrough('tls', { hostname: 'www.example.com' })]),
        ],
        tlsRoutes: [
          tlsRoute('on-http', { parentRefs: [{ name: 'http-only' }], hostnames: ['tls.example.com'] }),
          tlsRoute('no-section', {
            parentRefs: [{ name: 'exact', sectionName: 'nope' }],
            hostnames: ['www.example.com'],
          }),
          tlsRoute('no-host', {
            parentRefs: [{ name: 'exact' }],
            hostnames: ['www.nomatch.com', '*.nomatch.com'],
          }),
        ],
      }),
      OPTIONS,
    );
    expect(routeConds(b, 'infra/on-http').Accepted).toBe('False/NotAllowedByListeners');
    expect(routeConds(b, 'infra/no-section').Accepted).toBe('False/NoMatchingParent');
    expect(routeConds(b, 'infra/no-host').Accepted).toBe('False/NoMatchingListenerHostname');
    expect(listener(b, 'infra/exact', 'tls')?.attachedRoutes).toBe(0);
    expect(b.routeStatus.size).toBe(0);
  });

  it('resolves backendRefs: BackendNotFound, InvalidKind, RefNotPermitted without a ReferenceGrant; an invalid one rejects its share', () => {
    const gateways = [gw('g', [passthrough('tls', { allowedRoutes: { namespaces: { from: 'All' } } })])];
    const routes = [
      tlsRoute('missing', {
        parentRefs: [{ name: 'g' }],
        hostnames: ['a.example.com'],
        rules: [
          {
            backendRefs: [
              { name: 'nonexistent', port: 443 },
              { name: 'tls-a', port: 443 },
            ],
          },
        ],
      }),
      tlsRoute('kind', {
        parentRefs: [{ name: 'g' }],
        hostnames: ['b.example.com'],
        rules: [{ backendRefs: [{ group: 'x.example.com', kind: 'NonExistent', name: 'tls-a', port: 443 }] }],
      }),
      tlsRoute('cross', {
        parentRefs: [{ name: 'g' }],
        hostnames: ['c.example.com'],
        rules: [{ backendRefs: [{ name: 'tls-c', namespace: 'apps', port: 443 }] }],
      }),
    ];
    const b = buildGateways(input({ gateways, tlsRoutes: routes }), OPTIONS);
    expect(routeConds(b, 'infra/missing')).toEqual({
      Accepted: 'True/Accepted',
      ResolvedRefs: 'False/BackendNotFound',
    });
    expect(routeConds(b, 'infra/kind').ResolvedRefs).toBe('False/InvalidKind');
    expect(routeConds(b, 'infra/cross').ResolvedRefs).toBe('False/RefNotPermitted');
    expect(b.routing.passthrough?.[0]?.hosts.find((h) => h.host === 'a.example.com')?.backends).toEqual([
      { backend: null, weight: 1 },
      { backend: 'infra/tls-a:443', weight: 1 },
    ]);

    const grant = {
      metadata: { namespace: 'apps', name: 'allow' },
      spec: {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'TLSRoute', namespace: 'infra' }],
        to: [{ group: '', kind: 'Service' }],
      },
    };
    const granted = buildGateways(input({ gateways, tlsRoutes: routes, referenceGrants: [grant] }), OPTIONS);
    expect(routeConds(granted, 'infra/cross').ResolvedRefs).toBe('True/ResolvedRefs');
  });

  it('keeps a hostname with the older route; HTTPRoutes do not attach to TLS listeners', () => {
    const b = buildGateways(
      input({
        gateways: [gw('g', [passthrough('tls')])],
        tlsRoutes: [
          tlsRoute(
            'newer',
            {
              parentRefs: [{ name: 'g' }],
              hostnames: ['a.example.com'],
              rules: [{ backendRefs: [{ name: 'tls-b', port: 443 }] }],
            },
            { created: '2024-02-01T00:00:00Z' },
          ),
          tlsRoute('older', {
            parentRefs: [{ name: 'g' }],
            hostnames: ['a.example.com'],
            rules: [{ backendRefs: [{ name: 'tls-a', port: 443 }] }],
          }),
        ],
        httpRoutes: [
          { metadata: { name: 'web', namespace: 'infra' }, spec: { parentRefs: [{ name: 'g' }] } },
        ],
      }),
      OPTIONS,
    );
    expect(b.routing.passthrough?.[0]?.hosts).toEqual([
      { host: 'a.example.com', route: 'infra/older', backends: [{ backend: 'infra/tls-a:443', weight: 1 }] },
    ]);
    expect(listener(b, 'infra/g', 'tls')?.attachedRoutes).toBe(2);
    expect(conds(b.routeStatus.get('infra/web')?.[0]?.conditions).Accepted).toBe(
      'False/NotAllowedByListeners',
    );
  });

  it('says PortUnavailable when no TLS passthrough range is configured', () => {
    const b = buildGateways(input({ gateways: [gw('g', [passthrough('tls')])] }), {
      httpPorts: OPTIONS.httpPorts,
      httpsPorts: OPTIONS.httpsPorts,
    });
    expect(conds(listener(b, 'infra/g', 'tls')?.conditions).Accepted).toBe('False/PortUnavailable');
  });
});

describe('TLS passthrough data plane', () => {
  const build = buildGateways(
    input({
      gateways: [
        gw('g', [passthrough('tls', { hostname: '*.example.com' }), https('https', 'web.example.com', 443)]),
      ],
      tlsRoutes: [weightedRoute('nope')],
    }),
    OPTIONS,
  );

  it('renders gateway-tls.map: listeners ("p" passthrough, "h" hand-off) and SNI hosts with TCP backends', () => {
    expect(gatewayTlsMapText(build.routing, (id) => (id === 'infra/tls-a:443' ? 't2' : undefined))).toBe(
      [
        'l|10200|*.example.com p',
        'l|10200|web.example.com h',
        'r|10200|*.example.com|*.example.com t2:3,x:1',
        'r|10200|*.example.com|abc.example.com t2:3,x:1',
        '',
      ].join('\n'),
    );
  });

  const options: PlanOptions = {
    dir: '/run/ironlb',
    httpBinds: ['0.0.0.0:8080'],
    httpsBinds: [],
    gatewayHttpBinds: ['0.0.0.0:10000-10003'],
    gatewayHttpsBinds: ['0.0.0.0:10100-10103'],
    gatewayTlsBinds: ['0.0.0.0:10200-10203'],
    defaultCertPem: 'PEM',
  };
  const empty: RouteTable = { hosts: [], backends: [], certificates: [], ingresses: [], issues: [] } as never;
  const resolver = snapshotResolver({
    services: input({}).services,
    endpointSlices: [
      {
        metadata: { namespace: 'infra', name: 'tls-a-1', labels: { 'kubernetes.io/service-name': 'tls-a' } },
        endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready: true } }],
        ports: [{ port: 443 }],
      },
    ],
    secrets: [],
  });
  const table = withGateways(empty, build, resolver);

  it('renders the TCP frontend, the hand-off to the terminating frontend and a TCP twin per backend slot', () => {
    const plan = planHaproxy(table, options);
    const cfg = plan.files['haproxy.cfg'] ?? '';
    expect(cfg).toContain('frontend ironlb_gateway_tls\n  mode tcp\n  bind 0.0.0.0:10200-10203\n');
    expect(cfg).toContain('  bind /run/ironlb/gateway-tls.sock accept-proxy ssl crt');
    expect(cfg).toContain('  server terminate /run/ironlb/gateway-tls.sock send-proxy-v2');
    expect(cfg).toMatch(/backend t0\n {2}mode tcp\n {2}balance roundrobin\n {2}server s0 10\.0\.0\.5:443\n/);
    expect(plan.files[GATEWAY_TLS_MAP]).toContain('r|10200|*.example.com|abc.example.com t0:3,x:1');
    expect(plan.files['ironlb.lua']).toContain('ironlb_gateway_tls');
  });

  it('moves servers of both twins through the runtime API, and routes through the map', () => {
    const first = planHaproxy(table, options);
    const moved = withGateways(
      empty,
      build,
      snapshotResolver({
        services: input({}).services,
        endpointSlices: [
          {
            metadata: {
              namespace: 'infra',
              name: 'tls-a-1',
              labels: { 'kubernetes.io/service-name': 'tls-a' },
            },
            endpoints: [{ addresses: ['10.0.0.6'], conditions: { ready: true } }],
            ports: [{ port: 443 }],
          },
        ],
        secrets: [],
      }),
    );
    const next = planHaproxy(moved, { ...options, previous: first.state });
    expect(next.reload).toBeUndefined();
    expect(next.ops.filter((o) => o.op === 'setServer').map((o) => 'backend' in o && o.backend)).toEqual([
      'b0',
      't0',
    ]);
  });

  it('leaves configurations without passthrough binds as they were (no twins, no TLS map)', () => {
    const plan = planHaproxy(table, { ...options, gatewayTlsBinds: [] });
    expect(plan.files['haproxy.cfg']).not.toContain('backend t0');
    expect(plan.files['haproxy.cfg']).not.toContain('gateway-tls');
    expect(plan.files[GATEWAY_TLS_MAP]).toBeUndefined();
  });
});
