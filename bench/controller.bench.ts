// Controller benchmark: N LoadBalancer Services created as fast as the API server takes them (bounded
// concurrency), against a real etcd + kube-apiserver + kube-controller-manager of its own, with one
// ironlb-controller serving a /16 pool. Prints, per N:
//   - create only: the time to create the N Services with no controller serving them (the baseline: what the
//     API server alone costs), on a fresh control plane;
//   - with controller: the time until all N hold an address (observed through a watch), on another fresh
//     control plane, the creation time in that same run, and the ratio to the baseline;
//   - the controller's CPU seconds and peak RSS (/proc), its Service writes per Service, and the API server's
//     CPU seconds in both runs (to see who the bottleneck is).
// Not a test: no thresholds. Every process it starts is stopped at the end, also on error or Ctrl-C.
// etcd's data lives under --data-dir (default /dev/shm, so the shared disk's fsync latency does not decide the
// figures; pass --data-dir /tmp to include it).
//   node bench/controller.bench.ts [--services 1000,10000] [--concurrency 32] [--workers 4] [--data-dir DIR]
import * as k8s from '@kubernetes/client-node';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ControlPlane } from '../test/harness/controlplane.ts';
import { clients, ensureNamespace, type Clients } from '../test/harness/kube.ts';
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
  },
});
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

/** peakRssMiB reads VmHWM (the resident set's high-water mark) from /proc/<pid>/status. */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
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

/** watchAssigned resolves with the time (performance.now()) at which n Services of the namespace hold an address. */
function watchAssigned(kc: k8s.KubeConfig, n: number): { done: Promise<number>; abort: () => void } {
  const assigned = new Set<string>();
  let req: { abort(): void } | undefined;
  let settle: (t: number) => void = () => {};
  let fail: (e: unknown) => void = () => {};
  const done = new Promise<number>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const handle = (type: string, obj: k8s.V1Service) => {
    const name = obj.metadata?.name ?? '';
    if (type === 'DELETED') assigned.delete(name);
    else if ((obj.status?.loadBalancer?.ingress ?? []).some((i) => i.ip)) assigned.add(name);
    if (assigned.size >= n) settle(performance.now());
  };
  void new k8s.Watch(kc)
    .watch(`/api/v1/namespaces/${SERVICE_NS}/services`, {}, handle, (err) => {
      if (assigned.size < n) fail(err ?? new Error('watch ended before every Service had an address'));
    })
    .then((r) => (req = r), fail);
  return { done, abort: () => req?.abort() };
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

async function freshControlPlane(label: string): Promise<ControlPlane> {
  const dir = mkdtempSync(join(flags['data-dir'] as string, `ironlb-bench-${label}-`));
  const cp = await ControlPlane.start({ dir, log: (m) => log(m) });
  const c = clients(cp.kubeconfig);
  await ensureNamespace(c, SERVICE_NS);
  await ensureNamespace(c, CONFIG_NS);
  return cp;
}

interface Row {
  n: number;
  baselineCreate: number;
  baselineApiCpu: number;
  create: number;
  allAssigned: number;
  apiCpu: number;
  ctlCpu: number;
  ctlCpuIdle: number;
  ctlRss: number;
  writesPerService: number;
  reconcilesPerService: number;
}

let current: ControlPlane | undefined;

async function measure(n: number): Promise<Row> {
  // 1. baseline: the same creations with nobody serving them
  current = await freshControlPlane(`base-${n}`);
  let c = benchClients(current.kubeconfig);
  let api0 = cpuSeconds(current.state.pids.apiserver);
  log(`${n}: creating ${n} Services with no controller (baseline)`);
  const baselineCreate = await createAll(c, n, 'example.com/nobody');
  const baselineApiCpu = cpuSeconds(current.state.pids.apiserver) - api0;
  await current.stop();
  current = undefined;

  // 2. the same with the controller serving a /16
  current = await freshControlPlane(`ctl-${n}`);
  c = benchClients(current.kubeconfig);
  await c.custom.createNamespacedCustomObject({
    group: 'metallb.io',
    version: 'v1beta1',
    namespace: CONFIG_NS,
    plural: 'ipaddresspools',
    body: {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'bench', namespace: CONFIG_NS },
      spec: { addresses: ['10.200.0.0/16'] },
    },
  });
  const ctl: ControllerProcess = await startController({
    kubeconfig: current.kubeconfig,
    namespace: CONFIG_NS,
    waitLeader: true,
    extraArgs: ['--log-level', 'info', '--workers', flags.workers as string],
  });
  const ctlCpuIdle = cpuSeconds(ctl.pid);
  const watch = watchAssigned(c.kc, n);
  api0 = cpuSeconds(current.state.pids.apiserver);
  const ctl0 = cpuSeconds(ctl.pid);
  log(`${n}: creating ${n} Services with the controller running`);
  const t0 = performance.now();
  const create = await createAll(c, n);
  const deadline = setTimeout(() => log(`${n}: still waiting for addresses after 10 minutes`), 600_000);
  const tDone = await watch.done.finally(() => clearTimeout(deadline));
  const allAssigned = (tDone - t0) / 1000;
  const apiCpu = cpuSeconds(current.state.pids.apiserver) - api0;
  const ctlCpu = cpuSeconds(ctl.pid) - ctl0;
  const ctlRss = peakRssMiB(ctl.pid);
  const writes = (await ctl.metric('ironlb_controller_status_writes_total')) ?? NaN;
  const reconciles = (await ctl.metric('ironlb_controller_reconciles_total', { result: 'ok' })) ?? NaN;
  watch.abort();
  await stopAllControllers();
  await current.stop();
  current = undefined;
  return {
    n,
    baselineCreate,
    baselineApiCpu,
    create,
    allAssigned,
    apiCpu,
    ctlCpu,
    ctlCpuIdle,
    ctlRss,
    writesPerService: writes / n,
    reconcilesPerService: reconciles / n,
  };
}

function table(rows: Row[]): string {
  const head = [
    'services',
    'create only s',
    'create (w/ ctl) s',
    'all assigned s',
    'ratio',
    'svc/s',
    'ctl CPU s',
    'ctl CPU ms/svc',
    'ctl peak RSS MiB',
    'writes/svc',
    'reconciles/svc',
    'apiserver CPU s (base / w/ ctl)',
  ];
  const f1 = (x: number) => x.toFixed(1);
  const body = rows.map((r) => [
    r.n.toLocaleString('en-US'),
    f1(r.baselineCreate),
    f1(r.create),
    f1(r.allAssigned),
    (r.allAssigned / r.baselineCreate).toFixed(2),
    Math.round(r.n / r.allAssigned).toLocaleString('en-US'),
    f1(r.ctlCpu),
    ((r.ctlCpu * 1000) / r.n).toFixed(2),
    f1(r.ctlRss),
    r.writesPerService.toFixed(2),
    r.reconcilesPerService.toFixed(1),
    `${f1(r.baselineApiCpu)} / ${f1(r.apiCpu)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((x, i) => x.padStart(widths[i] ?? 0)).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

async function cleanup(): Promise<void> {
  await stopAllControllers();
  if (current) await current.stop();
  current = undefined;
  removeControllerLogs();
}

process.on('SIGINT', () => {
  void cleanup().finally(() => process.exit(130));
});

try {
  const rows: Row[] = [];
  for (const n of sizes) rows.push(await measure(n));
  console.log(
    `controller benchmark: ${concurrency} creations in flight, controller --workers ${flags.workers}, ` +
      `${rows.length} sizes, each phase on a fresh control plane (2 per size), etcd data in ${flags['data-dir']}`,
  );
  console.log(table(rows));
  console.log(
    'ratio = all assigned / create only. ctl CPU counts from the first creation to the last address ' +
      `(idle start-up before that: ${rows.map((r) => r.ctlCpuIdle.toFixed(1)).join(', ')} s).`,
  );
} finally {
  await cleanup();
}
