// Integration test of Gateway API routing in the HAProxy data plane: a real HAProxy (Debian) started by our
// edge, Node upstreams on loopback, the table built from Gateway/HTTPRoute objects by the pure core and joined
// to an Ingress table. Loopback only, every loop bounded, every process stopped.
// Run: flock /tmp/ironlb-integration.lock npx vitest run --project integration ingress/gateway-dataplane.int.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayObject, HTTPRouteObject, HTTPRouteRuleObject } from '../src/gateway/types.ts';
import type { RouteTable } from '../src/ingress/types.ts';
import type { Dataplane } from './dataplane.ts';
import {
  gatewayPortBase,
  loopbackGatewayTable,
  startLoopbackDataplane,
  type LoopbackDataplane,
} from '../test/support/gateway-testkit.ts';
import { request, startUpstream, type Upstream } from '../test/support/ingress-testkit.ts';

const NS = 'default';
function route(
  name: string,
  hostnames: string[],
  rules: HTTPRouteRuleObject[],
  sectionName?: string,
): HTTPRouteObject {
  return {
    metadata: { name, namespace: NS, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { parentRefs: [{ name: 'gw', ...(sectionName ? { sectionName } : {}) }], hostnames, rules },
  };
}

describe('Gateway API through the HAProxy data plane (loopback)', () => {
  let ups: Upstream[] = [];
  let plane: LoopbackDataplane | undefined;
  let dp: Dataplane;
  let base: number;
  let ingressPort: number;
  let routes: HTTPRouteObject[];
  const gateway: GatewayObject = {
    metadata: { name: 'gw', namespace: NS },
    spec: {
      gatewayClassName: 'ironlb',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } },
        { name: 'alt', port: 8080, protocol: 'HTTP', hostname: 'alt.test' },
      ],
    },
  };
  const name = (r: { body: string }): string => (JSON.parse(r.body) as { name: string }).name;
  const body = (r: { body: string }) =>
    JSON.parse(r.body) as { name: string; url: string; headers: Record<string, string> };

  const table = (): RouteTable =>
    loopbackGatewayTable({
      ns: NS,
      ports: Object.fromEntries(ups.map((u, i) => [`s${i + 1}`, u.port])),
      legacy: 's3',
      gateway,
      httpRoutes: routes,
      base,
      assignedPorts: new Map([
        [`${NS}/gw/80`, base],
        [`${NS}/gw/8080`, base + 1],
      ]),
    }).table;
  const get = (port: number, host: string, path: string, headers: Record<string, string> = {}) =>
    request({ port, host, path, headers });

  beforeAll(async () => {
    ups = await Promise.all(['u1', 'u2', 'u3'].map(startUpstream));
    base = gatewayPortBase();
    routes = [
      route(
        'main',
        ['app.test'],
        [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/' } }],
            backendRefs: [{ name: 's1', port: 80 }],
          },
          {
            matches: [{ path: { type: 'Exact', value: '/exact' } }],
            backendRefs: [{ name: 's2', port: 80 }],
          },
          {
            matches: [
              { path: { type: 'PathPrefix', value: '/hdr' }, headers: [{ name: 'X-Version', value: 'two' }] },
            ],
            backendRefs: [{ name: 's2', port: 80 }],
          },
          {
            matches: [
              {
                path: { type: 'PathPrefix', value: '/q' },
                queryParams: [{ name: 'v', value: '2' }],
                method: 'POST',
              },
            ],
            backendRefs: [{ name: 's3', port: 80 }],
          },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/old' } }],
            filters: [
              {
                type: 'RequestRedirect',
                requestRedirect: {
                  path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' },
                  statusCode: 301,
                },
              },
            ],
          },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/rw' } }],
            filters: [
              {
                type: 'URLRewrite',
                urlRewrite: {
                  hostname: 'inner.test',
                  path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/in' },
                },
              },
              {
                type: 'RequestHeaderModifier',
                requestHeaderModifier: { set: [{ name: 'X-Set', value: 'yes' }], remove: ['X-Drop'] },
              },
              {
                type: 'ResponseHeaderModifier',
                responseHeaderModifier: { add: [{ name: 'X-Resp', value: 'added' }] },
              },
            ],
            backendRefs: [{ name: 's2', port: 80 }],
          },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/missing' } }],
            backendRefs: [{ name: 'nope', port: 80 }],
          },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/split' } }],
            backendRefs: [
              { name: 's1', port: 80, weight: 1 },
              { name: 's2', port: 80, weight: 1 },
            ],
          },
        ],
      ),
      route('wild', ['*.wild.test'], [{ backendRefs: [{ name: 's3', port: 80 }] }]),
      // no hostnames: the listener's hostname; sectionName keeps it off the catch-all port-80 listener
      route('alt', [], [{ backendRefs: [{ name: 's2', port: 80 }] }], 'alt'),
    ];
    plane = await startLoopbackDataplane(table(), { name: 'gwdp', gatewayBase: base });
    ({ dp, ingressPort } = plane);
  }, 60_000);

  afterAll(async () => {
    await plane?.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it('routes by hostname and path precedence: Exact before the longest prefix', async () => {
    expect(name(await get(base, 'app.test', '/'))).toBe('u1');
    expect(name(await get(base, 'app.test', '/exact'))).toBe('u2');
    expect(name(await get(base, 'app.test', '/exact/more'))).toBe('u1');
    expect(name(await get(base, 'x.y.wild.test', '/any'))).toBe('u3');
    expect((await get(base, 'other.test', '/')).status).toBe(404);
  });

  it('matches headers, query parameters and methods', async () => {
    expect(name(await get(base, 'app.test', '/hdr', { 'x-version': 'two' }))).toBe('u2');
    expect(name(await get(base, 'app.test', '/hdr', { 'x-version': 'one' }))).toBe('u1');
    expect(name(await get(base, 'app.test', '/q?v=2'))).toBe('u1'); // GET: the POST rule does not match
  });

  it('redirects, rewrites and modifies headers', async () => {
    const r = await get(base, 'app.test', '/old/page?x=1');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('http://app.test/new/page?x=1');
    const w = await get(base, 'app.test', '/rw/a?k=v', { 'x-drop': 'gone' });
    const b = body(w);
    expect(b.name).toBe('u2');
    expect(b.url).toBe('/in/a?k=v');
    expect(b.headers.host).toBe('inner.test');
    expect(b.headers['x-set']).toBe('yes');
    expect(b.headers['x-drop']).toBeUndefined();
    expect(w.headers['x-resp']).toBe('added');
  });

  it('answers 500 for a rule whose backend is invalid, splits by weight', async () => {
    expect((await get(base, 'app.test', '/missing')).status).toBe(500);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(name(await get(base, 'app.test', '/split')));
    expect([...seen].sort()).toEqual(['u1', 'u2']);
  });

  it('keeps listeners apart: the 8080 listener serves only alt.test, the Ingress port only Ingresses', async () => {
    expect(name(await get(base + 1, 'alt.test', '/'))).toBe('u2');
    expect((await get(base + 1, 'app.test', '/')).status).toBe(404);
    expect(name(await get(ingressPort, 'legacy.test', '/'))).toBe('u3');
    expect((await get(ingressPort, 'app.test', '/')).status).toBe(404);
  });

  it('applies a route change through the runtime API, with no reload and no configuration check', async () => {
    const { reloads, checks } = dp.stats;
    routes = [...routes, route('late', ['late.test'], [{ backendRefs: [{ name: 's1', port: 80 }] }])];
    const applied = await dp.apply(table());
    expect(applied.mode).toBe('runtime');
    expect(name(await get(base, 'late.test', '/'))).toBe('u1');
    expect(dp.stats.reloads).toBe(reloads);
    // only the Gateway map changed: plain strings, nothing `haproxy -c` could reject
    expect(dp.stats.checks).toBe(checks);
  });
});
