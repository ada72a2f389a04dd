// Ingress data plane, this checkout vs another one (e.g. `git worktree add /tmp/before <commit>`), in the same
// run: each checkout's own reconciler renders and starts HAProxy for the same 52 Ingresses the ingress bench
// uses (bench.ts), beside a hand-written configuration, and wrk loads the three in turn, round after round, so
// machine noise hits all of them alike. Prints req/s and HAProxy's CPU time per request (master and workers,
// from /proc) per round, and the median ratios. On shared cores req/s swings with other work (an A/A run, both
// sides this checkout, shows how far); CPU per request barely does, so that is the figure to compare commits by. Loopback only, bounded by --rounds. The other checkout needs node_modules (a symlink to
// this one's will do).
//   node bench/ingress/same-run.ts --other DIR [--rounds 8] [--duration 3] [--connections 50]
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { IngressSnapshot } from '../../ingress/reconcile.ts';
import { freePort, request } from '../../test/support/ingress-testkit.ts';
import { cpuSeconds, median, wrk } from '../support/wrk.ts';
import { HOST, PATH, benchIngresses, benchSnapshot, writeHandConfig, writeUpstreamConf } from './setup.ts';

const { values: f } = parseArgs({
  options: {
    other: { type: 'string' },
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    help: { type: 'boolean', short: 'h' },
  },
});
const USAGE =
  'Usage: node bench/ingress/same-run.ts --other DIR [--rounds 8] [--duration 3] [--connections 50]';
if (f.help || !f.other) {
  console.log(USAGE);
  process.exit(f.help ? 0 : 2);
}
const OTHER = resolve(f.other);
const ROUNDS = Number(f.rounds);
const DURATION = Number(f.duration);
const CONNS = Number(f.connections);
if (!existsSync(join(OTHER, 'ingress/reconcile.ts')) || !(ROUNDS >= 1 && ROUNDS <= 50)) {
  console.error(`${USAGE}\n(--other must be a checkout holding ingress/reconcile.ts; --rounds 1..50)`);
  process.exit(2);
}
const HERE = resolve(import.meta.dirname, '../..');
const log = (m: string) => console.error(`[same-run] ${m}`);

interface Checkout {
  startDataplane: (table: unknown, o: object) => Promise<{ stop(): Promise<void>; pid: number | undefined }>;
  createReconciler: (o: object) => { reconcile(s: IngressSnapshot): Promise<{ issues: unknown[] }> };
  emptyRouteTable: () => unknown;
}

async function load(dir: string): Promise<Checkout> {
  const url = (p: string) => pathToFileURL(join(dir, p)).href;
  const dp = (await import(url('ingress/dataplane.ts'))) as Pick<Checkout, 'startDataplane'>;
  const rec = (await import(url('ingress/reconcile.ts'))) as Pick<Checkout, 'createReconciler'>;
  const build = (await import(url('src/ingress/build.ts'))) as Pick<Checkout, 'emptyRouteTable'>;
  return { ...dp, ...rec, ...build };
}

const work = mkdtempSync(join(tmpdir(), 'ironlb-same-run-'));
const children: ChildProcess[] = [];
const stops: (() => Promise<void>)[] = [];

async function main(): Promise<void> {
  const up = [await freePort(), await freePort(), await freePort()];
  children.push(spawn('nginx', ['-c', writeUpstreamConf(work, up)], { stdio: 'ignore' }));

  // the ingress bench's table (bench.ts)
  const snapshot = benchSnapshot(benchIngresses(), up);

  const ports: Record<string, number> = {};
  const pids: Record<string, number> = {};
  for (const [name, dir] of [
    ['this', HERE],
    ['other', OTHER],
  ] as const) {
    const c = await load(dir);
    const port = await freePort();
    const dp = await c.startDataplane(c.emptyRouteTable(), {
      dir: join(work, name),
      httpBinds: [`127.0.0.1:${port}`],
      httpsBinds: [],
    });
    stops.push(() => dp.stop());
    const res = await c.createReconciler({ dataplane: dp }).reconcile(snapshot);
    if (res.issues.length > 0) throw new Error(`${name}: ${JSON.stringify(res.issues)}`);
    ports[name] = port;
    pids[name] = dp.pid ?? 0;
  }
  ports.hand = await freePort();
  const handProc = spawn('haproxy', ['-W', '-f', writeHandConfig(work, ports.hand, up)], { stdio: 'ignore' });
  children.push(handProc);
  pids.hand = handProc.pid ?? 0;
  for (const p of Object.values(ports))
    for (let i = 0; ; i++) {
      const ok = await request({ port: p, host: HOST, path: PATH, timeoutMs: 1000 }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (i >= 100) throw new Error(`nothing answers on 127.0.0.1:${p}`);
      await sleep(50);
    }

  console.log(
    `# same-run ingress data planes: this checkout (${HERE}) vs ${OTHER}; wrk -t1 -c${CONNS} -d${DURATION}s, Host: ${HOST} ${PATH}`,
  );
  console.log('# 2 shared cores: each round loads the three one after the other, the order rotating');
  const rps: Record<string, number[]> = { this: [], other: [], hand: [] };
  // HAProxy's CPU time (master and workers) per request: what the machine's load barely moves
  const cpu: Record<string, number[]> = { this: [], other: [], hand: [] };
  const order = ['this', 'other', 'hand'];
  for (let r = 0; r < ROUNDS; r++) {
    const turn = [...order.slice(r % 3), ...order.slice(0, r % 3)];
    const row: Record<string, number> = {};
    for (const name of turn) {
      const c0 = cpuSeconds(pids[name] ?? 0);
      const res = await wrk({
        port: ports[name] ?? 0,
        host: HOST,
        path: PATH,
        connections: CONNS,
        seconds: DURATION,
      });
      row[name] = res.rps;
      rps[name]?.push(res.rps);
      cpu[name]?.push(((cpuSeconds(pids[name] ?? 0) - c0) / Math.max(1, res.requests)) * 1e6);
    }
    const t = row.this ?? NaN;
    const o = row.other ?? NaN;
    const h = row.hand ?? NaN;
    console.log(
      `round ${r + 1}: CPU µs/request this ${cpu.this?.at(-1)?.toFixed(1)} other ${cpu.other?.at(-1)?.toFixed(1)} hand ${cpu.hand?.at(-1)?.toFixed(1)} | this ${t.toFixed(0).padStart(6)} | other ${o.toFixed(0).padStart(6)} | hand-written ${h.toFixed(0).padStart(6)} req/s | this/hand ${(t / h).toFixed(2)} other/hand ${(o / h).toFixed(2)} this/other ${(t / o).toFixed(2)}`,
    );
  }
  const ratio = (m: Record<string, number[]>, a: string, b: string) =>
    median((m[a] ?? []).map((x, i) => x / (m[b]?.[i] ?? NaN))).toFixed(2);
  console.log(
    `median over ${ROUNDS} rounds: req/s this/hand ${ratio(rps, 'this', 'hand')}, other/hand ${ratio(rps, 'other', 'hand')}, this/other ${ratio(rps, 'this', 'other')}`,
  );
  console.log(
    `median CPU µs/request: this ${median(cpu.this ?? []).toFixed(1)}, other ${median(cpu.other ?? []).toFixed(1)}, hand-written ${median(cpu.hand ?? []).toFixed(1)}; this/other ${ratio(cpu, 'this', 'other')}, this/hand ${ratio(cpu, 'this', 'hand')}`,
  );
  log('done');
}

try {
  await main();
} finally {
  for (const s of stops) await s().catch(() => undefined);
  for (const c of children) c.kill('SIGTERM');
  await sleep(300);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
