// What the speaker's heartbeat thread costs in memory: the speaker sends its liveness heartbeats from a worker
// thread (speaker/liveness-sender.ts, WorkerSender: a second V8 isolate running dist/liveness-worker.js, the
// image's bundle), so a stall of the main thread does not stop them. This starts fresh Node.js processes, each
// either idle or running that worker exactly as the speaker does (heartbeats every 100 ms to a loopback port no
// one listens on), and after --seconds reads each one's resident memory from /proc: the difference is the
// thread's cost, to set beside the speaker pod's RSS (bench/speaker-memory.bench.ts). Runs alternate between
// the variants (--rounds of each) so a busy machine weighs on all alike; medians are printed. Loopback only.
//   node bench/liveness-thread.bench.ts [--rounds 3] [--seconds 10] [--no-build]
// Not a test: it prints figures, never pass/fail.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/harness/paths.ts';
import { processMemory, type ProcessMemory } from './support/procmem.ts';

const { values: f } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    'no-build': { type: 'boolean', default: false },
    inner: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (f.help) {
  console.log(`Usage: node bench/liveness-thread.bench.ts [--rounds 3] [--seconds 10] [--no-build]
  --rounds N    measured processes of each variant (idle, with the heartbeat worker), alternating (3)
  --seconds S   how long each process runs before its memory is read (10)
  --no-build    use the existing dist/liveness-worker.js instead of bundling it first`);
  process.exit(0);
}
const log = (m: string) => console.error(`[bench] ${m}`);

/** Memory of this process, MiB: VmRSS, VmHWM, the anonymous part of RSS, and the thread count. */
const ownMemory = (): ProcessMemory => processMemory('self');

// --inner worker|idle: one measured process
if (f.inner) {
  if (f.inner === 'worker') {
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(join(repoRoot, 'dist/liveness-worker.js'), {
      workerData: { self: '127.0.0.1', incarnation: 1, port: 9, intervalMs: 100, maxStallMs: 1000 },
    });
    worker.postMessage({
      type: 'pulse',
      state: { joined: true, leaving: false, macs: ['02:00:00:00:00:01'], peers: ['127.0.0.1'] },
    });
  }
  await new Promise((r) => setTimeout(r, Number(f.seconds) * 1000));
  console.log(JSON.stringify(ownMemory()));
  process.exit(0);
}

if (!f['no-build'] || !existsSync(join(repoRoot, 'dist/liveness-worker.js'))) {
  log('bundling the programs (npx rolldown -c)');
  const r = spawnSync('npx', ['rolldown', '-c'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`npx rolldown -c failed (exit ${r.status ?? r.signal})`);
}

type Sample = ReturnType<typeof ownMemory>;
const measure = (variant: string, env: Record<string, string> = {}): Promise<Sample> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [process.argv[1] ?? '', '--inner', variant, '--seconds', f.seconds],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Sample) : reject(new Error(`${variant} run exited ${code}`)),
    );
  });

const variants: Array<{ label: string; inner: string; env?: Record<string, string> }> = [
  { label: 'no worker', inner: 'idle' },
  { label: 'heartbeat worker', inner: 'worker' },
  { label: 'no worker, MALLOC_ARENA_MAX=2', inner: 'idle', env: { MALLOC_ARENA_MAX: '2' } },
  { label: 'heartbeat worker, MALLOC_ARENA_MAX=2', inner: 'worker', env: { MALLOC_ARENA_MAX: '2' } },
];
const samples = new Map<string, Sample[]>(variants.map((v) => [v.label, []]));
for (let round = 0; round < Number(f.rounds); round++) {
  for (const v of variants) {
    const s = await measure(v.inner, v.env);
    samples.get(v.label)?.push(s);
    log(`round ${round + 1}, ${v.label}: ${JSON.stringify(s)}`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const med = (label: string, k: keyof Sample) => median((samples.get(label) ?? []).map((s) => s[k]));
console.log(
  `liveness thread benchmark: Node.js ${process.version}, ${f.rounds} rounds of ${f.seconds} s per variant, ` +
    `medians; NODE_OPTIONS: ${process.env.NODE_OPTIONS || 'none'}`,
);
console.log('variant                               rss MiB  peak MiB  anon MiB  threads');
for (const v of variants)
  console.log(
    `${v.label.padEnd(36)}  ${med(v.label, 'rss').toFixed(1).padStart(7)}  ${med(v.label, 'peak').toFixed(1).padStart(8)}` +
      `  ${med(v.label, 'anon').toFixed(1).padStart(8)}  ${String(med(v.label, 'threads')).padStart(7)}`,
  );
for (const [without, withWorker] of [
  ['no worker', 'heartbeat worker'],
  ['no worker, MALLOC_ARENA_MAX=2', 'heartbeat worker, MALLOC_ARENA_MAX=2'],
] as const)
  console.log(
    `the worker's cost (${withWorker} - ${without}): ` +
      `${(med(withWorker, 'rss') - med(without, 'rss')).toFixed(1)} MiB RSS, ` +
      `${(med(withWorker, 'anon') - med(without, 'anon')).toFixed(1)} MiB anonymous`,
  );
