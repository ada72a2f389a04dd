// Speaker scale benchmark without the lab: where a speaker's memory goes as the number of Services grows, and
// what a change to it saves, measured on one machine in a few minutes. A real etcd + kube-apiserver (+ the
// API-only kube-controller-manager) run in a network namespace of their own (ironlb-sm-hub, a bridge with
// 192.0.2.2); --nodes speakers (default 3) run the bundle as the image does (dist/speaker.js with its compile
// cache, NODE_ENV=production, a heartbeat key, the DaemonSet's settings) each in a node namespace
// (ironlb-sm-n1.., 192.0.2.11..) on that bridge, so they hear each other and split the addresses as on the lab.
// No kubelet, no controller: the bench writes each Service's address into its status itself, and one
// EndpointSlice per Service with --endpoints ready endpoints spread over the nodes (the lab's echo pods).
// L2 only (one pool 10.210.0.0/16, one L2Advertisement); no BGPPeer, so no gobgpd.
//
// For each size N (ascending), the Services are created while the first variant's speakers run ("grow": what
// the lab's bench measures), then every variant is started afresh with the N in place ("restart": a speaker
// listing and planning all N at start). A phase ends when every Service's ServiceL2Status object exists and
// --settle seconds passed; then each speaker's memory is read from /proc (peak VmHWM, RSS now, its anonymous
// part) and its V8 heap from its /metrics (used, and the new and old spaces' sizes). --no-grow creates the
// Services with no speaker running and measures only the restarts (quicker on a busy machine).
//   node bench/speaker-scale.bench.ts [--services 1000,5000] [--nodes 3] [--endpoints 3] [--settle 15]
//        [--variants 'dist/speaker.js,dist/speaker.js+NODE_OPTIONS=--max-semi-space-size=1'] [--max-minutes 20]
//        [--heap-snapshots DIR] [--no-grow]
// A variant is an entry point (dist/speaker.js, rebuilt first with `npx rolldown -c`; speaker/main.ts the
// sources; the absolute path of another commit's bundle, with the addon in build/Release/ beside it, to compare
// against a baseline) and environment settings after "+", added to the deployed environment. --heap-snapshots writes a
// V8 heap snapshot of node 1's speaker at the end of each phase into DIR (the variant must start node with
// --heapsnapshot-signal=SIGUSR2 in its NODE_OPTIONS).
// Everything it creates (namespaces, processes, directories) is removed at the end, also on error, Ctrl-C,
// SIGTERM or SIGHUP. Not a test: it prints figures, never pass/fail. Run as root, under the bench lock:
//   flock /tmp/ironlb-bench.lock node bench/speaker-scale.bench.ts
import * as k8s from '@kubernetes/client-node';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ControlPlane } from '../test/harness/controlplane.ts';
import { run, start, stopPid, waitFor } from '../test/harness/exec.ts';
import {
  clients,
  createPool,
  ensureNamespace,
  mergePatch,
  registerNode,
  type Clients,
} from '../test/harness/kube.ts';
import { repoRoot } from '../test/harness/paths.ts';
import { RESOURCES } from '../src/contracts/resources.ts';
import { ADDON_PATH } from '../speaker/native/index.ts';
import { headerHelp } from './support/help.ts';
import { processMemory, type ProcessMemory } from './support/procmem.ts';
import { cpuSeconds } from './support/wrk.ts';
import { onShutdown } from './support/shutdown.ts';
import { parseVariants, type Variant } from './support/variants.ts';

const { values: f } = parseArgs({
  options: {
    services: { type: 'string', default: '1000,5000' },
    nodes: { type: 'string', default: '3' },
    endpoints: { type: 'string', default: '3' },
    settle: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '16' },
    variants: { type: 'string', default: 'dist/speaker.js' },
    'max-minutes': { type: 'string', default: '20' },
    'heap-snapshots': { type: 'string' },
    'no-grow': { type: 'boolean', default: false },
    'data-dir': { type: 'string', default: existsSync('/dev/shm') ? '/dev/shm' : tmpdir() },
    inner: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help) {
  console.log(headerHelp(import.meta.url));
  process.exit(0);
}
const sizes = (f.services as string).split(',').map(Number);
const NODES = Number(f.nodes);
const ENDPOINTS = Number(f.endpoints);
const concurrency = Number(f.concurrency);
if (
  sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 60_000) ||
  !(NODES >= 1 && NODES <= 9) ||
  !(ENDPOINTS >= 0) ||
  !(concurrency >= 1)
) {
  console.error('speaker-scale bench: --services 1..60000 (comma list), --nodes 1..9, --endpoints >= 0');
  process.exit(2);
}
const variants = parseVariants(f.variants as string);
const log = (m: string) => console.error(`[bench] ${m}`);
const HUB = 'ironlb-sm-hub';
const nodeNs = (i: number) => `ironlb-sm-n${i}`;
const nodeName = (i: number) => `sm-node-${i}`;
const nodeIp = (i: number) => `192.0.2.${10 + i}`;
const HUB_IP = '192.0.2.2';
const SVC_NS = 'demo';
const CONFIG_NS = 'ironlb-system';
const POOL = 'bench-speaker';

// ------------------------------------------------------------------------------------------------------------
// outer: the network namespaces, the bundle, then this script again inside the hub namespace
// ------------------------------------------------------------------------------------------------------------

function removeNamespaces(): void {
  const ours = [HUB, ...Array.from({ length: 9 }, (_, i) => nodeNs(i + 1))];
  const present = run(['ip', 'netns', 'list'], { check: false }).stdout;
  for (const ns of ours) if (new RegExp(`^${ns}( |$)`, 'm').test(present)) run(['ip', 'netns', 'del', ns]);
}

function makeNamespaces(): void {
  removeNamespaces();
  run(['ip', 'netns', 'add', HUB]);
  const hub = (args: string[]) => run(['ip', '-n', HUB, ...args]);
  hub(['link', 'set', 'lo', 'up']);
  hub(['link', 'add', 'br0', 'type', 'bridge']);
  hub(['addr', 'add', `${HUB_IP}/24`, 'dev', 'br0']);
  hub(['link', 'set', 'br0', 'up']);
  for (let i = 1; i <= NODES; i++) {
    const ns = nodeNs(i);
    run(['ip', 'netns', 'add', ns]);
    hub(['link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    hub(['link', 'set', `v${i}`, 'master', 'br0', 'up']);
    run(['ip', '-n', ns, 'addr', 'add', `${nodeIp(i)}/24`, 'dev', 'eth0']);
    run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
}

async function outer(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('speaker-scale bench: run as root (network namespaces)');
  let child: ChildProcess | undefined;
  const shutdown = onShutdown(
    async () => {
      if (child?.pid && child.exitCode === null) await stopPid(child.pid, 60_000);
      removeNamespaces();
    },
    { log },
  );
  try {
    if (variants.some((v) => v.entry.startsWith('dist/'))) {
      log('bundling the programs (npx rolldown -c) and making the compile cache, as the image does');
      const r = spawnSync('npx', ['rolldown', '-c'], {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (r.status !== 0) throw new Error(`npx rolldown -c failed (exit ${r.status ?? r.signal})`);
      // every bundle a variant runs gets its code cache made as the image makes it (a bundle built elsewhere,
      // e.g. a baseline commit's, too)
      for (const entry of new Set(variants.map((v) => v.entry).filter((e) => e.endsWith('.js')))) {
        const cc = spawnSync(process.execPath, [resolve(repoRoot, entry), '--help'], {
          cwd: repoRoot,
          stdio: 'ignore',
          env: { ...process.env, NODE_COMPILE_CACHE: join(repoRoot, 'dist/.compile-cache') },
        });
        if (cc.status !== 0) throw new Error(`node ${entry} --help failed (exit ${cc.status ?? cc.signal})`);
      }
      // the image puts the packet-socket addon beside the bundle (deploy/Dockerfile; speaker/native/index.ts)
      mkdirSync(join(repoRoot, 'dist/build/Release'), { recursive: true });
      copyFileSync(ADDON_PATH, join(repoRoot, 'dist/build/Release/ironlb_packet.node'));
    }
    makeNamespaces();
    const args = process.argv.slice(2);
    child = spawn(
      'ip',
      ['netns', 'exec', HUB, process.execPath, new URL(import.meta.url).pathname, ...args, '--inner'],
      {
        stdio: 'inherit',
      },
    );
    const code = await new Promise<number>((resolve) =>
      child?.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))),
    );
    process.exitCode = code;
  } finally {
    await shutdown();
  }
}

// ------------------------------------------------------------------------------------------------------------
// inner: in the hub namespace
// ------------------------------------------------------------------------------------------------------------

const dirs = new Set<string>();
let cp: ControlPlane | undefined;
let running: { node: number; proc: ChildProcess }[] = [];
const deadline = Date.now() + Number(f['max-minutes']) * 60_000;

/** deployedEnv is the speaker container's environment (deploy/speaker.yaml, deploy/Dockerfile) for node i. */
function deployedEnv(i: number, v: Variant): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG'];
  const base = Object.fromEntries(keep.filter((k) => process.env[k]).map((k) => [k, process.env[k]]));
  return {
    ...base,
    NODE_ENV: 'production',
    NODE_COMPILE_CACHE: join(repoRoot, 'dist/.compile-cache'),
    IRONLB_NODE_NAME: nodeName(i),
    IRONLB_LIVENESS_KEY: 'speaker-scale-bench-heartbeat-key-0123456789',
    IRONLB_HOST_IP: nodeIp(i),
    IRONLB_NAMESPACE: CONFIG_NS,
    IRONLB_POD_NAME: `speaker-${i}`,
    IRONLB_METRICS_PORT: '7472',
    IRONLB_LIVENESS_PORT: '7946',
    IRONLB_GOBGP_API: '127.0.0.1:50051',
    IRONLB_GOBGP_SPAWN: 'false',
    IRONLB_LOG_LEVEL: 'info',
    ...v.env,
  };
}

async function startSpeakers(v: Variant, logDir: string): Promise<void> {
  const kubeconfig = cp?.kubeconfig as string;
  running = [];
  for (let i = 1; i <= NODES; i++) {
    const entry = resolve(repoRoot, v.entry);
    const proc = start([process.execPath, entry, '--kubeconfig', kubeconfig], {
      netns: nodeNs(i),
      log: join(logDir, `speaker-${i}.log`),
      env: deployedEnv(i, v),
      cwd: repoRoot,
    });
    running.push({ node: i, proc });
  }
  for (const s of running)
    await waitFor(
      `speaker ${s.node} ready`,
      () => speakerGet(s.node, '/readyz').then((r) => r.status === 200),
      {
        timeoutMs: 120_000,
        intervalMs: 500,
        log: join(logDir, `speaker-${s.node}.log`),
      },
    );
}

async function stopSpeakers(): Promise<void> {
  await Promise.all(running.map((s) => (s.proc.pid ? stopPid(s.proc.pid, 30_000) : undefined)));
  running = [];
}

function speakerGet(i: number, path: string): Promise<{ status: number; body: string }> {
  return fetch(`http://${nodeIp(i)}:7472${path}`, { signal: AbortSignal.timeout(10_000) }).then(
    async (r) => ({
      status: r.status,
      body: await r.text(),
    }),
  );
}

function metric(text: string, name: string, labels = ''): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels} `) || l.startsWith(`${name}${labels}{`));
  return Number(line?.split(' ').at(-1) ?? NaN);
}

function service(i: number): k8s.V1Service {
  return {
    metadata: { name: `s${i}`, namespace: SVC_NS, labels: { bench: 'speaker-scale' } },
    spec: {
      type: 'LoadBalancer',
      allocateLoadBalancerNodePorts: false,
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
    },
  };
}

const addressOf = (i: number) => `10.210.${(i >> 8) & 255}.${i & 255}`;

function slice(i: number): k8s.V1EndpointSlice {
  return {
    metadata: { name: `s${i}-bench`, namespace: SVC_NS, labels: { 'kubernetes.io/service-name': `s${i}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: ENDPOINTS }, (_, e) => {
      const node = (e % NODES) + 1;
      return {
        addresses: [`10.244.${node}.${(i * ENDPOINTS + e) % 250}`],
        nodeName: nodeName(node),
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: {
          kind: 'Pod',
          namespace: SVC_NS,
          name: `echo-${node}-${i}`,
          uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        },
      };
    }),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** createServices creates Services [from, to) with their address in status and their EndpointSlice. */
async function createServices(c: Clients, from: number, to: number): Promise<number> {
  let next = from;
  const t0 = performance.now();
  const retry = async (what: string, fn: () => Promise<unknown>) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (e instanceof k8s.ApiException && e.code === 409) return undefined;
        if (attempt >= 5) throw new Error(`${what} failed`, { cause: e });
        await sleep(200 * (attempt + 1));
      }
    }
  };
  const lane = async () => {
    while (next < to) {
      const i = next++;
      await retry(`creating Service "${SVC_NS}/s${i}"`, () =>
        c.core.createNamespacedService({ namespace: SVC_NS, body: service(i) }),
      );
      await retry(`writing the address of "${SVC_NS}/s${i}"`, () =>
        c.core.patchNamespacedServiceStatus(
          {
            name: `s${i}`,
            namespace: SVC_NS,
            body: { status: { loadBalancer: { ingress: [{ ip: addressOf(i), ipMode: 'VIP' }] } } },
          },
          mergePatch,
        ),
      );
      if (ENDPOINTS > 0)
        await retry(`creating the EndpointSlice of "${SVC_NS}/s${i}"`, () =>
          c.discovery.createNamespacedEndpointSlice({ namespace: SVC_NS, body: slice(i) }),
        );
      if (i % 1000 === 999) log(`  ${i + 1} Services created`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, to - from) }, lane));
  return (performance.now() - t0) / 1000;
}

/** statusCount counts ServiceL2Status objects (one per announced Service) without listing them all. */
async function statusCount(c: Clients): Promise<number> {
  const r = RESOURCES.ServiceL2Status;
  const list = (await c.custom.listNamespacedCustomObject({
    group: r.group,
    version: r.version,
    namespace: CONFIG_NS,
    plural: r.plural,
    // no selector: the API server counts the rest only for an unfiltered list
    limit: 1,
  })) as { items: unknown[]; metadata?: { remainingItemCount?: number } };
  return list.items.length + (list.metadata?.remainingItemCount ?? 0);
}

interface Sample {
  phase: string;
  n: number;
  variant: string;
  node: number;
  mem: ProcessMemory;
  cpu: number;
  heapUsed: number;
  heapTotal: number;
  newSpace: number;
  oldSpace: number;
  codeSpace: number;
  external: number;
  seconds: number;
}
const samples: Sample[] = [];

async function measurePhase(
  c: Clients,
  phase: string,
  n: number,
  v: Variant,
  t0: number,
  snapDir?: string,
): Promise<void> {
  await waitFor(
    `${n} ServiceL2Status objects`,
    async () => {
      if (Date.now() > deadline) throw new Error('--max-minutes passed');
      return (await statusCount(c)) >= n;
    },
    { timeoutMs: Math.max(1000, deadline - Date.now()), intervalMs: 2000 },
  );
  const seconds = (performance.now() - t0) / 1000;
  log(`${phase} ${n} (${v.label}): all announced after ${seconds.toFixed(1)} s; settling ${f.settle} s`);
  await sleep(Number(f.settle) * 1000);
  for (const s of running) {
    const pid = s.proc.pid as number;
    const mem = processMemory(pid);
    const cpu = cpuSeconds(pid);
    const text = (await speakerGet(s.node, '/metrics')).body;
    const MiB = (x: number) => x / 2 ** 20;
    const space = (name: string) =>
      MiB(metric(text, 'ironlb_speaker_nodejs_heap_space_size_total_bytes', `{space="${name}"}`));
    samples.push({
      phase,
      n,
      variant: v.label,
      node: s.node,
      mem,
      cpu,
      heapUsed: MiB(metric(text, 'ironlb_speaker_nodejs_heap_size_used_bytes')),
      heapTotal: MiB(metric(text, 'ironlb_speaker_nodejs_heap_size_total_bytes')),
      newSpace: space('new'),
      oldSpace: space('old'),
      codeSpace: space('code'),
      external: MiB(metric(text, 'ironlb_speaker_nodejs_external_memory_bytes')),
      seconds,
    });
  }
  if (snapDir && running[0]?.proc.pid) {
    const pid = running[0].proc.pid;
    const before = new Set(readdirSync(repoRoot).filter((x) => x.endsWith('.heapsnapshot')));
    process.kill(pid, 'SIGUSR2');
    let lastSize = -1;
    const file = await waitFor(
      'the heap snapshot',
      () => {
        const made = readdirSync(repoRoot).find((x) => x.endsWith('.heapsnapshot') && !before.has(x));
        if (!made) return undefined;
        // written in one go: done once its size stops changing
        const size = statSync(join(repoRoot, made)).size;
        const done = size > 0 && size === lastSize;
        lastSize = size;
        return done ? made : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 2000 },
    );
    const dest = join(snapDir, `${phase}-${n}-${v.label.replace(/[^A-Za-z0-9=.-]+/g, '_')}.heapsnapshot`);
    run(['mv', join(repoRoot, file), dest]);
    log(`heap snapshot of node 1: ${dest}`);
  }
  log(`so far:\n${table()}`);
}

function table(): string {
  const head = [
    'phase',
    'services',
    'variant',
    'node',
    'peak MiB',
    'rss MiB',
    'anon MiB',
    'heap used',
    'heap total',
    'new',
    'old',
    'code',
    'external',
    'CPU s',
    'announced s',
  ];
  const f1 = (x: number) => x.toFixed(1);
  const body = samples.map((s) => [
    s.phase,
    String(s.n),
    s.variant,
    String(s.node),
    f1(s.mem.peak),
    f1(s.mem.rss),
    f1(s.mem.anon),
    f1(s.heapUsed),
    f1(s.heapTotal),
    f1(s.newSpace),
    f1(s.oldSpace),
    f1(s.codeSpace),
    f1(s.external),
    f1(s.cpu),
    f1(s.seconds),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((x, i) => (i === 2 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

async function deleteStatusObjects(c: Clients): Promise<void> {
  const r = RESOURCES.ServiceL2Status;
  await c.custom.deleteCollectionNamespacedCustomObject({
    group: r.group,
    version: r.version,
    namespace: CONFIG_NS,
    plural: r.plural,
  });
  await waitFor('no ServiceL2Status objects', async () => (await statusCount(c)) === 0, {
    timeoutMs: 120_000,
  });
}

async function inner(): Promise<void> {
  const shutdown = onShutdown(
    async () => {
      await stopSpeakers();
      await cp?.stop();
      cp = undefined;
    },
    { log, dirs },
  );
  try {
    const dir = mkdtempSync(join(f['data-dir'] as string, 'ironlb-bench-sm-'));
    dirs.add(dir);
    // the speakers' logs stay for reading afterwards
    const logDir = mkdtempSync(join(tmpdir(), 'ironlb-bench-sm-logs-'));
    log(`speaker logs in ${logDir}`);
    cp = await ControlPlane.start({ dir, bindAddress: HUB_IP, log, extraCrdDirs: [] });
    const c = clients(cp.kubeconfig);
    await ensureNamespace(c, SVC_NS);
    await ensureNamespace(c, CONFIG_NS);
    for (let i = 1; i <= NODES; i++)
      await registerNode(c, { name: nodeName(i), addresses: [nodeIp(i)], podCIDRs: [`10.244.${i}.0/24`] });
    await createPool(c, CONFIG_NS, POOL, ['10.210.0.0/16']);
    const l2 = RESOURCES.L2Advertisement;
    await c.custom.createNamespacedCustomObject({
      group: l2.group,
      version: l2.version,
      namespace: CONFIG_NS,
      plural: l2.plural,
      body: {
        apiVersion: `${l2.group}/${l2.version}`,
        kind: l2.kind,
        metadata: { name: POOL, namespace: CONFIG_NS },
        spec: { ipAddressPools: [POOL] },
      },
    });
    const snapDir = f['heap-snapshots'] as string | undefined;
    let have = 0;
    const first = variants[0] as Variant;
    for (const n of sizes) {
      // grow: the first variant's speakers run while the Services are created (--no-grow: none runs, and only
      // the restart phase is measured)
      const grow = !f['no-grow'];
      if (grow) {
        await startSpeakers(first, logDir);
        if (have === 0) await measurePhase(c, 'idle', 0, first, performance.now(), undefined);
      }
      log(`creating Services ${have}..${n - 1} (${grow ? `${first.label} running` : 'no speaker running'})`);
      const t0 = performance.now();
      log(`  created in ${(await createServices(c, have, n)).toFixed(1)} s`);
      have = n;
      if (grow) {
        await measurePhase(c, 'grow', n, first, t0, snapDir);
        await stopSpeakers();
        await deleteStatusObjects(c);
      }
      for (const v of variants) {
        await startSpeakers(v, logDir);
        await measurePhase(c, 'restart', n, v, performance.now(), snapDir);
        await stopSpeakers();
        await deleteStatusObjects(c);
      }
    }
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(
      `speaker-scale benchmark: ${NODES} speakers, ${ENDPOINTS} endpoints per Service, settle ${f.settle} s, load average at the end ${load}`,
    );
    console.log(table());
  } finally {
    await shutdown();
  }
}

await (f.inner ? inner() : outer());
