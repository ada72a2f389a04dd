// The sending half of speaker liveness: a heartbeat every interval to every peer while this speaker has joined,
// plus bursts on demand (joining, leaving). It runs on the speaker's main thread (HeartbeatSender on the agent's
// clock and transport; unit tests) or in a worker thread (WorkerSender, liveness-worker.ts), where a stall of
// the main thread (a long synchronous step, a GC pause, little CPU on a busy node: measured up to a second
// right after a speaker starts) does not silence it, so the peers do not move this node's addresses away and
// back for nothing. The main thread pulses the sender every tick; a sender that has not been pulsed for
// maxStallMs stops, so a speaker whose main thread hangs is still declared dead (maxStallMs + timeout later).
import { createHmac } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { encodeHeartbeat, HEARTBEAT_VERSION } from '../src/liveness/membership.ts';
import type { Clock, Timer } from '../edge/clock.ts';
import type { Logger } from '../edge/log.ts';

/** TAG_BYTES is the length of the HMAC-SHA256 tag appended to a signed heartbeat (truncated, RFC 2104 §5). */
export const TAG_BYTES = 16;

/** MAX_STALL_MS: how long a sender keeps heartbeating without a pulse from the main thread. */
export const MAX_STALL_MS = 2_000;

/** tagOf returns the HMAC-SHA256 tag of a heartbeat body under key. */
export function tagOf(body: Uint8Array, key: Uint8Array): Buffer {
  return createHmac('sha256', key).update(body).digest().subarray(0, TAG_BYTES);
}

/** SenderState is what the sender says and to whom; the main thread sends it with every pulse. */
export interface SenderState {
  /** joined: heartbeat every interval (before, only bursts are sent). */
  joined: boolean;
  leaving: boolean;
  macs: readonly string[];
  /** peers: the other nodes' addresses. */
  peers: readonly string[];
}

/** SenderOptions: who this speaker is and how to put a datagram on the wire. */
export interface SenderOptions {
  self: string;
  incarnation: number;
  key?: Uint8Array;
  intervalMs: number;
  /** maxStallMs: stop heartbeating when no pulse came for this long (default MAX_STALL_MS). */
  maxStallMs?: number;
  clock: Clock;
  send: (datagram: Uint8Array, address: string) => void;
}

/** Sender is what the liveness agent drives: a HeartbeatSender in its thread or one in a worker. */
export interface Sender {
  /** pulse says the main thread runs, with what to say from now on. */
  pulse(state: SenderState): void;
  /** burst sends n heartbeats now (joined or not). */
  burst(n: number): void;
  stop(): void;
}

/** HeartbeatSender numbers, signs and sends heartbeats on its own timer. */
export class HeartbeatSender implements Sender {
  private readonly o: SenderOptions;
  private state: SenderState = { joined: false, leaving: false, macs: [], peers: [] };
  private seq = 0;
  private lastPulse: number;
  private timer: Timer | undefined;
  /** skipped counts ticks without a heartbeat because the main thread had not pulsed for maxStallMs. */
  skipped = 0;

  constructor(options: SenderOptions) {
    this.o = options;
    this.lastPulse = options.clock.now();
  }

  start(): void {
    this.lastPulse = this.o.clock.now();
    this.timer = this.o.clock.setTimeout(() => this.tick(), this.o.intervalMs);
  }

  pulse(state: SenderState): void {
    this.state = state;
    this.lastPulse = this.o.clock.now();
  }

  burst(n: number): void {
    for (let i = 0; i < n; i++) this.sendOne();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private tick(): void {
    if (this.state.joined) {
      if (this.o.clock.now() - this.lastPulse <= (this.o.maxStallMs ?? MAX_STALL_MS)) this.sendOne();
      else this.skipped++;
    }
    this.timer = this.o.clock.setTimeout(() => this.tick(), this.o.intervalMs);
  }

  private sendOne(): void {
    const { macs, peers, leaving } = this.state;
    const bytes = encodeHeartbeat({
      v: HEARTBEAT_VERSION,
      node: this.o.self,
      incarnation: this.o.incarnation,
      seq: ++this.seq,
      // once leaving, every later heartbeat says so too: an "alive" one would make the peers take this
      // speaker back as a member (and give it its addresses again) for the rest of the handoff
      state: leaving ? 'leaving' : 'alive',
      ...(macs.length ? { macs: [...macs] } : {}),
    });
    const datagram = this.o.key ? Buffer.concat([bytes, tagOf(bytes, this.o.key)]) : bytes;
    for (const address of peers) this.o.send(datagram, address);
  }
}

/**
 * WORKER_MODULE is the sender thread's module beside this one: the source (liveness-worker.ts) when the
 * program runs from its sources, the bundle dist/liveness-worker.js (rolldown.config.ts) when it runs from
 * dist/speaker.js, as in the image.
 */
const WORKER_MODULE = new URL(
  import.meta.url.endsWith('.ts') ? './liveness-worker.ts' : './liveness-worker.js',
  import.meta.url,
);

/** WorkerData is what liveness-worker.ts starts from. */
export interface WorkerData {
  self: string;
  incarnation: number;
  key?: Uint8Array;
  port: number;
  intervalMs: number;
  maxStallMs: number;
}

/** WorkerMessage is one message from the main thread to the worker. */
export type WorkerMessage =
  { type: 'pulse'; state: SenderState } | { type: 'burst'; n: number } | { type: 'stop' };

/**
 * WorkerSender runs a HeartbeatSender in a worker thread (liveness-worker.ts, UDP from an ephemeral port to
 * the peers' liveness port). If the worker fails, it logs why and sends from the main thread instead.
 */
export class WorkerSender implements Sender {
  private worker: Worker | undefined;
  private fallback: HeartbeatSender | undefined;
  private last: SenderState | undefined;
  private readonly inThread: () => HeartbeatSender;

  /** inThread makes the sender used instead when the worker fails. */
  constructor(data: WorkerData, inThread: () => HeartbeatSender, log?: Logger) {
    this.inThread = inThread;
    const worker = new Worker(WORKER_MODULE, { workerData: data });
    worker.unref();
    worker.on('error', (err) => {
      log?.warn({ err: err.message }, 'liveness sender thread failed: sending from the main thread');
      this.worker = undefined;
      this.fallback = this.inThread();
      this.fallback.start();
      if (this.last) this.fallback.pulse(this.last);
    });
    this.worker = worker;
  }

  private post(m: WorkerMessage): void {
    this.worker?.postMessage(m);
  }

  pulse(state: SenderState): void {
    this.last = state;
    if (this.fallback) this.fallback.pulse(state);
    else this.post({ type: 'pulse', state });
  }

  burst(n: number): void {
    if (this.fallback) this.fallback.burst(n);
    else this.post({ type: 'burst', n });
  }

  stop(): void {
    this.fallback?.stop();
    this.post({ type: 'stop' });
    void this.worker?.terminate();
    this.worker = undefined;
  }
}
