// Controller benchmark: N LoadBalancer Services created as fast as the API server takes them (bounded
// concurrency), against a real etcd + kube-apiserver + kube-controller-manager of its own, with one
// ironlb-controller serving a /16 pool. Prints, per N:
//   - create only: the time to create the N Services with no controller serving them (the baseline: what the
//     API server alone costs), on a fresh control plane;
//   - with controller: the time until all N hold an address (observed through a watch), on another fresh
//     control plane, the creation time in that same run, and the ratio to the baseline;
//   - the controller's CPU seconds and peak RSS (/proc), its Service writes per Service, and the API server's
//     CPU seconds in both runs (to see who the bottleneck is).
// Not a test: no thresholds. Every process it starts is stopped, and its temporary directories removed, at the
// end, also on error, Ctrl-C, SIGTERM (`timeout`) or SIGHUP.
// etcd's data lives under --data-dir (default /dev/shm, so the shared disk's fsync latency does not decide the
// figures; pass --data-dir /tmp to include it).
//   node bench/controller.bench.ts [--services 1000,10000] [--concurrency 32] [--workers 4] [--data-dir DIR]
//                                  [--deadline S] [--variants dist/controller.cjs,controller/main.ts] [--skip-baseline]
// --variants: the controller programs to compare, each measured on its own fresh control plane after the same
// baseline: an entry point (dist/controller.cjs is the image's bundle, rebuilt first with `npx rolldown -c`;
// controller/main.ts the sources), optionally followed by environment settings and node flags
// (bench/support/variants.ts): `dist/controller.cjs+MALLOC_ARENA_MAX=2+--max-opt=0`.
// The image's configuration (deploy/Dockerfile, deploy/controller.yaml) is
// `dist/controller.cjs+MALLOC_ARENA_MAX=2+MALLOC_MMAP_THRESHOLD_=16384+--max-opt=0+--optimize-for-size+--bytecode-old-age=1`
// (no compile cache; a variant with NODE_COMPILE_CACHE=dist/.compile-cache reads the one the bench makes after
// bundling, under each variant's node flags).
// The controller inherits NODE_OPTIONS: run with the deployment's value (deploy/controller.yaml) to measure what
// users run, e.g. NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=384".
// The variant `metallb` is MetalLB's controller (bench/support/metallb.ts: the release it names, built once from
// the Go module proxy), measured the same way; it has no heap, writes or reconciles columns (NaN): compare its
// modified/svc, what every watcher of Services sees.
import * as k8s from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ControlPlane } from '../test/harness/controlplane.ts';
import { repoRoot } from '../test/harness/paths.ts';
import { parseVariants, type Variant } from './support/variants.ts';
import { onShutdown } from './support/shutdown.ts';
import { processMemory } from './support/procmem.ts';
import { metallbController, startMetalLB, type MetalLBProcess } from './support/metallb.ts';
import { clients, createPool, ensureNamespace, type Clients } from '../test/harness/kube.ts';
import {
  removeControllerLogs,
  startController,
  stopAllControllers,
  type ControllerProcess,
} from '../test/integration/support/controller.ts';

const { values: flags } = parseArgs({
  options: {
    services: { type: 'string', default: '1000,10000' },
    concurrency: { type: 'string', default: '32' },
    workers: { type: 'string', default: '4' },
    'data-dir': { type: 'string', default: existsSync('/dev/shm') ? '/dev/shm' : tmpdir() },
    /** give up waiting for addresses after this many seconds: the row says how many were still pending, and why */
    deadline: { type: 'string', default: '600' },
    variants: { type: 'string', default: 'dist/controller.cjs' },
    /** skip the create-only baseline (its columns print NaN): saves a run when only the variants matter */
    'skip-baseline': { type: 'boolean', default: false },
  },
});
const variants = parseVariants(flags.variants as string);
const sizes = (flags.services as string).split(',').map((s) => Number(s.trim()));
const concurrency = Number(flags.concurrency);
if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 60_000) || !(concurrency >= 1)) {
  console.error(
    'Usage: node bench/controller.bench.ts [--services 1000,10000] [--concurrency 32] [--workers 4]',
  );
  process.exit(2);
}
const CLK_TCK = 100; // Linux USER_HZ
const SERVICE_NS = 'bench';
const CONFIG_NS = 'ironlb-bench';
const log = (msg: string) => console.error(`[bench] ${msg}`);

/** cpuSeconds reads utime + stime of a process from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12 here
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function service(i: number): k8s.V1Service {
  return {
    metadata: { name: `s${i}`, namespace: SERVICE_NS },
    spec: {
      type: 'LoadBalancer',
      // no node ports: 10,000 Services would not fit in 30000-32767
      allocateLoadBalancerNodePorts: false,
      selector: { app: `s${i}` },
      ports: [{ port: 80, protocol: 'TCP' }],
    },
  };
}

/** createAll creates s0..s(n-1) with at most `concurrency` requests in flight; returns seconds taken. */
async function createAll(c: Clients, n: number, lbClass?: string): Promise<number> {
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < n) {
      const body = service(next++);
      if (lbClass && body.spec) body.spec.loadBalancerClass = lbClass;
      for (let attempt = 0; ; attempt++) {
        try {
          await c.core.createNamespacedService({ namespace: SERVICE_NS, body });
          break;
        } catch (e) {
          // 409 after a retried request that did land; anything else is retried a few times, then fatal
          if (e instanceof k8s.ApiException && e.code === 409) break;
          if (++failures > 50 || attempt >= 5) throw e;
          await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  return (performance.now() - t0) / 1000;
}

/**
 * watchAssigned follows the Services of the bench namespace until n hold an address. A watch that ends (the
 * client's 30 s idle timeout, a dropped connection) is resumed from a fresh list, so a slow run waits instead of
 * failing. It also counts MODIFIED events: each is a modification every watcher (speakers, the ingress)
 * handles.
 */
function watchAssigned(
  c: Clients,
  n: number,
): { done: Promise<number>; abort: () => void; pending: () => Promise<string[]>; modified: () => number } {
  const assigned = new Set<string>();
  let modified = 0;
  let aborted = false;
  let req: { abort(): void } | undefined;
  let settle: (t: number) => void = () => {};
  const done = new Promise<number>((resolve) => (settle = resolve));
  const note = (obj: k8s.V1Service, deleted = false) => {
    const name = obj.metadata?.name ?? '';
    if (deleted) assigned.delete(name);
    else if ((obj.status?.loadBalancer?.ingress ?? []).some((i) => i.ip)) assigned.add(name);
    if (assigned.size >= n) settle(performance.now());
  };
  const follow = async (): Promise<void> => {
    while (!aborted && assigned.size < n) {
      try {
        const list = await c.core.listNamespacedService({ namespace: SERVICE_NS });
        for (const svc of list.items) note(svc);
        if (assigned.size >= n) return;
        const ended = new Promise<void>((resolve) => {
          void new k8s.Watch(c.kc)
            .watch(
              `/api/v1/namespaces/${SERVICE_NS}/services`,
              { resourceVersion: list.metadata?.resourceVersion },
              (type: string, obj: k8s.V1Service) => {
                if (type === 'MODIFIED') modified++;
                note(obj, type === 'DELETED');
              },
              () => resolve(),
            )
            .then(
              (r) => (req = r),
              () => resolve(),
            );
        });
        await ended;
      } catch (e) {
        log(`watch of the bench Services failed (${e instanceof Error ? e.message : String(e)}); resuming`);
      }
      if (!aborted && assigned.size < n) await new Promise((r) => setTimeout(r, 500));
    }
  };
  void follow();
  return {
    done,
    abort: () => {
      aborted = true;
      req?.abort();
    },
    pending: async () => {
      const list = await c.core.listNamespacedService({ namespace: SERVICE_NS });
      return list.items
        .filter((svc) => !(svc.status?.loadBalancer?.ingress ?? []).some((i) => i.ip))
        .map((svc) => svc.metadata?.name ?? '');
    },
    modified: () => modified,
  };
}

/**
 * benchClients are admin clients sharing one connection pool: @kubernetes/client-node 2.0 otherwise builds a
 * new undici Agent (a fresh TLS handshake) for every request, and this process would measure its own
 * handshakes on the same two cores instead of the API server.
 */
function benchClients(kubeconfig: string): Clients {
  const c = clients(kubeconfig);
  const k = c.kc as unknown as { createDispatcher?: (...args: unknown[]) => unknown };
  const create = k.createDispatcher?.bind(c.kc);
  let shared: unknown;
  if (create) k.createDispatcher = (...args: unknown[]) => (shared ??= create(...args));
  return c;
}

/** dirs are the control planes' directories, removed on the way out even when a start was interrupted */
const dirs = new Set<string>();

async function freshControlPlane(label: string): Promise<ControlPlane> {
  const dir = mkdtempSync(join(flags['data-dir'] as string, `ironlb-bench-${label}-`));
  dirs.add(dir);
  const cp = await ControlPlane.start({ dir, log: (m) => log(m) });
  const c = clients(cp.kubeconfig);
  await ensureNamespace(c, SERVICE_NS);
  await ensureNamespace(c, CONFIG_NS);
  return cp;
}

interface Row {
  n: number;
  variant: string;
  baselineCreate: number;
  baselineApiCpu: number;
  create: number;
  allAssigned: number;
  apiCpu: number;
  ctlCpu: number;
  ctlCpuIdle: number;
  ctlRss: number;
  writesPerService: number;
  /** MODIFIED watch events per Service: what every other watcher of Services handles */
  modifiedPerService: number;
  reconcilesPerService: number;
  ctlRssIdle: number;
  /** V8 heap in use and resident set at the end of the run (after the last address), from /metrics */
  heapMiB: number;
  rssNowMiB: number;
  pending: number;
  /** the machine's 1-minute load average when the variant's run ended */
  load: number;
}

let current: ControlPlane | undefined;

async function measure(n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const variantRows = async (baselineCreate: number, baselineApiCpu: number) => {
    for (const v of variants) {
      rows.push(await measureVariant(n, v, baselineCreate, baselineApiCpu));
      log(`row:\n${table(rows)}`);
    }
    return rows;
  };
  if (flags['skip-baseline']) return variantRows(NaN, NaN);
  // 1. baseline: the same creations with nobody serving them
  current = await freshControlPlane(`base-${n}`);
  const c = benchClients(current.kubeconfig);
  const api0 = cpuSeconds(current.state.pids.apiserver);
  log(`${n}: creating ${n} Services with no controller (baseline)`);
  const baselineCreate = await createAll(c, n, 'example.com/nobody');
  const baselineApiCpu = cpuSeconds(current.state.pids.apiserver) - api0;
  await current.stop();
  current = undefined;
  return variantRows(baselineCreate, baselineApiCpu);
}

let metallb: MetalLBProcess | undefined;

/** startMetalLBVariant starts MetalLB's controller on cp; it serves no IronLB metrics (metric: undefined). */
async function startMetalLBVariant(
  cp: ControlPlane,
  variant: Variant,
): Promise<Pick<ControllerProcess, 'pid' | 'metric'>> {
  const logDir = mkdtempSync(join(tmpdir(), 'ironlb-bench-metallb-'));
  dirs.add(logDir);
  metallb = await startMetalLB(cp, {
    namespace: CONFIG_NS,
    binary: metallbController(log),
    logDir,
    env: variant.env,
  });
  return { pid: metallb.pid, metric: () => Promise.resolve(undefined) };
}

async function measureVariant(
  n: number,
  variant: Variant,
  baselineCreate: number,
  baselineApiCpu: number,
): Promise<Row> {
  // 2. the same with the controller serving a /16
  current = await freshControlPlane(`ctl-${n}`);
  const c = benchClients(current.kubeconfig);
  await createPool(c, CONFIG_NS, 'bench', ['10.200.0.0/16']);
  const ctl: Pick<ControllerProcess, 'pid' | 'metric'> =
    variant.entry === 'metallb'
      ? await startMetalLBVariant(current, variant)
      : await startController({
          kubeconfig: current.kubeconfig,
          namespace: CONFIG_NS,
          waitLeader: true,
          entry: variant.entry,
          env: variant.env,
          nodeArgs: variant.nodeArgs,
          extraArgs: ['--log-level', 'info', '--workers', flags.workers as string],
        });
  const ctlCpuIdle = cpuSeconds(ctl.pid);
  const ctlRssIdle = processMemory(ctl.pid).peak;
  const watch = watchAssigned(c, n);
  const api0 = cpuSeconds(current.state.pids.apiserver);
  const ctl0 = cpuSeconds(ctl.pid);
  log(`${n}: creating ${n} Services with the controller running (${variant.label})`);
  const t0 = performance.now();
  const create = await createAll(c, n);
  const deadlineS = Number(flags.deadline);
  let timer: NodeJS.Timeout | undefined;
  const tDone = await Promise.race([
    watch.done,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), deadlineS * 1000))),
  ]).finally(() => clearTimeout(timer));
  const allAssigned = tDone === undefined ? NaN : (tDone - t0) / 1000;
  let pending: string[] = [];
  if (tDone === undefined) {
    // never crash on a slow run: say which Services are still pending and what the controller said about them
    pending = await watch.pending();
    log(`${n}: ${pending.length} Services still without an address after ${deadlineS} s`);
    for (const name of pending.slice(0, 10)) {
      const events = await c.core.listNamespacedEvent({
        namespace: SERVICE_NS,
        fieldSelector: `involvedObject.kind=Service,involvedObject.name=${name}`,
      });
      const last = events.items.at(-1);
      log(`  ${SERVICE_NS}/${name}: ${last ? `${last.reason}: ${last.message}` : 'no Event'}`);
    }
  }
  const heapMiB = ((await ctl.metric('ironlb_controller_nodejs_heap_size_used_bytes')) ?? NaN) / 2 ** 20;
  const rssNowMiB = processMemory(ctl.pid).rss;
  const apiCpu = cpuSeconds(current.state.pids.apiserver) - api0;
  const ctlCpu = cpuSeconds(ctl.pid) - ctl0;
  const ctlRss = processMemory(ctl.pid).peak;
  const writes = (await ctl.metric('ironlb_controller_status_writes_total')) ?? NaN;
  const reconciles = (await ctl.metric('ironlb_controller_reconciles_total', { result: 'ok' })) ?? NaN;
  const modifiedPerService = watch.modified() / n;
  watch.abort();
  await stopAllControllers();
  await metallb?.stop();
  metallb = undefined;
  await current.stop();
  current = undefined;
  return {
    n,
    variant: variant.label,
    baselineCreate,
    baselineApiCpu,
    create,
    allAssigned,
    apiCpu,
    ctlCpu,
    ctlCpuIdle,
    ctlRss,
    writesPerService: writes / n,
    modifiedPerService,
    reconcilesPerService: reconciles / n,
    ctlRssIdle,
    heapMiB,
    rssNowMiB,
    pending: pending.length,
    load: loadavg()[0] ?? NaN,
  };
}

function table(rows: Row[]): string {
  const head = [
    'services',
    'controller',
    'create only s',
    'create (w/ ctl) s',
    'all assigned s',
    'ratio',
    'svc/s',
    'ctl CPU s',
    'ctl CPU ms/svc',
    'ctl RSS MiB (idle / peak / end)',
    'heap MiB (end)',
    'writes/svc',
    'modified/svc',
    'reconciles/svc',
    'apiserver CPU s (base / w/ ctl)',
    'load',
  ];
  const f1 = (x: number) => x.toFixed(1);
  const body = rows.map((r) => [
    r.n.toLocaleString('en-US'),
    r.variant,
    f1(r.baselineCreate),
    f1(r.create),
    r.pending ? `${r.pending} pending` : f1(r.allAssigned),
    (r.allAssigned / r.baselineCreate).toFixed(2),
    Math.round(r.n / r.allAssigned).toLocaleString('en-US'),
    f1(r.ctlCpu),
    ((r.ctlCpu * 1000) / r.n).toFixed(2),
    `${f1(r.ctlRssIdle)} / ${f1(r.ctlRss)} / ${f1(r.rssNowMiB)}`,
    f1(r.heapMiB),
    r.writesPerService.toFixed(2),
    r.modifiedPerService.toFixed(2),
    r.reconcilesPerService.toFixed(1),
    `${f1(r.baselineApiCpu)} / ${f1(r.apiCpu)}`,
    f1(r.load),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((x, i) => (i === 1 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

const shutdown = onShutdown(
  async () => {
    await stopAllControllers();
    await metallb?.stop();
    if (current) await current.stop();
    current = undefined;
    removeControllerLogs();
  },
  { log, dirs },
);

try {
  if (variants.some((v) => v.entry === 'metallb')) metallbController(log);
  if (variants.some((v) => v.entry.startsWith('dist/'))) {
    log('bundling the programs (npx rolldown -c)');
    const r = spawnSync('npx', ['rolldown', '-c'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`npx rolldown -c failed (exit ${r.status ?? r.signal})`);
    // the image's V8 code cache (deploy/Dockerfile), made the same way: a variant with
    // NODE_COMPILE_CACHE=dist/.compile-cache starts from it. V8 accepts a cache only under the flags it was made
    // with, so it is made once per entry point and set of node flags the variants use.
    const runs = new Set(
      variants.filter((v) => v.entry.startsWith('dist/')).map((v) => [...v.nodeArgs, v.entry].join(' ')),
    );
    for (const command of runs) {
      log(`making the compile cache dist/.compile-cache (node ${command} --help)`);
      const cc = spawnSync(process.execPath, [...command.split(' '), '--help'], {
        cwd: repoRoot,
        stdio: 'ignore',
        env: { ...process.env, NODE_COMPILE_CACHE: 'dist/.compile-cache' },
      });
      if (cc.status !== 0) throw new Error(`node ${command} --help failed (exit ${cc.status ?? cc.signal})`);
    }
  }
  const rows: Row[] = [];
  for (const n of sizes) rows.push(...(await measure(n)));
  console.log(
    `controller benchmark: ${concurrency} creations in flight, controller --workers ${flags.workers}, ` +
      `${sizes.length} sizes, ${variants.length} variants, each phase on a fresh control plane (1 + variants per size), etcd data in ${flags['data-dir']}, ` +
      `controller NODE_OPTIONS: ${process.env.NODE_OPTIONS || 'none'}`,
  );
  console.log(table(rows));
  console.log(
    'ratio = all assigned / create only. ctl CPU counts from the first creation to the last address ' +
      `(idle start-up before that: ${rows.map((r) => r.ctlCpuIdle.toFixed(1)).join(', ')} s).`,
  );
} finally {
  await shutdown();
}
