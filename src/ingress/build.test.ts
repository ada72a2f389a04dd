import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRouteTable } from './build.ts';
import { fakeResolver, ing, OTHER_CLASS, OUR_CLASS, type P } from '../../test/support/ingress-fixtures.ts';
import { matchRequest } from './match.ts';
import type { IngressObject, RouteTable } from './types.ts';

const build = (ingresses: IngressObject[], o: Parameters<typeof fakeResolver>[0] = {}): RouteTable =>
  buildRouteTable({ ingressClasses: [OUR_CLASS, OTHER_CLASS], ingresses, resolver: fakeResolver(o) });

/** routeOf returns "Kind path" of the route a request reaches, "default" or "404". */
function routeOf(table: RouteTable, host: string, path: string): string {
  const m = matchRequest(table, { host, path, https: true });
  if (m.action === 'notFound') return '404';
  if (m.action !== 'proxy') return m.action;
  return m.route ? `${m.route.kind} ${m.route.path}` : 'default';
}

describe('path matching: every row of the Kubernetes Ingress docs examples table', () => {
  // [kind, rule paths, request path, expected route ("default" when none matches)]
  const rows: [string, string[], string, string][] = [
    ['Prefix', ['/'], '/', 'Prefix /'],
    ['Prefix', ['/'], '/any/path', 'Prefix /'],
    ['Exact', ['/foo'], '/foo', 'Exact /foo'],
    ['Exact', ['/foo'], '/bar', 'default'],
    ['Exact', ['/foo'], '/foo/', 'default'],
    ['Exact', ['/foo/'], '/foo', 'default'],
    ['Prefix', ['/foo'], '/foo', 'Prefix /foo'],
    ['Prefix', ['/foo'], '/foo/', 'Prefix /foo'],
    ['Prefix', ['/foo/'], '/foo', 'Prefix /foo'],
    ['Prefix', ['/foo/'], '/foo/', 'Prefix /foo'],
    ['Prefix', ['/aaa/bb'], '/aaa/bbb', 'default'],
    ['Prefix', ['/aaa/bbb'], '/aaa/bbb', 'Prefix /aaa/bbb'],
    ['Prefix', ['/aaa/bbb/'], '/aaa/bbb', 'Prefix /aaa/bbb'], // ignores the rule's trailing slash
    ['Prefix', ['/aaa/bbb'], '/aaa/bbb/', 'Prefix /aaa/bbb'], // matches the request's trailing slash
    ['Prefix', ['/aaa/bbb'], '/aaa/bbb/ccc', 'Prefix /aaa/bbb'], // matches a subpath
    ['Prefix', ['/aaa/bbb'], '/aaa/bbbxyz', 'default'], // not a string prefix match
    ['Prefix', ['/', '/aaa'], '/aaa/ccc', 'Prefix /aaa'],
    ['Prefix', ['/', '/aaa', '/aaa/bbb'], '/aaa/bbb', 'Prefix /aaa/bbb'],
    ['Prefix', ['/', '/aaa', '/aaa/bbb'], '/ccc', 'Prefix /'],
    ['Prefix', ['/aaa'], '/ccc', 'default'],
  ];
  it.each(rows)('%s %j, request %s → %s', (kind, paths, request, want) => {
    const table = build([
      ing('x', {
        defaultBackend: 'fallback',
        rules: [{ host: 'foo.com', paths: paths.map((p): P => [p, kind, 'svc']) }],
      }),
    ]);
    expect(routeOf(table, 'foo.com', request)).toBe(want);
  });

  it('Mixed: Prefix /foo and Exact /foo, request /foo → Exact wins the tie', () => {
    const table = build([
      ing('x', {
        rules: [
          {
            host: 'foo.com',
            paths: [
              ['/foo', 'Prefix', 'p'],
              ['/foo', 'Exact', 'e'],
            ],
          },
        ],
      }),
    ]);
    expect(routeOf(table, 'foo.com', '/foo')).toBe('Exact /foo');
    expect(routeOf(table, 'foo.com', '/foo/')).toBe('Prefix /foo');
  });

  it('a Prefix rule ending in "/" answers the bare path itself (no nginx-style 301 to "/foo/")', () => {
    const m = matchRequest(
      build([ing('x', { rules: [{ host: 'h.com', paths: [['/foo/', 'Prefix', 's']] }] })]),
      {
        host: 'h.com',
        path: '/foo',
      },
    );
    expect(m).toMatchObject({ action: 'proxy', backend: 'default/s:80', upstreamPath: '/foo' });
  });
});

describe('hosts', () => {
  const table = build([
    ing('w', { rules: [{ host: '*.foo.com', paths: [['/', 'Prefix', 'wild']] }] }),
    ing('e', { rules: [{ host: 'Exact.Foo.com', paths: [['/', 'Prefix', 'exact']] }] }),
  ]);
  it.each([
    ['bar.foo.com', 'default/wild:80'], // matches based on shared suffix
    ['baz.bar.foo.com', '404'], // a wildcard covers exactly one label
    ['foo.com', '404'], // and not the bare suffix
    ['exact.foo.com', 'default/exact:80'], // an exact host beats the wildcard; hosts are case-insensitive
    ['EXACT.foo.com:8080', 'default/exact:80'], // the port is ignored
  ])('%s → %s', (host, want) => {
    const m = matchRequest(table, { host, path: '/' });
    expect(m.action === 'proxy' ? m.backend : String(m.status)).toBe(want);
  });

  it('rules without a host catch the hosts no rule names', () => {
    const t = build([
      ing('any', { rules: [{ paths: [['/', 'Prefix', 'any']] }] }),
      ing('named', { rules: [{ host: 'a.com', paths: [['/x', 'Exact', 'a']] }] }),
    ]);
    expect(matchRequest(t, { host: 'zzz.com', path: '/q' })).toMatchObject({ backend: 'default/any:80' });
    // a named host with no matching path does not fall through to the host-less rules
    expect(matchRequest(t, { host: 'a.com', path: '/q' })).toMatchObject({ action: 'notFound' });
  });
});

describe('no match: the defaultBackend, else 404', () => {
  it('uses the oldest Ingress defaultBackend and reports the others', () => {
    const t = build([
      ing('new', { created: '2024-05-01T00:00:00Z', defaultBackend: 'second' }),
      ing('old', { created: '2024-01-01T00:00:00Z', defaultBackend: 'first' }),
    ]);
    expect(matchRequest(t, { host: 'x', path: '/' })).toMatchObject({
      action: 'proxy',
      backend: 'default/first:80',
    });
    expect(t.issues).toEqual([
      expect.objectContaining({ ingress: 'default/new', kind: 'conflict', reason: 'DefaultBackendConflict' }),
    ]);
  });
  it('answers 404 without one', () => {
    expect(matchRequest(build([]), { host: 'x', path: '/' })).toEqual({ action: 'notFound', status: 404 });
  });
});

describe('IngressClass selection', () => {
  const rules = [{ host: 'h.com', paths: [['/', 'Prefix', 's']] as P[] }];
  const served = (i: IngressObject, classes = [OUR_CLASS, OTHER_CLASS], watchWithoutClass = false) =>
    buildRouteTable(
      { ingressClasses: classes, ingresses: [i], resolver: fakeResolver() },
      { watchWithoutClass },
    ).ingresses;
  const noDefault = { ...OUR_CLASS, metadata: { name: 'ironlb' } };
  it.each([
    ['our class by spec.controller', ing('a', { className: 'ironlb', rules }), [OUR_CLASS], ['default/a']],
    ['another controller’s class', ing('a', { className: 'nginx', rules }), [OUR_CLASS, OTHER_CLASS], []],
    ['an unknown class', ing('a', { className: 'nope', rules }), [OUR_CLASS], []],
    ['no class, ours is default', ing('a', { rules }), [OUR_CLASS], ['default/a']],
    ['no class, ours is not default', ing('a', { rules }), [noDefault], []],
    [
      'legacy kubernetes.io/ingress.class annotation',
      ing('a', { annotations: { 'kubernetes.io/ingress.class': 'ironlb' }, rules }),
      [noDefault],
      ['default/a'],
    ],
  ])('%s', (_name, i, classes, want) => {
    expect(served(i, classes)).toEqual(want);
  });
  it('serves class-less Ingresses when asked to', () => {
    expect(served(ing('a', { rules }), [noDefault], true)).toEqual(['default/a']);
  });
  it('honours a different controller name', () => {
    const t = buildRouteTable(
      {
        ingressClasses: [OTHER_CLASS],
        ingresses: [ing('a', { className: 'nginx', rules })],
        resolver: fakeResolver(),
      },
      { controller: 'k8s.io/ingress-nginx' },
    );
    expect(t.ingresses).toEqual(['default/a']);
  });
});

describe('regex paths and rewrite-target', () => {
  const rw = (target: string, path: string, extra: Record<string, string> = {}) =>
    build([
      ing('rw', {
        annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': target, ...extra },
        rules: [{ host: 'r.com', paths: [[path, 'ImplementationSpecific', 's']] }],
      }),
    ]);
  const up = (t: RouteTable, path: string) => {
    const m = matchRequest(t, { host: 'r.com', path });
    return m.action === 'proxy' ? m.upstreamPath : m.action;
  };
  it.each([
    ['/something', '/'],
    ['/something/', '/'],
    ['/something/new', '/new'],
    ['/something/new/deeper', '/new/deeper'],
    ['/SOMETHING/Case', '/Case'], // regex paths match case-insensitively
    ['/somethingelse', 'notFound'],
  ])('/something(/|$)(.*) with /$2: %s → %s', (path, want) => {
    expect(up(rw('/$2', '/something(/|$)(.*)'), path)).toBe(want);
  });
  it('use-regex makes ImplementationSpecific a regex; without it, it is a Prefix', () => {
    const paths: P[] = [['/foo/[0-9]+', 'ImplementationSpecific', 's']];
    const re = build([
      ing('a', {
        annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
        rules: [{ host: 'h', paths }],
      }),
    ]);
    expect(routeOf(re, 'h', '/FOO/42/x')).toBe('Regex /foo/[0-9]+');
    expect(routeOf(re, 'h', '/foo/x')).toBe('404');
    const plain = build([
      ing('a', { rules: [{ host: 'h', paths: [['/foo/', 'ImplementationSpecific', 's']] }] }),
    ]);
    expect(routeOf(plain, 'h', '/foo/bar')).toBe('Prefix /foo');
  });
  it('a rewrite-target without captures replaces the whole path (ingress-nginx)', () => {
    const t = build([
      ing('a', {
        annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/' },
        rules: [{ host: 'h', paths: [['/app', 'Prefix', 's']] }],
      }),
    ]);
    expect(matchRequest(t, { host: 'h', path: '/app/x' })).toMatchObject({ upstreamPath: '/' });
  });
  it('longest path wins across kinds; a Prefix beats a Regex of the same length; Exact always first', () => {
    const t = build([
      ing('a', {
        annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
        rules: [
          {
            host: 'h',
            paths: [
              ['/api', 'Prefix', 'p4'],
              ['/a.*', 'ImplementationSpecific', 'r3'],
              ['/api/v[0-9]', 'ImplementationSpecific', 'r11'],
              ['/api/v1', 'Prefix', 'p7'],
              ['/api/v', 'ImplementationSpecific', 'r6'],
              ['/api/v1', 'Exact', 'e'],
            ],
          },
        ],
      }),
    ]);
    expect(t.hosts[0]?.routes.map((r) => `${r.kind} ${r.path}`)).toEqual([
      'Exact /api/v1',
      'Regex /api/v[0-9]',
      'Prefix /api/v1',
      'Regex /api/v',
      'Prefix /api',
      'Regex /a.*',
    ]);
    expect(routeOf(t, 'h', '/api/v1')).toBe('Exact /api/v1');
    expect(routeOf(t, 'h', '/api/v1/x')).toBe('Regex /api/v[0-9]');
    expect(routeOf(t, 'h', '/api/vz')).toBe('Regex /api/v');
    expect(routeOf(t, 'h', '/api')).toBe('Prefix /api');
    expect(routeOf(t, 'h', '/abc')).toBe('Regex /a.*');
  });
});

describe('allow-lists', () => {
  const t = build([
    ing('a', {
      annotations: {
        'nginx.ingress.kubernetes.io/whitelist-source-range': '10.0.0.0/8, 192.168.1.7 ,2001:db8::/32',
      },
      rules: [{ host: 'a.com', paths: [['/', 'Prefix', 's']] }],
    }),
    ing('b', {
      annotations: { 'nginx.ingress.kubernetes.io/allowlist-source-range': '127.0.0.1/32' },
      rules: [{ host: 'b.com', paths: [['/', 'Prefix', 's']] }],
    }),
  ]);
  it.each([
    ['a.com', '10.1.2.3', 'proxy'],
    ['a.com', '192.168.1.7', 'proxy'],
    ['a.com', '192.168.1.8', 'forbidden'],
    ['a.com', '2001:db8::1', 'proxy'],
    ['a.com', '2001:db9::1', 'forbidden'],
    ['b.com', '127.0.0.1', 'proxy'],
    ['b.com', '10.1.2.3', 'forbidden'],
  ])('%s from %s → %s', (host, clientAddress, want) => {
    expect(matchRequest(t, { host, path: '/', clientAddress }).action).toBe(want);
  });
  it('normalises the CIDRs', () => {
    expect(t.hosts.find((h) => h.host === 'a.com')?.routes[0]?.allow).toEqual([
      '10.0.0.0/8',
      '192.168.1.7/32',
      '2001:db8::/32',
    ]);
  });
  it('rejects the Ingress on a bad entry instead of opening it to everyone', () => {
    const bad = build([
      ing('bad', {
        annotations: { 'nginx.ingress.kubernetes.io/whitelist-source-range': '10.0.0.0/8,nonsense' },
        rules: [{ host: 'c.com', paths: [['/', 'Prefix', 's']] }],
      }),
    ]);
    expect(bad.hosts).toEqual([]);
    expect(bad.issues[0]?.message).toBe(
      'Ingress "default/bad": annotation allowlist-source-range: "nonsense" is not a CIDR or IP address (not served)',
    );
  });
});

describe('TLS and the 308 redirect', () => {
  const mk = (annotations?: Record<string, string>, secrets = ['default/tls']) =>
    build(
      [
        ing('t', {
          ...(annotations ? { annotations } : {}),
          rules: [
            { host: 'secure.com', paths: [['/', 'Prefix', 's']] },
            { host: 'plain.com', paths: [['/', 'Prefix', 's']] },
          ],
          tls: [{ hosts: ['secure.com'], secretName: 'tls' }],
        }),
      ],
      { secrets },
    );
  it('redirects plain HTTP to TLS hosts with 308 and serves HTTPS', () => {
    const t = mk();
    expect(matchRequest(t, { host: 'secure.com', path: '/' })).toMatchObject({
      action: 'redirect',
      status: 308,
    });
    expect(matchRequest(t, { host: 'secure.com', path: '/', https: true }).action).toBe('proxy');
    expect(matchRequest(t, { host: 'plain.com', path: '/' }).action).toBe('proxy');
    expect(t.certificates).toEqual([
      { secret: 'default/tls', hosts: ['secure.com'], pem: 'PEM default/tls\n' },
    ]);
  });
  it('honours ssl-redirect "false" and force-ssl-redirect "true"', () => {
    expect(
      matchRequest(mk({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' }), {
        host: 'secure.com',
        path: '/',
      }).action,
    ).toBe('proxy');
    expect(
      matchRequest(mk({ 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' }), {
        host: 'plain.com',
        path: '/',
      }).action,
    ).toBe('redirect');
  });
  it('does not redirect to a host whose Secret is missing, and says why', () => {
    const t = mk(undefined, []);
    expect(matchRequest(t, { host: 'secure.com', path: '/' }).action).toBe('proxy');
    expect(t.issues.map((i) => i.message)).toEqual([
      'Ingress "default/t": TLS secret "default/tls" not found: its hosts use the default certificate',
    ]);
  });
  it('a wildcard certificate covers one-label hosts; tls without hosts covers the rule hosts', () => {
    const t = build(
      [
        ing('w', {
          rules: [{ host: 'a.w.com', paths: [['/', 'Prefix', 's']] }],
          tls: [{ hosts: ['*.w.com'], secretName: 'w' }],
        }),
        ing('n', { rules: [{ host: 'n.com', paths: [['/', 'Prefix', 's']] }], tls: [{ secretName: 'n' }] }),
      ],
      { secrets: ['default/w', 'default/n'] },
    );
    expect(matchRequest(t, { host: 'a.w.com', path: '/' }).action).toBe('redirect');
    expect(t.certificates.map((c) => [c.secret, c.hosts])).toEqual([
      ['default/n', ['n.com']],
      ['default/w', ['*.w.com']],
    ]);
  });
});

describe('conflicts and errors', () => {
  const rules = (svc: string) => [{ host: 'h.com', paths: [['/x', 'Prefix', svc]] as P[] }];
  it('gives a contested path to the oldest Ingress and reports the others', () => {
    const t = build([
      ing('young', { created: '2024-03-01T00:00:00Z', rules: rules('young') }),
      ing('old', { created: '2024-01-01T00:00:00Z', rules: rules('old') }),
    ]);
    expect(matchRequest(t, { host: 'h.com', path: '/x' })).toMatchObject({ backend: 'default/old:80' });
    expect(t.issues).toEqual([
      {
        ingress: 'default/young',
        kind: 'conflict',
        reason: 'RouteConflict',
        message:
          'Ingress "default/young": Prefix path "/x" on host "h.com" is already served by Ingress "default/old"',
      },
    ]);
  });
  it('breaks a creationTimestamp tie by namespace/name', () => {
    const t = build([ing('b', { ns: 'a', rules: rules('ab') }), ing('a', { ns: 'b', rules: rules('ba') })]);
    expect(matchRequest(t, { host: 'h.com', path: '/x' })).toMatchObject({ backend: 'a/ab:80' });
  });
  it('"/x/" and "/x" are the same Prefix rule', () => {
    const t = build([
      ing('a', { created: '2024-01-01T00:00:00Z', rules: rules('a') }),
      ing('b', {
        created: '2024-01-02T00:00:00Z',
        rules: [{ host: 'h.com', paths: [['/x/', 'Prefix', 'b']] }],
      }),
    ]);
    expect(t.issues.map((i) => i.reason)).toEqual(['RouteConflict']);
  });
  it('a bad Ingress gets an error and never breaks the others', () => {
    const t = build([
      ing('good', { rules: [{ host: 'g.com', paths: [['/', 'Prefix', 's']] }] }),
      ing('bad', {
        annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
        rules: [
          {
            host: 'b.com',
            paths: [
              ['(', 'ImplementationSpecific', 's'],
              ['/ok', 'Prefix', 's'],
            ],
          },
        ],
      }),
    ]);
    expect(t.hosts.map((h) => h.host)).toEqual(['g.com']);
    expect(t.accepted).toEqual(['default/good']);
    expect(t.issues).toEqual([
      {
        ingress: 'default/bad',
        kind: 'error',
        reason: 'InvalidIngress',
        message: 'Ingress "default/bad": path "(" must start with "/" (not served)',
      },
    ]);
  });
  it.each([
    ['/(', 'is not a valid regular expression'],
    ['/a^b', 'anchor "^" is only allowed at the start'],
    ['/a b', 'must not contain whitespace'],
    ['/\\u0041', 'escape "\\u" is not supported'],
    ['/(?<=a)b', 'lookbehind is not supported'],
  ])('regex path %s: %s', (path, problem) => {
    const t = build([
      ing('r', {
        annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
        rules: [{ host: 'h', paths: [[path, 'ImplementationSpecific', 's']] }],
      }),
    ]);
    expect(t.issues[0]?.message).toContain(`Ingress "default/r": path "${path}" ${problem}`);
  });
  it.each([
    [{ host: 'Bad_Host', paths: [['/', 'Prefix', 's']] as P[] }, 'host "Bad_Host" is not a valid host name'],
    [{ host: 'h', paths: [['/', 'Fuzzy', 's']] as P[] }, 'has unknown pathType "Fuzzy"'],
    [{ host: 'h', paths: [['nope', 'Exact', 's']] as P[] }, 'path "nope" must start with "/"'],
  ])('rejects %j', (rule, problem) => {
    expect(build([ing('x', { rules: [rule] })]).issues[0]?.message).toContain(problem);
  });
  it('keeps serving the last good version of an Ingress broken by an edit', () => {
    const good = ing('a', { rules: [{ host: 'h', paths: [['/v1', 'Prefix', 'one']] }] });
    const broken = ing('a', { rules: [{ host: 'h', paths: [['/v2', 'Nope', 'two']] }] });
    const t = buildRouteTable(
      { ingressClasses: [OUR_CLASS], ingresses: [broken], resolver: fakeResolver() },
      { lastGood: new Map([['default/a', good]]) },
    );
    expect(matchRequest(t, { host: 'h', path: '/v1' })).toMatchObject({ backend: 'default/one:80' });
    expect(t.accepted).toEqual([]);
    expect(t.issues[0]?.message).toContain('(serving its last good version)');
  });
  it('reports a backend without endpoints but keeps the route (the data plane answers 503)', () => {
    const t = build([ing('a', { rules: [{ host: 'h', paths: [['/', 'Prefix', 'gone']] }] })], {
      missing: ['default/gone'],
    });
    expect(t.backends).toEqual([{ id: 'default/gone:80', endpoints: [] }]);
    expect(t.issues[0]).toMatchObject({ kind: 'warning', reason: 'BackendUnavailable' });
  });
});

describe('determinism', () => {
  const pool: IngressObject[] = [
    ing('a', {
      created: '2024-01-01T00:00:00Z',
      rules: [
        {
          host: 'h',
          paths: [
            ['/x', 'Prefix', 'a'],
            ['/', 'Prefix', 'a'],
          ],
        },
      ],
    }),
    ing('b', {
      created: '2024-01-01T00:00:00Z',
      rules: [{ host: 'h', paths: [['/x', 'Prefix', 'b']] }],
      defaultBackend: 'b',
    }),
    ing('c', {
      created: '2023-01-01T00:00:00Z',
      rules: [{ host: '*.h', paths: [['/x', 'Exact', 'c']] }],
      defaultBackend: 'c',
    }),
    ing('d', { ns: 'z', rules: [{ paths: [['/', 'Prefix', 'd']] }] }),
    ing('e', { rules: [{ host: 'h', paths: [['/(', 'Nope', 'e']] }] }),
  ];
  it('builds the same table whatever the input order', () => {
    const reference = build(pool);
    fc.assert(
      fc.property(fc.shuffledSubarray(pool, { minLength: pool.length, maxLength: pool.length }), (order) => {
        expect(build(order)).toEqual(reference);
      }),
    );
  });
  it('a broken Ingress never changes what the others route', () => {
    fc.assert(
      fc.property(fc.subarray(pool.slice(0, 4)), (subset) => {
        const broken = ing('zz-broken', { rules: [{ host: 'h', paths: [['x', 'Prefix', 's']] }] });
        const { issues: _a, ingresses: _b, ...without } = build(subset);
        const { issues: _c, ingresses: _d, ...withBroken } = build([...subset, broken]);
        expect(withBroken).toEqual(without);
      }),
    );
  });
});
