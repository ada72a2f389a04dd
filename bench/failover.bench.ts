// L2 failover benchmark: how long until the LAN client's neighbour entry for a Service address points at the
// new announcer, and how many of the client's requests fail meanwhile, when the announcing node dies
// (`kill -9` of its speaker container through the node's containerd, and its data plane for the address
// dropped at the same instant; the node is then taken out of the speaker DaemonSet so the kubelet does not
// restart it mid-round) and when its speaker shuts down gracefully (the node leaves the DaemonSet: the
// kubelet sends SIGTERM, "leaving", handoff, then the node drops the address once the pod is gone, as a
// drained node would). IronLB is the one installed from deploy/ (test/lab/install.ts).
//
//   node bench/failover.bench.ts [--rounds 20] [--attach DIR] [--keep] [--json FILE]
//
// Builds its own lab (prefix "ironlb-fo-", .lab/ironlb-fo, API on 127.0.0.1:16471) and removes it at the end,
// unless --attach names a running lab's state directory: then the echo app is deployed there (and removed
// afterwards), and the lab's IronLB is used (installed first if it has none). Per round:
// (a) `ip -ts monitor neigh` in the client namespace: time from the kill to the first change of the entry to
// another MAC, and tcpdump there: time to the first ARP frame from the new owner; (b) an open-loop HTTP client
// in the client namespace (test/e2e/support/prober.ts: one request every 10 ms, 250 ms timeout, a fresh
// connection each): requests that failed, and the window from the first to the last failed one. Between rounds
// the speaker is restarted and the bench waits until every speaker sees it, one node announces, the client's
// entry names that node and requests succeed again. Bounded: --rounds of each kind and --max-minutes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab } from '../test/harness/netlab.ts';
import { repoRoot } from '../test/harness/paths.ts';
import { waitForEndpoints } from '../test/harness/kube.ts';
import { waitFor } from '../test/harness/exec.ts';
import {
  FrameCapture,
  NeighbourMonitor,
  Prober,
  blockAddress,
  failureWindow,
  killSpeaker,
  neighbour,
  nodeOfMac,
  restartSpeaker,
  serviceIPs,
  stableAnnouncer,
  stopSpeaker,
  unblockAddress,
  urlOf,
  waitSpeakerGone,
  type FailureWindow,
} from '../test/e2e/support/l2.ts';
import { ensureIronLB } from '../test/e2e/support/ironlb.ts';

const { values: f } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    attach: { type: 'string' },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
    'settle-ms': { type: 'string', default: '1500' },
    'max-minutes': { type: 'string', default: '30' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (f.help) {
  console.log(`Usage: node bench/failover.bench.ts [--rounds 20] [--attach DIR] [--keep] [--json FILE]
  --rounds N       rounds of each kind (kill -9, SIGTERM) (20)
  --attach DIR     use the running lab in DIR (e.g. .lab) instead of building one, and its IronLB
  --keep           leave the lab running at the end
  --json FILE      also write every round's figures as JSON
  --settle-ms MS   how long to keep probing after the takeover, per round (1500)
  --max-minutes M  stop starting rounds after this long (30)`);
  process.exit(0);
}
if (process.getuid?.() !== 0) {
  console.error('failover bench: network namespaces need root');
  process.exit(1);
}
const rounds = Number(f.rounds);
const settleMs = Number(f['settle-ms']);
const deadline = Date.now() + Number(f['max-minutes']) * 60_000;
const NS = 'failover-bench';
const SVC = 'echo';
const KEY = `${NS}/${SVC}`;
const log = (m: string) => console.error(m);
const now = () => performance.timeOrigin + performance.now();

type Kind = 'kill' | 'term';
interface Round {
  kind: Kind;
  round: number;
  from: number;
  to?: number;
  /** takeoverMs: kill → the client's neighbour entry names another MAC (undefined: never within 10 s). */
  takeoverMs?: number;
  /** wireMs: kill → the first ARP/NA frame for the address from another node, as captured at the client. */
  wireMs?: number;
  /** frames: every ARP/NA frame vouching for the address during the round: "ms after kill:node:kind". */
  frames?: string[];
  requests: FailureWindow;
  /** failures: start of each failed request, ms after the kill, with its error. */
  failures?: string[];
  error?: string;
}

async function setup(): Promise<{ lab: Lab; own: boolean }> {
  if (f.attach) return { lab: Lab.attach(f.attach, log), own: false };
  const dir = join(repoRoot, '.lab', 'ironlb-fo');
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const lab = await Lab.up({ dir, prefix: 'ironlb-fo-', hostApiPort: 16471, log });
  log(`bench: lab up in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return { lab, own: true };
}

/** deployEcho starts an echo pod per node and the Service; false when they were there already (a kept lab). */
async function deployEcho(lab: Lab): Promise<boolean> {
  const exists = await lab.api.core
    .readNamespacedService({ name: SVC, namespace: NS })
    .then(() => true)
    .catch(() => false);
  if (exists) return false;
  for (const n of lab.state.nodes)
    await lab.addPod({ namespace: NS, name: `echo-${n.index}`, node: n.index, labels: { app: 'fo-echo' } });
  await lab.api.core.createNamespacedService({
    namespace: NS,
    body: {
      metadata: { name: SVC },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'fo-echo' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    },
  });
  await waitForEndpoints(lab.api, NS, SVC, lab.state.nodes.length);
  return true;
}

/** waitStable waits until one node announces, the client's entry names it and requests succeed. */
async function waitStable(lab: Lab, ip: string, prober: Prober): Promise<number> {
  const owner = await stableAnnouncer(lab, KEY);
  const mac = lab.node(owner).mac.toLowerCase();
  await waitFor(
    `the client's neighbour entry for ${ip} to name node ${owner}`,
    async () => (await neighbour(lab, 'client', ip))?.lladdr === mac,
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  const n = prober.records.length;
  await waitFor('requests to succeed again', () => prober.records.slice(n).filter((r) => r.ok).length >= 20, {
    timeoutMs: 30_000,
    intervalMs: 50,
  });
  return owner;
}

async function runRound(
  lab: Lab,
  ip: string,
  kind: Kind,
  round: number,
  mon: NeighbourMonitor,
  cap: FrameCapture,
  prober: Prober,
): Promise<Round> {
  const owner = await waitStable(lab, ip, prober);
  const oldMac = lab.node(owner).mac;
  let from: number;
  if (kind === 'kill') {
    // the node dies: its data plane for the address goes with its speaker, at the same instant; the pod is
    // then deleted (node out of the DaemonSet) so the kubelet does not bring the speaker back mid-round
    await blockAddress(lab, owner, ip);
    from = now();
    await killSpeaker(lab, owner, 'SIGKILL');
    await stopSpeaker(lab, owner);
  } else {
    from = now();
    await stopSpeaker(lab, owner);
  }
  const r: Round = { kind, round, from, requests: { sent: 0, failed: 0, windowMs: 0 } };
  try {
    const change = await waitFor('the neighbour entry to change', () => mon.firstChange(ip, oldMac, from), {
      timeoutMs: 10_000,
      intervalMs: 5,
    }).catch(() => undefined);
    if (change) r.takeoverMs = change.t - from;
    if (kind === 'term') {
      // a drained node leaves once its speaker has handed over and exited
      await waitSpeakerGone(lab, owner, 20_000);
      await blockAddress(lab, owner, ip);
    }
    await sleep(settleMs);
    r.to = now();
    r.requests = failureWindow(prober.records, from - 20, r.to);
    r.failures = prober.records
      .filter((x) => x.t >= from - 20 && x.t < (r.to ?? 0) && !x.ok)
      .map((x) => `${(x.t - from).toFixed(0)}:${x.err ?? x.status}`);
    // tcpdump's lines arrive late: read the capture only once the round is over
    const wire = lab.state.nodes
      .filter((n) => n.index !== owner)
      .flatMap((n) => cap.firstFrom(ip, n.mac, from) ?? [])
      .sort((a, b) => a.t - b.t)[0];
    if (wire) r.wireMs = wire.t - from;
    r.frames = cap.frames
      .filter((x) => x.t >= from - 100 && x.t < (r.to ?? 0) && x.ip === ip && x.kind !== 'ns')
      .map((x) => `${(x.t - from).toFixed(0)}:${nodeOfMac(lab, x.src) ?? x.src}:${x.kind}`);
  } catch (e) {
    r.error = e instanceof Error ? e.message : String(e);
  } finally {
    await unblockAddress(lab, owner, ip);
    await restartSpeaker(lab, owner);
  }
  return r;
}

function pct(xs: number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function table(all: Round[]): string {
  const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(0));
  const three = (xs: number[]) => [pct(xs, 50), pct(xs, 99), pct(xs, 100)].map(fmt).join(' / ');
  const rows = [
    [
      'rounds',
      'neighbour moved p50/p99/max',
      'first frame p50/p99/max',
      'failure window p50/p99/max',
      'failed/sent',
    ],
  ];
  for (const kind of ['kill', 'term'] as const) {
    const rs = all.filter((r) => r.kind === kind && !r.error);
    const take = rs.flatMap((r) => (r.takeoverMs === undefined ? [] : [r.takeoverMs]));
    const wire = rs.flatMap((r) => (r.wireMs === undefined ? [] : [r.wireMs]));
    rows.push([
      `${rs.length} × ${kind === 'kill' ? 'kill -9' : 'SIGTERM'}`,
      three(take) + (take.length < rs.length ? ` (${rs.length - take.length} never)` : ''),
      three(wire),
      three(rs.map((r) => r.requests.windowMs)),
      `${rs.reduce((a, r) => a + r.requests.failed, 0)}/${rs.reduce((a, r) => a + r.requests.sent, 0)}`,
    ]);
  }
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const { lab, own } = await setup();
  let mon: NeighbourMonitor | undefined;
  let cap: FrameCapture | undefined;
  let prober: Prober | undefined;
  const results: Round[] = [];
  let createdEcho = false;
  try {
    await ensureIronLB(lab, log);
    createdEcho = await deployEcho(lab);
    const [ip] = await serviceIPs(lab, NS, SVC);
    if (!ip) throw new Error(`Service "${KEY}" got no address`);
    log(`bench: Service "${KEY}" has ${ip}; ${rounds} rounds of each kind`);
    mon = new NeighbourMonitor(lab, 'client');
    cap = new FrameCapture(lab, 'client');
    await cap.ready();
    prober = new Prober(lab, 'client', urlOf(ip), { intervalMs: 10, timeoutMs: 250 });
    await prober.waitOk(10, 60_000);
    for (let k = 1; k <= rounds && Date.now() < deadline; k++) {
      for (const kind of ['kill', 'term'] as const) {
        const r = await runRound(lab, ip, kind, k, mon, cap, prober);
        results.push(r);
        log(
          `bench: ${kind} #${k}: neighbour moved after ${r.takeoverMs?.toFixed(0) ?? '-'} ms ` +
            `(first frame ${r.wireMs?.toFixed(0) ?? '-'} ms), ` +
            `${r.requests.failed}/${r.requests.sent} failed (window ${r.requests.windowMs.toFixed(0)} ms)` +
            (r.error ? `, error: ${r.error}` : ''),
        );
      }
    }
    const owner = nodeOfMac(lab, (await neighbour(lab, 'client', ip))?.lladdr);
    log(`bench: done; node ${owner ?? '?'} announces ${ip} now`);
  } finally {
    await prober?.stop();
    await mon?.stop();
    await cap?.stop();
    if (!f.keep) {
      if (own) await lab.down();
      else if (createdEcho) {
        await lab.api.core.deleteNamespacedService({ name: SVC, namespace: NS }).catch(() => undefined);
        for (const p of lab.state.pods.filter((x) => x.namespace === NS)) await lab.removePod(p);
      }
    }
  }
  console.log(
    'L2 failover (ms from the kill; speakers: heartbeat 100 ms, dead after 350 ms, handoff 1.5 s; client: ' +
      '1 request / 10 ms, new connection each, 250 ms timeout)\n' +
      'kill -9: speaker killed and the node drops the address at once; SIGTERM: the node drops it once the ' +
      'speaker exited',
  );
  console.log(table(results));
  const termFailed = results.filter((r) => r.kind === 'term').reduce((a, r) => a + r.requests.failed, 0);
  console.log(`requests failed in graceful rounds: ${termFailed} (target 0)`);
  const errors = results.filter((r) => r.error);
  if (errors.length)
    console.log(`rounds with errors: ${errors.map((r) => `${r.kind} #${r.round}: ${r.error}`).join('; ')}`);
  if (f.json) writeFileSync(f.json, JSON.stringify(results, null, 2));
}

main().catch((e: unknown) => {
  console.error(`failover bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
