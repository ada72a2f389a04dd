// LivenessAgent over real UDP on loopback (the unit tests in liveness.test.ts drive it with a fake transport
// and clock): a plain UDP socket bound to 127.0.0.1 plays the peer and reads what the agent sends (a socket
// bound to the exact address wins over the agent's wildcard bind). Waits are on what is observed, not sleeps.
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeHeartbeat, type Heartbeat } from '../src/liveness/membership.ts';
import { LivenessAgent } from './liveness.ts';
import { waitFor } from '../test/harness/exec.ts';

const sockets: Socket[] = [];
const agents: LivenessAgent[] = [];
afterEach(() => {
  for (const a of agents.splice(0)) a.stop();
  for (const s of sockets.splice(0)) s.close();
});

async function peer(): Promise<{ port: number; heard: Heartbeat[] }> {
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  sockets.push(s);
  const heard: Heartbeat[] = [];
  s.on('message', (m) => {
    const h = decodeHeartbeat(m);
    if (h) heard.push(h);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: s.address().port, heard };
}

describe.each([
  ['from this thread', false],
  ['from the native heartbeat thread', true],
])('LivenessAgent sending %s', (_, senderThread) => {
  it('keeps saying "leaving" in every heartbeat after leave(), so peers never take it back', async () => {
    const p = await peer();
    const agent = new LivenessAgent({
      self: 'a',
      port: p.port,
      peers: () => [{ node: 'b', address: '127.0.0.1' }],
      intervalMs: 10,
      timeoutMs: 35,
      onChange: () => {},
      senderThread,
    });
    agents.push(agent);
    await agent.start();
    await waitFor('a heartbeat', () => p.heard.length > 2, { timeoutMs: 5000, intervalMs: 5 });
    expect(p.heard.length).toBeGreaterThan(0);
    expect(p.heard.every((h) => h.state === 'alive')).toBe(true);
    const before = p.heard.length;
    agent.leave();
    await waitFor(
      '"leaving" and later ticks',
      () => p.heard.filter((h) => h.state === 'leaving').length > 5,
      {
        timeoutMs: 5000,
        intervalMs: 5,
      },
    );
    // a heartbeat sent just before leave() may still be in flight: what matters is that once the first
    // "leaving" went out, no "alive" ever follows it
    const first = p.heard.findIndex((h) => h.state === 'leaving');
    expect(first).toBeGreaterThanOrEqual(before - 1);
    const after = p.heard.slice(first);
    expect(after.length).toBeGreaterThan(3); // the three leave() messages and later ticks
    expect(after.map((h) => h.state)).toEqual(after.map(() => 'leaving'));
  });
});

/** block keeps this thread busy for ms (a long synchronous step), then lets queued I/O run. */
async function block(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* busy */
  }
  await new Promise((r) => setTimeout(r, 20));
}

describe('LivenessAgent sending from the native heartbeat thread', () => {
  it('keeps heartbeating while this thread is blocked, and stops once it was blocked longer than maxStallMs', async () => {
    const p = await peer();
    const agent = new LivenessAgent({
      self: 'a',
      port: p.port,
      peers: () => [{ node: 'b', address: '127.0.0.1' }],
      intervalMs: 20,
      timeoutMs: 70,
      maxStallMs: 600,
      onChange: () => {},
      senderThread: true,
    });
    agents.push(agent);
    await agent.start();
    await waitFor('heartbeats', () => p.heard.length > 3, { timeoutMs: 5000, intervalMs: 5 });
    // 400 ms blocked: the thread's heartbeats wait in the peer's socket, ~20 of them
    let before = p.heard.length;
    await block(400);
    expect(p.heard.length - before).toBeGreaterThanOrEqual(10);
    await waitFor('heartbeats again', () => p.heard.length > before + 25, { timeoutMs: 5000, intervalMs: 5 });
    // 1.5 s blocked: heartbeats stop after 600 ms (about 30 of them, not 75)
    before = p.heard.length;
    await block(1_500);
    const during = p.heard.length - before;
    expect(during).toBeGreaterThanOrEqual(15);
    expect(during).toBeLessThanOrEqual(45);
  });
});

describe('LivenessAgent with a shared key', () => {
  it('accepts heartbeats signed with the key and drops unsigned or wrongly signed ones', async () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const port = await new Promise<number>((resolve) => {
      const probe = createSocket('udp4');
      probe.bind(0, '127.0.0.1', () => {
        const p = probe.address().port;
        probe.close(() => resolve(p));
      });
    });
    const changes: string[][] = [];
    const listener = new LivenessAgent({
      self: 'a',
      port,
      peers: () => [],
      intervalMs: 1000,
      timeoutMs: 5000,
      key,
      onChange: (alive) => changes.push(alive),
    });
    agents.push(listener);
    await listener.start();
    const send = async (bytes: Uint8Array) => {
      const s = createSocket('udp4');
      sockets.push(s);
      await new Promise<void>((r) => s.send(bytes, port, '127.0.0.1', () => r()));
    };
    const { encodeHeartbeat } = await import('../src/liveness/membership.ts');
    const { createHmac } = await import('node:crypto');
    const body = (node: string, seq: number, state: 'alive' | 'leaving' = 'alive') =>
      encodeHeartbeat({ v: 1, node, incarnation: 1, seq, state });
    const sign = (b: Uint8Array, k: Buffer) =>
      Buffer.concat([b, createHmac('sha256', k).update(b).digest().subarray(0, 16)]);
    await send(body('forger', 1)); // unsigned
    await send(sign(body('forger', 2), Buffer.from('another key of sixteen bytes!!!!'))); // wrong key
    await send(sign(body('b', 1), key)); // genuine
    await waitFor('b to be heard', () => listener.membership.isAlive('b'), {
      timeoutMs: 5000,
      intervalMs: 5,
    });
    await waitFor('both forgeries to be refused', () => listener.rejected === 2, {
      timeoutMs: 5000,
      intervalMs: 5,
    });
    expect(listener.rejected).toBe(2);
    expect(listener.membership.alive()).toEqual(['a', 'b']);
    // a forged "leaving" for b is refused too
    await send(body('b', 2, 'leaving'));
    await waitFor('the forged "leaving" to be refused', () => listener.rejected === 3, {
      timeoutMs: 5000,
      intervalMs: 5,
    });
    expect(listener.membership.isAlive('b')).toBe(true);
    expect(changes.at(-1)).toEqual(['a', 'b']);
  });
});
