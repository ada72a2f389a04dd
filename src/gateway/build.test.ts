import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snapshotResolver } from '../ingress/resolve.ts';
import {
  assignInternalPorts,
  buildGateways,
  compareRules,
  gatewayServiceName,
  parseDuration,
  SUPPORTED_FEATURES,
  type GatewayBuild,
  type GatewayInput,
} from './build.ts';
import { compareHostSpecificity, gatewayHostMatches, intersectHostname, lookupOrder } from './hostnames.ts';
import { encodeRule, gatewayMapText } from './render.ts';
import type {
  GatewayObject,
  GatewayRule,
  HTTPRouteObject,
  ListenerObject,
  ReferenceGrantObject,
} from './types.ts';
import { conds } from './conditions.test-helpers.ts';

const CLASS = {
  metadata: { name: 'ironlb', generation: 1 },
  spec: { controllerName: 'ironlb.io/gateway-controller' },
};
const OTHER_CLASS = { metadata: { name: 'other' }, spec: { controllerName: 'example.com/other' } };
const OPTIONS = { httpPorts: { first: 10000, last: 10003 }, httpsPorts: { first: 10100, last: 10103 } };

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const PEM = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n';

function gw(
  name: string,
  listeners: ListenerObject[],
  o: { ns?: string; cls?: string; addresses?: { type?: string; value?: string }[] } = {},
): GatewayObject {
  return {
    metadata: { name, namespace: o.ns ?? 'infra', generation: 2, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: {
      gatewayClassName: o.cls ?? 'ironlb',
      listeners,
      ...(o.addresses ? { addresses: o.addresses } : {}),
    },
  };
}

function rt(
  name: string,
  spec: HTTPRouteObject['spec'],
  o: { ns?: string; created?: string } = {},
): HTTPRouteObject {
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'infra',
      generation: 3,
      creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
    },
    spec,
  };
}

const http = (name: string, extra: Partial<ListenerObject> = {}): ListenerObject => ({
  name,
  port: 80,
  protocol: 'HTTP',
  ...extra,
});

function input(o: Partial<GatewayInput> & { secrets?: { ns: string; name: string }[] }): GatewayInput {
  const services = [
    { metadata: { namespace: 'infra', name: 'web' }, spec: { ports: [{ port: 8080 }] } },
    { metadata: { namespace: 'apps', name: 'api' }, spec: { ports: [{ port: 80 }] } },
  ];
  const secrets = (o.secrets ?? []).map((s) => ({
    metadata: { namespace: s.ns, name: s.name },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(PEM), 'tls.key': b64(KEY) },
  }));
  return {
    gatewayClasses: [CLASS, OTHER_CLASS],
    gateways: [],
    httpRoutes: [],
    referenceGrants: [],
    namespaces: [
      { metadata: { name: 'infra', labels: { team: 'infra' } } },
      { metadata: { name: 'apps', labels: { team: 'apps', exposed: 'yes' } } },
    ],
    services,
    resolver: snapshotResolver({ services, endpointSlices: [], secrets }),
    assignedPorts: new Map(),
    addresses: new Map(),
    ...o,
  };
}

const routeConds = (b: GatewayBuild, key: string, i = 0): Record<string, string> =>
  conds(b.routeStatus.get(key)?.[i]?.conditions);
const listenerConds = (b: GatewayBuild, gwKey: string, name: string): Record<string, string> =>
  conds(b.gatewayStatus.get(gwKey)?.listeners.find((l) => l.name === name)?.conditions);

describe('hostnames', () => {
  it.each([
    ['*', 'a.example.com', true],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['example.com', 'example.com', true],
    ['example.com', 'a.example.com', false],
  ])('%s matches %s: %s', (pattern, host, want) => expect(gatewayHostMatches(pattern, host)).toBe(want));

  it.each([
    ['*', 'foo.com', 'foo.com'],
    ['foo.com', '*', 'foo.com'],
    ['*.example.com', 'a.example.com', 'a.example.com'],
    ['a.example.com', '*.example.com', 'a.example.com'],
    ['*.example.com', '*.a.example.com', '*.a.example.com'],
    ['*.a.example.com', '*.example.com', '*.a.example.com'],
    ['foo.com', 'bar.com', undefined],
    ['*.foo.com', 'foo.com', undefined],
  ])('listener %s and route %s serve %s', (l, r, want) => expect(intersectHostname(l, r)).toBe(want));

  it('orders lookups and hostnames most specific first', () => {
    expect(lookupOrder('a.b.example.com')).toEqual([
      'a.b.example.com',
      '*.b.example.com',
      '*.example.com',
      '*.com',
      '*',
    ]);
    expect(['*', '*.com', 'b.com', '*.a.com', 'a.com'].sort(compareHostSpecificity)).toEqual([
      'a.com',
      'b.com',
      '*.a.com',
      '*.com',
      '*',
    ]);
  });
});

describe('buildGateways: GatewayClass and Gateway', () => {
  it('accepts our classes only, with the features we claim', () => {
    const b = buildGateways(input({}), OPTIONS);
    expect([...b.classStatus.keys()]).toEqual(['ironlb']);
    expect(conds(b.classStatus.get('ironlb')?.conditions)).toEqual({
      Accepted: 'True/Accepted',
      SupportedVersion: 'True/SupportedVersion',
    });
    expect(b.classStatus.get('ironlb')?.supportedFeatures.map((f) => f.name)).toEqual([
      ...SUPPORTED_FEATURES,
    ]);
  });

  it('tells a Gateway story: listeners accepted, a bad protocol, conflicts, no address yet, then an address', () => {
    const g = gw('gw', [
      http('a'),
      http('b', { hostname: 'b.test' }),
      http('dup1', { port: 81, hostname: 'x.test' }),
      http('dup2', { port: 81, hostname: 'x.test' }),
      { name: 'tcp', port: 9000, protocol: 'TCP' },
      { name: 'mixed', port: 80, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } },
    ]);
    let b = buildGateways(
      input({
        gateways: [g, gw('theirs', [http('a')], { cls: 'other' })],
        secrets: [{ ns: 'infra', name: 'cert' }],
      }),
      OPTIONS,
    );
    expect([...b.gatewayStatus.keys()]).toEqual(['infra/gw']); // not the other class's Gateway
    expect(listenerConds(b, 'infra/gw', 'tcp').Accepted).toBe('False/UnsupportedProtocol');
    expect(listenerConds(b, 'infra/gw', 'dup1').Conflicted).toBe('True/HostnameConflict');
    expect(listenerConds(b, 'infra/gw', 'a').Conflicted).toBe('True/ProtocolConflict'); // 80 is HTTP and HTTPS
    expect(conds(b.gatewayStatus.get('infra/gw')?.conditions)).toEqual({
      Accepted: 'False/ListenersNotValid',
      Programmed: 'False/Invalid',
    });
    // The operator drops the mistakes; the Gateway is accepted and waits for its address.
    g.spec!.listeners = [http('a'), http('b', { hostname: 'b.test' })];
    b = buildGateways(input({ gateways: [g] }), OPTIONS);
    expect(conds(b.gatewayStatus.get('infra/gw')?.conditions)).toEqual({
      Accepted: 'True/Accepted',
      Programmed: 'False/AddressNotAssigned',
    });
    expect(listenerConds(b, 'infra/gw', 'a')).toEqual({
      Accepted: 'True/Accepted',
      Conflicted: 'False/NoConflicts',
      ResolvedRefs: 'True/ResolvedRefs',
      Programmed: 'True/Programmed',
    });
    expect(b.services).toEqual([
      {
        gateway: 'infra/gw',
        namespace: 'infra',
        gatewayName: 'gw',
        name: 'ironlb-gw',
        ports: [{ name: 'http-80', port: 80, targetPort: 10000 }],
        requestedIPs: [],
      },
    ]);
    // IronLB gives its Service an address: the Gateway is programmed and shows it.
    b = buildGateways(
      input({ gateways: [g], addresses: new Map([['infra/gw', [{ ip: '192.0.2.200' }]]]) }),
      OPTIONS,
    );
    expect(conds(b.gatewayStatus.get('infra/gw')?.conditions).Programmed).toBe('True/Programmed');
    expect(b.gatewayStatus.get('infra/gw')?.addresses).toEqual([{ type: 'IPAddress', value: '192.0.2.200' }]);
    expect(b.gatewayStatus.get('infra/gw')?.conditions[0]?.observedGeneration).toBe(2);
  });

  it('requests spec.addresses through the Service; an unsupported address type is refused', () => {
    let b = buildGateways(
      input({ gateways: [gw('gw', [http('a')], { addresses: [{ value: '192.0.2.210' }] })] }),
      OPTIONS,
    );
    expect(b.services[0]?.requestedIPs).toEqual(['192.0.2.210']);
    expect(b.gatewayStatus.get('infra/gw')?.conditions[1]?.message).toMatch(
      /requested address 192\.0\.2\.210.*IPAddressPool/,
    );
    b = buildGateways(
      input({ gateways: [gw('gw', [http('a')], { addresses: [{ type: 'NamedAddress', value: 'x' }] })] }),
      OPTIONS,
    );
    expect(conds(b.gatewayStatus.get('infra/gw')?.conditions).Accepted).toBe('False/UnsupportedAddress');
  });

  it('resolves certificates: missing, in another namespace without and with a ReferenceGrant', () => {
    const tls = (ns?: string): ListenerObject => ({
      name: 'https',
      port: 443,
      protocol: 'HTTPS',
      hostname: 'secure.test',
      tls: { certificateRefs: [{ name: 'cert', ...(ns ? { namespace: ns } : {}) }] },
    });
    let b = buildGateways(input({ gateways: [gw('gw', [tls()])] }), OPTIONS);
    expect(listenerConds(b, 'infra/gw', 'https').ResolvedRefs).toBe('False/InvalidCertificateRef');
    expect(listenerConds(b, 'infra/gw', 'https').Programmed).toBe('False/Invalid');
    b = buildGateways(
      input({ gateways: [gw('gw', [tls('certs')])], secrets: [{ ns: 'certs', name: 'cert' }] }),
      OPTIONS,
    );
    expect(listenerConds(b, 'infra/gw', 'https').ResolvedRefs).toBe('False/RefNotPermitted');
    const grant: ReferenceGrantObject = {
      metadata: { namespace: 'certs', name: 'allow-infra' },
      spec: {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'infra' }],
        to: [{ group: '', kind: 'Secret' }],
      },
    };
    b = buildGateways(
      input({
        gateways: [gw('gw', [tls('certs')])],
        secrets: [{ ns: 'certs', name: 'cert' }],
        referenceGrants: [grant],
      }),
      OPTIONS,
    );
    expect(listenerConds(b, 'infra/gw', 'https').ResolvedRefs).toBe('True/ResolvedRefs');
    expect([...b.certificates.entries()]).toEqual([
      ['certs/cert', { namespace: 'certs', name: 'cert', hosts: ['secure.test'] }],
    ]);
    expect(b.routing.listeners[0]?.internalPort).toBe(10100);
  });

  it('serves a certificate for any SNI name when one of its listeners has no hostname', () => {
    const tls = (name: string, hostname?: string): ListenerObject => ({
      name,
      port: 443,
      protocol: 'HTTPS',
      ...(hostname ? { hostname } : {}),
      tls: { certificateRefs: [{ name: 'cert' }] },
    });
    const b = buildGateways(
      input({
        gateways: [gw('gw', [tls('named', 'secure.test'), tls('any')])],
        secrets: [{ ns: 'infra', name: 'cert' }],
      }),
      OPTIONS,
    );
    expect([...b.certificates.entries()]).toEqual([
      ['infra/cert', { namespace: 'infra', name: 'cert', hosts: [] }],
    ]);
  });

  it('reports unsupported route kinds and keeps the supported ones', () => {
    const b = buildGateways(
      input({
        gateways: [
          gw('gw', [
            http('only-bad', { allowedRoutes: { kinds: [{ kind: 'FooRoute' }] } }),
            http('mixed', {
              port: 81,
              allowedRoutes: { kinds: [{ kind: 'HTTPRoute' }, { kind: 'FooRoute' }] },
            }),
          ]),
        ],
      }),
      OPTIONS,
    );
    const ls = b.gatewayStatus.get('infra/gw')?.listeners ?? [];
    expect(
      ls.map((l) => [l.name, l.supportedKinds.map((k) => k.kind), conds(l.conditions).ResolvedRefs]),
    ).toEqual([
      ['only-bad', [], 'False/InvalidRouteKinds'],
      ['mixed', ['HTTPRoute'], 'False/InvalidRouteKinds'],
    ]);
  });

  it('keeps proxy ports stable and refuses a listener when the range is full', () => {
    expect([
      ...assignInternalPorts(['a/80', 'b/80', 'c/80'], new Map([['b/80', 10002]]), {
        first: 10000,
        last: 10002,
      }),
    ]).toEqual([
      ['b/80', 10002],
      ['a/80', 10000],
      ['c/80', 10001],
    ]);
    const gws = ['g1', 'g2', 'g3', 'g4', 'g5'].map((n) => gw(n, [http('a')]));
    const b = buildGateways(input({ gateways: gws }), OPTIONS);
    expect(listenerConds(b, 'infra/g5', 'a').Accepted).toBe('False/PortUnavailable');
    expect(listenerConds(b, 'infra/g4', 'a').Accepted).toBe('True/Accepted');
  });
});

describe('buildGateways: HTTPRoute attachment and status', () => {
  const g = gw('gw', [
    http('same'),
    http('all', { port: 8080, hostname: '*.example.com', allowedRoutes: { namespaces: { from: 'All' } } }),
    http('selected', {
      port: 8081,
      allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { exposed: 'yes' } } } },
    }),
  ]);
  const ref = (sectionName?: string) => ({
    name: 'gw',
    namespace: 'infra',
    ...(sectionName ? { sectionName } : {}),
  });
  const web = [{ backendRefs: [{ name: 'web', port: 8080 }] }];

  it('tells the story of routes attaching to listeners', () => {
    const routes = [
      rt('same-ns', { parentRefs: [ref('same')], rules: web }),
      rt('other-ns-same', { parentRefs: [ref('same')], rules: [] }, { ns: 'apps' }),
      rt(
        'other-ns-all',
        { parentRefs: [ref('all')], hostnames: ['a.example.com'], rules: [] },
        { ns: 'apps' },
      ),
      rt('wrong-host', { parentRefs: [ref('all')], hostnames: ['a.other.com'], rules: [] }, { ns: 'apps' }),
      rt('selected', { parentRefs: [ref('selected')], rules: [] }, { ns: 'apps' }),
      rt('no-section', { parentRefs: [ref('nope')], rules: [] }),
      rt('not-ours', { parentRefs: [{ name: 'elsewhere' }], rules: [] }),
    ];
    const b = buildGateways(input({ gateways: [g], httpRoutes: routes }), OPTIONS);
    expect(routeConds(b, 'infra/same-ns')).toEqual({
      Accepted: 'True/Accepted',
      ResolvedRefs: 'True/ResolvedRefs',
    });
    expect(routeConds(b, 'apps/other-ns-same').Accepted).toBe('False/NotAllowedByListeners');
    expect(routeConds(b, 'apps/other-ns-all').Accepted).toBe('True/Accepted');
    expect(routeConds(b, 'apps/wrong-host').Accepted).toBe('False/NoMatchingListenerHostname');
    expect(routeConds(b, 'apps/selected').Accepted).toBe('True/Accepted');
    expect(routeConds(b, 'infra/no-section').Accepted).toBe('False/NoMatchingParent');
    expect(b.routeStatus.has('infra/not-ours')).toBe(false);
    expect(b.routeStatus.get('infra/same-ns')?.[0]).toMatchObject({
      parentRef: {
        group: 'gateway.networking.k8s.io',
        kind: 'Gateway',
        namespace: 'infra',
        name: 'gw',
        sectionName: 'same',
      },
      controllerName: 'ironlb.io/gateway-controller',
    });
    expect(b.gatewayStatus.get('infra/gw')?.listeners.map((l) => [l.name, l.attachedRoutes])).toEqual([
      ['same', 1],
      ['all', 1],
      ['selected', 1],
    ]);
    expect(b.routing.listeners.find((l) => l.name === 'all')?.vhosts.map((v) => v.host)).toEqual([
      'a.example.com',
    ]);
  });

  it('resolves backends: missing Service, wrong kind, another namespace without and with a grant', () => {
    const routes = [
      rt('missing', { parentRefs: [ref('same')], rules: [{ backendRefs: [{ name: 'nope', port: 80 }] }] }),
      rt('kind', {
        parentRefs: [ref('same')],
        rules: [{ backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'x' }] }],
      }),
      rt('cross', {
        parentRefs: [ref('same')],
        rules: [{ backendRefs: [{ name: 'api', namespace: 'apps', port: 80 }] }],
      }),
    ];
    let b = buildGateways(input({ gateways: [g], httpRoutes: routes }), OPTIONS);
    expect(routeConds(b, 'infra/missing')).toEqual({
      Accepted: 'True/Accepted',
      ResolvedRefs: 'False/BackendNotFound',
    });
    expect(routeConds(b, 'infra/kind').ResolvedRefs).toBe('False/InvalidKind');
    expect(routeConds(b, 'infra/cross').ResolvedRefs).toBe('False/RefNotPermitted');
    const rules = b.routing.listeners.find((l) => l.name === 'same')?.vhosts[0]?.rules ?? [];
    expect(rules.map((r) => r.backends)).toEqual([
      [{ backend: null, weight: 1 }],
      [{ backend: null, weight: 1 }],
      [{ backend: null, weight: 1 }],
    ]);
    const grant: ReferenceGrantObject = {
      metadata: { namespace: 'apps', name: 'g' },
      spec: {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'infra' }],
        to: [{ group: '', kind: 'Service', name: 'api' }],
      },
    };
    b = buildGateways(input({ gateways: [g], httpRoutes: routes, referenceGrants: [grant] }), OPTIONS);
    expect(routeConds(b, 'infra/cross').ResolvedRefs).toBe('True/ResolvedRefs');
    expect(b.backends.map((x) => x.id)).toEqual(['apps/api:80']);
  });

  it('refuses a route with an unsupported filter without touching the others', () => {
    const routes = [
      rt('mirror', {
        parentRefs: [ref('same')],
        rules: [
          {
            filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'web', port: 8080 } } }],
            backendRefs: [{ name: 'web', port: 8080 }],
          },
        ],
      }),
      rt('fine', { parentRefs: [ref('same')], hostnames: ['fine.test'], rules: web }),
    ];
    const b = buildGateways(input({ gateways: [g], httpRoutes: routes }), OPTIONS);
    expect(routeConds(b, 'infra/mirror').Accepted).toBe('False/UnsupportedValue');
    expect(routeConds(b, 'infra/fine').Accepted).toBe('True/Accepted');
    expect(b.routing.listeners.find((l) => l.name === 'same')?.vhosts.map((v) => v.host)).toEqual([
      'fine.test',
    ]);
  });
});

describe('rule precedence', () => {
  const base = (o: Partial<GatewayRule>): GatewayRule => ({
    route: 'ns/r',
    rule: 0,
    match: 0,
    path: { kind: 'Prefix', value: '/' },
    headers: [],
    query: [],
    backends: [],
    ...o,
  });

  it('orders as the spec says, and by age then name across routes', () => {
    const rank = new Map([
      ['ns/old', 0],
      ['ns/new', 1],
    ]);
    const rules = [
      base({ route: 'ns/new', path: { kind: 'Prefix', value: '/a' } }),
      base({ route: 'ns/old', path: { kind: 'Prefix', value: '/a' } }),
      base({ path: { kind: 'Prefix', value: '/a' }, query: [{ name: 'q', kind: 'Exact', value: '1' }] }),
      base({ path: { kind: 'Prefix', value: '/a' }, headers: [{ name: 'h', kind: 'Exact', value: '1' }] }),
      base({ path: { kind: 'Prefix', value: '/a' }, method: 'GET' }),
      base({ path: { kind: 'Prefix', value: '/a/b' } }),
      base({ path: { kind: 'Exact', value: '/a' } }),
    ];
    const sorted = [...rules].sort(compareRules(rank));
    expect(
      sorted.map(
        (r) =>
          `${r.path.kind}:${r.path.value}:${r.method ?? ''}:${r.headers.length}${r.query.length}:${r.route}`,
      ),
    ).toEqual([
      'Exact:/a::00:ns/r',
      'Prefix:/a/b::00:ns/r',
      'Prefix:/a:GET:00:ns/r',
      'Prefix:/a::10:ns/r',
      'Prefix:/a::01:ns/r',
      'Prefix:/a::00:ns/old',
      'Prefix:/a::00:ns/new',
    ]);
  });

  const ruleArb = fc.record({
    route: fc.constantFrom('ns/a', 'ns/b', 'ns/c'),
    rule: fc.nat(3),
    match: fc.nat(2),
    kind: fc.constantFrom('Exact' as const, 'Prefix' as const),
    value: fc.constantFrom('/', '/a', '/a/b', '/abc'),
    method: fc.option(fc.constantFrom('GET', 'POST'), { nil: undefined }),
    headers: fc.nat(2),
    query: fc.nat(2),
  });
  type RawRule = typeof ruleArb extends fc.Arbitrary<infer T> ? T : never;
  const toRule = (r: RawRule): GatewayRule =>
    base({
      route: r.route,
      rule: r.rule,
      match: r.match,
      path: { kind: r.kind, value: r.value },
      ...(r.method ? { method: r.method } : {}),
      headers: Array.from({ length: r.headers }, (_, i) => ({
        name: `h${i}`,
        kind: 'Exact' as const,
        value: 'v',
      })),
      query: Array.from({ length: r.query }, (_, i) => ({
        name: `q${i}`,
        kind: 'Exact' as const,
        value: 'v',
      })),
    });
  const rank = new Map([
    ['ns/a', 0],
    ['ns/b', 1],
    ['ns/c', 2],
  ]);

  it('property: every Exact comes before every Prefix, longer prefixes first, and the order ignores input order', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 20 }), (raw) => {
        const rules = raw.map(toRule);
        const sorted = [...rules].sort(compareRules(rank));
        const reversed = [...rules].reverse().sort(compareRules(rank));
        const key = (r: GatewayRule) => JSON.stringify(r);
        expect(reversed.map(key)).toEqual(sorted.map(key));
        for (let i = 1; i < sorted.length; i++) {
          const a = sorted[i - 1]!;
          const b = sorted[i]!;
          expect(compareRules(rank)(a, b)).toBeLessThanOrEqual(0);
          if (a.path.kind === 'Prefix') expect(b.path.kind).toBe('Prefix');
          if (a.path.kind === 'Prefix' && b.path.kind === 'Prefix')
            expect(a.path.value.length).toBeGreaterThanOrEqual(b.path.value.length);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: the built routing is the same whatever the order of the routes', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 8 }), fc.nat(), (raw, seed) => {
        const routes = raw.map((r, i) =>
          rt(
            `r${i}`,
            {
              parentRefs: [{ name: 'gw' }],
              rules: [
                {
                  matches: [
                    {
                      path: { type: r.kind === 'Exact' ? 'Exact' : 'PathPrefix', value: r.value },
                      ...(r.method ? { method: r.method } : {}),
                    },
                  ],
                  backendRefs: [{ name: 'web', port: 8080 }],
                },
              ],
            },
            { created: `2024-01-0${(i % 3) + 1}T00:00:00Z` },
          ),
        );
        const shuffled = [...routes].sort(
          (x, y) =>
            ((seed * 31 + (x.metadata?.name?.length ?? 0)) % 7) -
            ((seed * 17 + (y.metadata?.name?.length ?? 0)) % 7),
        );
        const one = buildGateways(input({ gateways: [gw('gw', [http('a')])], httpRoutes: routes }), OPTIONS);
        const two = buildGateways(
          input({ gateways: [gw('gw', [http('a')])], httpRoutes: shuffled.reverse() }),
          OPTIONS,
        );
        expect(two.routing).toEqual(one.routing);
      }),
    );
  });
});

describe('gateway.map', () => {
  it('encodes rules with every separator percent-encoded', () => {
    const rule: GatewayRule = {
      route: 'ns/r',
      rule: 0,
      match: 0,
      path: { kind: 'Prefix', value: '/a b' },
      method: 'GET',
      headers: [{ name: 'x-v', kind: 'Regex', value: 'a:b c' }],
      query: [{ name: 'q', kind: 'Exact', value: '1=2' }],
      requestHeaders: { set: [{ name: 'X-S', value: 'v v' }], add: [], remove: ['X-R'] },
      backends: [
        { backend: 'ns/web:80', weight: 3 },
        { backend: null, weight: 1 },
      ],
      timeoutMs: 1500,
    };
    expect(encodeRule(rule, (id) => (id === 'ns/web:80' ? 'b2' : undefined))).toBe(
      'p=P:/a%20b m=GET h=x-v:R:a%3Ab%20c q=q:E:1%3D2 qs=X-S:v%20v qr=X-R b=b2:3,x:1 t=1500',
    );
  });

  it('lists listeners and the rules of each virtual host', () => {
    const text = gatewayMapText(
      {
        listeners: [
          {
            gateway: 'ns/gw',
            name: 'a',
            internalPort: 10000,
            port: 80,
            protocol: 'HTTP',
            hostname: '*',
            vhosts: [
              {
                host: 'a.test',
                rules: [
                  {
                    route: 'ns/r',
                    rule: 0,
                    match: 0,
                    path: { kind: 'Prefix', value: '/' },
                    headers: [],
                    query: [],
                    redirect: {
                      code: 301,
                      scheme: 'https',
                      path: { kind: 'prefix', prefix: '/old', value: '/new' },
                    },
                    backends: [],
                  },
                ],
              },
            ],
          },
        ],
      },
      () => undefined,
    );
    expect(text).toBe('l|10000|* 80 http\nr|10000|*|a.test|0 p=P:/ rd=301:https:-:-:P:/old:/new\n');
  });
});

describe('small parsers', () => {
  it.each([
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['500ms', 500],
    ['0s', 0],
    ['10', undefined],
    ['', undefined],
  ])('duration %s is %s ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('names Gateway Services as DNS labels of at most 63 characters', () => {
    expect(gatewayServiceName('web.gw')).toBe('ironlb-web-gw');
    const long = gatewayServiceName('x'.repeat(80));
    expect(long.length).toBe(63);
    expect(long).toMatch(/^ironlb-x+-[0-9a-f]{8}$/);
  });
});
