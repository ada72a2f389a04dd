// The sending half of speaker liveness: a heartbeat every interval to every peer while this speaker has joined,
// plus bursts on demand (joining, leaving). It runs on the speaker's main thread (HeartbeatSender on the agent's
// clock and transport; unit tests) or on a native thread of the packet-socket addon (NativeSender,
// speaker/native/src/heartbeat.c), where a stall of the main thread (a long synchronous step, a GC pause, little
// CPU on a busy node: measured up to a second right after a speaker starts) does not silence it, so the peers do
// not move this node's addresses away and back for nothing. The main thread pulses the sender every tick; a
// sender that has not been pulsed for maxStallMs stops, so a speaker whose main thread hangs is still declared
// dead (maxStallMs + timeout later). The native thread replaced a worker thread (a second V8 isolate, ~13-18 MiB
// resident per pod; README, "Memory"): it runs no JavaScript, so the main thread hands it, with every pulse, the
// numbered and signed heartbeats of the next maxStallMs, and it goes quiet when they run out.
import { createHmac } from 'node:crypto';
import { encodeHeartbeat, HEARTBEAT_VERSION } from '../src/liveness/membership.ts';
import type { Clock, Timer } from '../edge/clock.ts';
import type { HeartbeatBinding, HeartbeatHandle } from './native/index.ts';

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
    const datagram = heartbeatDatagram(this.o, this.state, ++this.seq);
    for (const address of this.state.peers) this.o.send(datagram, address);
  }
}

/**
 * heartbeatDatagram is heartbeat number seq as sent: encoded, and signed when there is a key. Every sender
 * numbers and signs through it.
 */
export function heartbeatDatagram(
  o: { self: string; incarnation: number; key?: Uint8Array },
  state: SenderState,
  seq: number,
): Uint8Array {
  const bytes = encodeHeartbeat({
    v: HEARTBEAT_VERSION,
    node: o.self,
    incarnation: o.incarnation,
    seq,
    // once leaving, every later heartbeat says so too: an "alive" one would make the peers take this
    // speaker back as a member (and give it its addresses again) for the rest of the handoff
    state: state.leaving ? 'leaving' : 'alive',
    ...(state.macs.length ? { macs: [...state.macs] } : {}),
  });
  return o.key ? Buffer.concat([bytes, tagOf(bytes, o.key)]) : bytes;
}

/** NativeSenderOptions: who this speaker is, where heartbeats go and how often. */
export interface NativeSenderOptions {
  self: string;
  incarnation: number;
  key?: Uint8Array;
  /** port: the peers' liveness port. */
  port: number;
  intervalMs: number;
  maxStallMs: number;
}

/**
 * NativeSender sends heartbeats from the addon's native thread (HeartbeatBinding). Every pulse hands the thread
 * the next floor(maxStallMs / intervalMs) + 1 heartbeats, numbered on from the last one it sent and signed here
 * (HMAC is Node's, not the addon's); the thread sends one per interval while joined, so a main thread that
 * stalls longer than maxStallMs leaves it with nothing to send. A burst is sent at once from the same batch,
 * so numbers only ever grow. The batch is O(maxStallMs / intervalMs) heartbeats (21 at the defaults); a pulse
 * encodes and signs only those the previous batch did not hold, unless what they say changed.
 */
export class NativeSender implements Sender {
  private readonly o: NativeSenderOptions;
  private readonly binding: HeartbeatBinding;
  private handle: HeartbeatHandle | undefined;
  private state: SenderState = { joined: false, leaving: false, macs: [], peers: [] };
  /**
   * signed: the heartbeats of the last batch by number, while what they say (leaving, macs) is unchanged: a
   * pulse every interval reuses the batch's overlap and signs only the new ones (1 instead of 21 at the defaults).
   */
  private signed = new Map<number, Uint8Array>();
  private signedFor = '';

  /** The constructor starts the thread; it throws (from the addon) when it cannot. */
  constructor(options: NativeSenderOptions, binding: HeartbeatBinding) {
    this.o = options;
    this.binding = binding;
    this.handle = binding.heartbeatOpen(options.port, options.intervalMs);
  }

  pulse(state: SenderState): void {
    this.state = state;
    this.load(0);
  }

  burst(n: number): void {
    if (!this.handle) return;
    this.load(n);
    this.binding.heartbeatSendNow(this.handle, n);
  }

  stop(): void {
    if (this.handle) this.binding.heartbeatClose(this.handle);
    this.handle = undefined;
  }

  /** load replaces the thread's batch with the next maxStallMs of heartbeats, plus `extra` for a burst. */
  private load(extra: number): void {
    if (!this.handle) return;
    // one more than a stall's worth: the thread may send one of the old batch while this one is built
    const count = Math.floor(this.o.maxStallMs / this.o.intervalMs) + 1 + extra;
    // numbered on from the last one sent; one the thread sends meanwhile is skipped by the load, so a batch
    // never repeats a number the peers have seen (they ignore it)
    const first = this.binding.heartbeatLastSent(this.handle) + 1;
    const says = JSON.stringify([this.state.leaving, this.state.macs]);
    if (says !== this.signedFor) this.signed.clear();
    this.signedFor = says;
    const next = new Map<number, Uint8Array>();
    const datagrams = Array.from({ length: count }, (_, i) => {
      const d = this.signed.get(first + i) ?? heartbeatDatagram(this.o, this.state, first + i);
      next.set(first + i, d);
      return d;
    });
    this.signed = next;
    this.binding.heartbeatLoad(this.handle, first, datagrams, [...this.state.peers], this.state.joined);
  }
}
