// Helpers for L2 end-to-end tests and the failover benchmark: who announces what (the speakers' /debug/plan,
// ServiceL2Status objects), the client's neighbour table and its changes (`ip monitor neigh`), frames on the
// wire, and the open-loop HTTP prober in the client's namespace. The speakers themselves: ./ironlb.ts.
import type * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Lab } from '../../harness/netlab.ts';
import { run, stopPid, waitFor } from '../../harness/exec.ts';
import { nodeBin, repoRoot } from '../../harness/paths.ts';
import { IRONLB_NAMESPACE } from '../../lab/install.ts';
import type { ProbeRecord } from './prober.ts';
import { speakerPlan } from './ironlb.ts';

export {
  SPEAKER_METRICS_PORT,
  killSpeaker,
  restartSpeaker,
  speakerLog,
  speakerMetrics,
  speakerPlan,
  speakerPods,
  stopSpeaker,
  waitForMembership,
  waitRestarted,
  waitSpeakerGone,
  type SpeakerPlan,
} from './ironlb.ts';

/** LB_NAMESPACE is where the lab keeps the metallb.io objects and the ServiceL2Status objects. */
export const LB_NAMESPACE = IRONLB_NAMESPACE;

/** NeighbourEntry is one row of `ip -j neigh`. */
export interface NeighbourEntry {
  dst: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}

/**
 * announcers returns the indices of the nodes whose (running) speaker announces the Service `ns/name`, from
 * each speaker's own /debug/plan.
 */
export async function announcers(lab: Lab, key: string): Promise<number[]> {
  const out: number[] = [];
  for (const n of lab.state.nodes) {
    const p = await speakerPlan(lab, n.index);
    if (p?.services.some((s) => s.key === key && s.decision.announce)) out.push(n.index);
  }
  return out;
}

/** l2StatusNodes lists the nodes named by the Service's ServiceL2Status objects, sorted. */
export async function l2StatusNodes(lab: Lab, namespace: string, name: string): Promise<string[]> {
  const list = (await lab.api.custom.listNamespacedCustomObject({
    group: 'metallb.io',
    version: 'v1beta1',
    namespace: LB_NAMESPACE,
    plural: 'servicel2statuses',
    labelSelector: `metallb.io/service-name=${name},metallb.io/service-namespace=${namespace}`,
  })) as { items: { status?: { node?: string; serviceName?: string; serviceNamespace?: string } }[] };
  return list.items
    .filter((i) => i.status?.serviceName === name && i.status?.serviceNamespace === namespace)
    .map((i) => i.status?.node ?? '')
    .sort();
}

/** serviceIPs waits until the Service has addresses in status and returns them. */
export async function serviceIPs(lab: Lab, namespace: string, name: string, n = 1): Promise<string[]> {
  return waitFor(
    `addresses of Service "${namespace}/${name}"`,
    async () => {
      const svc = await lab.api.core.readNamespacedService({ name, namespace });
      const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '').filter(Boolean);
      return ips.length >= n ? ips : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

/** serviceEndpoints lists the endpoints of every EndpointSlice of Service `namespace/name`. */
export async function serviceEndpoints(lab: Lab, namespace: string, name: string): Promise<k8s.V1Endpoint[]> {
  const slices = await lab.api.discovery.listNamespacedEndpointSlice({
    namespace,
    labelSelector: `kubernetes.io/service-name=${name}`,
  });
  return slices.items.flatMap((x) => x.endpoints ?? []);
}

/** urlOf returns http://ip:port/path with IPv6 bracketed. */
export function urlOf(ip: string, port = 80, path = '/'): string {
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}${path}`;
}

/** HttpAnswer is what curl in a namespace got: the status code (0 = no answer) and the body. */
export interface HttpAnswer {
  code: number;
  body: string;
}

/** httpGet runs curl in a role's namespace (short timeout, no retries). */
export async function httpGet(lab: Lab, role: string, url: string, timeoutS = 2): Promise<HttpAnswer> {
  const r = await lab.exec(
    role,
    ['curl', '-s', '-g', '-m', String(timeoutS), '-o', '-', '-w', '\n%{http_code}', url],
    { check: false, timeoutMs: (timeoutS + 3) * 1000 },
  );
  const cut = r.stdout.lastIndexOf('\n');
  return { code: Number(r.stdout.slice(cut + 1)) || 0, body: cut >= 0 ? r.stdout.slice(0, cut) : '' };
}

/** neighbour reads a role's neighbour entry for ip on eth0 (undefined when there is none). */
export async function neighbour(lab: Lab, role: string, ip: string): Promise<NeighbourEntry | undefined> {
  const r = await lab.exec(role, ['ip', '-j', 'neigh', 'show', ip, 'dev', 'eth0'], { check: false });
  if (r.code !== 0 || !r.stdout.trim()) return undefined;
  const rows = JSON.parse(r.stdout) as NeighbourEntry[];
  return rows.find((e) => e.lladdr) ?? rows[0];
}

/** flushNeighbour forgets a role's neighbour entry for ip, so the next packet resolves it anew. */
export async function flushNeighbour(lab: Lab, role: string, ip: string): Promise<void> {
  await lab.exec(role, ['ip', 'neigh', 'flush', 'to', ip, 'dev', 'eth0'], { check: false });
}

/**
 * resolvedMac makes a role resolve ip afresh (flush, then a TCP connect attempt) and returns the MAC its
 * neighbour table holds for it; undefined if resolution failed.
 */
export async function resolvedMac(lab: Lab, role: string, ip: string): Promise<string | undefined> {
  await flushNeighbour(lab, role, ip);
  await httpGet(lab, role, urlOf(ip), 1);
  const e = await neighbour(lab, role, ip);
  return e?.lladdr && !e.state?.includes('FAILED') ? e.lladdr : undefined;
}

/** nodeOfMac returns the index of the node whose LAN MAC is mac, or undefined. */
export function nodeOfMac(lab: Lab, mac: string | undefined): number | undefined {
  return lab.state.nodes.find((n) => n.mac.toLowerCase() === mac?.toLowerCase())?.index;
}

/**
 * stableAnnouncer waits until exactly one running speaker announces `key` and every running speaker agrees
 * (they all see the same members), and returns that node's index.
 */
export async function stableAnnouncer(lab: Lab, key: string, timeoutMs = 60_000): Promise<number> {
  return waitFor(
    `one announcer for Service "${key}"`,
    async () => {
      const a = await announcers(lab, key);
      return a.length === 1 ? a[0] : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

/** blockAddress drops, on node i, packets for ip arriving from the LAN (the node's data plane for it is gone). */
export async function blockAddress(lab: Lab, i: number, ip: string): Promise<void> {
  const tool = ip.includes(':') ? 'ip6tables' : 'iptables';
  await lab.exec(`node-${i}`, [
    tool,
    '-w',
    '-t',
    'raw',
    '-I',
    'PREROUTING',
    '-i',
    'eth0',
    '-d',
    ip,
    '-j',
    'DROP',
  ]);
}

/** unblockAddress removes blockAddress's rule (no error when it is not there). */
export async function unblockAddress(lab: Lab, i: number, ip: string): Promise<void> {
  const tool = ip.includes(':') ? 'ip6tables' : 'iptables';
  for (let k = 0; k < 5; k++) {
    const r = await lab.exec(
      `node-${i}`,
      [tool, '-w', '-t', 'raw', '-D', 'PREROUTING', '-i', 'eth0', '-d', ip, '-j', 'DROP'],
      { check: false },
    );
    if (r.code !== 0) return;
  }
}

/** setCable plugs (true) or pulls (false) node i's cable: its port on the LAN bridge goes up or down. */
export async function setCable(lab: Lab, i: number, up: boolean): Promise<void> {
  await lab.exec('lan', ['ip', 'link', 'set', `n${i}`, up ? 'up' : 'down']);
}

/** Prober is the open-loop HTTP client (prober.ts) running in a role's namespace. */
export class Prober {
  readonly records: ProbeRecord[] = [];
  private readonly marks: ((t: number) => void)[] = [];
  private readonly child: ChildProcess;
  private readonly ended: Promise<void>;

  constructor(
    lab: Lab,
    role: string,
    url: string,
    options: { intervalMs?: number; timeoutMs?: number } = {},
  ) {
    const argv = [
      'ip',
      'netns',
      'exec',
      lab.ns(role),
      nodeBin,
      join(repoRoot, 'test/e2e/support/prober.ts'),
      `--url=${url}`,
      `--interval-ms=${options.intervalMs ?? 10}`,
      `--timeout-ms=${options.timeoutMs ?? 250}`,
    ];
    this.child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    lines.on('line', (l) => {
      try {
        const r = JSON.parse(l) as ProbeRecord & { done?: boolean; mark?: number };
        if (r.mark !== undefined) this.marks.shift()?.(r.mark);
        else if (!r.done) this.records.push(r);
      } catch {
        /* not a record */
      }
    });
    this.ended = new Promise((resolve) => this.child.on('close', () => resolve()));
  }

  /** waitFirst waits until n requests succeeded. */
  async waitOk(n: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(`${n} successful probe requests`, () => this.records.filter((r) => r.ok).length >= n, {
      timeoutMs,
      intervalMs: 50,
    });
  }

  /**
   * mark returns "now" on the prober's own clock (the clock of its records' t), so a window of records can be
   * bounded without comparing this process's clock with the prober's.
   */
  async mark(timeoutMs = 10_000): Promise<number> {
    const t = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the prober did not answer a mark in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.marks.push((v) => {
        clearTimeout(timer);
        resolve(v);
      });
    });
    this.child.stdin?.write('mark\n');
    return t;
  }

  /** describe summarises the records for a failure message: how many, and the first and last start times. */
  describe(from: number, to: number): string {
    const first = this.records[0]?.t;
    const last = this.records[this.records.length - 1]?.t;
    return `${this.records.length} records, first at ${first === undefined ? '-' : (first - from).toFixed(0)} ms, last at ${last === undefined ? '-' : (last - from).toFixed(0)} ms, window ${(to - from).toFixed(0)} ms`;
  }

  /** stop ends the prober (requests in flight finish) and returns every record, in start order. */
  async stop(): Promise<ProbeRecord[]> {
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.ended;
    clearTimeout(timer);
    return [...this.records].sort((a, b) => a.t - b.t);
  }
}

/** NeighbourEvent is one change of a neighbour entry as `ip monitor` reported it. */
export interface NeighbourEvent {
  /** t: when, ms since the epoch (µs resolution). */
  t: number;
  ip: string;
  lladdr?: string;
  state: string;
  deleted: boolean;
}

const MONITOR_LINE =
  /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})\]\s+(Deleted\s+)?(\S+)\s+dev\s+\S+(?:\s+lladdr\s+(\S+))?.*?\s(\S+)\s*$/;

/** parseMonitorLine parses one line of `ip -ts monitor neigh`; undefined for other lines. */
export function parseMonitorLine(line: string): NeighbourEvent | undefined {
  const m = MONITOR_LINE.exec(line.trim());
  if (!m) return undefined;
  const [, date, micros, deleted, ip, lladdr, state] = m;
  // ip -ts prints local time without a zone; Date parses such text as local time too
  const t = new Date(`${date}`).getTime() + Number(micros) / 1000;
  return { t, ip: ip ?? '', lladdr: lladdr?.toLowerCase(), state: state ?? '', deleted: Boolean(deleted) };
}

/** NeighbourMonitor records every neighbour-table change in a role's namespace (`ip -ts monitor neigh`). */
export class NeighbourMonitor {
  readonly events: NeighbourEvent[] = [];
  private readonly child: ChildProcess;

  constructor(lab: Lab, role: string) {
    this.child = spawn('ip', ['netns', 'exec', lab.ns(role), 'ip', '-ts', 'monitor', 'neigh'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      const e = parseMonitorLine(l);
      if (e) this.events.push(e);
    });
  }

  /** firstChange returns the first event after `since` for ip whose MAC is set and differs from `from`. */
  firstChange(ip: string, from: string, since: number): NeighbourEvent | undefined {
    return this.events.find(
      (e) =>
        e.t >= since &&
        e.ip === ip &&
        !e.deleted &&
        e.lladdr !== undefined &&
        e.lladdr !== from.toLowerCase(),
    );
  }

  /** stop ends the monitor. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await sleep(0);
  }
}

/** L2Frame is one ARP or NDP frame seen on the wire: who sent it and which address it speaks for. */
export interface L2Frame {
  /** t: capture time, ms since the epoch (µs resolution). */
  t: number;
  src: string;
  kind: 'arpRequest' | 'arpReply' | 'ns' | 'na';
  /** ip: the ARP sender address (the one the frame vouches for; 0.0.0.0 for a probe), the NA's or NS's target. */
  ip: string;
  /** target: the address asked about (ARP request, NS). */
  target?: string;
}

const FRAME_LINE = /^(\d+\.\d+) (\S+) > (\S+), ethertype (ARP|IPv6) .*?: (.*)$/;

/** parseTcpdumpLine parses one line of `tcpdump -l -n -e -tt 'arp or icmp6'`; undefined for other lines. */
export function parseTcpdumpLine(line: string): L2Frame | undefined {
  const m = FRAME_LINE.exec(line.trim());
  if (!m) return undefined;
  const [, ts, src, , , rest = ''] = m;
  const base = { t: Number(ts) * 1000, src: (src ?? '').toLowerCase() };
  let x: RegExpExecArray | null;
  if ((x = /Request who-has (\S+) tell (\S+?),/.exec(rest)))
    return { ...base, kind: 'arpRequest', ip: x[2] ?? '', target: x[1] ?? '' };
  if ((x = /Reply (\S+) is-at/.exec(rest))) return { ...base, kind: 'arpReply', ip: x[1] ?? '' };
  if ((x = /neighbor advertisement, tgt is (\S+?),/.exec(rest)))
    return { ...base, kind: 'na', ip: x[1] ?? '' };
  if ((x = /neighbor solicitation, who has (\S+?),/.exec(rest)))
    return { ...base, kind: 'ns', ip: x[1] ?? '', target: x[1] ?? '' };
  return undefined;
}

/** FrameCapture records ARP and NDP frames in a role's namespace (tcpdump on eth0). */
export class FrameCapture {
  readonly frames: L2Frame[] = [];
  private readonly child: ChildProcess;
  private readonly listening: Promise<void>;

  constructor(lab: Lab, role: string) {
    this.child = spawn(
      'ip',
      ['netns', 'exec', lab.ns(role), 'tcpdump', '-l', '-n', '-e', '-tt', '-i', 'eth0', 'arp or icmp6'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      const f = parseTcpdumpLine(l);
      if (f) this.frames.push(f);
    });
    this.listening = new Promise((resolve) => {
      createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', (l) => {
        if (l.includes('listening on')) resolve();
      });
      this.child.on('close', () => resolve());
    });
  }

  /** ready resolves once tcpdump listens. */
  ready(): Promise<void> {
    return this.listening;
  }

  /** firstFrom returns the first frame after `since` that vouches for ip (ARP sender, NA target) from src. */
  firstFrom(ip: string, src: string, since: number): L2Frame | undefined {
    return this.frames.find(
      (f) => f.t >= since && f.src === src.toLowerCase() && f.ip === ip && f.kind !== 'ns',
    );
  }

  /** stop ends the capture. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await sleep(0);
  }
}

/** FailureWindow summarises the failed requests of a probe timeline between two times. */
export interface FailureWindow {
  sent: number;
  failed: number;
  /** windowMs: from the start of the first failed request to the start of the last one plus one interval; 0 if none. */
  windowMs: number;
  firstFailedAt?: number;
}

/** failureWindow summarises probe records that started in [from, to). */
export function failureWindow(
  records: readonly ProbeRecord[],
  from: number,
  to: number,
  intervalMs = 10,
): FailureWindow {
  const inside = records.filter((r) => r.t >= from && r.t < to);
  const failed = inside.filter((r) => !r.ok);
  const first = failed[0];
  const last = failed[failed.length - 1];
  return {
    sent: inside.length,
    failed: failed.length,
    windowMs: first && last ? last.t - first.t + intervalMs : 0,
    ...(first ? { firstFailedAt: first.t } : {}),
  };
}

/** removeNetns deletes a network namespace the test created (its processes first); no error when absent. */
export async function removeNetns(name: string): Promise<void> {
  const pids = run(['ip', 'netns', 'pids', name], { check: false }).stdout.split('\n').filter(Boolean);
  await Promise.all(pids.map((p) => stopPid(Number(p), 2000)));
  run(['ip', 'netns', 'del', name], { check: false });
}
