// Speaker-to-speaker liveness on the node network (UDP), independent of the API server: heartbeats every
// intervalMs to every other node's address; a peer silent for timeoutMs is dead. The decisions are in
// src/liveness/membership.ts; this file only moves datagrams and ticks the clock. A starting speaker first only
// listens (listen()), and is heard only once it is ready to announce (join()): the others hand its addresses
// back the moment it can take them. A tick that comes late (this process did not run: a stall) counts no
// silence, because the peers' heartbeats of that time are still queued in the socket, unread. With a shared key every
// datagram carries an HMAC-SHA256 tag, so no other host on the node network can forge a heartbeat or a
// "leaving" (replays are refused by the incarnation and sequence checks).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import {
  Membership,
  decodeHeartbeat,
  encodeHeartbeat,
  HEARTBEAT_VERSION,
} from '../src/liveness/membership.ts';
import { realClock, type Clock, type Timer } from '../edge/clock.ts';
import type { Logger } from '../edge/log.ts';

/** TAG_BYTES is the length of the HMAC-SHA256 tag appended to a signed heartbeat (truncated, RFC 2104 §5). */
const TAG_BYTES = 16;

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
  private seq = 0;
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
    this.tick();
  }

  /** join starts heartbeating (the first one now): the peers count this speaker alive from its arrival. */
  join(): void {
    if (this.joined) return;
    this.joined = true;
    this.send(this.leaving ? 'leaving' : 'alive');
  }

  private tag(body: Uint8Array): Buffer {
    return createHmac('sha256', this.o.key as Buffer)
      .update(body)
      .digest()
      .subarray(0, TAG_BYTES);
  }

  private onMessage(msg: Buffer): void {
    let body: Uint8Array = msg;
    if (this.o.key) {
      body = msg.subarray(0, Math.max(0, msg.length - TAG_BYTES));
      const tag = msg.subarray(msg.length - TAG_BYTES);
      if (msg.length <= TAG_BYTES || !timingSafeEqual(tag, this.tag(body))) {
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
    // once leaving, every later heartbeat says so too: an "alive" one would make the peers take this speaker
    // back as a member (and give it its addresses again) for the rest of the handoff
    if (this.joined) this.send(this.leaving ? 'leaving' : 'alive');
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

  private send(state: 'alive' | 'leaving'): void {
    const macs = this.o.macs?.() ?? [];
    const bytes = encodeHeartbeat({
      v: HEARTBEAT_VERSION,
      node: this.o.self,
      incarnation: this.incarnation,
      seq: ++this.seq,
      state,
      ...(macs.length ? { macs } : {}),
    });
    const datagram = this.o.key ? Buffer.concat([bytes, this.tag(bytes)]) : bytes;
    for (const { address } of this.o.peers()) this.transport.send(datagram, address);
  }

  /** leave tells every peer this speaker is going (three times, against loss) and stops counting itself. */
  leave(): void {
    this.leaving = true;
    this.membership.leave();
    for (let i = 0; i < 3; i++) this.send('leaving');
  }

  /** stop ends heartbeating and closes the transport. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.transport.close();
  }
}
