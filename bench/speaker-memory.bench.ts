// Speaker memory benchmark: the resident memory and CPU time of each node's speaker pod (and the controller's
// memory) on the real-node lab while N LoadBalancer Services are created and announced (L2), and after a restart
// of the speakers with N Services in place (each new speaker lists and plans all N at start: its worst moment),
// for each variant of the speaker, compared in the same run on the same Services.
//   flock /tmp/ironlb-lab.lock bash -c 'make lab && node bench/speaker-memory.bench.ts --keep; make lab-down'
//   node bench/speaker-memory.bench.ts [--attach .lab] [--services 10000] [--concurrency 32] [--settle 20]
//        [--variants 'dist/speaker.js,metallb,dist/speaker.js+NODE_OPTIONS=--max-semi-space-size=1']
//        [--max-minutes 18] [--keep] [--without-endpoints] [--skip-idle]
// A variant is the entry point IronLB's DaemonSet runs (dist/speaker.js: the image's bundle; speaker/main.ts: the
// sources) and optionally environment settings after "+" (NODE_OPTIONS, MALLOC_ARENA_MAX; a setting not named
// is removed from the DaemonSet for that variant), or `metallb`: MetalLB v0.16.1's speaker as its release deploys
// it (native mode, memberlist; bench/support/metallb-speaker.ts) in metallb-system with a pool of the same
// addresses, while IronLB's speakers are taken off every node (label lab.ironlb.io/no-speaker), so one speaker
// answers ARP at a time. Every variant is sampled idle before the Services exist (--skip-idle: an earlier run's
// Services and first variant's speakers are left as they are, and creation goes on up to N); the first variant
// serves the creation phase; then each variant's speakers are restarted (or started) with the N Services in
// place. Before a sample the bench waits --settle seconds and then until every speaker has used under 5% of a core
// for 10 s (at most 3 minutes), so a speaker still working through its start is not read early.
// Memory is read from /proc of each container's process (found through the node's containerd): peak (VmHWM),
// current RSS and its anonymous part; CPU-s is the speaker process's user+system time since it started (all its
// threads); "others" is the RSS of the pod's other processes (IronLB's gobgpd sidecar and bfdd). The Services
// (label bench=speaker-memory, namespace demo, selecting the lab's echo pods so each has 3 endpoints;
// --without-endpoints: no selector, no EndpointSlices, a lighter load for the lab's API server and kube-proxies)
// take addresses from a pool of their own (10.210.0.0/16, announced by an L2Advertisement of its own); both, and
// the DaemonSet's original command and environment, are restored at the end unless --keep (with --keep nothing is
// cleaned up: meant for a lab taken down right after). On this 2-core lab the API server creates Services at
// 6-8 a second (each ClusterIP allocation ~160 ms, one after the other), so 10,000 take over 20 minutes. Not a
// test: it prints figures, never pass/fail. Bounded by --max-minutes.
import { headerHelp } from './support/help.ts';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { Lab } from '../test/harness/netlab.ts';
import { repoRoot } from '../test/harness/paths.ts';
import { processCpuSeconds, processMemory, type ProcessMemory } from './support/procmem.ts';
import { parseVariants, type Variant } from './support/variants.ts';
import {
  METALLB_NAMESPACE,
  METALLB_SPEAKER,
  metallbConfigurationStateCrd,
  metallbSpeakerImage,
  metallbSpeakerManifests,
} from './support/metallb-speaker.ts';
import {
  COMPONENTS,
  IRONLB_NAMESPACE,
  listPods,
  NO_SPEAKER_LABEL,
  type PodView,
} from '../test/lab/install.ts';

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
    'skip-idle': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help) {
  console.log(headerHelp(import.meta.url));
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

const isMetalLB = (v: Variant) => v.entry === 'metallb';

/** Memory of one process, MiB, its CPU time so far and the RSS of the pod's other containers. */
type Memory = ProcessMemory & { cpu: number; others: number };

/** containerPid finds the pid of a pod's container `name` through its node's containerd task list. */
async function containerPid(lab: Lab, pod: PodView, name: string): Promise<string> {
  const id = pod.containers.get(name)?.id;
  if (!id) throw new Error(`Pod "${pod.namespace}/${pod.name}" has no running container "${name}"`);
  const tasks = await lab.ctr(pod.node, ['tasks', 'ls']);
  const pid = tasks
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((x) => x[0] === id)?.[1];
  if (!pid)
    throw new Error(`Container "${name}" of pod "${pod.namespace}/${pod.name}" has no task in containerd`);
  return pid;
}

/** containerPids lists every process of a pod's container (`ctr tasks ps`: the first column). */
async function containerPids(lab: Lab, pod: PodView, name: string): Promise<string[]> {
  const id = pod.containers.get(name)?.id;
  if (!id) return [];
  const out = await lab.ctr(pod.node, ['tasks', 'ps', id]);
  return out
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((x) => /^\d+$/.test(x));
}

/**
 * podMemory reads the memory and CPU time of a pod's container `name` (its first process), and the summed RSS of
 * every other process of the pod (IronLB's gobgpd sidecar, the bfdd its speaker starts).
 */
async function podMemory(lab: Lab, pod: PodView, name: string): Promise<Memory> {
  const pid = await containerPid(lab, pod, name);
  let others = 0;
  for (const c of pod.containers.keys())
    for (const p of await containerPids(lab, pod, c)) if (p !== pid) others += processMemory(p).rss;
  return { ...processMemory(pid), cpu: processCpuSeconds(pid), others };
}

/** speakers lists the running speaker pods of a variant (IronLB's or MetalLB's), by node. */
async function speakers(lab: Lab, v: Variant): Promise<PodView[]> {
  const pods = isMetalLB(v)
    ? await listPods(lab, METALLB_NAMESPACE, METALLB_SPEAKER.selector)
    : await listPods(lab, IRONLB_NAMESPACE, COMPONENTS.speaker.selector);
  return pods.filter((p) => p.node > 0).sort((a, b) => a.node - b.node);
}

interface Row {
  phase: string;
  variant: string;
  /** per node index: the speaker's memory */
  speakers: Map<number, Memory>;
  controller?: Memory;
  seconds: number;
  load: number[];
  /** per node name: the ServiceL2Status objects its speaker keeps (what it says it announces) */
  announced: Map<string, number>;
}

async function sample(lab: Lab, phase: string, v: Variant, seconds: number): Promise<void> {
  let row: Row;
  try {
    row = await read(lab, phase, v, seconds);
  } catch (e) {
    // a speaker restarted meanwhile (liveness under load): say so and go on, the other rows still count
    log(`${phase} (${v.label}): reading memory failed: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  rows.push(row);
  log(`so far:\n${table(rows, nodes)}`);
}

async function read(lab: Lab, phase: string, v: Variant, seconds: number): Promise<Row> {
  const row: Row = {
    phase,
    variant: v.label,
    speakers: new Map(),
    seconds,
    load: loadavg(),
    announced: await l2Statuses(lab, isMetalLB(v) ? METALLB_NAMESPACE : IRONLB_NAMESPACE),
  };
  for (const p of await speakers(lab, v)) row.speakers.set(p.node, await podMemory(lab, p, 'speaker'));
  const controllers = await listPods(lab, IRONLB_NAMESPACE, COMPONENTS.controller.selector);
  const mems = await Promise.all(
    controllers.filter((p) => p.node > 0).map((p) => podMemory(lab, p, 'controller')),
  );
  // the replica that did the work is the one with the highest peak (the leader)
  row.controller = mems.sort((a, b) => b.peak - a.peak)[0];
  return row;
}

/** l2Statuses counts the ServiceL2Status objects in namespace by node (paged list): each speaker writes its own. */
async function l2Statuses(lab: Lab, namespace: string): Promise<Map<string, number>> {
  const byNode = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = (await lab.api.custom.listNamespacedCustomObject({
      group: 'metallb.io',
      version: 'v1beta1',
      namespace,
      plural: 'servicel2statuses',
      limit: 2000,
      _continue: token,
    })) as { items: { status?: { node?: string } }[]; metadata?: { continue?: string } };
    for (const o of page.items) {
      const node = o.status?.node ?? '';
      byNode.set(node, (byNode.get(node) ?? 0) + 1);
    }
    token = page.metadata?.continue || undefined;
  } while (token);
  return byNode;
}

/**
 * settle waits --settle seconds, then until every speaker of v has used under 5% of a core over 10 s (its start
 * or the last burst worked through), at most 3 minutes and never past the deadline.
 */
async function settle(lab: Lab, v: Variant): Promise<void> {
  await sleep(settleMs);
  const until = Math.min(deadline, Date.now() + 180_000);
  const cpu = async () => {
    const m = new Map<string, number>();
    for (const p of await speakers(lab, v))
      m.set(p.name, processCpuSeconds(await containerPid(lab, p, 'speaker')));
    return m;
  };
  try {
    let before = await cpu();
    while (Date.now() < until) {
      await sleep(10_000);
      const now = await cpu();
      const busy = [...now].filter(([name, s]) => s - (before.get(name) ?? 0) > 0.5);
      if (busy.length === 0) return;
      before = now;
    }
    log(`${v.label}: speakers still busy after the settle bound; sampling anyway`);
  } catch (e) {
    log(`${v.label}: could not follow the speakers' CPU (${e instanceof Error ? e.message : String(e)})`);
  }
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
 * that changes each time) and waits until every speaker runs them, Ready (timeoutS 0: does not wait).
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
  if (timeoutS > 0) await rolloutStatus(lab, IRONLB_NAMESPACE, COMPONENTS.speaker.name, timeoutS);
}

/** rolloutStatus waits (kubectl rollout status) until a DaemonSet's pods all run its template, timeoutS at most. */
async function rolloutStatus(
  lab: Lab,
  namespace: string,
  name: string,
  timeoutS = Math.max(30, Math.floor(left() / 1000)),
): Promise<void> {
  await lab.kubectl(['-n', namespace, 'rollout', 'status', `daemonset/${name}`, `--timeout=${timeoutS}s`]);
}

/** nodesWithoutIronLB labels (or unlabels) every lab node NO_SPEAKER_LABEL: IronLB's DaemonSet leaves (or returns). */
async function labelNodes(lab: Lab, off: boolean): Promise<void> {
  for (const n of lab.state.nodes)
    await lab.kubectl([
      'label',
      'node',
      n.name,
      off ? `${NO_SPEAKER_LABEL}=true` : `${NO_SPEAKER_LABEL}-`,
      '--overwrite',
    ]);
}

/** gone waits until no pod (terminating ones included) matches selector in namespace. */
async function gone(lab: Lab, namespace: string, selector: string): Promise<void> {
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    const pods = await lab.api.core.listNamespacedPod({ namespace, labelSelector: selector });
    if (pods.items.length === 0) return;
    await sleep(1000);
  }
  throw new Error(`Pods "${selector}" in "${namespace}" still there after 120 s`);
}

let metallbUp = false;
const WEBHOOK = 'ironlb-validating-webhook';

/**
 * webhookSkipsMetalLB makes IronLB's validating webhook leave metallb-system alone (a namespaceSelector on each
 * of its webhooks; `on` false removes it): it judges metallb.io objects of every namespace against IronLB's own
 * and would refuse MetalLB's copy of the bench pool as a duplicate.
 */
async function webhookSkipsMetalLB(lab: Lab, on: boolean): Promise<void> {
  const vwc = JSON.parse(
    await lab.kubectl(['get', 'validatingwebhookconfiguration', WEBHOOK, '-o', 'json']),
  ) as k8s.V1ValidatingWebhookConfiguration;
  const selector = {
    matchExpressions: [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [METALLB_NAMESPACE] },
    ],
  };
  const ops = (vwc.webhooks ?? []).map((_, i) =>
    on
      ? { op: 'add', path: `/webhooks/${i}/namespaceSelector`, value: selector }
      : { op: 'replace', path: `/webhooks/${i}/namespaceSelector`, value: {} },
  );
  await lab.kubectl([
    'patch',
    'validatingwebhookconfiguration',
    WEBHOOK,
    '--type=json',
    '-p',
    JSON.stringify(ops),
  ]);
}

/**
 * activate makes variant v the one speaker on every node, freshly started: for MetalLB, IronLB's speakers leave
 * the nodes and MetalLB's DaemonSet is applied (or restarted); for IronLB, MetalLB's DaemonSet is deleted and
 * IronLB's rolled out with v's command and environment.
 */
async function activate(lab: Lab, v: Variant): Promise<void> {
  if (isMetalLB(v)) {
    await labelNodes(lab, true);
    await gone(lab, IRONLB_NAMESPACE, COMPONENTS.speaker.selector);
    if (!metallbUp) {
      await lab.kubectl(['apply', '-f', metallbConfigurationStateCrd()]);
      await lab.kubectl([
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        'crd/configurationstates.metallb.io',
      ]);
      await lab.kubectl(['apply', '-f', '-'], metallbSpeakerManifests());
      await webhookSkipsMetalLB(lab, true);
      await ensurePool(lab, METALLB_NAMESPACE);
      metallbUp = true;
    } else {
      await lab.kubectl(['-n', METALLB_NAMESPACE, 'rollout', 'restart', `daemonset/${METALLB_SPEAKER.name}`]);
    }
    await rolloutStatus(lab, METALLB_NAMESPACE, METALLB_SPEAKER.name);
    return;
  }
  await startIronLB(lab, commandOf(v), v.env);
}

/** startIronLB removes MetalLB's speakers if they run and rolls IronLB's out on every node with command and env. */
async function startIronLB(lab: Lab, command: string[], env: Record<string, string>): Promise<void> {
  if (metallbUp) {
    await lab.kubectl(['-n', METALLB_NAMESPACE, 'delete', 'daemonset', METALLB_SPEAKER.name, '--wait']);
    await gone(lab, METALLB_NAMESPACE, METALLB_SPEAKER.selector);
    metallbUp = false;
  }
  await rollOut(lab, command, env, 0);
  await labelNodes(lab, false);
  await rolloutStatus(lab, IRONLB_NAMESPACE, COMPONENTS.speaker.name);
}

async function ensurePool(lab: Lab, namespace: string): Promise<void> {
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
        namespace,
        plural: o.plural,
        body: { apiVersion: 'metallb.io/v1beta1', metadata: { name: POOL }, ...o.body },
      });
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  }
}

async function removePool(lab: Lab, namespace: string): Promise<void> {
  for (const plural of ['l2advertisements', 'ipaddresspools'])
    await lab.api.custom
      .deleteNamespacedCustomObject({
        group: 'metallb.io',
        version: 'v1beta1',
        namespace,
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

/** table prints one line per sample and node: the speaker's memory and CPU, the controller's memory, the load. */
function table(rows: Row[], nodes: number[]): string {
  const f1 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(1));
  const head = [
    'phase',
    'speaker variant',
    'node',
    'peak MiB',
    'rss MiB',
    'anon MiB',
    'others rss MiB',
    'CPU-s',
    'controller peak / rss MiB',
    'L2 status objects',
    's',
    'load 1/5/15',
  ];
  const body = rows.flatMap((r) =>
    nodes.map((n) => {
      const m = r.speakers.get(n);
      return [
        r.phase,
        r.variant,
        String(n),
        f1(m?.peak),
        f1(m?.rss),
        f1(m?.anon),
        f1(m?.others),
        f1(m?.cpu),
        r.controller ? `${f1(r.controller.peak)} / ${f1(r.controller.rss)}` : '-',
        String(r.announced.get(lab.node(n).name) ?? 0),
        r.seconds.toFixed(0),
        r.load.map((x) => x.toFixed(1)).join(' '),
      ];
    }),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((x, i) => (i < 2 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** waitSpeakers waits until v runs one Ready speaker on every lab node. */
async function waitSpeakers(lab: Lab, v: Variant): Promise<void> {
  const until = Math.max(Date.now() + 30_000, deadline);
  for (;;) {
    const pods = await speakers(lab, v);
    if (pods.length === lab.state.nodes.length && pods.every((p) => p.ready)) return;
    if (Date.now() > until)
      throw new Error(
        `${v.label}: ${pods.filter((p) => p.ready).length} of ${lab.state.nodes.length} speakers Ready`,
      );
    await sleep(2000);
  }
}

const lab = Lab.attach(f.attach as string, log);
const original = await speakerSpec(lab);
const commandOf = (v: Variant) => ['node', v.entry];
const rows: Row[] = [];
const nodes = lab.state.nodes.map((n) => n.index);
try {
  if (variants.some(isMetalLB)) {
    log('loading MetalLB speaker image into the nodes');
    await lab.loadImages(await metallbSpeakerImage(log));
  }
  await ensurePool(lab, IRONLB_NAMESPACE);
  // idle: every variant before the Services exist, the first last (it serves the creation phase)
  // --skip-idle continues an earlier run: its Services and its first variant's speakers are left as they are
  const idle = f['skip-idle'] ? [] : [...variants.slice(1), variants[0] as Variant];
  for (const v of idle) {
    log(`variant ${v.label}: starting, idle`);
    const t = Date.now();
    await activate(lab, v);
    await waitSpeakers(lab, v);
    await settle(lab, v);
    await sample(lab, 'idle', v, (Date.now() - t) / 1000);
  }
  const first = variants[0] as Variant;
  log(`creating ${N} Services in ${NS} (${concurrency} in flight), ${first.label} announcing`);
  const t0 = Date.now();
  await createServices(lab);
  log(`created in ${((Date.now() - t0) / 1000).toFixed(0)} s; waiting for addresses`);
  const got = await waitAssigned(lab);
  const took = (Date.now() - t0) / 1000;
  log(`${got} of ${N} Services hold an address after ${took.toFixed(0)} s; settling`);
  await settle(lab, first);
  await sample(lab, `create ${N}${got < N ? ` (${got} assigned)` : ''}`, first, took);
  for (const v of variants) {
    if (left() <= 0) {
      log(`out of time (--max-minutes): variant ${v.label} not measured`);
      break;
    }
    log(`variant ${v.label}: restarting the speakers with ${got} Services in place`);
    const t1 = Date.now();
    try {
      await activate(lab, v);
      await waitSpeakers(lab, v);
    } catch (e) {
      // one variant that cannot start in time does not cost the others their row
      log(`variant ${v.label}: not started: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    await settle(lab, v);
    await sample(lab, `restart with ${got}`, v, (Date.now() - t1) / 1000);
  }
} finally {
  console.log(
    `speaker memory benchmark: ${N} LoadBalancer Services (L2, ${f['without-endpoints'] ? 'no endpoints' : '3 endpoints each'}), ${nodes.length} nodes, ` +
      `settle ${settleMs / 1000} s + quiet; IronLB's DaemonSet originally ${original.command.join(' ')} ` +
      `${original.env.map((e) => `${e.name}=${e.value ?? ''}`).join(' ')}`,
  );
  console.log(table(rows, nodes));
  console.log(
    'peak = VmHWM of the speaker process (since it started), rss = VmRSS now, anon = its anonymous part, ' +
      "others = RSS of the pod's other processes, CPU-s = the speaker process's user+system time since it started, " +
      "L2 status objects = the ServiceL2Status objects naming the node in the speaker's namespace (what it announces)",
  );
  if (!f.keep) {
    log('restoring the DaemonSet, removing the Services and the pools');
    const env = Object.fromEntries(original.env.map((e) => [e.name, e.value ?? '']));
    await startIronLB(lab, original.command, env).catch((e) =>
      log(`restoring the speaker failed: ${String(e)}`),
    );
    await deleteServices(lab);
    await removePool(lab, IRONLB_NAMESPACE);
    await removePool(lab, METALLB_NAMESPACE);
    await webhookSkipsMetalLB(lab, false).catch(() => undefined);
  }
}
