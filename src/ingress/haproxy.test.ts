import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContains, tryParseCidr } from '../address/address.ts';

const parseCidr = (text: string) => tryParseCidr(text, { bareAddress: true });
import { buildRouteTable } from './build.ts';
import { fakeResolver, ing, OUR_CLASS } from '../../test/support/ingress-fixtures.ts';
import {
  MAPS,
  opCommands,
  planHaproxy,
  type HaproxyOptions,
  type HaproxyPlan,
  type HaproxyState,
  type RuntimeOp,
} from './haproxy.ts';
import { matchRequest, type RequestView } from './match.ts';
import { expandRewrite, stripPort } from './paths.ts';
import type { BackendResolver, Endpoint, IngressObject, RouteTable } from './types.ts';

const OPTS: HaproxyOptions = { dir: '/run/ironlb', httpBinds: ['0.0.0.0:80'], httpsBinds: ['0.0.0.0:443'] };

function resolverWith(eps: Record<string, Endpoint[]>, secrets: string[] = []): BackendResolver {
  return {
    endpoints: (ns, svc) => ({ endpoints: eps[`${ns}/${svc}`] ?? [{ address: '10.0.0.1', port: 8080 }] }),
    tls: (ns, name) =>
      secrets.includes(`${ns}/${name}`) ? { pem: `CERT ${name}\n\nKEY ${name}\n` } : { problem: 'not found' },
  };
}
const table = (
  ingresses: IngressObject[],
  eps: Record<string, Endpoint[]> = {},
  secrets: string[] = [],
): RouteTable =>
  buildRouteTable({ ingressClasses: [OUR_CLASS], ingresses, resolver: resolverWith(eps, secrets) });
const site = (svc: string, host = `${svc}.com`) =>
  ing(svc, { rules: [{ host, paths: [['/', 'Prefix', svc]] }] });
const e = (n: number): Endpoint => ({ address: `10.0.0.${n}`, port: 8080 });
const kinds = (ops: RuntimeOp[]) =>
  ops.map(
    (o) => `${o.op}${'file' in o ? ` ${o.file}` : ''}${'server' in o ? ` ${o.backend}/${o.server}` : ''}`,
  );

describe('planHaproxy: slots and runtime ops', () => {
  const first = planHaproxy(table([site('a'), site('b')], { 'default/a': [e(1), e(2)] }), OPTS);

  it('starts with a reload and headroom: 8 backend slots, 4 server slots', () => {
    expect(first.reload).toBe('initial configuration');
    expect([first.state.backendSlots, first.state.serverSlots]).toEqual([8, 4]);
    expect(first.state.backends.slice(0, 3)).toEqual(['default/a:80', 'default/b:80', null]);
    expect(first.state.servers[0]).toEqual(['10.0.0.1|8080', '10.0.0.2|8080', null, null]);
  });

  it('changes endpoints in place: a kept endpoint keeps its slot, no map changes', () => {
    const next = planHaproxy(table([site('a'), site('b')], { 'default/a': [e(2), e(3)] }), {
      ...OPTS,
      previous: first.state,
    });
    expect(next.reload).toBeUndefined();
    expect(next.state.servers[0]).toEqual(['10.0.0.3|8080', '10.0.0.2|8080', null, null]);
    expect(next.ops).toEqual([
      { op: 'setServer', backend: 'b0', server: 's0', address: '10.0.0.3', port: 8080 },
    ]);
  });

  it('disables servers after the maps, enables them before', () => {
    const next = planHaproxy(table([site('a'), site('c')], { 'default/a': [e(1)] }), {
      ...OPTS,
      previous: first.state,
    });
    expect(next.reload).toBeUndefined();
    expect(kinds(next.ops)).toEqual([
      'setServer b2/s0', // the new Service "c" in a slot that was free before
      `replaceMap ${MAPS.hosts}`,
      `replaceMap ${MAPS.paths}`,
      'disableServer b0/s1', // a lost an endpoint
      'disableServer b1/s0', // b is gone
    ]);
  });

  it('never reuses a slot freed in the same plan, so an old route cannot reach new pods', () => {
    const small = { ...OPTS, minBackendSlots: 2 };
    const s1 = planHaproxy(table([site('a')]), small);
    expect(s1.state.backendSlots).toBe(4); // 1 + headroom, rounded to a power of two
    const s2 = planHaproxy(table([site('a'), site('b'), site('c')]), { ...small, previous: s1.state });
    expect(s2.state.backends).toEqual(['default/a:80', 'default/b:80', 'default/c:80', null]);
    // b leaves and d arrives together: d takes slot 3, not b's slot 1.
    const s3 = planHaproxy(table([site('a'), site('c'), site('d')]), { ...small, previous: s2.state });
    expect(s3.reload).toBeUndefined();
    expect(s3.state.backends).toEqual(['default/a:80', null, 'default/c:80', 'default/d:80']);
    // next time slot 1 is free again
    const s4 = planHaproxy(table([site('a'), site('c'), site('d'), site('e')]), {
      ...small,
      previous: s3.state,
    });
    expect(s4.state.backends).toEqual(['default/a:80', 'default/e:80', 'default/c:80', 'default/d:80']);
  });

  it('reloads when slots run out, when endpoints outgrow the server slots, and when listeners change', () => {
    const many = Array.from({ length: 9 }, (_, i) => site(`s${i}`));
    expect(planHaproxy(table(many), { ...OPTS, previous: first.state }).reload).toBe(
      'backend slots grow from 8 to 16',
    );
    const wide = table([site('a')], { 'default/a': [e(1), e(2), e(3), e(4), e(5)] });
    expect(planHaproxy(wide, { ...OPTS, previous: first.state }).reload).toBe(
      'server slots grow from 4 to 8',
    );
    const moved = planHaproxy(table([site('a'), site('b')], { 'default/a': [e(1), e(2)] }), {
      ...OPTS,
      httpBinds: ['0.0.0.0:8080'],
      previous: first.state,
    });
    expect(moved.reload).toBe('listeners or limits changed');
  });

  it('reports the public ports in X-Forwarded-Port when told them (a reload to change)', () => {
    const cfg = (o: HaproxyOptions) => planHaproxy(table([site('a')]), o).files['haproxy.cfg'] ?? '';
    expect(cfg(OPTS)).toContain('set-header X-Forwarded-Port %[dst_port]');
    const behindService = {
      ...OPTS,
      httpBinds: ['0.0.0.0:8080'],
      httpsBinds: ['0.0.0.0:8443'],
      publicHttpPort: 80,
    };
    const text = cfg(behindService);
    expect(text).not.toContain('%[dst_port]');
    expect(text).toContain('set-header X-Forwarded-Port 443 if { ssl_fc }');
    expect(text).toContain('set-header X-Forwarded-Port 80 if !{ ssl_fc }');
    const before = planHaproxy(table([site('a')]), { ...behindService, publicHttpPort: 8000 });
    expect(planHaproxy(table([site('a')]), { ...behindService, previous: before.state }).reload).toBe(
      'listeners or limits changed',
    );
  });

  it('plans nothing when nothing changed', () => {
    const same = planHaproxy(table([site('a'), site('b')], { 'default/a': [e(1), e(2)] }), {
      ...OPTS,
      previous: first.state,
    });
    expect([same.reload, same.ops]).toEqual([undefined, []]);
  });
});

describe('planHaproxy: certificates and auxiliary maps', () => {
  const tlsSite = (hosts: string[]) =>
    ing('s', {
      rules: [{ host: 'a.com', paths: [['/', 'Prefix', 's']] }],
      tls: [{ hosts, secretName: 'cert' }],
    });
  const start = planHaproxy(table([site('x')]), OPTS);

  it('adds a certificate (payload without blank lines) before the routes that redirect to it', () => {
    const p = planHaproxy(table([site('x'), tlsSite(['a.com'])], {}, ['default/cert']), {
      ...OPTS,
      previous: start.state,
    });
    expect(kinds(p.ops)).toEqual([
      'newCert certs/default_cert.pem',
      'addCrtListEntry certs/default_cert.pem',
      'setServer b1/s0',
      `replaceMap ${MAPS.hosts}`,
      `replaceMap ${MAPS.paths}`,
    ]);
    expect(p.files['certs/default_cert.pem']).toBe('CERT cert\nKEY cert\n');
    expect(p.files['certs/list']).toBe('certs/default_cert.pem a.com\n');
    // then the SNI names change, then it goes away
    const q = planHaproxy(table([site('x'), tlsSite(['a.com', 'b.com'])], {}, ['default/cert']), {
      ...OPTS,
      previous: p.state,
    });
    expect(kinds(q.ops)).toEqual([
      'delCrtListEntry certs/default_cert.pem',
      'addCrtListEntry certs/default_cert.pem',
    ]);
    const r = planHaproxy(table([site('x'), tlsSite(['a.com'])], {}, []), { ...OPTS, previous: q.state });
    expect(kinds(r.ops)).toEqual([
      `replaceMap ${MAPS.paths}`,
      'delCrtListEntry certs/default_cert.pem',
      'delCert certs/default_cert.pem',
    ]);
  });

  it('publishes allow-list entries as a union before switching routes, then the final map', () => {
    const allowed = (cidrs: string) =>
      ing('x', {
        annotations: { 'nginx.ingress.kubernetes.io/whitelist-source-range': cidrs },
        rules: [{ host: 'x.com', paths: [['/', 'Prefix', 'x']] }],
      });
    const p1 = planHaproxy(table([allowed('10.0.0.0/8')]), OPTS);
    const p2 = planHaproxy(table([allowed('10.1.0.0/16')]), { ...OPTS, previous: p1.state });
    expect(kinds(p2.ops)).toEqual([
      `replaceMap ${MAPS.allow}`,
      `replaceMap ${MAPS.paths}`,
      `replaceMap ${MAPS.allow}`,
    ]);
    const union = p2.ops[0] as { content: string };
    // 10.1.2.3 hits the /16 entry, which must still admit the old allow-list (10.0.0.0/8) during the switch
    expect(union.content).toMatch(
      /^10\.0\.0\.0\/8 \|a[0-9a-f]+\|\n10\.1\.0\.0\/16 \|a[0-9a-f]+\|a[0-9a-f]+\|\n$/,
    );
  });

  it('turns ops into runtime-API commands', () => {
    expect(
      opCommands({ op: 'setServer', backend: 'b1', server: 's2', address: '10.0.0.9', port: 80 }),
    ).toEqual(['set server b1/s2 addr 10.0.0.9 port 80', 'set server b1/s2 state ready']);
    expect(opCommands({ op: 'disableServer', backend: 'b1', server: 's2' })).toEqual([
      'set server b1/s2 state maint',
    ]);
    expect(opCommands({ op: 'replaceMap', file: 'maps/x.map', content: 'k v\n' }, 7)).toEqual([
      'add map @7 maps/x.map <<\nk v\n\n',
      'commit map @7 maps/x.map',
    ]);
    expect(opCommands({ op: 'replaceMap', file: 'maps/x.map', content: '' }, 7)).toEqual([
      'commit map @7 maps/x.map',
    ]);
    expect(opCommands({ op: 'addCrtListEntry', file: 'certs/a.pem', hosts: ['a.com', '*.b.com'] })).toEqual([
      'add ssl crt-list certs/list <<\ncerts/a.pem a.com *.b.com\n\n',
    ]);
  });
});

// --- The rendered maps, evaluated the way HAProxy evaluates them, must decide like matchRequest. ---

function mapEntries(text: string | undefined): [string, string][] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const sp = l.indexOf(' ');
      return [l.slice(0, sp), l.slice(sp + 1)];
    });
}

/** simulate follows the frontend rules of haproxy.cfg over the rendered map files. */
function simulate(plan: HaproxyPlan, state: HaproxyState, req: Required<RequestView>): string {
  const f = plan.files;
  const host = stripPort(req.host);
  const hosts = new Map(mapEntries(f[MAPS.hosts]));
  const vhost =
    hosts.get(host) ?? mapEntries(f[MAPS.wildcards]).find(([re]) => new RegExp(re).test(host))?.[1] ?? '*';
  const key = vhost + req.path;
  const route =
    new Map(mapEntries(f[MAPS.exact])).get(key) ??
    mapEntries(f[MAPS.paths]).find(([re]) => new RegExp(re).test(key))?.[1];
  if (route === undefined) return 'notFound';
  const [slot = '', redirect, allow = '-', rw = '-'] = route.split(':');
  if (redirect === '1' && !req.https) return 'redirect';
  if (allow !== '-') {
    const client = parseCidr(req.clientAddress);
    let best: [number, string] | undefined;
    for (const [c, v] of mapEntries(f[MAPS.allow])) {
      const net = parseCidr(c);
      if (net && client && cidrContains(net, client) && (!best || net.prefixLength > best[0]))
        best = [net.prefixLength, v];
    }
    if (!/^(?<id>[^|]+)\|(.*\|)?\k<id>\|/.test(allow + (best?.[1] ?? '|'))) return 'forbidden';
  }
  let path = req.path;
  const spec = new Map(mapEntries(f[MAPS.rewrite])).get(rw);
  if (spec !== undefined) {
    const sp = spec.indexOf(' ');
    const m = new RegExp(spec.slice(sp + 1).replace(/^\(\?i\)/, ''), 'i').exec(path);
    if (m) path = expandRewrite(spec.slice(0, sp), m);
  }
  return `proxy ${state.backends[Number(slot.slice(1))]} ${path}`;
}

function decide(t: RouteTable, req: Required<RequestView>): string {
  const m = matchRequest(t, req);
  return m.action === 'proxy' ? `proxy ${m.backend} ${m.upstreamPath}` : m.action;
}

describe('rendered maps decide exactly like matchRequest', () => {
  const rich = buildRouteTable(
    {
      ingressClasses: [OUR_CLASS],
      resolver: fakeResolver({ secrets: ['default/tls'] }),
      ingresses: [
        ing('main', {
          created: '2024-01-01T00:00:00Z',
          rules: [
            {
              host: 'app.com',
              paths: [
                ['/', 'Prefix', 'root'],
                ['/api', 'Prefix', 'api'],
                ['/api/v1', 'Exact', 'v1'],
                ['/x.y', 'Prefix', 'dot'],
              ],
            },
            {
              host: '*.w.com',
              paths: [
                ['/', 'Prefix', 'wild'],
                ['/api', 'Exact', 'wild-api'],
              ],
            },
          ],
          tls: [{ hosts: ['app.com'], secretName: 'tls' }],
        }),
        ing('re', {
          created: '2024-01-02T00:00:00Z',
          annotations: {
            'nginx.ingress.kubernetes.io/rewrite-target': '/$2',
            'nginx.ingress.kubernetes.io/whitelist-source-range': '10.0.0.0/8,2001:db8::/32',
          },
          rules: [{ host: 'app.com', paths: [['/api/v[0-9]+(/|$)(.*)', 'ImplementationSpecific', 're']] }],
        }),
        ing('narrow', {
          created: '2024-01-03T00:00:00Z',
          annotations: { 'nginx.ingress.kubernetes.io/allowlist-source-range': '10.1.0.0/16' },
          rules: [{ host: 'n.com', paths: [['/', 'Prefix', 'narrow']] }],
        }),
        ing('any', {
          created: '2024-01-04T00:00:00Z',
          rules: [{ paths: [['/anywhere', 'Prefix', 'any']] }],
          defaultBackend: 'fallback',
        }),
      ],
    },
    {},
  );
  const plan = planHaproxy(rich, OPTS);
  const segment = fc.constantFrom('', 'api', 'API', 'v1', 'v22', 'x.y', 'xzy', 'anywhere', 'q');
  const request = fc.record({
    host: fc.constantFrom('app.com', 'APP.com:80', 'a.w.com', 'a.b.w.com', 'w.com', 'n.com', 'other.org', ''),
    path: fc.array(segment, { minLength: 0, maxLength: 4 }).map((s) => `/${s.join('/')}`),
    https: fc.boolean(),
    clientAddress: fc.constantFrom('10.1.2.3', '10.2.0.1', '192.0.2.1', '2001:db8::7', '2001:db9::7'),
  });
  it('for random requests', () => {
    expect(rich.issues).toEqual([]);
    const seen = new Set<string>();
    fc.assert(
      fc.property(request, (req) => {
        const d = decide(rich, req);
        seen.add(d.startsWith('proxy default/re:80') ? 'rewrite' : (d.split(' ')[0] ?? ''));
        expect(simulate(plan, plan.state, req)).toBe(d);
      }),
      { numRuns: 2000 },
    );
    expect([...seen].sort()).toEqual(['forbidden', 'proxy', 'redirect', 'rewrite']);
  });
});
