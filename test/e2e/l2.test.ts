// L2 mode end to end: IronLB as installed on the lab's nodes (controller Deployment, speaker DaemonSet), seen
// from the LAN client
// (<prefix>client, 192.0.2.100 / 2001:db8:0:1::100). Every assertion is an outcome on the wire or in the API:
// the client's neighbour table, frames captured at the client, HTTP answers through kube-proxy, ServiceL2Status
// objects, Events and Service conditions, and what each speaker says on /debug/plan and /metrics.
//
// Run: IRONLB_E2E_PREFIX=ironlb-l2- IRONLB_E2E_API_PORT=16451 npx vitest run --project e2e test/e2e/l2.test.ts
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Lab, type LabPod } from '../harness/netlab.ts';
import { waitForEndpoints } from '../harness/kube.ts';
import { run, waitFor } from '../harness/exec.ts';
import {
  FrameCapture,
  announcers,
  Prober,
  blockAddress,
  failureWindow,
  httpGet,
  killSpeaker,
  l2StatusNodes,
  neighbour,
  nodeOfMac,
  removeNetns,
  resolvedMac,
  restartSpeaker,
  serviceEndpoints,
  serviceIPs,
  setCable,
  speakerLog,
  speakerMetrics,
  speakerPlan,
  stableAnnouncer,
  stopSpeaker,
  unblockAddress,
  urlOf,
  waitForMembership,
  waitRestarted,
  waitSpeakerGone,
} from './support/l2.ts';
import { ensureIronLB, speakerPods } from './support/ironlb.ts';

const lab = Lab.attach(inject('labDir'));
const NS = 'l2-e2e';
const ECHO = 'echo';
const KEY = `${NS}/${ECHO}`;
const CLIENT_V4 = '192.0.2.100';
const CONFLICT_CONDITION = 'ironlb.io/AddressConflict';
/** SQUATTER: a host on the LAN that already uses a pool address (its own namespace, on the LAN bridge). */
const SQUATTER = {
  netns: `${lab.state.prefix}squat`,
  port: 'sq',
  mac: '02:1b:00:00:00:f0',
  v4: '192.0.2.240',
};
const log = (m: string) => console.log(`l2 e2e: ${m}`);

const pods: LabPod[] = [];
let v4 = '';
let v6 = '';
/** cleanups run in afterAll, last registered first, even when a test failed halfway. */
const cleanups: (() => Promise<void>)[] = [];

const nodeName = (i: number) => lab.node(i).name;
const mac = (i: number) => lab.node(i).mac.toLowerCase();

interface EchoBody {
  pod: string;
  service: string;
  client: { address: string };
}

async function createService(name: string, spec: object, annotations: Record<string, string> = {}) {
  await lab.api.core.createNamespacedService({
    namespace: NS,
    body: {
      metadata: { name, namespace: NS, annotations },
      spec: {
        type: 'LoadBalancer',
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        ...spec,
      },
    },
  });
  cleanups.push(async () => {
    await lab.api.core.deleteNamespacedService({ name, namespace: NS }).catch(() => undefined);
  });
}

async function addPod(name: string, node: number, app: string): Promise<LabPod> {
  const pod = await lab.addPod({ namespace: NS, name, node, labels: { app } });
  pods.push(pod);
  return pod;
}

async function removePod(pod: LabPod): Promise<void> {
  await lab.removePod(pod);
  pods.splice(pods.indexOf(pod), 1);
}

/** echoFrom asks the echo app from the client until it answers 200 and returns the parsed body. */
async function echoFrom(url: string, what: string): Promise<EchoBody> {
  return waitFor(
    what,
    async () => {
      const r = await httpGet(lab, 'client', url);
      return r.code === 200 ? (JSON.parse(r.body) as EchoBody) : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

/** settled waits for one announcer that every speaker agrees on, named by ServiceL2Status too. */
async function settled(key: string, namespace: string, name: string, want?: number): Promise<number> {
  // after a change, wait for the announcer it should lead to: until the speakers have seen the change, the old one
  // is still the single announcer (and a settled state), so it cannot be told from a wrong outcome without waiting
  const owner =
    want === undefined
      ? await stableAnnouncer(lab, key)
      : await waitFor(
          `node ${want} alone to announce "${key}"`,
          async () => {
            const a = await announcers(lab, key);
            if (a.length === 1 && a[0] === want) return want;
            throw new Error(`announced by ${JSON.stringify(a)}`);
          },
          { timeoutMs: 60_000, intervalMs: 250 },
        );
  for (const n of lab.state.nodes) {
    const plan = await speakerPlan(lab, n.index);
    const s = plan?.services.find((x) => x.key === key);
    expect(s?.election, `node ${n.index}'s election for "${key}"`).toMatchObject({
      ok: true,
      winner: nodeName(owner),
    });
  }
  await waitFor(
    `ServiceL2Status of "${key}" to name only ${nodeName(owner)}`,
    async () => {
      const nodes = await l2StatusNodes(lab, namespace, name);
      if (JSON.stringify(nodes) === JSON.stringify([nodeName(owner)])) return true;
      throw new Error(`they name ${JSON.stringify(nodes)}`);
    },
    { timeoutMs: 45_000, intervalMs: 250 },
  );
  return owner;
}

/** clientMacBecomes waits until the client's existing neighbour entry for ip names `want` (no flush). */
async function clientMacBecomes(ip: string, want: (m: string | undefined) => boolean, what: string) {
  return waitFor(
    what,
    async () => {
      const m = (await neighbour(lab, 'client', ip))?.lladdr;
      return want(m) ? m : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 20 },
  );
}

/** addSquatter (re)creates the squatter on the LAN bridge holding `ips`. */
async function addSquatter(ips: string[]): Promise<void> {
  await removeNetns(SQUATTER.netns);
  run(['ip', 'link', 'del', SQUATTER.port], { netns: lab.ns('lan'), check: false });
  run(['ip', 'netns', 'add', SQUATTER.netns]);
  const inSq = (argv: string[]) => run(argv, { netns: SQUATTER.netns });
  inSq(['ip', 'link', 'set', 'lo', 'up']);
  run([
    'ip',
    'link',
    'add',
    SQUATTER.port,
    'netns',
    lab.ns('lan'),
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    SQUATTER.netns,
  ]);
  run(['ip', 'link', 'set', SQUATTER.port, 'master', 'br0', 'up'], { netns: lab.ns('lan') });
  inSq(['ip', 'link', 'set', 'eth0', 'address', SQUATTER.mac]);
  for (const ip of ips)
    if (ip.includes(':')) inSq(['ip', '-6', 'addr', 'add', `${ip}/64`, 'dev', 'eth0', 'nodad']);
    else inSq(['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  inSq(['ip', 'link', 'set', 'eth0', 'up']);
}

/**
 * conflictReports waits until speakers report every one of `ips` as in use (/debug/plan), checks each reporting
 * speaker's ironlb_speaker_address_conflicts gauge, and returns ip → {node index, MAC seen}.
 */
async function conflictReports(ips: string[]): Promise<Map<string, { node: number; mac: string }>> {
  const found = new Map<string, { node: number; mac: string }>();
  await waitFor(
    `speakers to report ${ips.join(', ')} in use`,
    async () => {
      for (const n of lab.state.nodes) {
        const p = await speakerPlan(lab, n.index);
        for (const ip of ips) if (p?.conflicts[ip]) found.set(ip, { node: n.index, mac: p.conflicts[ip] });
      }
      return ips.every((ip) => found.has(ip));
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  for (const [ip, { node }] of found) {
    const metrics = await speakerMetrics(lab, node);
    expect(metrics).toMatch(new RegExp(`ironlb_speaker_address_conflicts\\{[^}]*ip="${ip}"[^}]*\\} 1`));
  }
  return found;
}

/** expectConflictEvent waits for the speaker's Warning Event AddressConflict naming ip on Service `name`. */
async function expectConflictEvent(name: string, ip: string): Promise<void> {
  const ev = await waitFor(
    `a Warning Event AddressConflict for ${ip} on "${NS}/${name}"`,
    async () => {
      const list = await lab.api.core.listNamespacedEvent({
        namespace: NS,
        fieldSelector: `involvedObject.name=${name},reason=AddressConflict`,
      });
      return list.items.find((e) => e.message?.includes(`"${ip}" is already in use`));
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  expect(ev.type).toBe('Warning');
  expect(ev.message).toContain(SQUATTER.mac);
}

/** vouchedByNodes lists captured ARP/NA frames in which a node claims one of ips. */
function vouchedByNodes(cap: FrameCapture, ips: string[]): string[] {
  const nodeMacs = new Set(lab.state.nodes.map((n) => n.mac.toLowerCase()));
  return cap.frames
    .filter((f) => nodeMacs.has(f.src) && ips.includes(f.ip) && f.kind !== 'ns')
    .map((f) => `${f.src} ${f.kind} ${f.ip}`);
}

/** nextFreeAddresses returns the lowest IPv4 and IPv6 addresses of the L2 pool no Service holds. */
async function nextFreeAddresses(): Promise<[string, string]> {
  const list = await lab.api.core.listServiceForAllNamespaces();
  const used = new Set(
    list.items.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '')),
  );
  used.add(SQUATTER.v4); // avoided since the previous test
  let v4n = 200;
  while (used.has(`192.0.2.${v4n}`)) v4n++;
  let v6n = 0x200;
  while (used.has(`2001:db8:0:1::${v6n.toString(16)}`)) v6n++;
  return [`192.0.2.${v4n}`, `2001:db8:0:1::${v6n.toString(16)}`];
}

describe('L2 mode', () => {
  beforeAll(async () => {
    await ensureIronLB(lab, log);
    const speakers = [...(await speakerPods(lab)).values()];
    log(`IronLB running: speakers ${speakers.map((p) => `${p.name} on ${p.nodeName}`).join(', ')}`);
    for (const i of [1, 2, 3]) await addPod(`echo-${i}`, i, 'l2-echo');
    await createService(ECHO, { selector: { app: 'l2-echo' }, ipFamilyPolicy: 'RequireDualStack' });
    await waitForEndpoints(lab.api, NS, ECHO, 3);
    const ips = await serviceIPs(lab, NS, ECHO, 2);
    v4 = ips.find((ip) => !ip.includes(':')) ?? '';
    v6 = ips.find((ip) => ip.includes(':')) ?? '';
    log(`Service "${KEY}" holds ${v4} and ${v6}`);
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    for (const p of [...pods]) await lab.removePod(p).catch(() => undefined);
    await removeNetns(SQUATTER.netns);
    run(['ip', 'link', 'del', SQUATTER.port], { netns: lab.ns('lan'), check: false });
  });

  it('gives the dual-stack echo Service an address of each family from the L2 pool', () => {
    expect(v4).toMatch(/^192\.0\.2\.(2[0-4]\d|250)$/);
    expect(v6).toMatch(/^2001:db8:0:1::2[0-5][0-9a-f]$/);
  });

  it('resolves the IPv4 address by ARP to the MAC of the node that ServiceL2Status and every speaker name', async () => {
    const owner = await settled(KEY, NS, ECHO);
    const got = await waitFor('the client to resolve the IPv4 address', () => resolvedMac(lab, 'client', v4));
    expect(got).toBe(mac(owner));
  });

  it('resolves the IPv6 address by NDP to the same node, and serves TCP over IPv6', async () => {
    const owner = await settled(KEY, NS, ECHO);
    const got = await waitFor('the client to resolve the IPv6 address', () => resolvedMac(lab, 'client', v6));
    expect(got).toBe(mac(owner));
    const body = await echoFrom(urlOf(v6), `an HTTP answer from [${v6}]`);
    expect(body.service).toBe('echo');
    expect(body.pod).toMatch(/^echo-[123]$/);
  });

  it('carries TCP from the client through kube-proxy to the echo pods on every node', async () => {
    const seen = new Set<string>();
    await waitFor(
      'answers from all three echo pods',
      async () => {
        const r = await httpGet(lab, 'client', urlOf(v4, 80, '/l2'));
        if (r.code === 200) {
          const body = JSON.parse(r.body) as EchoBody & { path: string; host: string };
          expect(body).toMatchObject({ path: '/l2', host: v4, service: 'echo' });
          seen.add(body.pod);
        }
        return seen.size === 3;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    expect([...seen].sort()).toEqual(['echo-1', 'echo-2', 'echo-3']);
  });

  it('with externalTrafficPolicy Local announces only from the node with the endpoint, and keeps the client address', async () => {
    const podA = await addPod('local-a', 2, 'l2-local');
    await createService('local', { selector: { app: 'l2-local' }, externalTrafficPolicy: 'Local' });
    await waitForEndpoints(lab.api, NS, 'local', 1);
    const [ip] = await serviceIPs(lab, NS, 'local');
    if (!ip) throw new Error('no address');
    expect(await settled(`${NS}/local`, NS, 'local')).toBe(2);
    const plan = await speakerPlan(lab, 1);
    const election = plan?.services.find((s) => s.key === `${NS}/local`)?.election;
    expect(election?.excluded).toEqual([
      { node: nodeName(1), reason: 'noLocalEndpoint' },
      { node: nodeName(3), reason: 'noLocalEndpoint' },
    ]);
    expect(await waitFor('the client to resolve it', () => resolvedMac(lab, 'client', ip))).toBe(mac(2));
    let body = await echoFrom(urlOf(ip), 'an answer from the local Service');
    expect(body.pod).toBe('local-a');
    expect(body.client.address).toBe(CLIENT_V4);

    // the endpoint moves to node 3: so does the address, and the client follows without forgetting anything
    await addPod('local-b', 3, 'l2-local');
    await removePod(podA);
    expect(await settled(`${NS}/local`, NS, 'local', 3)).toBe(3);
    await clientMacBecomes(ip, (m) => m === mac(3), "the client's entry to move to node 3");
    body = await echoFrom(urlOf(ip), 'an answer from the moved endpoint');
    expect(body.pod).toBe('local-b');
    expect(body.client.address).toBe(CLIENT_V4);
  });

  it('never announces a requested address another host on the LAN already uses, reports it, and leaves the Service pending', async () => {
    await addSquatter([SQUATTER.v4]);
    const cap = new FrameCapture(lab, 'client');
    cleanups.push(() => cap.stop());
    await cap.ready();
    await createService(
      'conflict',
      { selector: { app: 'l2-echo' } },
      { 'metallb.io/loadBalancerIPs': SQUATTER.v4 },
    );
    const key = `${NS}/conflict`;
    // the elected speaker probes, finds the squatter, and says so: plan, metrics, a Warning Event, a condition
    const found = await conflictReports([SQUATTER.v4]);
    expect(found.get(SQUATTER.v4)?.mac).toBe(SQUATTER.mac);
    await expectConflictEvent('conflict', SQUATTER.v4);
    const svc = await lab.api.core.readNamespacedService({ name: 'conflict', namespace: NS });
    expect(svc.status?.conditions?.find((c) => c.type === CONFLICT_CONDITION)).toMatchObject({
      status: 'True',
      reason: 'AddressInUse',
    });
    // the controller avoids the address; requested, it cannot be replaced: the Service is left pending
    await waitFor(
      'the Service to lose the address and an AllocationFailed Event naming it',
      async () => {
        const s = await lab.api.core.readNamespacedService({ name: 'conflict', namespace: NS });
        const ev = await lab.api.core.listNamespacedEvent({
          namespace: NS,
          fieldSelector: 'involvedObject.name=conflict,reason=AllocationFailed',
        });
        return (
          (s.status?.loadBalancer?.ingress ?? []).length === 0 &&
          ev.items.some((e) => e.message?.includes(SQUATTER.v4))
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(await announcers(lab, key)).toEqual([]);
    // a third host (the client) resolves the address to the squatter only; no node ever vouched for it
    expect(await resolvedMac(lab, 'client', SQUATTER.v4)).toBe(SQUATTER.mac);
    expect(vouchedByNodes(cap, [SQUATTER.v4])).toEqual([]);
    // the elected node did look: ARP probes (sender 0.0.0.0) for it
    const probers = new Set(
      cap.frames
        .filter((f) => f.kind === 'arpRequest' && f.ip === '0.0.0.0' && f.target === SQUATTER.v4)
        .map((f) => f.src),
    );
    expect([...probers]).toEqual([...found.values()].map((c) => mac(c.node)));
  });

  it('moves an assigned address of each family that another host already uses to a free one, and announces that', async () => {
    // the squatter takes the addresses the allocator hands out next (the lowest free ones of the pool)
    const [nextV4, nextV6] = await nextFreeAddresses();
    await addSquatter([SQUATTER.v4, nextV4, nextV6]);
    const cap = new FrameCapture(lab, 'client');
    cleanups.push(() => cap.stop());
    await cap.ready();
    await createService('conflict-auto', {
      selector: { app: 'l2-echo' },
      ipFamilyPolicy: 'RequireDualStack',
    });
    const key = `${NS}/conflict-auto`;
    const found = await conflictReports([nextV4, nextV6]);
    for (const ip of [nextV4, nextV6]) {
      expect(found.get(ip)?.mac).toBe(SQUATTER.mac);
      await expectConflictEvent('conflict-auto', ip);
    }
    // the controller moves the Service off both, to addresses nobody else uses, and says so
    const ips = await waitFor(
      'the Service to move off both squatted addresses',
      async () => {
        const s = await lab.api.core.readNamespacedService({ name: 'conflict-auto', namespace: NS });
        const now = (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
        return now.length === 2 && !now.includes(nextV4) && !now.includes(nextV6) ? now : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const svc = await lab.api.core.readNamespacedService({ name: 'conflict-auto', namespace: NS });
    expect(svc.status?.conditions?.find((c) => c.type === CONFLICT_CONDITION)).toMatchObject({
      status: 'False',
      reason: 'Reassigned',
    });
    const moved = await lab.api.core.listNamespacedEvent({
      namespace: NS,
      fieldSelector: 'involvedObject.name=conflict-auto,reason=AddressConflict',
    });
    expect(moved.items.some((e) => e.message?.startsWith('Moved off'))).toBe(true);
    // the new addresses are announced: one node, which the client resolves both to, and TCP works
    const owner = await settled(key, NS, 'conflict-auto');
    for (const ip of ips) {
      expect(await waitFor(`the client to resolve ${ip}`, () => resolvedMac(lab, 'client', ip))).toBe(
        mac(owner),
      );
      expect((await echoFrom(urlOf(ip), `an answer from ${ip}`)).service).toBe('echo');
    }
    expect(await resolvedMac(lab, 'client', nextV4)).toBe(SQUATTER.mac);
    expect(await resolvedMac(lab, 'client', nextV6)).toBe(SQUATTER.mac);
    expect(vouchedByNodes(cap, [nextV4, nextV6])).toEqual([]);
  });

  it('moves the addresses when the announcing speaker is killed with SIGKILL, and requests keep working', async () => {
    const owner = await settled(KEY, NS, ECHO);
    expect(await resolvedMac(lab, 'client', v4)).toBe(mac(owner));
    expect(await resolvedMac(lab, 'client', v6)).toBe(mac(owner));
    // kill -9 of the speaker container through the node's containerd; the kubelet starts it again by itself
    const t0 = performance.now();
    const killed = await killSpeaker(lab, owner, 'SIGKILL');
    cleanups.push(async () => {
      await waitRestarted(lab, owner, killed);
      await waitForMembership(lab);
    });
    const moved = await clientMacBecomes(
      v4,
      (m) => m !== undefined && m !== mac(owner),
      "the client's IPv4 entry to move",
    );
    const movedMs = performance.now() - t0;
    const heir = nodeOfMac(lab, moved);
    expect(heir, `new MAC ${moved} belongs to a node`).toBeDefined();
    await clientMacBecomes(v6, (m) => m === moved, "the client's IPv6 entry to move to the same node");
    // the heir announces it until the killed speaker is back (the kubelet restarts it within seconds)
    const survivors = (await announcers(lab, KEY)).filter((i) => i !== owner);
    expect(survivors).toEqual([heir]);
    await waitFor(`ServiceL2Status to name ${nodeName(heir ?? 0)}`, async () =>
      (await l2StatusNodes(lab, NS, ECHO)).includes(nodeName(heir ?? 0)),
    );
    for (const url of [urlOf(v4), urlOf(v6)])
      expect((await echoFrom(url, `an answer from ${url}`)).service).toBe('echo');

    // the speaker comes back: one announcer again, and the dead incarnation's status object is gone
    await cleanups.pop()?.();
    log(
      `kill -9 of the speaker container on ${nodeName(owner)}: client moved in ${movedMs.toFixed(0)} ms, ` +
        `the kubelet's restarted speaker is back in membership ${((performance.now() - t0) / 1000).toFixed(1)} s after the kill`,
    );
    const now = await settled(KEY, NS, ECHO);
    expect(await resolvedMac(lab, 'client', v4)).toBe(mac(now));
  });

  it('moves the addresses when the announcing node drops off the LAN, and back to one announcer when it returns', async () => {
    const owner = await settled(KEY, NS, ECHO);
    expect(await resolvedMac(lab, 'client', v4)).toBe(mac(owner));
    await setCable(lab, owner, false);
    const plugBack = async () => setCable(lab, owner, true);
    cleanups.push(plugBack);
    const moved = await clientMacBecomes(
      v4,
      (m) => m !== undefined && m !== mac(owner),
      "the client's entry to move",
    );
    const heir = nodeOfMac(lab, moved);
    expect(heir).toBeDefined();
    expect(heir).not.toBe(owner);
    await clientMacBecomes(v6, (m) => m === moved, "the client's IPv6 entry to move to the same node");
    // the node lifecycle controller marks the lost node NotReady and its pods' endpoints not ready
    const lost = pods.find((p) => p.name === `echo-${owner}`);
    if (!lost) throw new Error(`no echo pod on node ${owner}`);
    await waitFor(
      `the endpoint of ${lost.name} on the lost node to be not ready`,
      async () => {
        const ep = (await serviceEndpoints(lab, NS, ECHO)).find((e) => e.targetRef?.name === lost.name);
        return ep === undefined || ep.conditions?.ready === false;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    await waitFor(
      'five answers in a row through the new node',
      async () => {
        for (let k = 0; k < 5; k++) if ((await httpGet(lab, 'client', urlOf(v4))).code !== 200) return false;
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    // the cable is plugged back: the speakers agree on one announcer and the client's entry names it
    await cleanups.pop()?.(); // cable
    await waitFor(
      `${nodeName(owner)} Ready again`,
      async () => {
        const n = await lab.api.core.readNode({ name: nodeName(owner) });
        return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await waitForMembership(lab);
    const now = await settled(KEY, NS, ECHO);
    await clientMacBecomes(
      v4,
      (m) => m === mac(now),
      `the client's existing entry to name node ${now} again`,
    );
    expect(await resolvedMac(lab, 'client', v4)).toBe(mac(now));
  });

  it('hands over on SIGTERM without a failed request, from a client sending one every 10 ms', async () => {
    const owner = await settled(KEY, NS, ECHO);
    await clientMacBecomes(v4, (m) => m === mac(owner), `the client's entry to name node ${owner}`);
    // 1 s per request: long enough for a loaded machine, shorter than a SYN retransmission after a drop
    const prober = new Prober(lab, 'client', urlOf(v4), { intervalMs: 10, timeoutMs: 1000 });
    cleanups.push(async () => void (await prober.stop()));
    await prober.waitOk(50);
    // the window's bounds on the prober's own clock, the clock of its records
    const from = await prober.mark();
    // the node leaves the speaker DaemonSet: its pod is deleted, the kubelet sends SIGTERM
    await stopSpeaker(lab, owner);
    cleanups.push(async () => {
      await unblockAddress(lab, owner, v4);
      await restartSpeaker(lab, owner);
    });
    await waitSpeakerGone(lab, owner, 30_000);
    // the drained node then leaves: nothing it still received for the address would be answered
    await blockAddress(lab, owner, v4);
    await new Promise((r) => setTimeout(r, 1500));
    const to = await prober.mark();
    const records = await prober.stop();
    const w = failureWindow(records, from - 50, to);
    const failed = records
      .filter((r) => r.t >= from - 50 && !r.ok)
      .map((r) => `${(r.t - from).toFixed(0)} ms: ${r.err ?? r.status}`);
    expect(w.sent, `requests sent during the handoff (${prober.describe(from, to)})`).toBeGreaterThan(100);
    expect(failed, `failed requests (ms after SIGTERM); log: ${await speakerLog(lab, owner)}`).toEqual([]);
    const heir = nodeOfMac(lab, (await neighbour(lab, 'client', v4))?.lladdr);
    expect(heir).toBeDefined();
    expect(heir).not.toBe(owner);
    // the leaving speaker removed its ServiceL2Status on the way out
    await waitFor(
      `ServiceL2Status to name only ${nodeName(heir ?? 0)}`,
      async () =>
        JSON.stringify(await l2StatusNodes(lab, NS, ECHO)) === JSON.stringify([nodeName(heir ?? 0)]),
    );
    await cleanups.pop()?.(); // unblock and restart
    await settled(KEY, NS, ECHO);
  });
});
