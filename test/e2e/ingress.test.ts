// The ingress end to end: IronLB gives the ingress's Service (externalTrafficPolicy Local) an L2 address, the
// speakers announce it from the nodes that run an ingress pod, and the LAN client (192.0.2.100) reaches echo
// pods through HAProxy driven by ingress/main.ts, as deploy/ installs it (Deployment ironlb-system/ironlb-ingress,
// two replicas). Every check is made from the client's namespace.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Lab } from '../harness/netlab.ts';
import { waitFor } from '../harness/exec.ts';
import { mergePatch, waitForEndpoints } from '../harness/kube.ts';
import { INGRESS_LAB, deployIngress } from '../lab/deploy.ts';
import type { PodView } from '../lab/install.ts';
import { ensureIronLB } from './support/ironlb.ts';
import { makeTestPki, type TestPki } from '../support/ingress-testkit.ts';
import {
  curlFrom,
  curlMany,
  containerPids,
  haproxyPids,
  ingressAddresses,
  ingressBody,
  ingressLogs,
  metricSum,
  metricsOf,
  podV4,
  processExists,
  serviceAddresses,
  type Answer,
} from './support/ingress.ts';

const lab = Lab.attach(inject('labDir'));
const NS = 'ing-e2e';
const GROUPS = ['alpha', 'beta', 'gamma'] as const;
type Group = (typeof GROUPS)[number];
/** groupOf tells which Service group answered: pods echo-0..9 are alpha, beta, gamma in turn. */
const groupOf = (a: Answer): Group | string => {
  const pod = a.json?.pod;
  if (!pod) return `status ${a.status}`;
  return GROUPS[Number(pod.replace('echo-', '')) % 3] ?? pod;
};

describe('ingress (HAProxy driven by ingress/main.ts) through its IronLB address', () => {
  let ingressPods: PodView[] = [];
  let ip = '';
  let pki: TestPki | undefined;
  const caFile = join(lab.state.dir, 'ingress-e2e-ca.pem');
  const get = (host: string, path = '/', headers?: string[]) =>
    curlFrom(lab, ip, host, path, headers ? { headers } : {});
  const getTls = (host: string, path = '/') => curlFrom(lab, ip, host, path, { tls: { caFile } });
  const create = (body: Parameters<typeof ingressBody>) =>
    lab.api.networking.createNamespacedIngress({ namespace: NS, body: ingressBody(...body) });
  /** until waits for a request to give the expected group (routes arrive a little after the API write). */
  const until = async (what: string, fn: () => Promise<Answer>, want: (a: Answer) => boolean) => {
    let last: Answer | undefined;
    try {
      return await waitFor(
        what,
        async () => {
          last = await fn();
          return want(last) ? last : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    } catch (e) {
      throw new Error(
        `${(e as Error).message}; last answer: ${last?.status} ${last?.body.slice(0, 300)}\n${await ingressLogs(lab)}`,
        { cause: e },
      );
    }
  };

  beforeAll(async () => {
    await ensureIronLB(lab);
    // ten echo pods over the three nodes; pod i is in group GROUPS[i % 3]
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        lab.addPod({
          namespace: NS,
          name: `echo-${i}`,
          node: (Math.floor(i / 3) % 3) + 1,
          labels: { app: 'echo', group: GROUPS[i % 3] ?? 'alpha' },
          port: 8080,
        }),
      ),
    );
    const svc = (name: string, selector: Record<string, string>) =>
      lab.api.core.createNamespacedService({
        namespace: NS,
        body: {
          metadata: { name, namespace: NS },
          spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
        },
      });
    await svc('spread', { app: 'echo' });
    for (const g of GROUPS) await svc(g, { group: g });
    await waitForEndpoints(lab.api, NS, 'spread', 10);
    for (const g of GROUPS) await waitForEndpoints(lab.api, NS, g, g === 'alpha' ? 4 : 3);

    pki = makeTestPki();
    writeFileSync(caFile, pki.caPem);
    const pair = pki.leaf(['secure.ing.example', '*.secure.ing.example']);
    await lab.api.core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: 'secure-tls', namespace: NS },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': Buffer.from(pair.cert).toString('base64'),
          'tls.key': Buffer.from(pair.key).toString('base64'),
        },
      },
    });

    const dep = await deployIngress(lab);
    ingressPods = dep.pods;
    if (!dep.address) throw new Error(`the ingress Service got no address\n${await ingressLogs(lab)}`);
    ip = dep.address;

    await create([
      'hosts',
      NS,
      {
        rules: [
          { host: 'plain.ing.example', paths: [['/', 'Prefix', 'alpha']] },
          { host: '*.wild.ing.example', paths: [['/', 'Prefix', 'beta']] },
        ],
      },
    ]);
    await create([
      'secure',
      NS,
      {
        rules: [
          { host: 'secure.ing.example', paths: [['/', 'Prefix', 'gamma']] },
          { host: '*.secure.ing.example', paths: [['/', 'Prefix', 'alpha']] },
        ],
        tls: [{ hosts: ['secure.ing.example', '*.secure.ing.example'], secretName: 'secure-tls' }],
      },
    ]);
    // no class: served because IngressClass "ironlb" is the default class
    await create([
      'spread',
      NS,
      { className: null, rules: [{ host: 'spread.ing.example', paths: [['/', 'Prefix', 'spread']] }] },
    ]);
    await create([
      'paths',
      NS,
      {
        rules: [
          {
            host: 'paths.ing.example',
            paths: [
              ['/foo', 'Exact', 'alpha'],
              ['/foo', 'Prefix', 'beta'],
              ['/foo/bar', 'Prefix', 'gamma'],
              ['/impl', 'ImplementationSpecific', 'alpha'],
            ],
          },
        ],
      },
    ]);
    await create([
      'paths-regex',
      NS,
      {
        annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
        rules: [
          {
            host: 'paths.ing.example',
            paths: [
              ['/foo/b[a-z]r/deep', 'ImplementationSpecific', 'alpha'],
              ['/re/[0-9]+$', 'ImplementationSpecific', 'gamma'],
            ],
          },
        ],
      },
    ]);
    await create([
      'rewrite',
      NS,
      {
        annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' },
        rules: [
          {
            host: 'rewrite.ing.example',
            paths: [['/something(/|$)(.*)', 'ImplementationSpecific', 'alpha']],
          },
        ],
      },
    ]);
    await create([
      'allow',
      NS,
      {
        annotations: { 'nginx.ingress.kubernetes.io/whitelist-source-range': '192.0.2.100/32' },
        rules: [{ host: 'allow.ing.example', paths: [['/', 'Prefix', 'beta']] }],
      },
    ]);
    await create([
      'deny',
      NS,
      {
        annotations: { 'nginx.ingress.kubernetes.io/allowlist-source-range': '203.0.113.0/24, 10.0.0.0/8' },
        rules: [{ host: 'deny.ing.example', paths: [['/', 'Prefix', 'beta']] }],
      },
    ]);
    await until(
      'the first routes',
      () => get('plain.ing.example'),
      (a) => groupOf(a) === 'alpha',
    );
  });

  afterAll(async () => {
    await lab.api.networking.deleteCollectionNamespacedIngress({ namespace: NS }).catch(() => undefined);
    for (const p of lab.state.pods.filter((x) => x.namespace === NS))
      await lab.removePod(p).catch(() => undefined);
    for (const s of ['spread', ...GROUPS])
      await lab.api.core.deleteNamespacedService({ name: s, namespace: NS }).catch(() => undefined);
    await lab.api.core.deleteNamespacedSecret({ name: 'secure-tls', namespace: NS }).catch(() => undefined);
    pki?.cleanup();
    rmSync(caFile, { force: true });
  });

  it('writes the ingress Service address into the status of every served Ingress', async () => {
    const svcAddrs = await serviceAddresses(lab, INGRESS_LAB.namespace, INGRESS_LAB.service);
    expect(svcAddrs).toContain(ip);
    for (const name of ['hosts', 'secure', 'spread', 'paths', 'paths-regex', 'rewrite', 'allow', 'deny']) {
      const got = await waitFor(
        `status of Ingress "${NS}/${name}"`,
        async () => {
          const a = await ingressAddresses(lab, NS, name);
          return a.length > 0 ? a : undefined;
        },
        { timeoutMs: 30_000 },
      );
      expect([name, got]).toEqual([name, svcAddrs]);
    }
    // one replica holds the Lease; it is one of the ingress pods
    const lease = await lab.api.coordination.readNamespacedLease({
      name: 'ironlb-ingress',
      namespace: INGRESS_LAB.namespace,
    });
    expect(ingressPods.map((p) => p.name)).toContain(lease.spec?.holderIdentity);
  });

  it('routes exact hosts and one-label wildcards over HTTP', async () => {
    expect(groupOf(await get('plain.ing.example'))).toBe('alpha');
    expect(groupOf(await get('PLAIN.ing.example:80', '/x'))).toBe('alpha');
    expect(groupOf(await get('a.wild.ing.example'))).toBe('beta');
    expect(groupOf(await get('other.wild.ing.example', '/deep/path'))).toBe('beta');
    expect((await get('a.b.wild.ing.example')).status).toBe(404); // one label only
    expect((await get('wild.ing.example')).status).toBe(404);
    expect((await get('nobody.ing.example')).status).toBe(404);
  });

  it('serves TLS by SNI with the Secret certificate (verified against the test CA), exact and wildcard', async () => {
    const s = await getTls('secure.ing.example', '/x');
    expect([s.status, groupOf(s)]).toEqual([200, 'gamma']);
    expect(s.json?.headers['x-forwarded-proto']).toBe('https');
    expect(s.json?.headers['x-forwarded-port']).toBe('443'); // the Service port, not HAProxy's 8443
    const w = await getTls('api.secure.ing.example');
    expect([w.status, groupOf(w)]).toEqual([200, 'alpha']);
    // a host without a certificate gets the default self-signed one: verification fails (curl exit 60)
    const other = await curlFrom(lab, ip, 'plain.ing.example', '/', { tls: { caFile } });
    expect(other.status).toBe(0);
    expect(other.body).toMatch(/curl exit 60/);
  });

  it('redirects plain HTTP to https with 308 for TLS hosts, keeping path and query', async () => {
    const r = await get('secure.ing.example', '/x?y=1');
    expect(r.status).toBe(308);
    expect(r.location).toBe('https://secure.ing.example/x?y=1');
    const w = await get('api.secure.ing.example', '/');
    expect([w.status, w.location]).toEqual([308, 'https://api.secure.ing.example/']);
  });

  it('spreads 100 requests over the 10 pods of a Service', async () => {
    const bodies = await curlMany(lab, ip, 'spread.ing.example', 100);
    expect(bodies.filter((b) => b === undefined)).toEqual([]);
    const counts = new Map<string, number>();
    for (const b of bodies) if (b) counts.set(b.pod, (counts.get(b.pod) ?? 0) + 1);
    expect(bodies.length).toBe(100);
    expect(counts.size).toBe(10);
    for (const [pod, n] of counts) {
      expect([pod, n >= 3 && n <= 25]).toEqual([pod, true]);
    }
  });

  it('follows Exact / Prefix / ImplementationSpecific precedence', async () => {
    const cases: [string, Group | 'status 404'][] = [
      ['/foo', 'alpha'], // Exact beats Prefix on a tie
      ['/foo/', 'beta'], // Exact is literal
      ['/foo/x', 'beta'],
      ['/foo/bar', 'gamma'], // longest Prefix wins
      ['/foo/bar/', 'gamma'],
      ['/foo/barx', 'beta'], // Prefix matches whole path elements
      ['/foo/bar/deep', 'alpha'], // a longer regex beats a shorter Prefix
      ['/FOO/BAR/DEEP', 'alpha'], // regexes match case-insensitively
      ['/foo/bar/dee', 'gamma'],
      ['/foobar', 'status 404'],
      ['/Foo', 'status 404'], // Prefix and Exact are case-sensitive
      ['/impl', 'alpha'], // ImplementationSpecific without regex is a Prefix
      ['/impl/x', 'alpha'],
      ['/implx', 'status 404'],
      ['/re/123', 'gamma'],
      ['/re/12a', 'status 404'],
    ];
    const got: [string, string][] = [];
    for (const [path] of cases) got.push([path, groupOf(await get('paths.ing.example', path))]);
    expect(got).toEqual(cases);
  });

  it('rewrites the path with capture groups, keeping the query', async () => {
    const a = await get('rewrite.ing.example', '/something/new?x=1');
    expect([groupOf(a), a.json?.path]).toEqual(['alpha', '/new?x=1']);
    const b = await get('rewrite.ing.example', '/SOMETHING');
    expect([groupOf(b), b.json?.path]).toEqual(['alpha', '/']);
    expect((await get('rewrite.ing.example', '/other')).status).toBe(404);
  });

  it('applies allow-lists to the real client address (externalTrafficPolicy Local)', async () => {
    const ok = await get('allow.ing.example', '/', ['X-Forwarded-For: 198.51.100.1']);
    expect([ok.status, groupOf(ok)]).toEqual([200, 'beta']);
    expect(ok.json?.headers['x-real-ip']).toBe('192.0.2.100');
    expect(ok.json?.headers['x-forwarded-for']).toBe('192.0.2.100'); // replaced, not appended
    expect(ok.json?.headers['x-forwarded-host']).toBe('allow.ing.example');
    expect(ok.json?.headers['x-forwarded-port']).toBe('80');
    expect(ok.json?.headers['x-forwarded-proto']).toBe('http');
    expect(ok.json?.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const denied = await get('deny.ing.example', '/');
    expect(denied.status).toBe(403);
  });

  it('sends requests no rule matches to the defaultBackend, and answers 404 again once it is gone', async () => {
    expect((await get('nobody.ing.example', '/x')).status).toBe(404);
    await create(['fallback', NS, { defaultBackend: 'gamma' }]);
    try {
      const a = await until(
        'the default backend',
        () => get('nobody.ing.example', '/x'),
        (r) => groupOf(r) === 'gamma',
      );
      expect(a.json?.path).toBe('/x');
      // a host with rules but no matching path also goes to the default backend
      expect(groupOf(await get('paths.ing.example', '/foobar'))).toBe('gamma');
      // rules still win
      expect(groupOf(await get('plain.ing.example'))).toBe('alpha');
    } finally {
      await lab.api.networking.deleteNamespacedIngress({ name: 'fallback', namespace: NS });
    }
    await until(
      '404 without a default backend',
      () => get('nobody.ing.example', '/x'),
      (r) => r.status === 404,
    );
  });

  it('never serves nor writes the status of an Ingress of another class', async () => {
    await create([
      'foreign',
      NS,
      { className: 'other-lb', rules: [{ host: 'foreign.ing.example', paths: [['/', 'Prefix', 'alpha']] }] },
    ]);
    // another controller's status on it stays untouched
    await lab.api.networking.patchNamespacedIngressStatus(
      {
        name: 'foreign',
        namespace: NS,
        body: { status: { loadBalancer: { ingress: [{ ip: '203.0.113.77' }] } } },
      },
      mergePatch,
    );
    await create([
      'foreign-unset',
      NS,
      { className: 'other-lb', rules: [{ host: 'foreign2.ing.example', paths: [['/', 'Prefix', 'alpha']] }] },
    ]);
    // an Ingress of ours created after them: once it has its status, the controller has seen the others
    await create([
      'after-foreign',
      NS,
      { rules: [{ host: 'after.ing.example', paths: [['/', 'Prefix', 'alpha']] }] },
    ]);
    await waitFor(
      'status of the Ingress created after',
      async () => (await ingressAddresses(lab, NS, 'after-foreign')).length > 0,
    );
    await until(
      'the later Ingress routed',
      () => get('after.ing.example'),
      (a) => groupOf(a) === 'alpha',
    );
    expect(await ingressAddresses(lab, NS, 'foreign')).toEqual(['203.0.113.77']);
    expect(await ingressAddresses(lab, NS, 'foreign-unset')).toEqual([]);
    expect((await get('foreign.ing.example')).status).toBe(404);
    expect((await get('foreign2.ing.example')).status).toBe(404);
  });

  it('clears the status of an Ingress that moves to another class', async () => {
    await create([
      'leaving',
      NS,
      { rules: [{ host: 'leaving.ing.example', paths: [['/', 'Prefix', 'alpha']] }] },
    ]);
    await waitFor('status of "leaving"', async () =>
      (await ingressAddresses(lab, NS, 'leaving')).includes(ip),
    );
    await lab.api.networking.patchNamespacedIngress(
      { name: 'leaving', namespace: NS, body: { spec: { ingressClassName: 'other-lb' } } },
      mergePatch,
    );
    await waitFor(
      'status of "leaving" cleared',
      async () => (await ingressAddresses(lab, NS, 'leaving')).length === 0,
    );
    await until(
      '"leaving" no longer routed',
      () => get('leaving.ing.example'),
      (a) => a.status === 404,
    );
  });

  it('reports a bad Ingress with an Event and keeps serving the others (and a broken edit keeps its last good version)', async () => {
    await create([
      'bad',
      NS,
      {
        annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' },
        rules: [{ host: 'bad.ing.example', paths: [['/(unclosed', 'ImplementationSpecific', 'alpha']] }],
      },
    ]);
    const events = async (name: string) =>
      (
        await lab.api.core.listNamespacedEvent({
          namespace: NS,
          fieldSelector: `involvedObject.name=${name}`,
        })
      ).items.filter((e) => e.reason === 'InvalidIngress' && e.type === 'Warning');
    const ev = await waitFor('an InvalidIngress Event on "bad"', async () => (await events('bad'))[0]);
    expect(ev.message).toMatch(/\/\(unclosed/);
    expect(ev.message).toMatch(/not served/);
    expect(ev.involvedObject.kind).toBe('Ingress');
    expect(ev.source?.component ?? ev.reportingComponent).toBe('ironlb-ingress');
    expect((await get('bad.ing.example', '/x')).status).toBe(404);
    expect(groupOf(await get('plain.ing.example'))).toBe('alpha');
    expect(groupOf(await get('paths.ing.example', '/foo/bar'))).toBe('gamma');

    // break "rewrite" (a valid Ingress): it keeps serving its last good version
    await lab.api.networking.patchNamespacedIngress(
      {
        name: 'rewrite',
        namespace: NS,
        body: { metadata: { annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': 'no-slash' } } },
      },
      mergePatch,
    );
    const ev2 = await waitFor(
      'an InvalidIngress Event on "rewrite"',
      async () => (await events('rewrite'))[0],
    );
    expect(ev2.message).toMatch(/last good version/);
    const a = await get('rewrite.ing.example', '/something/new?x=1');
    expect([groupOf(a), a.json?.path]).toEqual(['alpha', '/new?x=1']);
  });

  it('exports metrics: reconciles, applies by mode, issues, HAProxy requests; /readyz answers', async () => {
    const all = await Promise.all(ingressPods.map((p) => metricsOf(lab, p)));
    for (const m of all) {
      expect(metricSum(m, 'ironlb_ingress_reconciles_total', { result: 'ok' })).toBeGreaterThan(0);
      expect(metricSum(m, 'ironlb_ingress_config_applies_total', { mode: 'start' })).toBeGreaterThanOrEqual(
        1,
      );
      expect(metricSum(m, 'ironlb_ingress_config_applies_total', { mode: 'runtime' })).toBeGreaterThan(0);
      expect(metricSum(m, 'ironlb_ingress_issues', { reason: 'InvalidIngress' })).toBeGreaterThan(0);
      expect(metricSum(m, 'ironlb_ingress_dataplane_up')).toBe(1);
    }
    expect(all.reduce((n, m) => n + metricSum(m, 'ironlb_ingress_is_leader'), 0)).toBe(1);
    expect(all.reduce((n, m) => n + metricSum(m, 'ironlb_ingress_requests_total'), 0)).toBeGreaterThan(100);
    expect(
      all.reduce((n, m) => n + metricSum(m, 'ironlb_ingress_status_writes_total', { result: 'ok' }), 0),
    ).toBeGreaterThan(0);
    for (const p of ingressPods) {
      const r = await lab.exec(
        'client',
        [
          'curl',
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          `http://${podV4(p)}:${INGRESS_LAB.metricsPort}/readyz`,
        ],
        { check: false },
      );
      expect([p.name, r.stdout]).toEqual([p.name, '200']);
      // the debugging view names certificates but never carries their keys
      const table = await lab.exec(
        'client',
        ['curl', '-s', '-m', '5', `http://${podV4(p)}:${INGRESS_LAB.metricsPort}/debug/table`],
        { check: false },
      );
      expect(table.stdout).toContain(`${NS}/secure-tls`);
      expect(table.stdout).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    }
  });

  it('starts a new HAProxy when it dies, and traffic comes back', async () => {
    const before = await Promise.all(ingressPods.map((p) => haproxyPids(lab, p)));
    for (const pids of before) expect(pids.length).toBeGreaterThan(0);
    for (const pids of before) for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor(
      'new HAProxy processes in every ingress pod',
      async () => {
        const now = await Promise.all(ingressPods.map((p) => haproxyPids(lab, p)));
        return now.every((pids, i) => {
          const live = pids.filter(processExists);
          return live.length > 0 && live.every((pid) => !(before[i] ?? []).includes(pid));
        });
      },
      { timeoutMs: 30_000 },
    );
    await until(
      'traffic after the restart',
      () => get('plain.ing.example'),
      (a) => groupOf(a) === 'alpha',
    );
    const s = await getTls('secure.ing.example');
    expect([s.status, groupOf(s)]).toEqual([200, 'gamma']);
    const all = await Promise.all(ingressPods.map((p) => metricsOf(lab, p)));
    for (const m of all)
      expect(metricSum(m, 'ironlb_ingress_dataplane_restarts_total')).toBeGreaterThanOrEqual(1);
  });

  it('stops cleanly on SIGTERM: HAProxy goes too, the Lease is released and taken again', async () => {
    const lease = await lab.api.coordination.readNamespacedLease({
      name: 'ironlb-ingress',
      namespace: INGRESS_LAB.namespace,
    });
    const leader = ingressPods.find((p) => p.name === lease.spec?.holderIdentity);
    expect(leader).toBeDefined();
    if (!leader) return;
    const other = ingressPods.find((p) => p !== leader);
    const haproxy = await haproxyPids(lab, leader);
    expect(haproxy.length).toBeGreaterThan(0);
    const [main] = await containerPids(lab, leader, 'ingress');
    expect(main).toBeTypeOf('number');
    // SIGTERM to the container's process through the node's containerd (the kubelet restarts it afterwards)
    const id = leader.containers.get('ingress')?.id ?? '';
    await lab.ctr(leader.node, ['tasks', 'kill', '-s', 'SIGTERM', id]);
    await waitFor('the leader process to exit', () => !processExists(main ?? -1), {
      timeoutMs: 20_000,
    });
    expect(haproxy.filter(processExists)).toEqual([]);
    // The stopping leader releases the Lease (holder "", one-second duration); whichever candidate asks next takes
    // it: the other replica, or the killed container once the kubelet has restarted it in the same pod (same
    // identity). Either is a new acquisition, counted in leaseTransitions; who won is printed.
    const transitions = lease.spec?.leaseTransitions ?? 0;
    let holder = '';
    await waitFor(
      'the released Lease taken again (by the other replica or the restarted container)',
      async () => {
        const l = await lab.api.coordination.readNamespacedLease({
          name: 'ironlb-ingress',
          namespace: INGRESS_LAB.namespace,
        });
        holder = l.spec?.holderIdentity ?? '';
        return (
          (l.spec?.leaseTransitions ?? 0) > transitions && (holder === other?.name || holder === leader.name)
        );
      },
      { timeoutMs: 30_000 },
    );
    console.log(
      `ingress e2e: Lease released on SIGTERM and taken by ${holder === other?.name ? 'the other replica' : 'the restarted container'} (${holder})`,
    );
    // the new leader writes status: a new Ingress gets the address
    await create([
      'after-handover',
      NS,
      { rules: [{ host: 'handover.ing.example', paths: [['/', 'Prefix', 'alpha']] }] },
    ]);
    await waitFor(
      'status written by the new leader',
      async () => (await ingressAddresses(lab, NS, 'after-handover')).includes(ip),
      { timeoutMs: 30_000 },
    );
  });
});
