// Speaker memory benchmark: the resident memory of each node's ironlb-speaker pod (and of the controller's) on the
// real-node lab while N LoadBalancer Services are created and announced (L2), and after a restart of the speakers
// with N Services in place (each new speaker lists and plans all N at start: its worst moment), for each variant
// of the speaker's command and environment, compared in the same run on the same Services.
//   flock /tmp/ironlb-lab.lock bash -c 'make lab && node bench/speaker-memory.bench.ts; make lab-down'
//   node bench/speaker-memory.bench.ts [--attach .lab] [--services 10000] [--concurrency 32] [--settle 20]
//        [--variants 'dist/speaker.js,speaker/main.ts,dist/speaker.js+NODE_OPTIONS=--max-semi-space-size=1']
//        [--max-minutes 18] [--keep] [--without-endpoints]
// A variant is the entry point the DaemonSet runs (dist/speaker.js: the image's bundle; speaker/main.ts: the
// sources) and optionally environment settings after "+" (NODE_OPTIONS, MALLOC_ARENA_MAX; a setting not named
// is removed from the DaemonSet for that variant). The first variant serves the creation phase.
// Memory is read from /proc of each container's process (found through the node's containerd): peak (VmHWM),
// current RSS and its anonymous part. The Services (label bench=speaker-memory, namespace demo, selecting the
// lab's echo pods so each has 3 endpoints; --without-endpoints: no selector, no EndpointSlices, a lighter load
// for the lab's API server and kube-proxies) take addresses from a pool of their own (10.210.0.0/16, announced by an
// L2Advertisement of its own); both, and the DaemonSet's original command and environment, are restored at the
// end unless --keep. Not a test: it prints figures, never pass/fail. Bounded by --max-minutes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { Lab } from '../test/harness/netlab.ts';
import { repoRoot } from '../test/harness/paths.ts';
import { processMemory, type ProcessMemory } from './support/procmem.ts';
import { parseVariants, type Variant } from './support/variants.ts';
import { COMPONENTS, IRONLB_NAMESPACE, listPods, type PodView } from '../test/lab/install.ts';

const { values: f } = parseArgs({
  options: {
    attach: { type: 'string', default: join(repoRoot, '.lab') },
    services: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    settle: { type: 'string', default: '20' },
    variants: { type: 'string', default: 'dist/speaker.js' },
    'max-minutes': { type: 'string', default: '18' },
    keep: { type: 'boolean', default: false },
    'without-endpoints': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help) {
  console.log(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('\nimport ')[0]
      ?.replace(/^\/\/ ?/gm, ''),
  );
  process.exit(0);
}
const N = Number(f.services);
const concurrency = Number(f.concurrency);
const settleMs = Number(f.settle) * 1000;
const deadline = Date.now() + Number(f['max-minutes']) * 60_000;
if (!Number.isInteger(N) || N < 1 || N > 60_000 || !(concurrency >= 1)) {
  console.error('speaker-memory bench: --services must be 1..60000 and --concurrency at least 1');
  process.exit(2);
}
const NS = 'demo';
const LABEL = 'bench=speaker-memory';
const POOL = 'bench-speaker';
const MANAGED_ENV = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'];
const log = (m: string) => console.error(`[bench] ${m}`);
const left = () => deadline - Date.now();

const variants = parseVariants(f.variants as string);

/** Memory of one process, MiB. */
type Memory = ProcessMemory;

/** podMemory reads the memory of a pod's container `name` through its node's containerd task list. */
async function podMemory(lab: Lab, pod: PodView, name: string): Promise<Memory> {
  const id = pod.containers.get(name)?.id;
  if (!id) throw new Error(`Pod "${pod.namespace}/${pod.name}" has no running container "${name}"`);
  const tasks = await lab.ctr(pod.node, ['tasks', 'ls']);
  const pid = tasks
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((x) => x[0] === id)?.[1];
  if (!pid)
    throw new Error(`Container "${name}" of pod "${pod.namespace}/${pod.name}" has no task in containerd`);
  return processMemory(pid);
}

async function speakers(lab: Lab): Promise<PodView[]> {
  const pods = await listPods(lab, IRONLB_NAMESPACE, COMPONENTS.speaker.selector);
  return pods.filter((p) => p.node > 0).sort((a, b) => a.node - b.node);
}

interface Row {
  phase: string;
  variant: string;
  /** per node index: the speaker's memory */
  speakers: Map<number, Memory>;
  controller?: Memory;
  seconds: number;
}

async function sample(lab: Lab, phase: string, variant: string, seconds: number): Promise<void> {
  let row: Row;
  try {
    row = await read(lab, phase, variant, seconds);
  } catch (e) {
    // a speaker restarted meanwhile (liveness under load): say so and go on, the other rows still count
    log(`${phase} (${variant}): reading memory failed: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  rows.push(row);
  log(`so far:\n${table(rows, nodes)}`);
}

async function read(lab: Lab, phase: string, variant: string, seconds: number): Promise<Row> {
  const row: Row = { phase, variant, speakers: new Map(), seconds };
  for (const p of await speakers(lab)) row.speakers.set(p.node, await podMemory(lab, p, 'speaker'));
  const controllers = await listPods(lab, IRONLB_NAMESPACE, COMPONENTS.controller.selector);
  const mems = await Promise.all(
    controllers.filter((p) => p.node > 0).map((p) => podMemory(lab, p, 'controller')),
  );
  // the replica that did the work is the one with the highest peak (the leader)
  row.controller = mems.sort((a, b) => b.peak - a.peak)[0];
  return row;
}

/** speakerSpec reads the speaker container's command and managed environment from the DaemonSet. */
async function speakerSpec(lab: Lab): Promise<{ command: string[]; env: k8s.V1EnvVar[] }> {
  const ds = await lab.api.kc
    .makeApiClient(k8s.AppsV1Api)
    .readNamespacedDaemonSet({ name: COMPONENTS.speaker.name, namespace: IRONLB_NAMESPACE });
  const c = ds.spec?.template.spec?.containers.find((x) => x.name === 'speaker');
  if (!c)
    throw new Error(`DaemonSet "${IRONLB_NAMESPACE}/${COMPONENTS.speaker.name}" has no container "speaker"`);
  return { command: c.command ?? [], env: (c.env ?? []).filter((e) => MANAGED_ENV.includes(e.name)) };
}

/**
 * rollOut sets the speaker's command and managed environment, restarts every speaker (a template annotation
 * that changes each time) and waits until every speaker runs them, Ready.
 */
async function rollOut(
  lab: Lab,
  command: string[],
  env: Record<string, string>,
  timeoutS = Math.max(30, Math.floor(left() / 1000)),
): Promise<void> {
  const envPatch = MANAGED_ENV.map((name) =>
    name in env ? { name, value: env[name] } : { name, $patch: 'delete' },
  );
  const patch = {
    spec: {
      template: {
        metadata: { annotations: { 'bench.ironlb.io/rolled-at': new Date().toISOString() } },
        spec: { containers: [{ name: 'speaker', command, env: envPatch }] },
      },
    },
  };
  await lab.kubectl([
    '-n',
    IRONLB_NAMESPACE,
    'patch',
    'daemonset',
    COMPONENTS.speaker.name,
    '--type=strategic',
    '-p',
    JSON.stringify(patch),
  ]);
  await lab.kubectl([
    '-n',
    IRONLB_NAMESPACE,
    'rollout',
    'status',
    `daemonset/${COMPONENTS.speaker.name}`,
    `--timeout=${timeoutS}s`,
  ]);
}

async function ensurePool(lab: Lab): Promise<void> {
  const custom = lab.api.custom;
  const objects = [
    {
      plural: 'ipaddresspools',
      body: { kind: 'IPAddressPool', spec: { addresses: ['10.210.0.0/16'], autoAssign: false } },
    },
    { plural: 'l2advertisements', body: { kind: 'L2Advertisement', spec: { ipAddressPools: [POOL] } } },
  ];
  for (const o of objects) {
    try {
      await custom.createNamespacedCustomObject({
        group: 'metallb.io',
        version: 'v1beta1',
        namespace: IRONLB_NAMESPACE,
        plural: o.plural,
        body: { apiVersion: 'metallb.io/v1beta1', metadata: { name: POOL }, ...o.body },
      });
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  }
}

async function removePool(lab: Lab): Promise<void> {
  for (const plural of ['l2advertisements', 'ipaddresspools'])
    await lab.api.custom
      .deleteNamespacedCustomObject({
        group: 'metallb.io',
        version: 'v1beta1',
        namespace: IRONLB_NAMESPACE,
        plural,
        name: POOL,
      })
      .catch(() => undefined);
}

/** lanes runs fn(i) for i in 0..n-1 with at most `concurrency` in flight, stopping at the deadline. */
async function lanes(n: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n && left() > 0) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
}

async function createServices(lab: Lab): Promise<void> {
  let failures = 0;
  await lanes(N, async (i) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await lab.api.core.createNamespacedService({
          namespace: NS,
          body: {
            metadata: {
              name: `mem-${i}`,
              labels: { bench: 'speaker-memory' },
              annotations: { 'metallb.io/address-pool': POOL },
            },
            spec: {
              type: 'LoadBalancer',
              allocateLoadBalancerNodePorts: false,
              ipFamilies: ['IPv4'],
              ipFamilyPolicy: 'SingleStack',
              ...(f['without-endpoints'] ? {} : { selector: { app: 'echo' } }),
              ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
            },
          },
        });
        return;
      } catch (e) {
        if ((e as { code?: number }).code === 409) return;
        if (++failures > 50 || attempt >= 5) throw e;
        await sleep(200 * (attempt + 1));
      }
    }
  });
}

/** assigned counts the bench's Services holding an address (paged list). */
async function assigned(lab: Lab): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await lab.api.core.listNamespacedService({
      namespace: NS,
      labelSelector: LABEL,
      limit: 2000,
      _continue: token,
    });
    count += page.items.filter((s) => (s.status?.loadBalancer?.ingress ?? []).some((x) => x.ip)).length;
    token = page.metadata?._continue || undefined;
  } while (token);
  return count;
}

async function waitAssigned(lab: Lab): Promise<number> {
  for (;;) {
    const n = await assigned(lab);
    if (n >= N || left() <= 0) return n;
    await sleep(3000);
  }
}

async function deleteServices(lab: Lab): Promise<void> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await lab.api.core.listNamespacedService({
      namespace: NS,
      labelSelector: LABEL,
      limit: 2000,
      _continue: token,
    });
    names.push(...page.items.map((s) => s.metadata?.name ?? ''));
    token = page.metadata?._continue || undefined;
  } while (token);
  let next = 0;
  const lane = async () => {
    while (next < names.length) {
      const name = names[next++] as string;
      await lab.api.core.deleteNamespacedService({ name, namespace: NS }).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, lane));
}

function table(rows: Row[], nodes: number[]): string {
  const f1 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(1));
  const head = [
    'phase',
    'speaker variant',
    ...nodes.map((n) => `node ${n} peak / rss / anon MiB`),
    'max peak MiB',
    'controller peak / rss MiB',
    's',
  ];
  const body = rows.map((r) => [
    r.phase,
    r.variant,
    ...nodes.map((n) => {
      const m = r.speakers.get(n);
      return m ? `${f1(m.peak)} / ${f1(m.rss)} / ${f1(m.anon)}` : '-';
    }),
    f1(Math.max(...[...r.speakers.values()].map((m) => m.peak))),
    r.controller ? `${f1(r.controller.peak)} / ${f1(r.controller.rss)}` : '-',
    r.seconds.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((x, i) => (i < 2 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

const lab = Lab.attach(f.attach as string, log);
const original = await speakerSpec(lab);
const commandOf = (v: Variant) => ['node', v.entry];
const rows: Row[] = [];
let nodes: number[] = [];
try {
  const first = variants[0] as Variant;
  log(`variant ${first.label}: rolling out`);
  await rollOut(lab, commandOf(first), first.env);
  nodes = (await speakers(lab)).map((p) => p.node);
  await ensurePool(lab);
  await sample(lab, 'idle', first.label, 0);
  log(`creating ${N} Services in ${NS} (${concurrency} in flight)`);
  const t0 = Date.now();
  await createServices(lab);
  const got = await waitAssigned(lab);
  const took = (Date.now() - t0) / 1000;
  log(`${got} of ${N} Services hold an address after ${took.toFixed(0)} s; settling ${settleMs / 1000} s`);
  await sleep(settleMs);
  await sample(lab, `create ${N}${got < N ? ` (${got} assigned)` : ''}`, first.label, took);
  for (const v of variants) {
    if (left() <= 0) {
      log(`out of time (--max-minutes): variant ${v.label} not measured`);
      break;
    }
    log(`variant ${v.label}: restarting the speakers with ${got} Services in place`);
    const t1 = Date.now();
    await rollOut(lab, commandOf(v), v.env);
    await sleep(settleMs);
    await sample(lab, `restart with ${got}`, v.label, (Date.now() - t1) / 1000);
  }
} finally {
  console.log(
    `speaker memory benchmark: ${N} LoadBalancer Services (L2, ${f['without-endpoints'] ? 'no endpoints' : '3 endpoints each'}), ${nodes.length} nodes, ` +
      `settle ${settleMs / 1000} s; DaemonSet originally ${original.command.join(' ')} ` +
      `${original.env.map((e) => `${e.name}=${e.value ?? ''}`).join(' ')}`,
  );
  console.log(table(rows, nodes));
  console.log(
    'peak = VmHWM of the container process (since it started), rss = VmRSS now, anon = its anonymous part',
  );
  if (!f.keep) {
    log('restoring the DaemonSet, removing the Services and the pool');
    const env = Object.fromEntries(original.env.map((e) => [e.name, e.value ?? '']));
    await rollOut(lab, original.command, env, 180).catch((e) =>
      log(`restoring the speaker failed: ${String(e)}`),
    );
    await deleteServices(lab);
    await removePool(lab);
  }
}
