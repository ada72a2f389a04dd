// What one speaker plan costs as the number of Services grows: the speaker recomputes its whole plan (the
// snapshot's views, the L2 plan with its election, the BGP plan) after every change, so the plan's time and
// garbage, multiplied by the changes of a burst, are the speaker's CPU and much of its young-generation growth
// (bench/speaker-scale.bench.ts). N synthetic Services of the lab's shape (one address from a /16 pool with an
// L2Advertisement, an EndpointSlice with 3 ready endpoints on 3 nodes), 3 live nodes; each round plans as node
// 1. Prints the median time per plan and the garbage collections' count and time per plan, for this checkout
// and, with --baseline DIR (a checkout of another commit, e.g. `git archive main | tar -x -C DIR`), for that
// one, in the same run: each (checkout, size) in a fresh process, alternating, --repeat times.
//   node bench/speaker-plan.bench.ts [--services 1000,10000] [--rounds 9] [--baseline DIR] [--repeat 3]
// Not a test: it prints figures, never pass/fail.
import { spawnSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/harness/paths.ts';

const { values: f } = parseArgs({
  options: {
    services: { type: 'string', default: '1000,10000' },
    rounds: { type: 'string', default: '9' },
    baseline: { type: 'string' },
    repeat: { type: 'string', default: '3' },
    inner: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (f.help) {
  console.log(`Usage: node bench/speaker-plan.bench.ts [--services 1000,10000] [--rounds 9] [--baseline DIR]
  --services N,...  sizes to plan (1000,10000)
  --rounds R        plans per size and checkout; the median is printed (9)
  --baseline DIR    another checkout whose src/ is planned the same way, in the same run
  --repeat K        fresh processes per size and checkout, alternating; medians are printed (3)`);
  process.exit(0);
}
const sizes = (f.services as string).split(',').map(Number);
const rounds = Number(f.rounds);

interface Planner {
  label: string;
  plan: (n: number) => void;
}

/** planner loads src/ of a checkout and returns a function that plans N Services as the speaker does. */
async function planner(label: string, root: string): Promise<Planner> {
  type Fn = (...a: never[]) => unknown;
  const load = (p: string) => import(resolve(root, p)) as Promise<Record<string, Fn>>;
  const { serviceViews, nodeViews } = (await load('src/announce/snapshot.ts')) as Record<string, Fn>;
  const { planL2 } = (await load('src/announce/l2plan.ts')) as Record<string, Fn>;
  const { planBgp } = (await load('src/announce/bgpplan.ts')) as Record<string, Fn>;
  const { parseConfig } = (await load('src/config/parse.ts')) as Record<string, Fn>;
  if (!serviceViews || !nodeViews || !planL2 || !planBgp || !parseConfig)
    throw new Error(`Checkout "${root}" lacks the speaker's planning functions`);
  const ns = 'ironlb-system';
  const { config } = parseConfig(
    [
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPool',
        metadata: { name: 'bench', namespace: ns },
        spec: { addresses: ['10.210.0.0/16'] },
      },
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'L2Advertisement',
        metadata: { name: 'bench', namespace: ns },
        spec: { ipAddressPools: ['bench'] },
      },
    ] as never,
    { namespace: ns } as never,
  ) as { config: unknown };
  const nodeObjects = [1, 2, 3].map((n) => ({
    metadata: { name: `node-${n}`, labels: { 'kubernetes.io/hostname': `node-${n}` } },
    status: { addresses: [{ type: 'InternalIP', address: `192.0.2.1${n}` }] },
  }));
  const nodes = nodeViews(nodeObjects as never);
  const alive = new Set(['node-1', 'node-2', 'node-3']);
  const cache = new Map<number, { services: unknown[]; slices: unknown[] }>();
  const objects = (n: number) => {
    let o = cache.get(n);
    if (!o) {
      o = {
        services: Array.from({ length: n }, (_, i) => ({
          metadata: { name: `s${i}`, namespace: 'demo', labels: { bench: 'speaker-plan' } },
          spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster' },
          status: { loadBalancer: { ingress: [{ ip: `10.210.${(i >> 8) & 255}.${i & 255}` }] } },
        })),
        slices: Array.from({ length: n }, (_, i) => ({
          metadata: { name: `s${i}-a`, namespace: 'demo', labels: { 'kubernetes.io/service-name': `s${i}` } },
          addressType: 'IPv4',
          endpoints: [1, 2, 3].map((k) => ({
            addresses: [`10.244.${k}.${i % 250}`],
            nodeName: `node-${k}`,
            conditions: { ready: true },
          })),
        })),
      };
      cache.set(n, o);
    }
    return o;
  };
  return {
    label,
    plan: (n) => {
      const o = objects(n);
      const services = serviceViews(o.services as never, o.slices as never, undefined as never);
      const input = {
        self: 'node-1',
        services,
        nodes,
        alive,
        config,
        mode: 'evenSpread',
        ignoreExcludeLabel: false,
      };
      planL2(input as never);
      planBgp(input as never);
    },
  };
}

// --inner ROOT:N: one measured process, printing {ms, gcs, gcMs} per plan as JSON
if (f.inner) {
  const [root = repoRoot, n = '1000'] = f.inner.split(':');
  const p = await planner(root, root);
  let gcCount = 0;
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcCount++;
      gcMs += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  p.plan(Number(n)); // warm-up: objects built, code compiled
  await new Promise((r) => setImmediate(r));
  const c0 = gcCount;
  const m0 = gcMs;
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    p.plan(Number(n));
    times.push(performance.now() - t0);
  }
  await new Promise((r) => setTimeout(r, 50)); // the observer reports asynchronously
  const sorted = times.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      ms: sorted[Math.floor(sorted.length / 2)],
      gcs: (gcCount - c0) / rounds,
      gcMs: (gcMs - m0) / rounds,
    }),
  );
  process.exit(0);
}

const checkouts = [
  ...(f.baseline ? [{ label: `baseline ${f.baseline}`, root: f.baseline }] : []),
  { label: 'this checkout', root: repoRoot },
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const results = new Map<string, { ms: number; gcs: number; gcMs: number }[]>();
for (let rep = 0; rep < Number(f.repeat); rep++)
  for (const n of sizes)
    for (const c of checkouts) {
      const r = spawnSync(
        process.execPath,
        [process.argv[1] ?? '', '--inner', `${c.root}:${n}`, '--rounds', String(rounds)],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      if (r.status !== 0) throw new Error(`planning ${n} Services with ${c.label} failed (exit ${r.status})`);
      const key = `${n}\t${c.label}`;
      results.set(key, [
        ...(results.get(key) ?? []),
        JSON.parse(r.stdout) as { ms: number; gcs: number; gcMs: number },
      ]);
    }
const { loadavg } = await import('node:os');
console.log(
  `speaker plan benchmark: Node.js ${process.version}, ${rounds} plans per process, ${f.repeat} processes per size and checkout (medians), load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log('services  checkout                            ms/plan  GCs/plan  GC ms/plan');
for (const [key, rs] of results) {
  const [n = '', label = ''] = key.split('\t');
  console.log(
    `${n.padStart(8)}  ${label.padEnd(34)}  ${median(rs.map((r) => r.ms))
      .toFixed(1)
      .padStart(7)}` +
      `  ${median(rs.map((r) => r.gcs))
        .toFixed(1)
        .padStart(8)}  ${median(rs.map((r) => r.gcMs))
        .toFixed(1)
        .padStart(10)}`,
  );
}
