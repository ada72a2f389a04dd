// BGP mode end to end: IronLB as installed on the lab's nodes (speaker pods: speaker + FRR bfdd, gobgpd
// sidecar), peering with
// the lab router (FRR bgpd + bfdd, AS 64512). Every assertion reads the router: FRR's vtysh JSON and its kernel
// routing table. The lab's own configuration (test/lab/deploy.ts labPools) gives each node a BGPPeer toward
// 192.0.2.1 (node 2's with a TCP MD5 password from a Secret, all with BFD profile "lab-fast") and advertises the
// pool "lab-bgp"; the tests add Services, advertisements and communities of their own and remove them after.
//
// Run: IRONLB_E2E_PREFIX=ironlb-bgp- IRONLB_E2E_API_PORT=16461 npx vitest run --project e2e test/e2e/bgp.test.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LAB, Lab, type LabPod } from '../harness/netlab.ts';
import { mergePatch, waitForEndpoints } from '../harness/kube.ts';
import { stopPid, waitFor } from '../harness/exec.ts';
import { labPools } from '../lab/install.ts';
import { ensureIronLB, restartSpeaker, speakerLog, stopSpeaker, waitSpeakerGone } from './support/ironlb.ts';
import {
  bfdStates,
  frrPaths,
  frrPrefixes,
  kernelNexthops,
  pidsIn,
  serviceAddress,
  sessionStates,
  setCable,
  waitEstablished,
  waitNexthops,
} from './support/bgp.ts';

const lab = Lab.attach(inject('labDir'));
const NS = 'bgp-e2e';
const LB = 'ironlb-system';
const POOL_ANNOTATION = { 'metallb.io/address-pool': 'lab-bgp' };
const nodeIP = (i: number) => lab.node(i).v4;
const ALL = [1, 2, 3].map(nodeIP);
const log = (m: string) => console.log(`bgp e2e: ${m}`);

const pods: LabPod[] = [];
let webPrefix = '';
let clientGobgpd = -1;

async function createService(
  name: string,
  app: string,
  extra: { labels?: Record<string, string>; local?: boolean } = {},
): Promise<void> {
  await lab.api.core.createNamespacedService({
    namespace: NS,
    body: {
      metadata: { name, namespace: NS, annotations: POOL_ANNOTATION, labels: extra.labels ?? {} },
      spec: {
        type: 'LoadBalancer',
        selector: { app },
        externalTrafficPolicy: extra.local ? 'Local' : 'Cluster',
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    },
  });
}

async function deleteService(name: string): Promise<void> {
  await lab.api.core.deleteNamespacedService({ name, namespace: NS }).catch(() => undefined);
}

async function applyObjects(items: object[]): Promise<void> {
  await lab.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}

async function deleteObject(kind: string, name: string): Promise<void> {
  await lab.kubectl(['delete', kind, name, '-n', LB, '--ignore-not-found']);
}

describe('BGP mode', () => {
  beforeAll(async () => {
    await ensureIronLB(lab, log);
    await waitEstablished(lab, ALL, 90_000);
    for (const i of [1, 2, 3])
      pods.push(await lab.addPod({ namespace: NS, name: `web-${i}`, node: i, labels: { app: 'bgp-web' } }));
    await createService('web', 'bgp-web');
    await waitForEndpoints(lab.api, NS, 'web', 3);
    webPrefix = `${await serviceAddress(lab, NS, 'web')}/32`;
  });

  afterAll(async () => {
    for (const name of ['web', 'attrs', 'local', 'peers']) await deleteService(name);
    if (clientGobgpd > 0) await stopPid(clientGobgpd);
    for (const p of [...pods]) await lab.removePod(p).catch(() => undefined);
    for (const [kind, name] of [
      ['bgpadvertisement', 'bgp-e2e-attrs'],
      ['bgpadvertisement', 'bgp-e2e-agg'],
      ['community', 'bgp-e2e'],
      ['bgpadvertisement', 'bgp-e2e-peers'],
      ['bgppeer', 'bgp-e2e-client'],
    ] as const)
      await deleteObject(kind, name).catch(() => undefined);
    for (const i of [1, 2, 3]) setCable(lab, i, true);
    // the lab's own objects as they were (a failed test may have left the advertisement or password changed)
    await applyObjects(labPools()).catch(() => undefined);
    await restartSpeaker(lab, 1).catch(() => undefined);
  });

  it('advertises an ETP Cluster Service from every node: three eBGP paths, ECMP in the router kernel', async () => {
    const took = await waitNexthops(lab, webPrefix, ALL, { timeoutMs: 30_000 });
    log(`${webPrefix} via ${ALL.join(', ')} in the router kernel (${took.toFixed(0)} ms after the address)`);
    const paths = await frrPaths(lab, webPrefix);
    expect(paths.map((p) => p.nexthops?.[0]?.ip).sort()).toEqual(ALL);
    expect(paths.every((p) => p.multipath === true && p.peer?.type === 'external')).toBe(true);
    const kernel = await lab.exec('router', ['ip', 'route', 'show', webPrefix]);
    expect(kernel.stdout).toMatch(/proto bgp/);
    expect(kernel.stdout.match(/nexthop via/g)).toHaveLength(3);
  });

  it('carries traffic from ironlb-ext through the router to the Service', async () => {
    const url = `http://${webPrefix.replace('/32', '')}/bgp`;
    const body = await waitFor(
      `an answer from ${url} in ${lab.ns('ext')}`,
      async () => {
        const r = await lab.exec('ext', ['curl', '-s', '-m', '2', url], { check: false });
        return r.code === 0 ? (JSON.parse(r.stdout) as { pod: string; path: string }) : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(body.path).toBe('/bgp');
    expect(body.pod).toMatch(/^web-[123]$/);
  });

  it('records who advertises: a ServiceBGPStatus per node, nodeAssigned Events, session metrics', async () => {
    const statuses = await waitFor(
      'three ServiceBGPStatus objects for bgp-e2e/web',
      async () => {
        const list = (await lab.api.custom.listNamespacedCustomObject({
          group: 'metallb.io',
          version: 'v1beta1',
          namespace: LB,
          plural: 'servicebgpstatuses',
          labelSelector: `metallb.io/service-namespace=${NS},metallb.io/service-name=web`,
        })) as { items: { status?: { node: string; peers: string[] } }[] };
        return list.items.length === 3 && list.items.every((i) => i.status) ? list.items : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(statuses.map((s) => [s.status?.node, s.status?.peers]).sort()).toEqual([
      ['lab-node-1', ['lab-router']],
      ['lab-node-2', ['lab-router-md5']],
      ['lab-node-3', ['lab-router']],
    ]);
    const events = await waitFor('nodeAssigned Events', async () => {
      const list = await lab.api.core.listNamespacedEvent({ namespace: NS });
      const bgp = list.items.filter(
        (e) =>
          e.involvedObject.name === 'web' && e.reason === 'nodeAssigned' && /"bgp"/.test(e.message ?? ''),
      );
      return bgp.length >= 3 ? bgp : undefined;
    });
    expect(events.map((e) => e.message).sort()).toEqual(
      [1, 2, 3].map((i) => `announcing from node "lab-node-${i}" with protocol "bgp"`),
    );
    // gobgpd's UPDATE counters are polled every few seconds
    const metrics = await waitFor(
      'BGP metrics on lab-node-1',
      async () => {
        const text = (await lab.exec('node-1', ['curl', '-s', 'http://127.0.0.1:7472/metrics'])).stdout;
        return /metallb_bgp_updates_total\{peer="192\.0\.2\.1"\} [1-9]/.test(text) ? text : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    expect(metrics).toContain(`metallb_bgp_session_up{peer="${LAB.router.v4}"} 1`);
    expect(metrics).toMatch(
      new RegExp(`metallb_bgp_announced_prefixes_total\\{peer="${LAB.router.v4}"\\} [1-9]`),
    );
  });

  it('sends communities (standard, large, a Community alias) and aggregates to aggregationLength', async () => {
    await applyObjects([
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'Community',
        metadata: { name: 'bgp-e2e', namespace: LB },
        spec: { communities: [{ name: 'e2e-tag', value: '64513:42' }] },
      },
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'BGPAdvertisement',
        metadata: { name: 'bgp-e2e-attrs', namespace: LB },
        spec: {
          ipAddressPools: ['lab-bgp'],
          serviceSelectors: [{ matchLabels: { 'bgp-e2e': 'attrs' } }],
          communities: ['64512:100', 'large:64512:1:2', 'e2e-tag'],
          localPref: 150,
        },
      },
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'BGPAdvertisement',
        metadata: { name: 'bgp-e2e-agg', namespace: LB },
        spec: {
          ipAddressPools: ['lab-bgp'],
          serviceSelectors: [{ matchLabels: { 'bgp-e2e': 'attrs' } }],
          aggregationLength: 24,
        },
      },
    ]);
    await createService('attrs', 'bgp-web', { labels: { 'bgp-e2e': 'attrs' } });
    const prefix = `${await serviceAddress(lab, NS, 'attrs')}/32`;
    const paths = await waitFor(
      `${prefix} with communities from three nodes`,
      async () => {
        const p = await frrPaths(lab, prefix);
        return p.length === 3 && p.every((x) => x.community?.string) ? p : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const p of paths) {
      expect(p.community?.string).toBe('64512:100 64513:42');
      expect(p.largeCommunity?.string).toBe('64512:1:2');
      // LOCAL_PREF is an iBGP attribute: the speaker only attaches it toward iBGP peers (and gobgpd strips it
      // toward eBGP), so the router, an eBGP neighbour, sees none, as with MetalLB.
      expect(p.locPrf).toBeUndefined();
    }
    const aggregate = `${LAB.bgpPool}`;
    await waitNexthops(lab, aggregate, ALL, { timeoutMs: 30_000 });
    const agg = await frrPaths(lab, aggregate);
    expect(agg.map((p) => p.nexthops?.[0]?.ip).sort()).toEqual(ALL);
    expect(agg.every((p) => p.community === undefined)).toBe(true);

    await deleteService('attrs');
    await waitNexthops(lab, aggregate, [], { timeoutMs: 15_000 });
    await waitFor('the /32 of attrs withdrawn', async () => !(await frrPrefixes(lab)).includes(prefix));
    expect(await frrPrefixes(lab)).toContain(webPrefix);
    for (const [kind, name] of [
      ['bgpadvertisement', 'bgp-e2e-attrs'],
      ['bgpadvertisement', 'bgp-e2e-agg'],
      ['community', 'bgp-e2e'],
    ] as const)
      await deleteObject(kind, name);
  });

  it('with ETP Local advertises only from endpoint nodes, and withdraws within a second when one goes', async () => {
    const local1 = await lab.addPod({
      namespace: NS,
      name: 'local-1',
      node: 1,
      labels: { app: 'bgp-local' },
    });
    const local3 = await lab.addPod({
      namespace: NS,
      name: 'local-3',
      node: 3,
      labels: { app: 'bgp-local' },
    });
    pods.push(local1, local3);
    await createService('local', 'bgp-local', { local: true });
    await waitForEndpoints(lab.api, NS, 'local', 2);
    const prefix = `${await serviceAddress(lab, NS, 'local')}/32`;
    await waitNexthops(lab, prefix, [nodeIP(1), nodeIP(3)], { timeoutMs: 30_000 });
    expect((await frrPaths(lab, prefix)).map((p) => p.nexthops?.[0]?.ip).sort()).toEqual([
      nodeIP(1),
      nodeIP(3),
    ]);

    const t0 = performance.now();
    await lab.removePod(local3);
    pods.splice(pods.indexOf(local3), 1);
    const took = await waitNexthops(lab, prefix, [nodeIP(1)], {
      since: t0,
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    log(`endpoint on lab-node-3 removed → its route gone from the router kernel in ${took.toFixed(0)} ms`);
    expect(took).toBeLessThan(2_000);
    expect((await frrPaths(lab, prefix)).map((p) => p.nexthops?.[0]?.ip)).toEqual([nodeIP(1)]);

    await deleteService('local');
    await waitNexthops(lab, prefix, [], { timeoutMs: 15_000 });
  });

  it('heals a gobgpd restart: kill -9 on node 1 (the sidecar container; the kubelet restarts it), the route from node 1 comes back', async () => {
    const [pid] = pidsIn(lab, 'node-1', 'gobgpd');
    expect(pid).toBeTypeOf('number');
    const t0 = performance.now();
    process.kill(pid as number, 'SIGKILL');
    await waitNexthops(lab, webPrefix, [nodeIP(2), nodeIP(3)], { since: t0, timeoutMs: 15_000 });
    const back = await waitNexthops(lab, webPrefix, ALL, { since: t0, timeoutMs: 60_000, intervalMs: 100 });
    log(
      `gobgpd killed on lab-node-1: route back after ${(back / 1000).toFixed(1)} s (gobgpd connects 5–10 s after AddPeer)`,
    );
    const [again] = pidsIn(lab, 'node-1', 'gobgpd');
    expect(again).not.toBe(pid);
  });

  it('sends a prefix only to the BGPAdvertisement peers (a second router, gobgpd on the LAN client)', async () => {
    // a second eBGP router, AS 64514, on the LAN client (192.0.2.100), accepting sessions from the nodes
    const conf = join(lab.state.dir, 'bgp-e2e-client-gobgpd.toml');
    writeFileSync(
      conf,
      `[global.config]\n  as = 64514\n  router-id = "${LAB.client.v4}"\n  port = 179\n` +
        ALL.map(
          (a) =>
            `[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "${a}"\n    peer-as = ${LAB.nodeASN}\n` +
            `  [neighbors.transport.config]\n    passive-mode = true\n` +
            `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "ipv4-unicast"\n`,
        ).join(''),
    );
    clientGobgpd = lab.startProcess('client', 'bgp-e2e-client-gobgpd', [
      'gobgpd',
      '-f',
      conf,
      '-p',
      '--api-hosts',
      '127.0.0.1:50098',
      '--pprof-disable',
    ]);
    const clientRib = async (): Promise<string[]> => {
      const r = await lab.exec('client', ['gobgp', '-p', '50098', 'global', 'rib', '-a', 'ipv4', '-j'], {
        check: false,
      });
      return r.code === 0 ? Object.keys(JSON.parse(r.stdout || '{}') as object).sort() : [];
    };
    const lbObject = (kind: string, name: string, spec: object) => ({
      apiVersion: kind === 'BGPPeer' ? 'metallb.io/v1beta2' : 'metallb.io/v1beta1',
      kind,
      metadata: { name, namespace: LB },
      spec,
    });
    await applyObjects([
      lbObject('BGPPeer', 'bgp-e2e-client', {
        myASN: LAB.nodeASN,
        peerASN: 64514,
        peerAddress: LAB.client.v4,
      }),
      // the lab's advertisement (every peer) leaves the test Service to the restricted one
      lbObject('BGPAdvertisement', 'lab-bgp', {
        ipAddressPools: ['lab-bgp'],
        serviceSelectors: [{ matchExpressions: [{ key: 'bgp-e2e-peers', operator: 'DoesNotExist' }] }],
      }),
      lbObject('BGPAdvertisement', 'bgp-e2e-peers', {
        ipAddressPools: ['lab-bgp'],
        serviceSelectors: [{ matchLabels: { 'bgp-e2e-peers': 'yes' } }],
        peers: ['lab-router', 'lab-router-md5'],
      }),
    ]);
    await waitFor(
      'the second router has the Service web from every node',
      async () => (await clientRib()).includes(webPrefix),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await createService('peers', 'bgp-web', { labels: { 'bgp-e2e-peers': 'yes' } });
    const prefix = `${await serviceAddress(lab, NS, 'peers')}/32`;
    await waitNexthops(lab, prefix, ALL, { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await clientRib()).not.toContain(prefix);
    log(`${prefix} (peers: lab-router*) at the router, not at the second router`);

    // the advertisement now names only the second router: withdrawn from the first, sent to the second
    await applyObjects([
      lbObject('BGPAdvertisement', 'bgp-e2e-peers', {
        ipAddressPools: ['lab-bgp'],
        serviceSelectors: [{ matchLabels: { 'bgp-e2e-peers': 'yes' } }],
        peers: ['bgp-e2e-client'],
      }),
    ]);
    await waitNexthops(lab, prefix, [], { timeoutMs: 15_000 });
    await waitFor('the prefix at the second router', async () => (await clientRib()).includes(prefix), {
      timeoutMs: 15_000,
    });
    expect(kernelNexthops(lab, webPrefix)).toEqual(ALL);

    await deleteService('peers');
    await applyObjects([lbObject('BGPAdvertisement', 'lab-bgp', { ipAddressPools: ['lab-bgp'] })]);
    await deleteObject('bgpadvertisement', 'bgp-e2e-peers');
    await deleteObject('bgppeer', 'bgp-e2e-client');
    await stopPid(clientGobgpd);
    clientGobgpd = -1;
    await waitFor(
      'the router still has web from every node',
      () => kernelNexthops(lab, webPrefix).length === 3,
    );
  });

  it('keeps node 2 on a TCP MD5 session: a wrong password from the Secret loses it, the right one heals it', async () => {
    const neighbor = async () =>
      (
        JSON.parse(await lab.vtysh(`show bgp neighbors ${nodeIP(2)} json`)) as Record<
          string,
          { bgpState?: string; authenticationEnabled?: number }
        >
      )[nodeIP(2)];
    expect(await neighbor()).toMatchObject({ bgpState: 'Established', authenticationEnabled: 1 });
    const setPassword = (password: string) =>
      lab.api.core.patchNamespacedSecret(
        { name: 'lab-bgp-md5', namespace: LB, body: { stringData: { password } } },
        mergePatch,
      );
    await setPassword('not-the-password');
    await waitNexthops(lab, webPrefix, [nodeIP(1), nodeIP(3)], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 12_000)); // more than gobgpd's retry interval: still no session
    expect((await sessionStates(lab))[nodeIP(2)]).not.toBe('Established');
    await setPassword(LAB.md5Password);
    await waitNexthops(lab, webPrefix, ALL, { timeoutMs: 60_000, intervalMs: 200 });
    const text = await speakerLog(lab, 2, 100_000);
    expect(text).toContain('BGP speaker ready');
    expect(text).not.toContain(LAB.md5Password);
    expect(text).not.toContain('not-the-password');
  });

  it('with BFD, the router drops a dead node (cable pulled) in about a second', async () => {
    await waitFor('BFD up with every node', async () => {
      const s = await bfdStates(lab);
      return ALL.every((a) => s[a] === 'up');
    });
    const t0 = performance.now();
    setCable(lab, 3, false);
    let took: number;
    try {
      took = await waitNexthops(lab, webPrefix, [nodeIP(1), nodeIP(2)], {
        since: t0,
        timeoutMs: 20_000,
        intervalMs: 10,
      });
    } finally {
      setCable(lab, 3, true);
    }
    log(
      `lab-node-3 cable pulled → its route gone in ${took.toFixed(0)} ms (BFD ${LAB.bfd.intervalMs} ms × ${LAB.bfd.multiplier})`,
    );
    expect(took).toBeLessThan(2_000);
    await waitNexthops(lab, webPrefix, ALL, { timeoutMs: 60_000, intervalMs: 200 });
  });

  it('withdraws before it leaves: a stopped speaker takes its route, gobgpd and bfdd away', async () => {
    const t0 = performance.now();
    // node 1 leaves the speaker DaemonSet: the kubelet sends SIGTERM (gobgpd waits in its preStop hook)
    await stopSpeaker(lab, 1);
    const took = await waitNexthops(lab, webPrefix, [nodeIP(2), nodeIP(3)], {
      since: t0,
      timeoutMs: 10_000,
      intervalMs: 10,
    });
    log(`speaker on lab-node-1 stopped (SIGTERM) → its route gone in ${took.toFixed(0)} ms`);
    await waitFor(
      'gobgpd and bfdd gone from lab-node-1',
      () => pidsIn(lab, 'node-1', 'gobgpd').length === 0 && pidsIn(lab, 'node-1', 'bfdd').length === 0,
    );
    // the old speaker keeps its ports through the L2 handoff (1.5 s): start the new one once it is gone
    await waitSpeakerGone(lab, 1, 20_000);
    await restartSpeaker(lab, 1);
    await waitNexthops(lab, webPrefix, ALL, { timeoutMs: 60_000, intervalMs: 200 });
    expect(kernelNexthops(lab, webPrefix)).toEqual(ALL);
  });
});
