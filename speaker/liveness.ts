// Speaker-to-speaker liveness on the node network (UDP), independent of the API server: heartbeats every
// intervalMs to every other node's address; a peer silent for timeoutMs is dead. The decisions are in
// src/liveness/membership.ts; this file only moves datagrams and ticks the clock. A starting speaker first only
// listens (listen()), and is heard only once it is ready to announce (join()): the others hand its addresses
// back the moment it can take them. A tick that comes late (this process did not run: a stall) counts no
// silence, because the peers' heartbeats of that time are still queued in the socket, unread. With a shared key every
// datagram carries an HMAC-SHA256 tag, so no other host on the node network can forge a heartbeat or a
// "leaving" (replays are refused by the incarnation and sequence checks).
import { timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { Membership, decodeHeartbeat } from '../src/liveness/membership.ts';
import { realClock, type Clock, type Timer } from '../edge/clock.ts';
import type { Logger } from '../edge/log.ts';
import { loadNative, type HeartbeatBinding } from './native/index.ts';
import {
  HeartbeatSender,
  MAX_STALL_MS,
  NativeSender,
  TAG_BYTES,
  tagOf,
  type Sender,
  type SenderState,
} from './liveness-sender.ts';

/**
 * MAX_DEFERRED_EXPIRIES bounds how many late ticks in a row skip expiry, so a process that is starved all
 * the time still notices dead peers (a few intervals later).
 */
const MAX_DEFERRED_EXPIRIES = 3;

/** LivenessOptions: who we are, where to listen, whom to tell, how fast. */
export interface LivenessOptions {
  self: string;
  port: number;
  /** peers returns the other nodes' addresses (read from Node objects; the last known list is kept). */
  peers: () => { node: string; address: string }[];
  intervalMs: number;
  timeoutMs: number;
  log?: Logger;
  /** key: the shared secret that authenticates heartbeats (every speaker needs the same; at least 16 bytes). */
  key?: Buffer;
  /** macs returns the MACs this speaker answers with, sent in every heartbeat (peers then know them). */
  macs?: () => string[];
  /** onChange is called with the sorted live set whenever it changes. */
  onChange: (alive: string[]) => void;
  /** clock: time and the heartbeat timer (default: the wall clock). */
  clock?: Clock;
  /** transport: how datagrams move (default: UDP on port, IPv4 and IPv6). */
  transport?: DatagramTransport;
  /**
   * senderThread: send heartbeats from the packet-socket addon's native thread (liveness-sender.ts,
   * NativeSender), so a stall of this thread does not silence them for up to maxStallMs. Off by default (then
   * the transport sends, on the clock); when the thread cannot start, the transport sends (logged).
   */
  senderThread?: boolean;
  /** heartbeatBinding: the addon's heartbeat thread (default: the loaded addon; tests pass a fake). */
  heartbeatBinding?: HeartbeatBinding;
  /** maxStallMs: heartbeats stop after this long without this thread running (default MAX_STALL_MS). */
  maxStallMs?: number;
}

/** DatagramTransport moves heartbeat datagrams: the agent's only I/O, replaced by a fake in unit tests. */
export interface DatagramTransport {
  /** open starts receiving; every datagram goes to onMessage. */
  open(onMessage: (msg: Buffer) => void): Promise<void>;
  /** send sends one datagram to address (best effort: a lost heartbeat is what the timeout is for). */
  send(datagram: Uint8Array, address: string): void;
  close(): void;
}

/** udpTransport listens on port on every IPv4 and (when available) IPv6 address and sends to the same port. */
export function udpTransport(port: number, log?: Logger): DatagramTransport {
  let sockets: Socket[] = [];
  return {
    async open(onMessage) {
      for (const type of ['udp4', 'udp6'] as const) {
        const s = createSocket({ type, reuseAddr: true, ipv6Only: type === 'udp6' });
        s.on('message', onMessage);
        s.on('error', (err) => log?.warn({ err: err.message, type }, 'liveness socket error'));
        try {
          await new Promise<void>((resolve, reject) => {
            s.once('error', reject);
            s.bind(port, type === 'udp4' ? '0.0.0.0' : '::', () => resolve());
          });
          sockets.push(s);
        } catch (err) {
          if (type === 'udp4') throw err;
          log?.info({ err: (err as Error).message }, 'no IPv6 liveness socket');
          s.close();
        }
      }
    },
    send(datagram, address) {
      const s = sockets[isIPv6(address) ? 1 : 0] ?? sockets[0];
      s?.send(datagram, port, address, () => {
        /* a lost heartbeat is what the timeout is for */
      });
    },
    close() {
      for (const s of sockets) s.close();
      sockets = [];
    },
  };
}

/** LivenessAgent sends and receives heartbeats and keeps a Membership current. */
export class LivenessAgent {
  readonly membership: Membership;
  private readonly o: LivenessOptions;
  private readonly clock: Clock;
  private readonly transport: DatagramTransport;
  private readonly incarnation: number;
  private readonly sender: Sender & { start?(): void };
  private leaving = false;
  private joined = false;
  private timer: Timer | undefined;
  /** dueAt: when the pending tick should run (a tick running much later means this process stalled). */
  private dueAt = 0;
  private deferredInARow = 0;
  /** received counts heartbeats accepted; dropped counts malformed datagrams; rejected, badly signed ones. */
  received = 0;
  dropped = 0;
  rejected = 0;
  /** stalls counts late ticks whose expiry was deferred (this process did not run for over an interval). */
  stalls = 0;

  constructor(options: LivenessOptions) {
    this.o = options;
    this.clock = options.clock ?? realClock;
    this.transport = options.transport ?? udpTransport(options.port, options.log);
    this.incarnation = this.clock.now();
    this.membership = new Membership({ self: options.self, timeoutMs: options.timeoutMs });
    const maxStallMs = options.maxStallMs ?? MAX_STALL_MS;
    const inThread = () =>
      new HeartbeatSender({
        self: options.self,
        incarnation: this.incarnation,
        ...(options.key ? { key: options.key } : {}),
        intervalMs: options.intervalMs,
        maxStallMs,
        clock: this.clock,
        send: (datagram, address) => this.transport.send(datagram, address),
      });
    this.sender = options.senderThread ? this.threadSender(maxStallMs, inThread) : inThread();
  }

  /** threadSender is the addon's heartbeat thread, or the in-thread sender (logged) when it cannot start. */
  private threadSender(maxStallMs: number, inThread: () => HeartbeatSender): Sender & { start?(): void } {
    const o = this.o;
    try {
      return new NativeSender(
        {
          self: o.self,
          incarnation: this.incarnation,
          ...(o.key ? { key: o.key } : {}),
          port: o.port,
          intervalMs: o.intervalMs,
          maxStallMs,
        },
        o.heartbeatBinding ?? loadNative(),
      );
    } catch (e) {
      o.log?.warn(
        { err: e instanceof Error ? e.message : String(e) },
        'heartbeat sender thread unavailable: sending from the main thread',
      );
      return inThread();
    }
  }

  /** start listens and joins at once (listen() then join()). */
  async start(): Promise<void> {
    await this.listen();
    this.join();
  }

  /**
   * listen opens the transport (UDP, IPv4 and IPv6, by default) and tracks the peers, without telling them
   * anything: to them this speaker is not alive yet, so they keep announcing what it would take over.
   */
  async listen(): Promise<void> {
    await this.transport.open((msg) => this.onMessage(msg));
    this.sender.start?.();
    this.tick();
  }

  /** join starts heartbeating (the first one now): the peers count this speaker alive from its arrival. */
  join(): void {
    if (this.joined) return;
    this.joined = true;
    this.sender.pulse(this.senderState());
    this.sender.burst(1);
  }

  private senderState(): SenderState {
    return {
      joined: this.joined,
      leaving: this.leaving,
      macs: this.o.macs?.() ?? [],
      peers: this.o.peers().map((p) => p.address),
    };
  }

  private onMessage(msg: Buffer): void {
    let body: Uint8Array = msg;
    if (this.o.key) {
      body = msg.subarray(0, Math.max(0, msg.length - TAG_BYTES));
      const tag = msg.subarray(msg.length - TAG_BYTES);
      if (msg.length <= TAG_BYTES || !timingSafeEqual(tag, tagOf(body, this.o.key))) {
        this.rejected++;
        return;
      }
    }
    const h = decodeHeartbeat(body);
    if (!h) {
      this.dropped++;
      return;
    }
    this.received++;
    const change = this.membership.receive(h, this.clock.now());
    if (change.joined.length || change.left.length) this.changed(change.joined, change.left);
  }

  private changed(joined: string[], left: string[]): void {
    this.o.log?.info({ joined, left, alive: this.membership.alive() }, 'speaker membership changed');
    this.o.onChange(this.membership.alive());
  }

  private tick(): void {
    const now = this.clock.now();
    // the pulse: this thread runs, and what to say (the sender heartbeats on its own timer)
    this.sender.pulse(this.senderState());
    // Late by more than an interval: this process stalled (CPU starvation, GC, a long synchronous step), and
    // the peers' heartbeats of that time wait unread in the socket (timers run before I/O in the event loop).
    // Expiring now would declare every peer dead and take all their addresses; the next tick expires instead,
    // after those heartbeats were read.
    const lateMs = this.dueAt ? now - this.dueAt : 0;
    if (lateMs > this.o.intervalMs && this.deferredInARow < MAX_DEFERRED_EXPIRIES) {
      this.deferredInARow++;
      this.stalls++;
      this.o.log?.info(
        { lateMs: Math.round(lateMs) },
        'liveness tick late (this process stalled): peer expiry deferred to the next tick',
      );
    } else {
      this.deferredInARow = 0;
      const change = this.membership.expire(now);
      if (change.left.length) this.changed([], change.left);
    }
    this.dueAt = now + this.o.intervalMs;
    this.timer = this.clock.setTimeout(() => this.tick(), this.o.intervalMs);
  }

  /** leave tells every peer this speaker is going (three times, against loss) and stops counting itself. */
  leave(): void {
    this.leaving = true;
    this.membership.leave();
    this.sender.pulse(this.senderState());
    this.sender.burst(3);
  }

  /** stop ends heartbeating and closes the transport. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.sender.stop();
    this.transport.close();
  }
}
