// Speaker rollout benchmark: a rolling update of the speaker DaemonSet to a new image tag (the same image,
// tagged anew in every node's containerd, as a release would arrive) under an open-loop HTTP client on the
// LAN (test/e2e/support/prober.ts: one request every 10 ms, each on a fresh connection, 1 s timeout) to an
// ETP Cluster Service announced by L2. Target: 0 failed requests. Per round it prints the failed requests
// (ms after `kubectl set image`, with the error), and with --trace the evidence to explain them: every
// ARP frame for the address seen at the client (which node vouched for it, when) and the speakers' own
// log lines about membership and announcements, on one time line.
//
//   node bench/rollout.bench.ts --attach .lab [--rounds 3] [--trace] [--pcap FILE] [--json FILE]
//                               [--bgp [--graceful-restart]]
//
// With --bgp the time line also shows every change of the router's kernel route to the BGP Service's address
// (`ip monitor route` in the router: which nodes are its ECMP next hops, when). --graceful-restart re-creates
// the lab's BGPPeers with enableGracefulRestart (an immutable field) for the run, and restores them after.
//
// Needs a running lab (`make lab`) with IronLB installed from deploy/ (test/lab/install.ts); deploys the echo
// app (one pod per node) and the Service in its own namespace and removes them at the end. Bounded: --rounds
// and --max-minutes.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab } from '../test/harness/netlab.ts';
import { k8sBin } from '../test/harness/paths.ts';
import { waitFor } from '../test/harness/exec.ts';
import { waitForEndpoints } from '../test/harness/kube.ts';
import { ECHO_CPU_REQUEST, runEcho } from '../test/lab/deploy.ts';
import { COMPONENTS, IRONLB_NAMESPACE } from '../test/lab/install.ts';
import {
  FrameCapture,
  Prober,
  failureWindow,
  nodeOfMac,
  serviceIPs,
  urlOf,
  type FailureWindow,
} from '../test/e2e/support/l2.ts';
import { ensureIronLB, rollSpeakers, waitForMembership } from '../test/e2e/support/ironlb.ts';

const { values: f } = parseArgs({
  options: {
    attach: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    trace: { type: 'boolean', default: false },
    pcap: { type: 'string' },
    'echo-cpu': { type: 'string', default: ECHO_CPU_REQUEST },
    bgp: { type: 'boolean', default: false },
    'graceful-restart': { type: 'boolean', default: false },
    json: { type: 'string' },
    'max-minutes': { type: 'string', default: '15' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help || !f.attach) {
  console.log(`Usage: node bench/rollout.bench.ts --attach DIR [--rounds 3] [--trace] [--pcap FILE] [--json FILE]
  --attach DIR     the running lab's state directory (e.g. .lab, from make lab)
  --rounds N       rolling updates of the speaker DaemonSet, one after the other (3)
  --trace          print every round's time line: ARP frames for the address and the speakers' log lines
  --pcap FILE      also write the client's frames (ARP, TCP to the address) to FILE with tcpdump
  --echo-cpu Q     the echo pods' CPU request (${ECHO_CPU_REQUEST}; none: BestEffort pods)
  --bgp            also probe a Service of the BGP pool from behind the router (host "ext"), same client,
                   and trace the router's route to it
  --graceful-restart  (with --bgp) the lab's BGPPeers get enableGracefulRestart for the run
  --json FILE      also write every round's figures as JSON
  --max-minutes M  stop starting rounds after this long (15)`);
  process.exit(f.help ? 0 : 2);
}
if (process.getuid?.() !== 0) {
  console.error('rollout bench: network namespaces need root');
  process.exit(1);
}
const rounds = Number(f.rounds);
const deadline = Date.now() + Number(f['max-minutes']) * 60_000;
const echoCpu = f['echo-cpu'] === 'none' ? '' : (f['echo-cpu'] ?? ECHO_CPU_REQUEST);
const NS = echoCpu ? 'rollout-bench' : 'rollout-bench-besteffort';
const SVC = 'echo';
const log = (m: string) => console.error(m);
const now = () => performance.timeOrigin + performance.now();

/** SpeakerLine is one log line of a speaker, with the node it came from. */
interface SpeakerLine {
  t: number;
  node: string;
  msg: string;
  detail: string;
}

/** SpeakerLogs follows the speaker container's log of every speaker pod that appears (kubectl logs -f). */
class SpeakerLogs {
  readonly lines: SpeakerLine[] = [];
  private readonly followers = new Map<string, ChildProcess>();
  private timer: NodeJS.Timeout | undefined;
  private readonly lab: Lab;

  constructor(lab: Lab) {
    this.lab = lab;
  }

  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll().catch(() => undefined), 250);
  }

  private async poll(): Promise<void> {
    const list = await this.lab.api.core.listNamespacedPod({
      namespace: IRONLB_NAMESPACE,
      labelSelector: COMPONENTS.speaker.selector,
    });
    for (const p of list.items) {
      const name = p.metadata?.name ?? '';
      const running = p.status?.containerStatuses?.some((c) => c.name === 'speaker' && c.state?.running);
      if (!running || this.followers.has(name)) continue;
      const node = p.spec?.nodeName ?? '?';
      const child = spawn(
        k8sBin('kubectl'),
        [
          `--kubeconfig=${this.lab.state.hostKubeconfig}`,
          'logs',
          '-f',
          '-n',
          IRONLB_NAMESPACE,
          name,
          '-c',
          'speaker',
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      this.followers.set(name, child);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
        try {
          const entry = JSON.parse(l) as Record<string, unknown>;
          const { time, msg } = entry;
          const rest = Object.fromEntries(
            Object.entries(entry).filter(
              ([k]) => !['time', 'msg', 'level', 'pid', 'hostname', 'name'].includes(k),
            ),
          );
          this.lines.push({
            t: Date.parse(String(time)),
            node,
            msg: String(msg),
            detail: JSON.stringify(rest),
          });
        } catch {
          /* not a log line */
        }
      });
    }
  }

  stop(): void {
    clearInterval(this.timer);
    for (const c of this.followers.values()) c.kill('SIGTERM');
  }
}

interface Round {
  round: number;
  image: string;
  rolledMs: number;
  requests: FailureWindow;
  failures: string[];
  /** bgp: the same for the BGP Service, probed from behind the router (--bgp). */
  bgp?: FailureWindow;
  bgpFailures?: string[];
  trace: string[];
}

/** SLOW_MS: a successful request slower than this is shown in the trace, with the node of the pod that served it. */
const SLOW_MS = 300;

/** createService creates a LoadBalancer Service for the echo pods (annotations pick its pool). */
async function createService(
  lab: Lab,
  name: string,
  annotations: Record<string, string> = {},
): Promise<void> {
  await lab.api.core
    .createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name, annotations },
        spec: {
          type: 'LoadBalancer',
          selector: { app: 'rollout-echo' },
          ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        },
      },
    })
    .catch(() => undefined);
}

/** RouteMonitor records the router's kernel route changes for one address (`ip monitor route`). */
class RouteMonitor {
  readonly changes: { t: number; s: string }[] = [];
  private child: ChildProcess | undefined;

  start(lab: Lab, ip: string): void {
    this.child = spawn('ip', ['-n', lab.ns('router'), 'monitor', 'route'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let current: { t: number; s: string } | undefined;
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (/^\s/.test(line)) {
        // a next hop of the multipath route on the line before
        if (current) current.s += ` | ${line.trim().replace(/^nexthop /, '')}`;
        return;
      }
      current = undefined;
      const words = line.split(' ');
      if (words[0] === ip || (words[0] === 'Deleted' && words[1] === ip)) {
        current = { t: now(), s: `ROUTER route ${line.trim()}` };
        this.changes.push(current);
      }
    });
  }

  stop(): void {
    this.child?.kill('SIGTERM');
  }
}

/**
 * setGracefulRestart re-creates every BGPPeer of the lab whose enableGracefulRestart is not `on` with it set to
 * `on` (the field is immutable: delete, then create).
 */
async function setGracefulRestart(lab: Lab, on: boolean): Promise<void> {
  const list = JSON.parse(
    await lab.kubectl(['-n', IRONLB_NAMESPACE, 'get', 'bgppeers.metallb.io', '-o', 'json']),
  ) as {
    items: {
      metadata: Record<string, unknown>;
      spec: Record<string, unknown>;
      apiVersion: string;
      kind: string;
    }[];
  };
  for (const peer of list.items) {
    if ((peer.spec.enableGracefulRestart === true) === on) continue;
    const { name, namespace, labels, annotations } = peer.metadata;
    const body = {
      apiVersion: peer.apiVersion,
      kind: peer.kind,
      metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
      spec: { ...peer.spec, enableGracefulRestart: on },
    };
    await lab.kubectl(['-n', IRONLB_NAMESPACE, 'delete', 'bgppeers.metallb.io', String(name), '--wait=true']);
    await lab.kubectl(['apply', '-f', '-'], JSON.stringify(body));
    log(`bench: BGPPeer "${String(name)}" re-created with enableGracefulRestart: ${on}`);
  }
}

/** waitForRouterPaths waits until the router's route to ip has one next hop per node. */
async function waitForRouterPaths(lab: Lab, ip: string, timeoutMs = 90_000): Promise<void> {
  const want = lab.state.nodes.length;
  await waitFor(
    `the router's route to ${ip} through all ${want} nodes`,
    async () => {
      const out = (await lab.exec('router', ['ip', 'route', 'show', ip])).stdout;
      const hops = out.includes('nexthop') ? (out.match(/nexthop/g) ?? []).length : out.trim() ? 1 : 0;
      if (hops !== want) throw new Error(`router has ${hops} next hops for ${ip}, not ${want}`);
      return true;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

const INTERESTING =
  /membership|announcing|stopped announcing|speaker started|leaving|taking over|conflict|in use|late|BGP session|withdrew|keeping paths|gobgpd/;

async function main(): Promise<void> {
  const lab = Lab.attach(f.attach as string, log);
  const cap = new FrameCapture(lab, 'client');
  const logs = new SpeakerLogs(lab);
  let pcap: ChildProcess | undefined;
  let prober: Prober | undefined;
  let bgpProber: Prober | undefined;
  const routes = new RouteMonitor();
  let restorePeers = false;
  const results: Round[] = [];
  try {
    await ensureIronLB(lab, log);
    await runEcho(lab, {
      name: SVC,
      namespace: NS,
      replicas: lab.state.nodes.length,
      labels: { app: 'rollout-echo' },
      cpuRequest: echoCpu,
      log,
    });
    await createService(lab, SVC);
    if (f.bgp) await createService(lab, `${SVC}-bgp`, { 'metallb.io/address-pool': 'lab-bgp' });
    await waitForEndpoints(lab.api, NS, SVC, lab.state.nodes.length);
    const [ip] = await serviceIPs(lab, NS, SVC);
    if (!ip) throw new Error(`Service "${NS}/${SVC}" got no address`);
    log(
      `bench: Service "${NS}/${SVC}" (ETP Cluster) has ${ip}; echo pods ` +
        `${echoCpu ? `request ${echoCpu} CPU` : 'BestEffort'}; ${rounds} rollouts`,
    );
    const echoNode = new Map<string, string>();
    for (const p of (await lab.api.core.listNamespacedPod({ namespace: NS })).items)
      echoNode.set(p.metadata?.name ?? '', p.spec?.nodeName ?? '?');
    await cap.ready();
    if (f.pcap)
      pcap = spawn(
        'ip',
        ['netns', 'exec', lab.ns('client'), 'tcpdump', '-n', '-i', 'eth0', '-w', f.pcap, `arp or host ${ip}`],
        { stdio: 'ignore' },
      );
    await logs.start();
    prober = new Prober(lab, 'client', urlOf(ip), { intervalMs: 10, timeoutMs: 1000 });
    await prober.waitOk(50, 60_000);
    if (f.bgp) {
      const [bgpIP] = await serviceIPs(lab, NS, `${SVC}-bgp`);
      if (!bgpIP) throw new Error(`Service "${NS}/${SVC}-bgp" got no address`);
      log(`bench: Service "${NS}/${SVC}-bgp" (BGP pool) has ${bgpIP}, probed from behind the router`);
      if (f['graceful-restart']) {
        restorePeers = true;
        await setGracefulRestart(lab, true);
      }
      await waitForRouterPaths(lab, bgpIP);
      log(
        `bench: the router has a path to ${bgpIP} through every node; graceful restart ` +
          `${f['graceful-restart'] ? 'on' : 'off'}`,
      );
      routes.start(lab, bgpIP);
      bgpProber = new Prober(lab, 'ext', urlOf(bgpIP), { intervalMs: 10, timeoutMs: 1000 });
      await bgpProber.waitOk(50, 60_000);
    }
    for (let k = 1; k <= rounds && Date.now() < deadline; k++) {
      await waitForMembership(lab);
      await sleep(2_000);
      const from = now();
      const image = await rollSpeakers(lab, `rollout-${Date.now().toString(36)}`);
      const rolledMs = now() - from;
      await waitForMembership(lab);
      await sleep(3_000);
      const to = now();
      const rel = (t: number) => `${(t - from).toFixed(0).padStart(6)} ms`;
      const records = prober.records.filter((r) => r.t >= from - 20 && r.t < to);
      const r: Round = {
        round: k,
        image,
        rolledMs,
        requests: failureWindow(prober.records, from - 20, to),
        failures: records.filter((x) => !x.ok).map((x) => `${rel(x.t)} ${x.err ?? x.status}`),
        ...(bgpProber
          ? {
              bgp: failureWindow(bgpProber.records, from - 20, to),
              bgpFailures: bgpProber.records
                .filter((x) => x.t >= from - 20 && x.t < to && !x.ok)
                .map((x) => `${rel(x.t)} ${x.err ?? x.status}`),
            }
          : {}),
        trace: [
          ...cap.frames
            .filter((x) => x.t >= from && x.t < to && (x.ip === ip || x.target === ip))
            .map((x) => ({
              t: x.t,
              s: `ARP ${x.kind} ${x.kind === 'arpRequest' ? `who-has ${x.target} tell ${x.ip}` : x.ip} from ${
                lab.state.nodes.find((n) => n.index === nodeOfMac(lab, x.src))?.name ?? x.src
              }`,
            })),
          ...routes.changes.filter((x) => x.t >= from && x.t < to),
          ...(bgpProber?.records ?? [])
            .filter((x) => x.t >= from && x.t < to && !x.ok)
            .map((x) => ({ t: x.t, s: `BGP REQUEST FAILED ${x.err ?? x.status}` })),
          ...logs.lines
            .filter((x) => x.t >= from && x.t < to && INTERESTING.test(x.msg))
            .map((x) => ({ t: x.t, s: `${x.node}: ${x.msg} ${x.detail}` })),
          ...records.filter((x) => !x.ok).map((x) => ({ t: x.t, s: `REQUEST FAILED ${x.err ?? x.status}` })),
          ...records
            .filter((x) => x.ok && x.ms > SLOW_MS)
            .map((x) => ({
              t: x.t,
              s: `request slow: ${x.ms.toFixed(0)} ms, served by ${x.pod} on ${echoNode.get(x.pod ?? '') ?? '?'}`,
            })),
        ]
          .sort((a, b) => a.t - b.t)
          .map((x) => `${rel(x.t)}  ${x.s}`),
      };
      results.push(r);
      log(
        `bench: rollout #${k} to ${image} in ${(rolledMs / 1000).toFixed(1)} s: ` +
          `${r.requests.failed}/${r.requests.sent} requests failed` +
          (r.requests.failed
            ? ` (window ${r.requests.windowMs.toFixed(0)} ms): ${r.failures.join(', ')}`
            : '') +
          (r.bgp
            ? `; BGP Service from behind the router: ${r.bgp.failed}/${r.bgp.sent} failed` +
              (r.bgp.failed ? `: ${r.bgpFailures?.join(', ')}` : '')
            : ''),
      );
      if (f.trace) log(r.trace.join('\n'));
    }
  } finally {
    await prober?.stop();
    await bgpProber?.stop();
    routes.stop();
    if (restorePeers) await setGracefulRestart(lab, false).catch((e: unknown) => log(`bench: ${String(e)}`));
    logs.stop();
    await cap.stop();
    pcap?.kill('SIGTERM');
    await lab.kubectl(['delete', 'namespace', NS, '--wait=false']).catch(() => '');
  }
  console.log(
    'Speaker DaemonSet rolling update (maxUnavailable 1) under a 10 ms client (new connection each, 1 s ' +
      'timeout) to an ETP Cluster Service announced by L2',
  );
  console.log(`echo pods: ${echoCpu ? `${echoCpu} CPU requested` : 'BestEffort (no CPU request)'}`);
  if (f.bgp) console.log(`BGP peers: graceful restart ${f['graceful-restart'] ? 'on' : 'off'}`);
  for (const r of results)
    console.log(
      `rollout #${r.round}: ${(r.rolledMs / 1000).toFixed(1)} s, L2 ${r.requests.failed}/${r.requests.sent} failed` +
        (r.requests.failed ? ` (window ${r.requests.windowMs.toFixed(0)} ms)` : '') +
        (r.bgp ? `; BGP from behind the router ${r.bgp.failed}/${r.bgp.sent} failed` : ''),
    );
  const failed = results.reduce((a, r) => a + r.requests.failed, 0);
  const sent = results.reduce((a, r) => a + r.requests.sent, 0);
  console.log(`total: ${failed}/${sent} requests failed over ${results.length} rollouts (target 0)`);
  if (f.bgp) {
    const bgpFailed = results.reduce((a, r) => a + (r.bgp?.failed ?? 0), 0);
    const bgpSent = results.reduce((a, r) => a + (r.bgp?.sent ?? 0), 0);
    console.log(
      `total BGP: ${bgpFailed}/${bgpSent} requests failed over ${results.length} rollouts (target 0)`,
    );
  }
  if (f.json) writeFileSync(f.json, JSON.stringify(results, null, 2));
}

main().catch((e: unknown) => {
  console.error(`rollout bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
