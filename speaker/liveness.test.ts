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
