// BGP benchmark on a lab of its own (namespaces "ironlb-bgpb-", removed at the end): IronLB's controller and
// speakers (gobgpd + bfdd per node) peering with the lab router (FRR). Prints, with p50/p99 over the rounds:
//   1. Service created → its /32 in the router's BGP RIB (first path, and all three nodes' paths), and Service
//      deleted → the prefix gone;
//   2. node death (its cable pulled: the LAN bridge port down) → its route gone from the router's kernel, with
//      BFD (the lab profile, 200 ms × 3) and without (the BGP hold time the router and gobgpd agree on, 9 s),
//      and their ratio;
//   3. 1,000 Services (IPv6, /128 each, over IPv6 sessions) created at once → every prefix from every node in
//      the router's RIB, and deleted at once → all withdrawn.
// Not a test: no thresholds. Run (root): node bench/bgp.bench.ts [--rounds 20] [--services 1000] [--only 1,2,3]
// [--attach DIR]. With --attach the bench uses the running lab in DIR (`make lab`: .lab) and its IronLB
// (installed first if it has none) instead of building a lab of its own, and removes what it created there
// at the end (its namespace, pods, the IPv6 pool, advertisement and peer); the router keeps its IPv6 peer group.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAB, Lab } from '../test/harness/netlab.ts';
import { mergePatch, waitForEndpoints } from '../test/harness/kube.ts';
import { run, waitFor } from '../test/harness/exec.ts';
import { repoRoot } from '../test/harness/paths.ts';
import { installIronLB, labPools } from '../test/lab/install.ts';
import { ensureIronLB } from '../test/e2e/support/ironlb.ts';
import {
  bfdStates,
  frrPaths,
  kernelNexthops,
  serviceAddress,
  setCable,
  vtyshConfig,
  waitEstablished,
  waitNexthops,
} from '../test/e2e/support/bgp.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    services: { type: 'string', default: '1000' },
    only: { type: 'string', default: '1,2,3' },
    prefix: { type: 'string', default: 'ironlb-bgpb-' },
    port: { type: 'string', default: '16462' },
    attach: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`Usage: node bench/bgp.bench.ts [--rounds 20] [--services 1000] [--only 1,2,3] [--attach DIR]
  --rounds N      rounds of section 1 and of each kind in section 2 (20)
  --services N    IPv6 Services created at once in section 3 (1000)
  --only LIST     sections to run: 1 (Service → RIB), 2 (node death, with and without BFD), 3 (convergence)
  --attach DIR    use the running lab in DIR (make lab: .lab) and its IronLB instead of building one
  --prefix P      namespace prefix of the bench's own lab (ironlb-bgpb-); --port its API port (16462)`);
  process.exit(0);
}
const rounds = Number(values.rounds);
const manyCount = Number(values.services);
const only = new Set(values.only.split(',').map(Number));
const NS = 'bgp-bench';
const LB = 'ironlb-system';
const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${m}`);

function stats(samples: readonly number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
  const f = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${v.toFixed(0)} ms`);
  return `n=${s.length}  min ${f(s[0] ?? NaN)}  p50 ${f(q(50))}  p90 ${f(q(90))}  p99 ${f(q(99))}  max ${f(s[s.length - 1] ?? NaN)}`;
}

function p50(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.ceil(s.length / 2) - 1] ?? NaN;
}

async function ribPrefixes(lab: Lab): Promise<Map<string, number>> {
  const out = JSON.parse((await lab.vtysh('show bgp ipv4 unicast json')) || '{}') as {
    routes?: Record<string, unknown[]>;
  };
  return new Map(Object.entries(out.routes ?? {}).map(([k, v]) => [k, v.length]));
}

async function createService(
  lab: Lab,
  name: string,
  options: { spec?: object; annotations?: Record<string, string>; labels?: Record<string, string> } = {},
): Promise<void> {
  await lab.api.core.createNamespacedService({
    namespace: NS,
    body: {
      metadata: {
        name,
        namespace: NS,
        annotations: { 'metallb.io/address-pool': 'lab-bgp', ...options.annotations },
        labels: options.labels ?? {},
      },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'bench' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        ...options.spec,
      },
    },
  });
}

const nodeIPs = (lab: Lab) => [1, 2, 3].map((i) => lab.node(i).v4);

/** 1. Service created → prefix in the router RIB; deleted → gone. */
async function assignmentToRib(lab: Lab): Promise<void> {
  const first: number[] = [];
  const all: number[] = [];
  const gone: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const before = new Set((await ribPrefixes(lab)).keys());
    const name = `assign-${r}`;
    const t0 = performance.now();
    await createService(lab, name);
    let prefix: string | undefined;
    let tFirst = NaN;
    const deadline = t0 + 30_000;
    while (performance.now() < deadline) {
      const rib = await ribPrefixes(lab);
      prefix ??= [...rib.keys()].find((k) => !before.has(k));
      if (prefix !== undefined) {
        if (Number.isNaN(tFirst)) tFirst = performance.now() - t0;
        if ((rib.get(prefix) ?? 0) >= 3) break;
      }
      await sleep(10);
    }
    if (prefix === undefined) throw new Error(`Service ${name}: no prefix in the router RIB after 30 s`);
    first.push(tFirst);
    all.push(performance.now() - t0);
    const t1 = performance.now();
    await lab.api.core.deleteNamespacedService({ name, namespace: NS });
    while (performance.now() < t1 + 30_000 && (await ribPrefixes(lab)).has(prefix)) await sleep(10);
    gone.push(performance.now() - t1);
  }
  console.log(`\n1. Service created → /32 in the router RIB (${rounds} rounds, ETP Cluster, 3 nodes)`);
  console.log(`   first path          ${stats(first)}`);
  console.log(`   all three paths     ${stats(all)}`);
  console.log(`   Service deleted → prefix gone from the RIB   ${stats(gone)}`);
}

/** 2. Node 3's cable pulled → its route gone from the router kernel; returns the samples. */
async function nodeDeath(lab: Lab, prefix: string, label: string): Promise<number[]> {
  const ips = nodeIPs(lab);
  const samples: number[] = [];
  const recovery: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await waitNexthops(lab, prefix, ips, { timeoutMs: 90_000, intervalMs: 100 });
    const t0 = performance.now();
    setCable(lab, 3, false);
    try {
      samples.push(
        await waitNexthops(lab, prefix, ips.slice(0, 2), { since: t0, timeoutMs: 60_000, intervalMs: 10 }),
      );
    } finally {
      setCable(lab, 3, true);
    }
    const t1 = performance.now();
    await waitNexthops(lab, prefix, ips, { timeoutMs: 90_000, intervalMs: 100 });
    recovery.push(performance.now() - t1);
    process.stdout.write(`   ${label} round ${r + 1}: ${samples[r]?.toFixed(0)} ms\r`);
  }
  console.log(`\n2. node death (cable pulled) → route gone at the router, ${label}`);
  console.log(`   withdrawal          ${stats(samples)}`);
  console.log(`   cable back → route back (gobgpd reconnects 5–10 s)   ${stats(recovery)}`);
  return samples;
}

async function setBfd(lab: Lab, on: boolean): Promise<void> {
  if (on) {
    await lab.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: labPools() }),
    );
    await vtyshConfig(lab, ['router bgp 64512', `neighbor NODES bfd profile ${LAB.bfd.profile}`]);
    await waitFor('BFD up with every node', async () => {
      const s = await bfdStates(lab);
      return nodeIPs(lab).every((a) => s[a] === 'up');
    });
    return;
  }
  for (const name of ['lab-router', 'lab-router-md5'])
    await lab.api.custom.patchNamespacedCustomObject(
      {
        group: 'metallb.io',
        version: 'v1beta2',
        namespace: LB,
        plural: 'bgppeers',
        name,
        body: { spec: { bfdProfile: null } },
      },
      mergePatch,
    );
  await vtyshConfig(lab, ['router bgp 64512', 'no neighbor NODES bfd']);
  await waitFor('no BFD session at the router', async () => Object.keys(await bfdStates(lab)).length === 0);
}

/** 3. many IPv6 Services at once → every prefix from every node in the router RIB. */
async function convergence(lab: Lab): Promise<void> {
  const v6 = [1, 2, 3].map((i) => lab.node(i).v6);
  await vtyshConfig(lab, [
    'router bgp 64512',
    'neighbor NODES6 peer-group',
    `neighbor NODES6 remote-as ${LAB.nodeASN}`,
    'neighbor NODES6 timers connect 1',
    ...v6.map((a) => `neighbor ${a} peer-group NODES6`),
    'address-family ipv6 unicast',
    'neighbor NODES6 activate',
    'maximum-paths 8',
  ]);
  const items = [
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'bench-v6', namespace: LB },
      spec: { addresses: ['2001:db8:100::/116'], autoAssign: false },
    },
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'BGPAdvertisement',
      metadata: { name: 'bench-v6', namespace: LB },
      spec: { ipAddressPools: ['bench-v6'] },
    },
    {
      apiVersion: 'metallb.io/v1beta2',
      kind: 'BGPPeer',
      metadata: { name: 'bench-v6', namespace: LB },
      spec: { myASN: LAB.nodeASN, peerASN: LAB.router.asn, peerAddress: LAB.router.v6 },
    },
  ];
  await lab.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  await waitFor(
    'IPv6 sessions Established',
    async () => {
      const out = JSON.parse(await lab.vtysh('show bgp ipv6 unicast summary json')) as {
        peers?: Record<string, { state?: string }>;
      };
      return v6.every((a) => out.peers?.[a]?.state === 'Established');
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const received = async (): Promise<{ perPeer: number[]; kernel: number }> => {
    const out = JSON.parse(await lab.vtysh('show bgp ipv6 unicast summary json')) as {
      peers?: Record<string, { pfxRcd?: number }>;
    };
    const kernel = run(['ip', '-n', lab.ns('router'), '-6', 'route', 'show', 'proto', 'bgp'])
      .stdout.split('\n')
      .filter((l) => l.startsWith('2001:db8:100:')).length;
    return { perPeer: v6.map((a) => out.peers?.[a]?.pfxRcd ?? 0), kernel };
  };
  const n = manyCount;
  log(`creating ${n} IPv6 Services`);
  const t0 = performance.now();
  let next = 0;
  const many = (i: number) =>
    createService(lab, `many-${i}`, {
      spec: { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] },
      annotations: { 'metallb.io/address-pool': 'bench-v6' },
      // kube-proxy skips Services with this label: the figure is BGP convergence, not iptables
      labels: { 'service.kubernetes.io/service-proxy-name': 'bench-none' },
    });
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < n; i = next++) {
        for (let attempt = 0; ; attempt++) {
          try {
            await many(i);
            break;
          } catch (e) {
            const code = (e as { code?: number }).code;
            if (code === 409) break; // an earlier attempt went through
            if (attempt >= 5) throw e;
            await sleep(200 * (attempt + 1));
          }
        }
      }
    }),
  );
  const tCreated = performance.now() - t0;
  log(`created in ${(tCreated / 1000).toFixed(1)} s; waiting for the router`);
  let tAssigned = NaN;
  let tRib = NaN;
  let tKernel = NaN;
  const deadline = t0 + 600_000;
  while (performance.now() < deadline) {
    if (Number.isNaN(tAssigned)) {
      const list = await lab.api.core.listNamespacedService({ namespace: NS });
      const done = list.items.filter(
        (s) => s.metadata?.name?.startsWith('many-') && s.status?.loadBalancer?.ingress?.length,
      ).length;
      if (done >= n) tAssigned = performance.now() - t0;
    }
    const r = await received();
    if (Number.isNaN(tRib) && r.perPeer.every((c) => c >= n)) tRib = performance.now() - t0;
    if (Number.isNaN(tKernel) && r.kernel >= n) tKernel = performance.now() - t0;
    if (!Number.isNaN(tAssigned) && !Number.isNaN(tRib) && !Number.isNaN(tKernel)) break;
    await sleep(250);
  }
  const last = await received();
  console.log(`\n3. ${n} IPv6 Services created at once (16 concurrent creates) → the router`);
  console.log(`   all created                       ${(tCreated / 1000).toFixed(1)} s`);
  console.log(`   all assigned (status written)     ${(tAssigned / 1000).toFixed(1)} s`);
  console.log(
    `   all ${n} prefixes from all 3 nodes in the RIB   ${(tRib / 1000).toFixed(1)} s   (per peer: ${last.perPeer.join(', ')})`,
  );
  console.log(`   all ${n} routes in the router kernel            ${(tKernel / 1000).toFixed(1)} s`);
  const t1 = performance.now();
  await lab.kubectl(['delete', 'services', '--all', '-n', NS, '--wait=false']);
  let tGone = NaN;
  while (performance.now() < t1 + 600_000) {
    const r = await received();
    if (r.perPeer.every((c) => c === 0) && r.kernel === 0) {
      tGone = performance.now() - t1;
      break;
    }
    await sleep(250);
  }
  console.log(`   all deleted → all withdrawn       ${(tGone / 1000).toFixed(1)} s`);
}

/** cleanAttached removes what the bench created in a lab it did not build. */
async function cleanAttached(lab: Lab): Promise<void> {
  await lab.kubectl(['delete', 'services', '--all', '-n', NS, '--ignore-not-found']).catch(() => undefined);
  for (const p of lab.state.pods.filter((x) => x.namespace === NS)) await lab.removePod(p);
  for (const kind of ['bgppeer', 'bgpadvertisement', 'ipaddresspool'])
    await lab.kubectl(['delete', kind, 'bench-v6', '-n', LB, '--ignore-not-found']).catch(() => undefined);
}

async function main(): Promise<void> {
  const dir = join(repoRoot, '.lab', values.prefix.replace(/-$/, ''));
  let lab: Lab;
  if (values.attach) {
    lab = Lab.attach(values.attach, log);
  } else {
    log(`building the lab (${values.prefix}*)`);
    lab = await Lab.up({ dir, prefix: values.prefix, hostApiPort: Number(values.port), log });
  }
  try {
    if (values.attach) await ensureIronLB(lab, log);
    else await installIronLB(lab, { log });
    const ips = nodeIPs(lab);
    await waitEstablished(lab, ips, 90_000);
    for (const i of [1, 2, 3])
      await lab.addPod({ namespace: NS, name: `bench-${i}`, node: i, labels: { app: 'bench' } });
    await createService(lab, 'steady');
    await waitForEndpoints(lab.api, NS, 'steady', 3);
    const prefix = `${await serviceAddress(lab, NS, 'steady')}/32`;
    await waitNexthops(lab, prefix, ips, { timeoutMs: 60_000 });
    log(
      `ready: ${prefix} via ${kernelNexthops(lab, prefix).join(', ')}; ${(await frrPaths(lab, prefix)).length} paths`,
    );
    console.log(
      `\nBGP benchmark: 3 nodes, FRR router, ${rounds} rounds (2 vCPU shared with other work: wall-clock figures)`,
    );
    if (only.has(1)) await assignmentToRib(lab);
    if (only.has(2)) {
      const withBfd = await nodeDeath(
        lab,
        prefix,
        `with BFD (${LAB.bfd.intervalMs} ms × ${LAB.bfd.multiplier})`,
      );
      await setBfd(lab, false);
      const without = await nodeDeath(lab, prefix, 'without BFD (hold time)');
      await setBfd(lab, true);
      console.log(`   ratio without/with BFD (p50): ${(p50(without) / p50(withBfd)).toFixed(1)}×`);
    }
    if (only.has(3)) {
      await lab.api.core.deleteNamespacedService({ name: 'steady', namespace: NS });
      await convergence(lab);
    }
  } finally {
    if (values.attach) {
      await cleanAttached(lab);
      log('bench objects removed; the lab keeps running');
    } else {
      await lab.down();
      log('lab removed');
    }
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bgp bench: ${e instanceof Error ? e.stack : String(e)}`);
    process.exit(1);
  },
);
