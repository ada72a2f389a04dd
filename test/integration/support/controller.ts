// Runs ironlb-controller as a real child process against the integration control plane: free ports, a log
// file, readiness on /readyz, /metrics scraping, and a registry so every process a test file started is
// stopped in afterAll even when the test failed.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive, start, stopPid, tailOf, waitFor } from '../../harness/exec.ts';
import { nodeBin, repoRoot } from '../../harness/paths.ts';

/** freePort returns a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** ControllerOptions: what the test varies; everything else gets test-friendly defaults (short Lease). */
export interface ControllerOptions {
  kubeconfig: string;
  /** namespace of the IPAddressPools and the Lease (--namespace). */
  namespace: string;
  /** lbClass is passed as --lb-class when set. */
  lbClass?: string;
  identity?: string;
  /** webhook: serve the admission webhook on 127.0.0.1 with these files. */
  webhook?: { port: number; cert: string; key: string };
  /** waitReady waits for /readyz (caches synced); default true. */
  waitReady?: boolean;
  /** waitLeader waits until ironlb_controller_is_leader is 1; default false. */
  waitLeader?: boolean;
  extraArgs?: string[];
  /** entry: the program to run, relative to the repository (controller/main.ts; dist/controller.cjs is the bundle). */
  entry?: string;
  /** env: extra environment variables (e.g. MALLOC_ARENA_MAX). */
  env?: Record<string, string>;
  /** nodeArgs: flags for node before the entry point (e.g. --lite-mode, refused in NODE_OPTIONS). */
  nodeArgs?: string[];
}

/** ControllerProcess is one running ironlb-controller. */
export interface ControllerProcess {
  readonly pid: number;
  readonly identity: string;
  readonly metricsPort: number;
  readonly log: string;
  readonly child: ChildProcess;
  /** exited resolves with the exit code (or the signal name) once the process ended. */
  readonly exited: Promise<number | string>;
  /** scrape returns the samples of /metrics keyed by `name{labels}` as printed. */
  scrape(): Promise<Map<string, number>>;
  /** metric returns the sample `name` (with exactly these labels, if given), or undefined. */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** stop sends SIGTERM (graceful: the Lease is released) and waits for the exit. */
  stop(): Promise<void>;
  /** kill sends SIGKILL (no cleanup at all) and waits for the exit. */
  kill(): Promise<void>;
}

const running = new Set<ControllerProcess>();
let logDir: string | undefined;

function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const value = Number(line.slice(sp + 1));
    if (!Number.isNaN(value)) out.set(line.slice(0, sp), value);
  }
  return out;
}

/** sampleKey renders `name{a="1",b="2"}` the way prom-client prints labels (in label order given). */
export function sampleKey(name: string, labels?: Record<string, string>): string {
  if (!labels || Object.keys(labels).length === 0) return name;
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

/** startController starts `node controller/main.ts` with a free metrics port and waits until it is ready. */
export async function startController(o: ControllerOptions): Promise<ControllerProcess> {
  logDir ??= mkdtempSync(join(tmpdir(), 'ironlb-ctl-'));
  const metricsPort = await freePort();
  const identity = o.identity ?? `ctl-${o.namespace}-${metricsPort}`;
  const log = join(logDir, `${identity}.log`);
  const args = [
    ...(o.nodeArgs ?? []),
    join(repoRoot, o.entry ?? 'controller/main.ts'),
    '--kubeconfig',
    o.kubeconfig,
    '--namespace',
    o.namespace,
    '--metrics-host',
    '127.0.0.1',
    '--metrics-port',
    String(metricsPort),
    '--identity',
    identity,
    '--lease-duration',
    '4',
    '--renew-deadline',
    '3',
    '--retry-period',
    '1',
    '--log-level',
    'debug',
  ];
  if (o.lbClass !== undefined) args.push('--lb-class', o.lbClass);
  if (o.webhook) {
    args.push(
      '--webhook-port',
      String(o.webhook.port),
      '--webhook-host',
      '127.0.0.1',
      '--webhook-cert',
      o.webhook.cert,
      '--webhook-key',
      o.webhook.key,
    );
  } else {
    args.push('--webhook-port', '0');
  }
  args.push(...(o.extraArgs ?? []));
  // no inherited IRONLB_* settings: the flags above are the whole configuration
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('IRONLB_'))),
    ...o.env,
  };
  const child = start([nodeBin, ...args], { log, env, cwd: repoRoot });
  const pid = child.pid ?? -1;
  const exited = new Promise<number | string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve(child.exitCode ?? child.signalCode ?? -1);
    else child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  let done = false;
  void exited.then(() => (done = true));
  const base = `http://127.0.0.1:${metricsPort}`;
  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    if (!res.ok) throw new Error(`GET /metrics of "${identity}": HTTP ${res.status}`);
    return parseMetrics(await res.text());
  };
  const proc: ControllerProcess = {
    pid,
    identity,
    metricsPort,
    log,
    child,
    exited,
    scrape,
    metric: async (name, labels) => (await scrape()).get(sampleKey(name, labels)),
    stop: async () => {
      if (!done) {
        await stopPid(pid, 10_000);
        await exited;
      }
      running.delete(proc);
    },
    kill: async () => {
      if (!done) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await exited;
      }
      running.delete(proc);
    },
  };
  running.add(proc);
  try {
    if (o.waitReady ?? true) {
      await waitFor(
        `controller "${identity}" /readyz`,
        async () => {
          if (done || !alive(pid)) throw new Error(`controller "${identity}" exited`);
          const res = await fetch(`${base}/readyz`);
          return res.ok;
        },
        { timeoutMs: 60_000, intervalMs: 100, log },
      );
    }
    if (o.waitLeader) await waitLeader(proc);
  } catch (e) {
    await proc.kill();
    throw e;
  }
  return proc;
}

/** waitLeader waits until the process reports ironlb_controller_is_leader 1. */
export async function waitLeader(p: ControllerProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `controller "${p.identity}" to lead`,
    async () => (await p.metric('ironlb_controller_is_leader')) === 1,
    {
      timeoutMs,
      intervalMs: 100,
      log: p.log,
    },
  );
}

/** runningControllers lists the processes started by this file that have not been stopped. */
export function runningControllers(): ControllerProcess[] {
  return [...running];
}

/** stopAllControllers stops every process this file started (SIGTERM, then SIGKILL); the logs stay. */
export async function stopAllControllers(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** removeControllerLogs deletes this file's controller logs (kept when IRONLB_KEEP_LOGS is set). */
export function removeControllerLogs(): void {
  if (logDir && !process.env.IRONLB_KEEP_LOGS) {
    rmSync(logDir, { recursive: true, force: true });
    logDir = undefined;
  }
}

/** logTail returns the last lines of a controller's log (for failure messages). */
export function logTail(p: ControllerProcess, lines = 30): string {
  return tailOf(p.log, lines);
}

/** logLines returns the controller's JSON log lines parsed (non-JSON lines skipped). */
export function logLines(p: ControllerProcess): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(p.log, 'utf8');
  } catch {
    return [];
  }
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    try {
      const v: unknown = JSON.parse(line);
      if (v && typeof v === 'object') out.push(v as Record<string, unknown>);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/**
 * otherControllers lists processes of this machine running controller/main.ts with this kubeconfig that this
 * file did not start (the lb-class test needs to be alone). Read from /proc; never signals anything.
 */
export function otherControllers(kubeconfig: string): number[] {
  const mine = new Set([...running].map((p) => p.pid));
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('controller/main.ts')) && argv.includes(kubeconfig)) {
        if (!mine.has(Number(pid))) out.push(Number(pid));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/** waitMetric waits until a sample equals `value` (gauges refresh on a debounce) and returns it. */
export async function waitMetric(
  p: ControllerProcess,
  name: string,
  labels: Record<string, string> | undefined,
  value: number,
  timeoutMs = 15_000,
): Promise<number> {
  let last: number | undefined;
  try {
    await waitFor(
      `${sampleKey(name, labels)} = ${value} on "${p.identity}"`,
      async () => {
        last = await p.metric(name, labels);
        return last === value;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (e) {
    throw new Error(`${(e as Error).message} (last value: ${last})`, { cause: e });
  }
  return value;
}
