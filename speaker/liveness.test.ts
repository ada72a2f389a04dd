// LivenessAgent with a fake transport and a manual clock: every datagram it sends is recorded, every tick is
// an advance() away, so nothing sleeps. The same behaviour over real UDP is in liveness.int.test.ts.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../edge/clock.ts';
import { decodeHeartbeat, encodeHeartbeat, type Heartbeat } from '../src/liveness/membership.ts';
import { LivenessAgent, type DatagramTransport } from './liveness.ts';

/** fakeTransport records what the agent sends and lets the test deliver datagrams to it. */
function fakeTransport(): DatagramTransport & { sent: Heartbeat[]; deliver(b: Uint8Array): void } {
  let receive: ((msg: Buffer) => void) | undefined;
  const sent: Heartbeat[] = [];
  return {
    sent,
    async open(onMessage) {
      receive = onMessage;
    },
    send(datagram) {
      const h = decodeHeartbeat(datagram);
      if (h) sent.push(h);
    },
    close() {
      receive = undefined;
    },
    deliver(b) {
      receive?.(Buffer.from(b));
    },
  };
}

describe('LivenessAgent', () => {
  it('keeps saying "leaving" in every heartbeat after leave(), so peers never take it back', async () => {
    const clock = new ManualClock(1_000);
    const t = fakeTransport();
    const agent = new LivenessAgent({
      self: 'a',
      port: 7946,
      peers: () => [{ node: 'b', address: '127.0.0.1' }],
      intervalMs: 10,
      timeoutMs: 35,
      onChange: () => {},
      clock,
      transport: t,
    });
    await agent.start();
    clock.advance(50);
    expect(t.sent.length).toBeGreaterThan(0);
    expect(t.sent.every((h) => h.state === 'alive')).toBe(true);
    const before = t.sent.length;
    agent.leave();
    clock.advance(80);
    const first = t.sent.findIndex((h) => h.state === 'leaving');
    expect(first).toBeGreaterThanOrEqual(before - 1);
    const after = t.sent.slice(first);
    expect(after.length).toBeGreaterThan(3); // the three leave() messages and later ticks
    expect(after.map((h) => h.state)).toEqual(after.map(() => 'leaving'));
    agent.stop();
    expect(clock.pending).toBe(0);
  });

  it('declares a silent peer dead after the timeout, on the clock it was given', async () => {
    const clock = new ManualClock(5_000);
    const t = fakeTransport();
    const changes: string[][] = [];
    const agent = new LivenessAgent({
      self: 'a',
      port: 7946,
      peers: () => [],
      intervalMs: 100,
      timeoutMs: 350,
      onChange: (alive) => changes.push(alive),
      clock,
      transport: t,
    });
    await agent.start();
    t.deliver(encodeHeartbeat({ v: 1, node: 'b', incarnation: 1, seq: 1, state: 'alive' }));
    expect(changes).toEqual([['a', 'b']]);
    clock.advance(300);
    expect(agent.membership.isAlive('b')).toBe(true);
    clock.advance(200);
    expect(changes.at(-1)).toEqual(['a']);
    agent.stop();
  });
});

/** StallingClock is a ManualClock whose process can stall: stall(ms) moves time on without running a timer,
 * so the next tick runs late, as after a long synchronous step or CPU starvation. */
class StallingClock extends ManualClock {
  private skew = 0;
  override now(): number {
    return super.now() + this.skew;
  }
  override setTimeout(fn: () => void, ms: number) {
    return super.setTimeout(fn, ms);
  }
  stall(ms: number): void {
    this.skew += ms;
  }
}

/** agentWithPeerB is agent "a" (heartbeat 100 ms, timeout 350 ms) with one peer "b", on a fake transport. */
function agentWithPeerB(clock: ManualClock) {
  const t = fakeTransport();
  const changes: string[][] = [];
  const agent = new LivenessAgent({
    self: 'a',
    port: 7946,
    peers: () => [{ node: 'b', address: '192.0.2.12' }],
    intervalMs: 100,
    timeoutMs: 350,
    onChange: (alive) => changes.push(alive),
    clock,
    transport: t,
  });
  return { t, changes, agent };
}

describe('LivenessAgent when this process stalls', () => {
  const setup = async () => {
    const clock = new StallingClock(10_000);
    const { t, changes, agent } = agentWithPeerB(clock);
    let seq = 0;
    const fromB = () =>
      t.deliver(encodeHeartbeat({ v: 1, node: 'b', incarnation: 1, seq: ++seq, state: 'alive' }));
    await agent.start();
    fromB();
    return { clock, t, changes, agent, fromB };
  };

  it('does not declare a live peer dead because its own loop stalled: its queued heartbeats are read first', async () => {
    const { clock, changes, agent, fromB } = await setup();
    for (let i = 0; i < 5; i++) {
      clock.advance(100);
      fromB();
    }
    // one second without running: b's heartbeats of that second wait in the socket, unread
    clock.stall(1_000);
    clock.advance(100); // the tick runs, 1 s late
    fromB(); // then the event loop reads the socket
    clock.advance(100);
    fromB();
    clock.advance(100);
    expect(changes).toEqual([['a', 'b']]);
    expect(agent.membership.isAlive('b')).toBe(true);
    expect(agent.stalls).toBe(1);
    agent.stop();
  });

  it('still declares a peer that went silent dead, one tick later than without the stall', async () => {
    const { clock, changes, agent } = await setup();
    clock.stall(1_000);
    clock.advance(100); // late tick: expiry deferred
    expect(agent.membership.isAlive('b')).toBe(true);
    clock.advance(100); // on time: b has been silent for 1.2 s
    expect(changes.at(-1)).toEqual(['a']);
    agent.stop();
  });

  it('defers expiry at most three ticks in a row, so a starved process still notices dead peers', async () => {
    const { clock, changes, agent } = await setup();
    for (let i = 0; i < 3; i++) {
      clock.stall(500);
      clock.advance(100);
      expect(agent.membership.isAlive('b')).toBe(true);
    }
    clock.stall(500);
    clock.advance(100);
    expect(changes.at(-1)).toEqual(['a']);
    expect(agent.stalls).toBe(3);
    agent.stop();
  });
});

describe('LivenessAgent listening before it joins', () => {
  it('hears the peers but sends nothing until join(), then heartbeats at once and every interval', async () => {
    const clock = new ManualClock(1_000);
    const { t, changes, agent } = agentWithPeerB(clock);
    await agent.listen();
    t.deliver(encodeHeartbeat({ v: 1, node: 'b', incarnation: 1, seq: 1, state: 'alive' }));
    expect(changes).toEqual([['a', 'b']]);
    clock.advance(300);
    expect(t.sent).toEqual([]);
    agent.join();
    expect(t.sent.map((h) => h.state)).toEqual(['alive']);
    clock.advance(250);
    expect(t.sent.length).toBe(3);
    agent.join(); // joining twice changes nothing
    expect(t.sent.length).toBe(3);
    // silence still counts while only listening: b is dead 350 ms after its last heartbeat
    expect(changes.at(-1)).toEqual(['a']);
    agent.stop();
    expect(clock.pending).toBe(0);
  });
});

describe('LivenessAgent with a shared key', () => {
  it('accepts heartbeats signed with the key and drops unsigned or wrongly signed ones', async () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const t = fakeTransport();
    const changes: string[][] = [];
    const listener = new LivenessAgent({
      self: 'a',
      port: 7946,
      peers: () => [],
      intervalMs: 1000,
      timeoutMs: 5000,
      key,
      onChange: (alive) => changes.push(alive),
      clock: new ManualClock(),
      transport: t,
    });
    await listener.start();
    const body = (node: string, seq: number, state: 'alive' | 'leaving' = 'alive') =>
      encodeHeartbeat({ v: 1, node, incarnation: 1, seq, state });
    const sign = (b: Uint8Array, k: Buffer) =>
      Buffer.concat([b, createHmac('sha256', k).update(b).digest().subarray(0, 16)]);
    t.deliver(body('forger', 1)); // unsigned
    t.deliver(sign(body('forger', 2), Buffer.from('another key of sixteen bytes!!!!'))); // wrong key
    t.deliver(sign(body('b', 1), key)); // genuine
    expect(listener.rejected).toBe(2);
    expect(listener.membership.alive()).toEqual(['a', 'b']);
    // a forged "leaving" for b is refused too
    t.deliver(body('b', 2, 'leaving'));
    expect(listener.membership.isAlive('b')).toBe(true);
    expect(changes.at(-1)).toEqual(['a', 'b']);
    listener.stop();
  });
});
