// Ingress benchmark: throughput and p99 through IronLB's rendered HAProxy configuration vs a hand-written
// HAProxy configuration doing the same routing for the benchmarked request, measured in the same run with
// wrk; then requests lost under wrk keep-alive load while (a) endpoints change 100 times and the table 20
// times through the runtime API, and (b) HAProxy is reloaded 20 times. Loopback only, bounded, prints figures.
// Usage: node bench/ingress/bench.ts [--duration 5] [--rounds 2] [--connections 50]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { emptyRouteTable } from '../../src/ingress/build.ts';
import { startDataplane } from '../../ingress/dataplane.ts';
import { createReconciler } from '../../ingress/reconcile.ts';
import { freePort, ingress } from '../../test/support/ingress-testkit.ts';
import { wrk, type WrkResult } from '../support/wrk.ts';
import { HOST, PATH, benchIngresses, benchSnapshot, writeHandConfig, writeUpstreamConf } from './setup.ts';

const execFileP = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
  },
});
const DURATION = Number(args.duration);
const ROUNDS = Number(args.rounds);
const CONNS = Number(args.connections);

async function wrkAt(port: number, seconds: number, host = HOST, path = PATH): Promise<WrkResult> {
  return wrk({ port, host, path, connections: CONNS, seconds });
}

function startProcess(cmd: string, argv: string[]): ChildProcess {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  return child;
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await execFileP('curl', [
        '-fs',
        '-o',
        '/dev/null',
        '-H',
        `Host: ${HOST}`,
        `http://127.0.0.1:${port}${PATH}`,
      ]);
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`nothing answers on 127.0.0.1:${port}`);
}

const work = mkdtempSync(join(tmpdir(), 'ironlb-bench-'));
const children: ChildProcess[] = [];
let stopDataplane: (() => Promise<void>) | undefined;

async function main(): Promise<void> {
  // Upstream: nginx with two workers on three ports, a fixed body (never the bottleneck).
  const upPorts = [await freePort(), await freePort(), await freePort()];
  children.push(startProcess('nginx', ['-c', writeUpstreamConf(work, upPorts)]));

  // IronLB: 50 hosts × 4 paths, a rewrite, an allow-list, a wildcard; the benchmarked request is an ordinary
  // Prefix route in the middle of the maps.
  const ingresses = benchIngresses();
  const snapshot = benchSnapshot(ingresses, upPorts);
  const ours = await freePort();
  const dp = await startDataplane(emptyRouteTable(), {
    dir: join(work, 'ironlb'),
    httpBinds: [`127.0.0.1:${ours}`],
    httpsBinds: [],
  });
  stopDataplane = () => dp.stop();
  const rec = createReconciler({ dataplane: dp });
  const applied = await rec.reconcile(snapshot);
  if (applied.issues.length > 0) throw new Error(JSON.stringify(applied.issues));

  // Hand-written: what a person would write for the same request, same headers, same upstreams.
  const hand = await freePort();
  const handCfg = writeHandConfig(work, hand, upPorts);
  children.push(startProcess('haproxy', ['-W', '-f', handCfg]));
  for (const p of [...upPorts, ours, hand]) await waitPort(p);

  console.log(
    `# ingress bench: loopback, wrk -t1 -c${CONNS} -d${DURATION}s, HAProxy 1 thread, upstream nginx (2 workers)`,
  );
  console.log(`# route table: ${snapshot.ingresses.length} Ingresses, request Host: ${HOST} ${PATH}`);
  console.log('# 2 shared cores: figures are noisy; each pair runs in the same round');
  for (let r = 1; r <= ROUNDS; r++) {
    const a = await wrkAt(ours, DURATION);
    const b = await wrkAt(hand, DURATION);
    const d = await wrkAt(upPorts[0] ?? 0, DURATION);
    console.log(
      `round ${r}: ironlb rendered  ${a.rps.toFixed(0).padStart(7)} req/s p99 ${a.p99.padStart(8)} | hand-written ${b.rps
        .toFixed(0)
        .padStart(
          7,
        )} req/s p99 ${b.p99.padStart(8)} | ratio ${(a.rps / b.rps).toFixed(2)} | upstream direct ${d.rps.toFixed(0)} req/s`,
    );
  }

  // Lost requests while the table changes through the runtime API (wrk keep-alive load).
  for (let r = 1; r <= ROUNDS; r++) {
    const load = wrkAt(ours, 16);
    await sleep(500);
    const modes = new Map<string, number>();
    const epMs: number[] = [];
    const editMs: number[] = [];
    for (let i = 0; i < 100; i++) {
      const subset = [[0], [0, 1], [1, 2], [2], [0, 1, 2]][i % 5] ?? [0];
      const extra = ingress(`extra-${i}`, {
        rules: [{ host: `extra${i}.example.com`, paths: [['/', 'Prefix', 'extra']] }],
      });
      const editing = i % 5 === 4 && (i / 5) % 2 < 1;
      const res = await rec.reconcile(
        benchSnapshot(
          editing ? [...ingresses, extra] : ingresses,
          upPorts,
          subset.map((k) => upPorts[k] ?? 0),
        ),
      );
      modes.set(res.applied.mode, (modes.get(res.applied.mode) ?? 0) + 1);
      if (res.applied.mode === 'runtime') (i % 5 === 4 ? editMs : epMs).push(res.applied.ms);
      await sleep(100);
    }
    const res = await load;
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
    console.log(
      `round ${r}: runtime API, 100 endpoint changes + 20 table edits: ${res.requests} requests, lost ${res.errors} (applies ${JSON.stringify(Object.fromEntries(modes))}; median apply: endpoints ${median(epMs)} ms, edits ${median(editMs)} ms incl. haproxy -c)`,
    );
  }

  // Lost requests across 20 seamless reloads (what a structural change costs).
  for (let r = 1; r <= ROUNDS; r++) {
    const load = wrkAt(ours, 12);
    await sleep(500);
    for (let i = 0; i < 20; i++) {
      await dp.reload();
      await sleep(400);
    }
    const res = await load;
    console.log(
      `round ${r}: 20 seamless reloads (master-worker, expose-fd listeners): ${res.requests} requests, lost ${res.errors}`,
    );
  }
}

try {
  await main();
} finally {
  await stopDataplane?.();
  for (const c of children) c.kill('SIGTERM');
  await sleep(300);
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
