// Integration test of the ingress data plane: a real HAProxy (Debian) started by our edge, three Node
// upstreams on loopback, route tables built from Ingress objects by the pure core. Loopback only, every
// loop bounded, every process stopped. Run: npx vitest run ingress/dataplane.int.test.ts
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyRouteTable } from '../src/ingress/build.ts';
import type { IngressClassObject, IngressObject } from '../src/ingress/types.ts';
import type { Dataplane } from './dataplane.ts';
import { createReconciler, type IngressSnapshot, type Reconciler } from './reconcile.ts';
import {
  endpointSlice,
  freePort,
  ingress,
  makeTestPki,
  request,
  service,
  startUpstream,
  tlsSecret,
  type TestPki,
  type Upstream,
} from '../test/support/ingress-testkit.ts';
import { startLoopbackDataplane, type LoopbackDataplane } from '../test/support/gateway-testkit.ts';

const NS = 'default';
const CLASS: IngressClassObject = {
  metadata: { name: 'ironlb', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
  spec: { controller: 'ironlb.io/ingress' },
};

describe('HAProxy data plane (loopback)', () => {
  let ups: Upstream[] = [];
  let pki: TestPki;
  let plane: LoopbackDataplane | undefined;
  let dp: Dataplane;
  let rec: Reconciler;
  let httpPort: number;
  let httpsPort: number;
  let snapshot: IngressSnapshot;
  let baseIngresses: IngressObject[];
  const ep = (i: number) => ({ address: '127.0.0.1', port: ups[i]?.port ?? 0 });
  const name = (r: { body: string }) => (JSON.parse(r.body) as { name: string }).name;
  const get = (host: string, path: string, extra: Partial<Parameters<typeof request>[0]> = {}) =>
    request({ port: httpPort, host, path, ...extra });

  beforeAll(async () => {
    ups = await Promise.all(['u1', 'u2', 'u3'].map(startUpstream));
    pki = makeTestPki();
    httpsPort = await freePort();
    baseIngresses = [
      ingress('main', {
        created: '2024-01-01T00:00:00Z',
        rules: [
          {
            host: 'app.test',
            paths: [
              ['/', 'Prefix', 's1'],
              ['/exact', 'Exact', 's2'],
              ['/api', 'Prefix', 's2'],
              ['/api/v2', 'Prefix', 's3'],
              ['/tie', 'Exact', 's2'],
              ['/tie', 'Prefix', 's3'],
            ],
          },
        ],
      }),
      ingress('wild', {
        created: '2024-01-02T00:00:00Z',
        rules: [{ host: '*.wild.test', paths: [['/', 'Prefix', 's2']] }],
        tls: [{ hosts: ['*.wild.test'], secretName: 'wild-tls' }],
      }),
      ingress('rw', {
        created: '2024-01-03T00:00:00Z',
        annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' },
        rules: [{ host: 'rw.test', paths: [['/something(/|$)(.*)', 'ImplementationSpecific', 's1']] }],
      }),
      ingress('allow', {
        created: '2024-01-04T00:00:00Z',
        annotations: { 'nginx.ingress.kubernetes.io/whitelist-source-range': '127.0.0.1/32' },
        rules: [{ host: 'allow.test', paths: [['/', 'Prefix', 's1']] }],
      }),
      ingress('deny', {
        created: '2024-01-05T00:00:00Z',
        annotations: { 'nginx.ingress.kubernetes.io/allowlist-source-range': '10.0.0.0/8, 192.0.2.0/24' },
        rules: [{ host: 'deny.test', paths: [['/', 'Prefix', 's1']] }],
      }),
      ingress('secure', {
        created: '2024-01-06T00:00:00Z',
        rules: [{ host: 'secure.test', paths: [['/', 'Prefix', 's2']] }],
        tls: [{ hosts: ['secure.test'], secretName: 'secure-tls' }],
      }),
      ingress('spread', {
        created: '2024-01-07T00:00:00Z',
        rules: [{ host: 'spread.test', paths: [['/', 'Prefix', 'spread']] }],
      }),
      ingress('other-class', {
        className: 'nginx',
        rules: [{ host: 'other.test', paths: [['/', 'Prefix', 's1']] }],
      }),
    ];
    snapshot = {
      ingressClasses: [CLASS],
      ingresses: baseIngresses,
      services: ['s1', 's2', 's3', 'spread', 'extra'].map((s) => service(NS, s)),
      endpointSlices: [
        ...endpointSlice(NS, 's1', [ep(0)]),
        ...endpointSlice(NS, 's2', [ep(1)]),
        ...endpointSlice(NS, 's3', [ep(2)]),
        ...endpointSlice(NS, 'spread', [ep(0), ep(1), ep(2)]),
        ...endpointSlice(NS, 'extra', [ep(2)]),
      ],
      secrets: [
        tlsSecret(NS, 'secure-tls', pki.leaf(['secure.test'])),
        tlsSecret(NS, 'wild-tls', pki.leaf(['*.wild.test'])),
      ],
    };
    plane = await startLoopbackDataplane(emptyRouteTable(), { name: 'dp', ingressHttpsPort: httpsPort });
    ({ dp, ingressPort: httpPort } = plane);
    rec = createReconciler({ dataplane: dp });
    const first = await rec.reconcile(snapshot);
    expect(first.applied.mode).toBe('reload'); // the empty start has no backend slots yet
    expect(first.issues).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await plane?.stop();
    await Promise.all(ups.map((u) => u.close()));
    pki?.cleanup();
  }, 30_000);

  it('routes by host and path: Exact and Prefix precedence, longest match wins', async () => {
    const cases: [string, string, string][] = [
      ['app.test', '/', 'u1'],
      ['app.test', '/exact', 'u2'],
      ['app.test', '/exact/', 'u1'], // Exact is literal; falls to Prefix "/"
      ['app.test', '/api', 'u2'],
      ['app.test', '/api/', 'u2'],
      ['app.test', '/api/v2/users', 'u3'],
      ['app.test', '/apix', 'u1'], // not a path-element prefix of /api
      ['app.test', '/tie', 'u2'], // Exact beats Prefix on a tie
      ['app.test', '/tie/more', 'u3'],
      ['APP.test:1234', '/api', 'u2'], // host is case-insensitive, port ignored
      ['app.test', '//api/./v2/../x', 'u2'], // normalised to /api/x before matching
      ['app.test', '/%61pi/v2', 'u3'], // %61 is "a"
    ];
    for (const [host, path, want] of cases) {
      const r = await get(host, path);
      expect([host, path, r.status, name(r)]).toEqual([host, path, 200, want]);
    }
  });

  it('matches one-label wildcards and answers 404 without a default backend', async () => {
    const tls = { ca: pki.caPem, servername: 'x.wild.test' };
    expect(name(await request({ port: httpsPort, host: 'x.wild.test', path: '/', tls }))).toBe('u2');
    expect((await get('x.wild.test', '/')).status).toBe(308); // its Ingress has TLS
    expect((await get('a.b.wild.test', '/')).status).toBe(404);
    expect((await get('wild.test', '/')).status).toBe(404);
    expect((await get('unknown.test', '/')).status).toBe(404);
    expect((await get('other.test', '/')).status).toBe(404); // another controller's class
  });

  it('rewrites with capture groups, case-insensitively, keeping the query', async () => {
    const a = await get('rw.test', '/something/new?x=1');
    expect(JSON.parse(a.body)).toMatchObject({ name: 'u1', url: '/new?x=1' });
    const b = await get('rw.test', '/SOMETHING');
    expect(JSON.parse(b.body)).toMatchObject({ name: 'u1', url: '/' });
    expect((await get('rw.test', '/other')).status).toBe(404);
  });

  it('applies allow-lists: 127.0.0.1/32 passes, 10.0.0.0/8 answers 403', async () => {
    expect((await get('allow.test', '/')).status).toBe(200);
    expect((await get('deny.test', '/')).status).toBe(403);
  });

  it('serves TLS by SNI with certificates from Secrets and redirects HTTP with 308', async () => {
    const tls = { ca: pki.caPem, servername: 'secure.test' };
    const s = await request({ port: httpsPort, host: 'secure.test', path: '/x', tls });
    expect([s.status, name(s)]).toEqual([200, 'u2']);
    expect(JSON.parse(s.body).headers['x-forwarded-proto']).toBe('https');
    const w = await request({
      port: httpsPort,
      host: 'a.wild.test',
      path: '/',
      tls: { ca: pki.caPem, servername: 'a.wild.test' },
    });
    expect(name(w)).toBe('u2');
    const r = await get('secure.test', '/x?y=1');
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://secure.test:${httpsPort}/x?y=1`);
    // A certificate for another name fails verification: SNI really selects.
    await expect(
      request({
        port: httpsPort,
        host: 'nope.test',
        path: '/',
        tls: { ca: pki.caPem, servername: 'nope.test' },
      }),
    ).rejects.toThrow();
  });

  it('adds X-Request-ID, X-Real-IP and X-Forwarded-* headers', async () => {
    const h = JSON.parse((await get('app.test', '/')).body).headers as Record<string, string>;
    expect(h['x-request-id']).toMatch(/^[0-9a-f-]{32,36}$/);
    expect(h['x-real-ip']).toBe('127.0.0.1');
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-host']).toBe('app.test');
    expect(h['x-forwarded-port']).toBe(String(httpPort));
    expect(h['x-forwarded-proto']).toBe('http');
    const kept = JSON.parse((await get('app.test', '/', { headers: { 'x-request-id': 'abc123' } })).body);
    expect(kept.headers['x-request-id']).toBe('abc123');
  });

  it('spreads requests over the endpoints of a Service', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const n = name(await get('spread.test', '/'));
      seen.set(n, (seen.get(n) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['u1', 'u2', 'u3']);
  });

  it('applies a default backend and a broken Ingress edit without a reload', async () => {
    const withDefault = baseIngresses.map((i) =>
      i.metadata?.name === 'main'
        ? { ...i, spec: { ...i.spec, defaultBackend: { service: { name: 's3', port: { number: 80 } } } } }
        : i,
    );
    const r1 = await rec.reconcile({ ...snapshot, ingresses: withDefault });
    expect(r1.applied.mode).toBe('runtime');
    expect(name(await get('unknown.test', '/'))).toBe('u3');
    // A bad regex in "rw" keeps its last good version and reports an error for an Event.
    const broken = withDefault.map((i) =>
      i.metadata?.name === 'rw'
        ? ingress('rw', {
            created: '2024-01-03T00:00:00Z',
            annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
            rules: [{ host: 'rw.test', paths: [['/(', 'ImplementationSpecific', 's1']] }],
          })
        : i,
    );
    const r2 = await rec.reconcile({ ...snapshot, ingresses: broken });
    expect(r2.issues.map((i) => i.message)).toEqual([
      expect.stringContaining('Ingress "default/rw": path "/(" is not a valid regular expression'),
    ]);
    expect(JSON.parse((await get('rw.test', '/something/ok')).body).url).toBe('/ok');
    expect((await rec.reconcile(snapshot)).applied.mode).toBe('runtime');
    expect((await get('unknown.test', '/')).status).toBe(404);
  });

  it('rejects an invalid configuration and keeps serving the last good one', async () => {
    // A certificate HAProxy cannot load: the reconciler's resolver would refuse it, so hand a table straight in.
    const bad = (await rec.reconcile(snapshot)).table;
    const table = {
      ...bad,
      certificates: [
        ...bad.certificates,
        {
          secret: 'default/broken',
          hosts: ['broken.test'],
          pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
        },
      ],
    };
    const r = await dp.apply(table);
    expect(r.mode).toBe('rejected');
    expect(dp.stats.rejected).toBe(1);
    expect(name(await get('app.test', '/api'))).toBe('u2');
    expect((await rec.reconcile(snapshot)).applied.mode).toBe('unchanged');
  });

  it('grows its slots with one seamless reload and keeps routing', async () => {
    const many = Array.from({ length: 12 }, (_, i) =>
      ingress(`many-${i}`, {
        created: '2024-03-01T00:00:00Z',
        rules: [{ host: `m${i}.test`, paths: [['/', 'Prefix', `m${i}`]] }],
      }),
    );
    const bigger = {
      ...snapshot,
      ingresses: [...baseIngresses, ...many],
      services: [...snapshot.services, ...many.map((_, i) => service(NS, `m${i}`))],
      endpointSlices: [
        ...snapshot.endpointSlices,
        ...many.flatMap((_, i) => endpointSlice(NS, `m${i}`, [ep(i % 3)])),
      ],
    };
    const r = await rec.reconcile(bigger);
    expect(r.applied).toMatchObject({ mode: 'reload', reason: 'backend slots grow from 8 to 32' });
    expect(name(await get('m4.test', '/'))).toBe('u2');
    expect(name(await get('app.test', '/api'))).toBe('u2');
    expect((await rec.reconcile(snapshot)).applied.mode).toBe('runtime');
    expect((await get('m4.test', '/')).status).toBe(404);
  });

  it('drops no request while endpoints change 100 times and the table 20 times', async () => {
    const total = 20_000;
    const concurrency = 8;
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    let sent = 0;
    let done = 0;
    const failures: string[] = [];
    const deadline = Date.now() + 90_000;
    const worker = async (): Promise<void> => {
      while (sent < total && Date.now() < deadline) {
        sent++;
        try {
          const r = await request({ port: httpPort, host: 'spread.test', path: `/load/${sent}`, agent });
          if (r.status !== 200) failures.push(`status ${r.status}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
        done++;
      }
    };
    const subsets = [[0], [0, 1], [1, 2], [2], [0, 1, 2], [1], [0, 2]];
    const modes = new Map<string, number>();
    const changer = async (): Promise<void> => {
      for (let i = 0; i < 100 && Date.now() < deadline; i++) {
        const subset = subsets[i % subsets.length] ?? [0];
        const editing = i % 5 === 4; // 20 table edits: add or remove an Ingress with its own Service
        const extra = ingress(`extra-${i}`, {
          created: '2024-02-01T00:00:00Z',
          rules: [
            {
              host: `extra${i}.test`,
              paths: [
                ['/', 'Prefix', 'extra'],
                [`/p${i}`, 'Exact', 's1'],
              ],
            },
          ],
        });
        const ingresses = editing && (i / 5) % 2 < 1 ? [...baseIngresses, extra] : baseIngresses;
        const slices = snapshot.endpointSlices.filter(
          (s) => s.metadata?.labels?.['kubernetes.io/service-name'] !== 'spread',
        );
        const result = await rec.reconcile({
          ...snapshot,
          ingresses,
          endpointSlices: [...slices, ...endpointSlice(NS, 'spread', subset.map(ep))],
        });
        const mode =
          result.applied.mode === 'reload' ? `reload: ${result.applied.reason}` : result.applied.mode;
        modes.set(mode, (modes.get(mode) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 40));
      }
    };
    const t0 = performance.now();
    await Promise.all([...Array.from({ length: concurrency }, worker), changer()]);
    const secs = (performance.now() - t0) / 1000;
    agent.destroy();
    console.log(
      `load: ${done} requests in ${secs.toFixed(1)} s, ${failures.length} failed; applies: ${JSON.stringify(Object.fromEntries(modes))}; data plane: ${JSON.stringify(dp.stats)}`,
    );
    expect(failures).toEqual([]);
    expect(done).toBeGreaterThan(1000);
    expect([...modes.keys()].filter((m) => m.startsWith('reload'))).toEqual([]);
  }, 120_000);
});
