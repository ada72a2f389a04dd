// What the speaker's heartbeat thread costs: the speaker sends its liveness heartbeats from a thread of their
// own, so a stall of the main thread does not stop them. That is now a native thread of the packet-socket addon
// (speaker/liveness-sender.ts, NativeSender; speaker/native/src/heartbeat.c), fed by the main thread with a
// batch of signed heartbeats every tick; before, a worker thread (a second V8 isolate). This starts fresh
// Node.js processes, each either idle, or heartbeating every 100 ms to a loopback port no one listens on (the
// discard port) through the native thread exactly as the speaker does (pulsed every 100 ms from the main
// thread), or through a worker isolate doing what the old worker did (its own UDP socket, timer and
// HMAC-SHA256 per heartbeat, pulsed by a message every 100 ms), and after --seconds reads each one's resident
// memory from /proc and its CPU time: the difference to idle is the sender's cost, to set beside the speaker
// pod's RSS (bench/speaker-memory.bench.ts, bench/speaker-scale.bench.ts). Runs alternate between the variants
// (--rounds of each) so a busy machine weighs on all alike; medians are printed. Loopback only.
//   node bench/liveness-thread.bench.ts [--rounds 3] [--seconds 10]
// Not a test: it prints figures, never pass/fail.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { processMemory, type ProcessMemory } from './support/procmem.ts';

const { values: f } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    inner: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (f.help) {
  console.log(`Usage: node bench/liveness-thread.bench.ts [--rounds 3] [--seconds 10]
  --rounds N    measured processes of each variant (idle, native thread, worker isolate), alternating (3)
  --seconds S   how long each process runs before its memory is read (10)`);
  process.exit(0);
}
const log = (m: string) => console.error(`[bench] ${m}`);

/** Memory of this process, MiB (VmRSS, VmHWM, the anonymous part of RSS, threads), and its CPU seconds. */
const ownMemory = (): ProcessMemory & { cpu: number } => {
  const u = process.cpuUsage();
  return { ...processMemory('self'), cpu: (u.user + u.system) / 1e6 };
};

const STATE = { joined: true, leaving: false, macs: ['02:00:00:00:00:01'], peers: ['127.0.0.1'] };
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

/** WORKER_SOURCE does what the old heartbeat worker did: its own socket and timer, a signed datagram each tick. */
const WORKER_SOURCE = `
const { createSocket } = require('node:dgram');
const { createHmac } = require('node:crypto');
const { parentPort, workerData } = require('node:worker_threads');
const s = createSocket('udp4');
s.on('error', () => {});
let seq = 0;
let state = workerData.state;
parentPort.on('message', (m) => (state = m));
setInterval(() => {
  const body = Buffer.from(JSON.stringify([1, 'a', 1, ++seq, state.leaving ? 1 : 0, state.macs]));
  const tag = createHmac('sha256', workerData.key).update(body).digest().subarray(0, 16);
  for (const p of state.peers) s.send(Buffer.concat([body, tag]), 9, p);
}, 100);
`;

// --inner idle|native|worker: one measured process. Every variant loads the same modules (the sources, through
// Node's type stripping: megabytes of their own), so the differences are the senders alone.
if (f.inner) {
  const { loadNative } = await import('../speaker/native/index.ts');
  const { NativeSender } = await import('../speaker/liveness-sender.ts');
  const { Worker } = await import('node:worker_threads');
  const binding = loadNative();
  if (f.inner === 'native') {
    const sender = new NativeSender(
      { self: 'a', incarnation: 1, key: KEY, port: 9, intervalMs: 100, maxStallMs: 2000 },
      binding,
    );
    // the speaker's liveness tick pulses the sender every interval
    setInterval(() => sender.pulse(STATE), 100);
  } else if (f.inner === 'worker') {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { state: STATE, key: KEY } });
    setInterval(() => worker.postMessage(STATE), 100);
  } else setInterval(() => {}, 100);
  await new Promise((r) => setTimeout(r, Number(f.seconds) * 1000));
  console.log(JSON.stringify(ownMemory()));
  process.exit(0);
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
  { label: 'no sender thread', inner: 'idle' },
  { label: 'native heartbeat thread', inner: 'native' },
  { label: 'worker isolate (before)', inner: 'worker' },
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
console.log('variant                      rss MiB  peak MiB  anon MiB  threads  CPU s');
for (const v of variants)
  console.log(
    `${v.label.padEnd(27)}  ${med(v.label, 'rss').toFixed(1).padStart(7)}  ${med(v.label, 'peak').toFixed(1).padStart(8)}` +
      `  ${med(v.label, 'anon').toFixed(1).padStart(8)}  ${String(med(v.label, 'threads')).padStart(7)}` +
      `  ${med(v.label, 'cpu').toFixed(2).padStart(5)}`,
  );
for (const withThread of ['native heartbeat thread', 'worker isolate (before)'] as const)
  console.log(
    `cost of the ${withThread} (against no sender thread): ` +
      `${(med(withThread, 'rss') - med('no sender thread', 'rss')).toFixed(1)} MiB RSS, ` +
      `${(med(withThread, 'anon') - med('no sender thread', 'anon')).toFixed(1)} MiB anonymous, ` +
      `${(med(withThread, 'cpu') - med('no sender thread', 'cpu')).toFixed(2)} CPU s in ${f.seconds} s`,
  );
