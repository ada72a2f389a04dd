// The HAProxy data-plane edge: writes the rendered files into a runtime directory, validates them before
// anything goes live (`haproxy -c` on a staging copy), runs HAProxy in master-worker mode as our child (never
// the system service), applies changes through the runtime API, and reloads seamlessly (`expose-fd
// listeners`, master `reload`) only for structural changes. An invalid configuration is never applied: the
// last good one keeps serving and the error is returned.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  CONFIG_FILE,
  opCommands,
  planHaproxy,
  type HaproxyOptions,
  type HaproxyPlan,
  type HaproxyState,
  type RuntimeOp,
} from '../src/ingress/haproxy.ts';
import { deadline, realClock, sleep, type Clock } from '../edge/clock.ts';
import type { RouteTable } from '../src/ingress/types.ts';
import { answerProblem, firstLine, sendCommand } from './haproxy-cli.ts';
import { GATEWAY_MAP } from '../src/gateway/render.ts';
import { GATEWAY_TLS_MAP } from '../src/gateway/tls-render.ts';

const execFileP = promisify(execFile);

/** DataplaneOptions: the listeners (see HaproxyOptions) plus where and how to run HAProxy. */
export interface DataplaneOptions extends Omit<HaproxyOptions, 'defaultCertPem'> {
  /** defaultCertPem; when absent a self-signed one is made once with the openssl CLI. */
  defaultCertPem?: string;
  haproxyBin?: string;
  opensslBin?: string;
  /** log receives one structured entry per event (JSON-able, never a key or certificate). */
  log?: (entry: Record<string, unknown>) => void;
  /** startTimeoutMs bounds start and reload waits (default 10 s). */
  startTimeoutMs?: number;
  /** clock times the polling waits and socket timeouts (default the real clock). */
  clock?: Clock;
  /**
   * onExit is called once when the HAProxy master exits after a successful start, whether `stop` asked for it
   * or not; after an unasked exit `apply` fails and the caller starts a new data plane.
   */
  onExit?: (code: number | null) => void;
}

/** ApplyResult says how a table was applied: unchanged, by runtime ops, by reload, or rejected. */
export type ApplyResult =
  | { mode: 'unchanged' }
  | { mode: 'runtime'; ops: number; commands: number; ms: number }
  | { mode: 'reload'; reason: string; ms: number }
  | { mode: 'rejected'; error: string };

/** Dataplane is a running HAProxy driven by route tables. Calls to `apply` are serialised. */
export interface Dataplane {
  apply(table: RouteTable): Promise<ApplyResult>;
  stop(): Promise<void>;
  /** reload re-reads the current configuration with a seamless reload (benchmarks, operators). */
  reload(): Promise<ApplyResult>;
  /** pid of the HAProxy master process. */
  readonly pid: number | undefined;
  /** stats counts what was done since start. */
  /** checks counts `haproxy -c` runs: only a change HAProxy parses differently is checked first. */
  readonly stats: { runtime: number; reloads: number; rejected: number; commands: number; checks: number };
}

async function writeAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) await writeAtomic(join(dir, rel), content);
}

async function makeDefaultCert(dir: string, openssl: string): Promise<string> {
  const file = join(dir, 'default-selfsigned.pem');
  if (existsSync(file)) return readFile(file, 'utf8');
  const key = join(dir, 'default.key.tmp');
  const crt = join(dir, 'default.crt.tmp');
  await execFileP(openssl, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '3650',
    '-subj',
    '/CN=IronLB default certificate',
    '-keyout',
    key,
    '-out',
    crt,
  ]);
  const pem = `${await readFile(crt, 'utf8')}${await readFile(key, 'utf8')}`;
  await writeAtomic(file, pem);
  await rm(key, { force: true });
  await rm(crt, { force: true });
  return pem;
}

/**
 * startDataplane validates and writes the first configuration for `table`, starts HAProxy (`-W`, in the
 * foreground, as a child) and waits until its admin socket answers. Throws when the configuration is
 * invalid or HAProxy does not come up.
 */
export async function startDataplane(table: RouteTable, options: DataplaneOptions): Promise<Dataplane> {
  const bin = options.haproxyBin ?? 'haproxy';
  const log = options.log ?? (() => {});
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const clock = options.clock ?? realClock;
  const dir = options.dir;
  const admin = join(dir, 'admin.sock');
  const master = join(dir, 'master.sock');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const defaultCertPem =
    options.httpsBinds.length +
      (options.gatewayHttpsBinds?.length ?? 0) +
      (options.gatewayTlsBinds?.length ?? 0) >
    0
      ? (options.defaultCertPem ?? (await makeDefaultCert(dir, options.opensslBin ?? 'openssl')))
      : undefined;
  const planOptions = { ...options, ...(defaultCertPem !== undefined ? { defaultCertPem } : {}) };

  /** validate writes the plan's files into a staging copy and runs `haproxy -c` on it. */
  const validate = async (plan: HaproxyPlan): Promise<string | undefined> => {
    const staging = join(dir, 'staging');
    await rm(staging, { recursive: true, force: true });
    await writeFiles(staging, plan.files);
    try {
      // no -q: it would silence the ALERT lines that say what is wrong
      await execFileP(bin, ['-c', '-f', join(staging, CONFIG_FILE)], { timeout: timeoutMs });
      return undefined;
    } catch (err) {
      const e = err as { stderr?: string; message: string; code?: number | string; signal?: string | null };
      // Only an exit status is a verdict on the configuration; a check that was killed or never ran is not.
      if (typeof e.code !== 'number' || e.signal) {
        throw new Error(`Cannot validate the HAProxy configuration in "${dir}": ${e.message}`, {
          cause: err,
        });
      }
      return (e.stderr ?? '').trim() || e.message;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  };

  const removeStaleCerts = async (plan: HaproxyPlan): Promise<void> => {
    const certDir = join(dir, 'certs');
    if (!existsSync(certDir)) return;
    for (const f of await readdir(certDir)) {
      const rel = `certs/${f}`;
      if (f.endsWith('.pem') && !(rel in plan.files)) await rm(join(certDir, f), { force: true });
    }
  };

  const first = planHaproxy(table, planOptions);
  const problem = await validate(first);
  if (problem !== undefined) throw new Error(`HAProxy configuration for "${dir}" is invalid: ${problem}`);
  await writeFiles(dir, first.files);
  await removeStaleCerts(first);
  for (const s of [admin, master]) await rm(s, { force: true });

  const child: ChildProcess = spawn(bin, ['-W', '-S', `${master},mode,600`, '-f', join(dir, CONFIG_FILE)], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited: number | null | undefined;
  let started = false;
  child.on('exit', (code) => {
    exited = code;
    log({ msg: 'haproxy exited', dir, code });
    if (started) options.onExit?.(code);
  });
  const recent: string[] = []; // the last lines HAProxy printed, for error messages
  const relay = (stream: NodeJS.ReadableStream | null): void => {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        recent.push(line);
        if (recent.length > 8) recent.shift();
        log({ msg: 'haproxy', dir, line });
      }
    });
  };
  relay(child.stdout);
  relay(child.stderr);

  const workerPid = async (): Promise<number | undefined> => {
    try {
      const info = await sendCommand(admin, 'show info', 1000, clock);
      const m = /^Pid: (\d+)/m.exec(info);
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  };
  const waitForWorker = async (notPid?: number): Promise<number> => {
    const open = deadline(clock, timeoutMs);
    while (open()) {
      if (exited !== undefined) {
        throw new Error(`HAProxy in "${dir}" exited with code ${exited}: ${recent.join(' | ')}`);
      }
      const pid = await workerPid();
      if (pid !== undefined && pid !== notPid) return pid;
      await sleep(clock, 20);
    }
    throw new Error(`HAProxy in "${dir}" did not answer on its admin socket within ${timeoutMs} ms`);
  };

  const waitUntilNotListening = async (pid: number, ms: number): Promise<void> => {
    const open = deadline(clock, ms);
    while (open()) {
      const out = await new Promise<string>((resolve) =>
        execFile('ss', ['-Hltnp'], (err, stdout) => resolve(err ? '' : stdout)),
      );
      if (!out.includes(`pid=${pid},`)) return;
      await sleep(clock, 10);
    }
    log({ msg: 'old haproxy worker still listening after reload', dir, pid });
  };

  let worker: number;
  try {
    worker = await waitForWorker();
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  started = true;
  log({ msg: 'haproxy started', dir, pid: child.pid, worker });

  let state: HaproxyState = first.state;
  let lastPlan: HaproxyPlan = first;
  const stats = { runtime: 0, reloads: 0, rejected: 0, commands: 0, checks: 0 };
  let queue: Promise<unknown> = Promise.resolve();

  const runOps = async (ops: RuntimeOp[]): Promise<number> => {
    let count = 0;
    for (const op of ops) {
      let version = 0;
      if (op.op === 'replaceMap') {
        const answer = await sendCommand(admin, `prepare map ${op.file}`, 5000, clock);
        const m = /New version created: (\d+)/.exec(answer);
        if (!m) throw new Error(`prepare map ${op.file}: ${answer.trim()}`);
        version = Number(m[1]);
        count++;
      }
      for (const cmd of opCommands(op, version)) {
        const answer = await sendCommand(admin, cmd, 5000, clock);
        count++;
        const bad = answerProblem(cmd, answer);
        if (bad !== undefined) throw new Error(`${firstLine(cmd)}: ${bad}`);
      }
    }
    return count;
  };

  const reload = async (plan: HaproxyPlan, reason: string): Promise<ApplyResult> => {
    const t0 = performance.now();
    await writeFiles(dir, plan.files);
    await removeStaleCerts(plan);
    const before = worker;
    // SIGUSR2 rather than the master CLI: the master re-executes itself on reload, so its socket comes and goes.
    child.kill('SIGUSR2');
    worker = await waitForWorker(before);
    // the old worker keeps accepting on the shared listeners until it soft-stops: a request right after apply
    // could still meet the old configuration. Return only once it listens no more (or is gone).
    await waitUntilNotListening(before, Math.min(timeoutMs, 2000));
    state = plan.state;
    lastPlan = plan;
    stats.reloads++;
    const ms = Math.round(performance.now() - t0);
    log({ msg: 'haproxy reloaded', dir, reason, worker, ms });
    return { mode: 'reload', reason, ms };
  };

  const applyNow = async (table: RouteTable): Promise<ApplyResult> => {
    if (exited !== undefined) throw new Error(`HAProxy in "${dir}" is not running (exit code ${exited})`);
    const plan = planHaproxy(table, { ...planOptions, previous: state });
    if (plan.reload === undefined && plan.ops.length === 0) {
      state = plan.state;
      lastPlan = plan;
      return { mode: 'unchanged' };
    }
    // Endpoint changes (the frequent kind) and Gateway route changes touch no file HAProxy parses differently,
    // so they skip `haproxy -c` (on a busy node it costs more than the change: 0.1–0.3 s). The Gateway map is
    // loaded as plain strings (its Lua action reads the rules per request), so no content can fail the check;
    // so is the TLS passthrough map (src/gateway/tls-render.ts).
    const unchecked =
      plan.reload === undefined &&
      plan.ops.every(
        (o) =>
          o.op === 'setServer' ||
          o.op === 'disableServer' ||
          (o.op === 'replaceMap' && (o.file === GATEWAY_MAP || o.file === GATEWAY_TLS_MAP)),
      );
    if (!unchecked) stats.checks++;
    const problem = unchecked ? undefined : await validate(plan);
    if (problem !== undefined) {
      stats.rejected++;
      log({ msg: 'configuration rejected, keeping the last good one', dir, problem });
      return { mode: 'rejected', error: problem };
    }
    if (plan.reload !== undefined) return reload(plan, plan.reload);
    const t0 = performance.now();
    try {
      const commands = await runOps(plan.ops);
      stats.commands += commands;
      await writeFiles(dir, plan.files);
      await removeStaleCerts(plan);
      state = plan.state;
      lastPlan = plan;
      stats.runtime++;
      return { mode: 'runtime', ops: plan.ops.length, commands, ms: Math.round(performance.now() - t0) };
    } catch (err) {
      // The files are valid; a reload converges whatever the runtime API did half-way.
      log({ msg: 'runtime update failed, reloading', dir, error: (err as Error).message });
      return reload(plan, `runtime update failed: ${(err as Error).message}`);
    }
  };

  const stop = async (): Promise<void> => {
    if (exited === undefined && child.pid !== undefined) {
      child.kill('SIGUSR1'); // soft stop: finish in-flight requests
      const soft = deadline(clock, 3000);
      while (exited === undefined && soft()) await sleep(clock, 20);
      if (exited === undefined) child.kill('SIGTERM');
      const hard = deadline(clock, 2000);
      while (exited === undefined && hard()) await sleep(clock, 20);
      if (exited === undefined) child.kill('SIGKILL');
    }
    for (const s of [admin, master]) await rm(s, { force: true });
  };

  return {
    apply(table) {
      const run = queue.then(() => applyNow(table));
      queue = run.catch(() => undefined);
      return run;
    },
    reload() {
      const run = queue.then(() => reload(lastPlan, 'requested'));
      queue = run.catch(() => undefined);
      return run;
    },
    stop() {
      const run = queue.then(stop);
      queue = run.catch(() => undefined);
      return run;
    },
    get pid() {
      return child.pid;
    },
    stats,
  };
}
