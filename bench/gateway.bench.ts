// Gateway API benchmark: the ingress program (node ingress/main.ts, the deployed defaults) serving a Gateway
// through HAProxy, against a real etcd + kube-apiserver + kube-controller-manager of its own (the vendored
// Gateway API CRDs installed). Prints:
//   1. route propagation: an HTTPRoute written to the API server (a new route with a new hostname, or an
//      existing route's backendRef switched) → the first request served by the new rule, p50/p99 over
//      --changes changes, with the data-plane applies they caused (runtime API or reload); meanwhile a steady
//      client (test/e2e/support/prober.ts: one request every 10 ms, a fresh connection each) on another route
//      counts its failed requests;
//   2. throughput through the Gateway vs the same HAProxy binary serving the same routes from a hand-written
//      configuration, same backends (nginx), same client (wrk), alternating in the same run: req/s, p99, ratio.
// Published anchors are printed beside the figures. Not a test: no thresholds.
//
// Everything runs in a network namespace of its own (--netns, created and deleted here; loopback plus
// 198.18.0.1/32, the benchmarking range, on its lo): the API server refuses loopback endpoints, so the backends
// listen on 198.18.0.1, which no packet leaves the namespace for. Needs root (ip netns). Every process it
// starts is stopped and the namespace removed at the end, also on error or Ctrl-C. Bounded: --changes,
// --rounds, --change-timeout-ms per change, --max-minutes overall.
//   node bench/gateway.bench.ts [--changes 100] [--rounds 3] [--duration 5] [--connections 50]
//                               [--routes 50] [--debounce-ms MS] [--max-minutes 15] [--keep-logs]
import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ControlPlane } from '../test/harness/controlplane.ts';
import { run, start, stopPid, waitFor } from '../test/harness/exec.ts';
import { clients, ensureNamespace, mergePatch, type Clients } from '../test/harness/kube.ts';
import { repoRoot } from '../test/harness/paths.ts';
import { writeNginxConf } from './support/nginx.ts';
import { cpuSeconds, median, wrk, type WrkResult } from './support/wrk.ts';

const USAGE = `Usage: node bench/gateway.bench.ts [options]   (root: it creates a network namespace)
  --changes N           route changes measured, alternating new route / backend switch (100)
  --rounds N            throughput rounds (Gateway, hand-written, upstream direct in each) (3)
  --duration S          seconds per wrk run (5)
  --connections N       wrk connections (50)
  --routes N            HTTPRoutes of 4 rules each besides the measured ones (50)
  --debounce-ms MS      the ingress program's --debounce-ms (default: the program's, as deployed)
  --interval-ms MS      the steady client's request interval (10)
  --timeout-ms MS       the steady client's per-request timeout (1000)
  --change-timeout-ms MS  give up on one change after this long (10000)
  --gap-ms MS           pause after each change before the next (200)
  --max-minutes M       stop starting changes or rounds after this long (15)
  --only LIST           sections to run: 1 (propagation), 2 (throughput) (1,2)
  --netns NAME          the namespace everything runs in (ironlb-gwb)
  --keep-logs           keep the work directory (logs, configurations) and print its path
  --log-level LEVEL     the ingress program's --log-level (warn); its log is ingress.log in the work directory
  --trace               print each change's timestamps (to line up with the ingress log)
  -h, --help            this text`;

const { values: f } = parseArgs({
  options: {
    changes: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    routes: { type: 'string', default: '50' },
    'debounce-ms': { type: 'string' },
    'interval-ms': { type: 'string', default: '10' },
    'timeout-ms': { type: 'string', default: '1000' },
    'change-timeout-ms': { type: 'string', default: '10000' },
    'gap-ms': { type: 'string', default: '200' },
    'max-minutes': { type: 'string', default: '15' },
    only: { type: 'string', default: '1,2' },
    netns: { type: 'string', default: 'ironlb-gwb' },
    'keep-logs': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
    trace: { type: 'boolean', default: false },
    inner: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help) {
  console.log(USAGE);
  process.exit(0);
}
const num = (name: keyof typeof f, min: number, max: number): number => {
  const v = Number(f[name]);
  if (!Number.isInteger(v) || v < min || v > max) {
    console.error(
      `gateway bench: --${name} must be an integer in ${min}..${max}, not "${String(f[name])}"\n`,
    );
    console.error(USAGE);
    process.exit(2);
  }
  return v;
};
const CHANGES = num('changes', 1, 1000);
const ROUNDS = num('rounds', 0, 20);
const DURATION = num('duration', 1, 60);
const CONNS = num('connections', 1, 1000);
const ROUTES = num('routes', 1, 500);
const INTERVAL = num('interval-ms', 1, 1000);
const TIMEOUT = num('timeout-ms', 10, 10_000);
const CHANGE_TIMEOUT = num('change-timeout-ms', 100, 60_000);
const GAP = num('gap-ms', 0, 10_000);
const MAX_MINUTES = num('max-minutes', 1, 120);
if (f['debounce-ms'] !== undefined) num('debounce-ms', 0, 60_000);
const ONLY = new Set(f.only.split(',').map((s) => Number(s.trim())));
const NETNS = f.netns;
if (!/^[a-z0-9-]{1,15}$/.test(NETNS)) {
  console.error(`gateway bench: --netns "${NETNS}" is not a short lower-case name`);
  process.exit(2);
}

const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 23)}] ${m}`);
const ADDR = '198.18.0.1'; // RFC 2544 benchmarking range, on the namespace's lo
const G = { group: 'gateway.networking.k8s.io', version: 'v1' };
const NS = 'gwbench';
const SYSTEM_NS = 'ironlb-system';
const PORTS = { gateway: 10000, http: 8080, metrics: 10254, hand: 9000 };
const UPSTREAM = { web: [8081, 8082, 8083], blue: 8091, green: 8092 };
const HOST = 'bench-17.example.com';
const PATH = '/api/v1/items';
const ANCHORS =
  'published: agentgateway p50/p99 14/38 ms; Envoy Gateway 24/74 ms (with failed requests); HAProxy Unified Gateway about 5 s (a 5 s timer)';

// ---------------------------------------------------------------------------------------------------------------
// Outer process: create the namespace, run this script inside it, remove it.

async function outer(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('gateway bench: needs root (it creates the network namespace ' + NETNS + ')');
    return 1;
  }
  for (const b of ['haproxy', 'nginx', 'wrk', 'etcd', 'ip']) {
    if (run(['sh', '-c', `command -v ${b}`], { check: false }).code !== 0) {
      console.error(`gateway bench: ${b} is not installed`);
      return 1;
    }
  }
  if (
    run(['ip', 'netns', 'list'], {})
      .stdout.split('\n')
      .some((l) => l.split(' ')[0] === NETNS)
  ) {
    console.error(
      `gateway bench: network namespace ${NETNS} exists (another run?); remove it with "ip netns del ${NETNS}" or pass --netns`,
    );
    return 1;
  }
  run(['ip', 'netns', 'add', NETNS]);
  try {
    run(['ip', '-n', NETNS, 'link', 'set', 'lo', 'up']);
    run(['ip', '-n', NETNS, 'addr', 'add', `${ADDR}/32`, 'dev', 'lo']);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        NETNS,
        process.execPath,
        ...process.execArgv,
        process.argv[1] ?? '',
        ...process.argv.slice(2),
        '--inner',
      ],
      { stdio: 'inherit' },
    );
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    process.on('SIGINT', forward('SIGINT'));
    process.on('SIGTERM', forward('SIGTERM'));
    const code = await new Promise<number>((resolve) =>
      child.on('exit', (c, s) => resolve(c ?? (s ? 128 : 1))),
    );
    return code;
  } finally {
    // whatever is still running in the namespace was started by this bench
    const left = run(['ip', 'netns', 'pids', NETNS], { check: false }).stdout.split('\n').filter(Boolean);
    for (const pid of left) await stopPid(Number(pid), 2000);
    run(['ip', 'netns', 'del', NETNS], { check: false });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Inner process: everything below runs inside the namespace.

const work = f.inner ? mkdtempSync(join(tmpdir(), 'ironlb-gwbench-')) : '';
const children: ChildProcess[] = [];
const deadline = performance.now() + MAX_MINUTES * 60_000;

interface Reply {
  status: number;
  body: string;
}

/** get sends one request on a fresh connection to 127.0.0.1:port. */
function get(port: number, host: string, path: string, timeoutMs = 2000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, agent: false, headers: { host, connection: 'close' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').trim() }),
        );
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end();
  });
}

async function answers(port: number, host: string, path: string, body: string): Promise<void> {
  await waitFor(
    `127.0.0.1:${port} to answer ${host}${path} with "${body}"`,
    async () => (await get(port, host, path).catch(() => undefined))?.body === body,
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

function startUpstreams(): void {
  const conf = writeNginxConf(work, [
    { address: ADDR, ports: UPSTREAM.web, body: 'hello from upstream' },
    { address: ADDR, ports: [UPSTREAM.blue], body: 'blue' },
    { address: ADDR, ports: [UPSTREAM.green], body: 'green' },
  ]);
  children.push(start(['nginx', '-c', conf], { log: join(work, 'nginx.log') }));
}

/** selectorless Services with their EndpointSlices, as the endpointslice controller would write them. */
async function backendService(c: Clients, namespace: string, name: string, ports: number[]): Promise<void> {
  await c.core.createNamespacedService({
    namespace,
    body: { metadata: { name }, spec: { ports: [{ name: 'http', port: 80, targetPort: ports[0] }] } },
  });
  await c.discovery.createNamespacedEndpointSlice({
    namespace,
    body: {
      metadata: {
        name,
        labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'bench' },
      },
      addressType: 'IPv4',
      // one slice per port would be what the controller writes for several ports; here one port per Service
      ports: [{ name: 'http', port: ports[0] ?? 0 }],
      endpoints: ports.slice(0, 1).map(() => ({ addresses: [ADDR], conditions: { ready: true } })),
    },
  });
  // the other ports of `web` are further slices (a Service's endpoints on different ports)
  for (const [i, port] of ports.slice(1).entries()) {
    await c.discovery.createNamespacedEndpointSlice({
      namespace,
      body: {
        metadata: {
          name: `${name}-${i + 1}`,
          labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'bench' },
        },
        addressType: 'IPv4',
        ports: [{ name: 'http', port }],
        endpoints: [{ addresses: [ADDR], conditions: { ready: true } }],
      },
    });
  }
}

type Rule = { path: [string, string]; backend: string };
function httpRoute(name: string, hostnames: string[], rules: Rule[]): object {
  return {
    apiVersion: `${G.group}/${G.version}`,
    kind: 'HTTPRoute',
    metadata: { name, namespace: NS },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames,
      rules: rules.map((r) => ({
        matches: [{ path: { type: r.path[0], value: r.path[1] } }],
        backendRefs: [{ name: r.backend, port: 80 }],
      })),
    },
  };
}

const siteRules: Rule[] = [
  { path: ['PathPrefix', '/'], backend: 'web' },
  { path: ['PathPrefix', '/api'], backend: 'api' },
  { path: ['PathPrefix', '/api/v1'], backend: 'api' },
  { path: ['Exact', '/healthz'], backend: 'web' },
];

async function startIngress(cp: ControlPlane): Promise<ChildProcess> {
  const argv = [
    process.execPath,
    join(repoRoot, 'ingress/main.ts'),
    '--kubeconfig',
    cp.kubeconfig,
    '--namespace',
    SYSTEM_NS,
    '--run-dir',
    join(work, 'ingress'),
    '--bind',
    '127.0.0.1',
    '--log-level',
    f['log-level'],
    ...(f['debounce-ms'] !== undefined ? ['--debounce-ms', f['debounce-ms']] : []),
  ];
  log(`starting ${argv.slice(1).join(' ')}`);
  const child = start(argv, { log: join(work, 'ingress.log'), cwd: repoRoot });
  children.push(child);
  await waitFor(
    'the ingress program ready (/readyz)',
    async () => (await getMetrics('/readyz').catch(() => undefined)) !== undefined,
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return child;
}

async function getMetrics(path = '/metrics'): Promise<string> {
  const r = await get(PORTS.metrics, '127.0.0.1', path);
  if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
  return r.body;
}

/** applies reads ironlb_ingress_config_applies_total by mode. */
async function applies(): Promise<Map<string, number>> {
  const text = await getMetrics();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^ironlb_ingress_config_applies_total\{mode="([^"]+)"\} (\d+)/gm))
    out.set(m[1] ?? '', Number(m[2]));
  return out;
}

function handWritten(): string {
  // What a person would write for the same routes: host + path to a backend, the two headers the Gateway
  // frontend sets. One thread, like the rendered configuration.
  const lines = [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    'frontend fe',
    `  bind 127.0.0.1:${PORTS.hand}`,
    '  http-request set-header X-Forwarded-For %[src]',
    '  http-request set-header X-Forwarded-Proto http',
    `  use_backend %[base,map_beg(${join(work, 'hand.map')},web)]`,
    'backend api',
    '  balance roundrobin',
    ...UPSTREAM.web.map((p, i) => `  server s${i} ${ADDR}:${p}`),
    'backend web',
    '  balance roundrobin',
    ...UPSTREAM.web.map((p, i) => `  server s${i} ${ADDR}:${p}`),
  ];
  // longest prefix first: map_beg takes the first entry that matches
  const map: string[] = [];
  for (let i = 0; i < ROUTES; i++)
    map.push(`bench-${i}.example.com/api/v1 api`, `bench-${i}.example.com/api api`);
  writeFileSync(join(work, 'hand.map'), `${map.join('\n')}\n`);
  return `${lines.join('\n')}\n`;
}

function stats(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  return `n=${s.length}  min ${ms(s[0] ?? NaN)}  p50 ${ms(q(50))}  p90 ${ms(q(90))}  p99 ${ms(q(99))}  max ${ms(s[s.length - 1] ?? NaN)}`;
}

interface ProbeRecord {
  t: number;
  ok: boolean;
  status?: number;
  err?: string;
  done?: boolean;
}

/** startProber runs the steady client; returns its records so far and a stop that waits for the last line. */
function startProber(url: string): { records: ProbeRecord[]; stop: () => Promise<void> } {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'test/e2e/support/prober.ts'),
      '--url',
      url,
      '--interval-ms',
      String(INTERVAL),
      '--timeout-ms',
      String(TIMEOUT),
      '--max-seconds',
      String(MAX_MINUTES * 60),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  const records: ProbeRecord[] = [];
  const ended = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  createInterface({ input: child.stdout }).on('line', (l) => {
    try {
      records.push(JSON.parse(l) as ProbeRecord);
    } catch {
      /* not a record */
    }
  });
  return {
    records,
    stop: async () => {
      child.stdin.end();
      await Promise.race([ended, sleep(TIMEOUT + 5000)]);
    },
  };
}

interface Change {
  kind: 'applied' | 'changed';
  ms: number;
  apiMs: number;
  /** watchMs: the write → a watch of this bench's own seeing it (what the API server adds before any controller). */
  watchMs: number;
}

/**
 * watchRoutes follows the bench namespace's HTTPRoutes and remembers when each (name, first backend) was first
 * seen, so a change's watch delay can be read back: the part of propagation no controller can shorten.
 */
async function watchRoutes(kubeconfig: string): Promise<{
  seen: (key: string) => number | undefined;
  forget: (key: string) => void;
  stop: () => void;
}> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const seen = new Map<string, number>();
  let stopped = false;
  const abort = await new k8s.Watch(kc).watch(
    `/apis/${G.group}/${G.version}/namespaces/${NS}/httproutes`,
    {},
    (
      _phase,
      obj: { metadata?: { name?: string }; spec?: { rules?: { backendRefs?: { name?: string }[] }[] } },
    ) => {
      const key = `${obj.metadata?.name ?? ''}/${obj.spec?.rules?.[0]?.backendRefs?.[0]?.name ?? ''}`;
      if (!seen.has(key)) seen.set(key, performance.now());
    },
    (err: unknown) => {
      if (err && !stopped)
        log(`the bench's HTTPRoute watch ended: ${err instanceof Error ? err.message : String(err)}`);
    },
  );
  await waitFor("the bench's HTTPRoute watch to list the routes", () => seen.has('flip/blue'), {
    timeoutMs: 10_000,
    intervalMs: 20,
  }).catch(() => log("the bench's HTTPRoute watch lists nothing: no watch figures"));
  return {
    seen: (key) => seen.get(key),
    forget: (key) => seen.delete(key),
    stop: () => {
      stopped = true;
      abort.abort();
    },
  };
}

/** propagation: --changes route changes, each timed until the first request served by the new rule. */
async function propagation(c: Clients, kubeconfig: string): Promise<void> {
  const now = () => performance.timeOrigin + performance.now();
  const watcher = await watchRoutes(kubeconfig);
  const prober = startProber(`http://127.0.0.1:${PORTS.gateway}/steady`);
  await sleep(1000);
  const before = await applies();
  const changes: Change[] = [];
  let color = 'blue';
  const tStart = now();
  for (let i = 0; i < CHANGES && performance.now() < deadline; i++) {
    const kind: Change['kind'] = i % 2 === 0 ? 'applied' : 'changed';
    let host: string;
    let want: string;
    let key: string;
    const t0 = performance.now();
    if (kind === 'applied') {
      host = `new-${i}.example.com`;
      want = 'green';
      key = `new-${i}/green`;
      await c.custom.createNamespacedCustomObject({
        ...G,
        plural: 'httproutes',
        namespace: NS,
        body: httpRoute(`new-${i}`, [host], [{ path: ['PathPrefix', '/'], backend: 'green' }]),
      });
    } else {
      host = 'flip.example.com';
      color = color === 'blue' ? 'green' : 'blue';
      want = color;
      key = `flip/${color}`;
      watcher.forget(key);
      await c.custom.patchNamespacedCustomObject(
        {
          ...G,
          plural: 'httproutes',
          namespace: NS,
          name: 'flip',
          body: { spec: { rules: [{ backendRefs: [{ name: color, port: 80 }] }] } },
        },
        mergePatch,
      );
    }
    const apiMs = performance.now() - t0;
    let ms = NaN;
    while (performance.now() - t0 < CHANGE_TIMEOUT) {
      const r = await get(PORTS.gateway, host, '/', 1000).catch(() => undefined);
      if (r?.status === 200 && r.body === want) {
        ms = performance.now() - t0;
        break;
      }
      await sleep(2);
    }
    if (f.trace)
      log(
        `change ${i + 1} ${kind}: written at ${new Date(performance.timeOrigin + t0).toISOString()}, API answered +${apiMs.toFixed(0)} ms, watch +${((watcher.seen(key) ?? NaN) - t0).toFixed(0)} ms, served +${ms.toFixed(0)} ms`,
      );
    const watchMs = (watcher.seen(key) ?? NaN) - t0;
    if (Number.isNaN(ms)) log(`change ${i + 1} (${kind}): not served within ${CHANGE_TIMEOUT} ms`);
    else changes.push({ kind, ms, apiMs, watchMs });
    if ((i + 1) % 10 === 0) log(`${i + 1}/${CHANGES} changes; last ${kind} ${ms.toFixed(0)} ms`);
    await sleep(GAP);
  }
  const tEnd = now();
  await sleep(500);
  const after = await applies();
  await prober.stop();
  watcher.stop();
  const during = prober.records.filter((r) => !r.done && r.t >= tStart && r.t <= tEnd);
  const failed = during.filter((r) => !r.ok);
  const why = new Map<string, number>();
  for (const r of failed) {
    const k = r.err ?? `HTTP ${r.status}`;
    why.set(k, (why.get(k) ?? 0) + 1);
  }
  const delta = [...after]
    .map(([m, n]) => `${m} ${n - (before.get(m) ?? 0)}`)
    .filter((s) => !s.endsWith(' 0'));
  const debounce = f['debounce-ms'] ?? '100 (the program default, as deployed)';
  console.log(
    `\n1. Route propagation: HTTPRoute written to the API server → first request served by the new rule`,
  );
  console.log(
    `   ingress program --debounce-ms ${debounce}; polled on a fresh connection every ~2 ms; ${GAP} ms between changes`,
  );
  console.log(`   all changes                                ${stats(changes.map((x) => x.ms))}`);
  console.log(
    `   new HTTPRoute (new hostname)               ${stats(changes.filter((x) => x.kind === 'applied').map((x) => x.ms))}`,
  );
  console.log(
    `   backendRef of an existing route switched   ${stats(changes.filter((x) => x.kind === 'changed').map((x) => x.ms))}`,
  );
  console.log(`   of which: the API write answered           ${stats(changes.map((x) => x.apiMs))}`);
  console.log(
    `   of which: a watch (this bench's) saw it    ${stats(changes.map((x) => x.watchMs).filter((x) => !Number.isNaN(x)))}`,
  );
  console.log(`   data-plane applies meanwhile: ${delta.join(', ') || 'none'}`);
  console.log(
    `   steady client on another route (1 request / ${INTERVAL} ms, fresh connection, ${TIMEOUT} ms timeout): ${during.length} requests, ${failed.length} failed${
      why.size > 0 ? ` (${[...why].map(([k, n]) => `${n}× ${k}`).join('; ')})` : ''
    }`,
  );
  console.log(`   ${ANCHORS}`);
  if (changes.length < CHANGES)
    console.log(`   (${CHANGES - changes.length} changes not measured: see above)`);
}

/** throughput: wrk through the Gateway, the hand-written HAProxy and the upstream directly, per round. */
async function throughput(handPid: number): Promise<void> {
  const target = (port: number, host = HOST) => ({
    port,
    host,
    path: PATH,
    connections: CONNS,
    seconds: DURATION,
  });
  // the ingress program's HAProxy master (its pidfile); with its workers, what the Gateway's requests cost
  const gwPid = Number(readFileSync(join(work, 'ingress', 'haproxy.pid'), 'utf8').trim());
  /** load loads one proxy and returns wrk's figures and the proxy's CPU µs per request. */
  const load = async (port: number, pid: number): Promise<{ w: WrkResult; cpu: number }> => {
    const c0 = cpuSeconds(pid);
    const w = await wrk(target(port));
    return { w, cpu: ((cpuSeconds(pid) - c0) / Math.max(1, w.requests)) * 1e6 };
  };
  console.log(
    `\n2. Throughput: wrk -t1 -c${CONNS} -d${DURATION}s, Host: ${HOST} ${PATH} (${ROUTES} HTTPRoutes × 4 rules), HAProxy 1 thread each, upstream nginx (2 workers)`,
  );
  console.log(
    '   2 shared cores: req/s swings with other work; HAProxy CPU time per request (master and workers, /proc) barely does',
  );
  const rows: { gw: WrkResult; hand: WrkResult; gwCpu: number; handCpu: number }[] = [];
  for (let r = 1; r <= ROUNDS && performance.now() < deadline; r++) {
    const gw = await load(PORTS.gateway, gwPid);
    const hand = await load(PORTS.hand, handPid);
    const direct = await wrk({ ...target(UPSTREAM.web[0] ?? 0), address: ADDR, host: ADDR });
    rows.push({ gw: gw.w, hand: hand.w, gwCpu: gw.cpu, handCpu: hand.cpu });
    const errs = (w: WrkResult) => (w.errors > 0 ? ` (${w.errors} errors)` : '');
    console.log(
      `   round ${r}: Gateway ${gw.w.rps.toFixed(0).padStart(6)} req/s p99 ${gw.w.p99}${errs(gw.w)} ${gw.cpu.toFixed(1)} µs CPU/req | ` +
        `hand-written ${hand.w.rps.toFixed(0).padStart(6)} req/s p99 ${hand.w.p99}${errs(hand.w)} ${hand.cpu.toFixed(1)} µs CPU/req | ` +
        `ratio ${(gw.w.rps / hand.w.rps).toFixed(2)} | upstream direct ${direct.rps.toFixed(0)} req/s`,
    );
  }
  if (rows.length > 0) {
    const m = (f: (x: (typeof rows)[number]) => number) => median(rows.map(f));
    console.log(
      `   median: Gateway ${m((x) => x.gw.rps).toFixed(0)} req/s, hand-written ${m((x) => x.hand.rps).toFixed(0)} req/s, ratio ${m((x) => x.gw.rps / x.hand.rps).toFixed(2)}; ` +
        `CPU per request Gateway ${m((x) => x.gwCpu).toFixed(1)} µs, hand-written ${m((x) => x.handCpu).toFixed(1)} µs, ratio ${m((x) => x.gwCpu / x.handCpu).toFixed(2)}`,
    );
  }
}

async function inner(): Promise<void> {
  startUpstreams();
  log('starting etcd, kube-apiserver, kube-controller-manager');
  const cp = await ControlPlane.start({
    dir: join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `ironlb-gwbench-cp-${process.pid}`),
    log,
  });
  try {
    const c = clients(cp.kubeconfig);
    await ensureNamespace(c, SYSTEM_NS);
    await ensureNamespace(c, NS);
    // the ingress's own Service and endpoint (what its pods would be): the Gateway's Service points there
    await backendService(c, SYSTEM_NS, 'ironlb-ingress', [PORTS.http]);
    await backendService(c, NS, 'web', UPSTREAM.web);
    await backendService(c, NS, 'api', UPSTREAM.web);
    await backendService(c, NS, 'blue', [UPSTREAM.blue]);
    await backendService(c, NS, 'green', [UPSTREAM.green]);
    await startIngress(cp);
    await c.custom.createClusterCustomObject({
      ...G,
      plural: 'gatewayclasses',
      body: {
        apiVersion: `${G.group}/${G.version}`,
        kind: 'GatewayClass',
        metadata: { name: 'ironlb' },
        spec: { controllerName: 'ironlb.io/gateway-controller' },
      },
    });
    await c.custom.createNamespacedCustomObject({
      ...G,
      plural: 'gateways',
      namespace: NS,
      body: {
        apiVersion: `${G.group}/${G.version}`,
        kind: 'Gateway',
        metadata: { name: 'gw', namespace: NS },
        spec: { gatewayClassName: 'ironlb', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
      },
    });
    const create = (body: object) =>
      c.custom.createNamespacedCustomObject({ ...G, plural: 'httproutes', namespace: NS, body });
    for (let i = 0; i < ROUTES; i++)
      await create(httpRoute(`bench-${i}`, [`bench-${i}.example.com`], siteRules));
    await create(httpRoute('steady', [], [{ path: ['PathPrefix', '/steady'], backend: 'web' }]));
    await create(httpRoute('flip', ['flip.example.com'], [{ path: ['PathPrefix', '/'], backend: 'blue' }]));
    writeFileSync(join(work, 'hand.cfg'), handWritten());
    const hand = start(['haproxy', '-W', '-f', join(work, 'hand.cfg')], { log: join(work, 'hand.log') });
    children.push(hand);
    await answers(PORTS.gateway, `bench-${ROUTES - 1}.example.com`, PATH, 'hello from upstream');
    await answers(PORTS.gateway, 'flip.example.com', '/', 'blue');
    await answers(PORTS.gateway, '127.0.0.1', '/steady', 'hello from upstream');
    await answers(PORTS.hand, HOST, PATH, 'hello from upstream');
    log(
      `ready: Gateway gwbench/gw on 127.0.0.1:${PORTS.gateway}, hand-written HAProxy on 127.0.0.1:${PORTS.hand}`,
    );
    console.log(
      `Gateway benchmark: ${run(['haproxy', '-v']).stdout.split('\n')[0]}; real etcd + kube-apiserver; node ingress/main.ts; in network namespace ${NETNS} (2 vCPU shared with other work: wall-clock figures)`,
    );
    if (ONLY.has(1)) await propagation(c, cp.kubeconfig);
    if (ONLY.has(2)) await throughput(hand.pid ?? 0);
  } finally {
    await cleanup();
    await cp.stop();
  }
}

async function cleanup(): Promise<void> {
  for (const ch of children) if (ch.exitCode === null && ch.pid) await stopPid(ch.pid, 5000);
  if (f['keep-logs']) log(`logs and configurations kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

if (f.inner) {
  process.on('SIGINT', () => {
    void cleanup().then(() => process.exit(130));
  });
  inner().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`gateway bench: ${e instanceof Error ? e.stack : String(e)}`);
      const tail = existsSync(join(work, 'ingress.log'))
        ? readFileSync(join(work, 'ingress.log'), 'utf8').split('\n').slice(-20).join('\n')
        : '';
      if (tail) console.error(`ingress.log (last lines):\n${tail}`);
      process.exit(1);
    },
  );
} else {
  outer().then((code) => process.exit(code));
}
