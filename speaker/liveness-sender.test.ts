// HeartbeatSender on a manual clock with a recording send: what it sends, when, and when it stops because the
// main thread stopped pulsing. NativeSender against a fake of the addon's heartbeat thread that sends on the
// same manual clock: what it hands the thread, and that the thread, left alone, keeps sending for maxStallMs
// and then stops. The real thread (the addon) with a blocked main thread is in liveness.int.test.ts.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../edge/clock.ts';
import { decodeHeartbeat, type Heartbeat } from '../src/liveness/membership.ts';
import { HeartbeatSender, NativeSender, TAG_BYTES, tagOf, type SenderState } from './liveness-sender.ts';
import type { HeartbeatBinding, HeartbeatHandle } from './native/index.ts';

function setup(options: { key?: Buffer; maxStallMs?: number } = {}) {
  const clock = new ManualClock(1_000);
  const sent: { h: Heartbeat; to: string; raw: Uint8Array }[] = [];
  const sender = new HeartbeatSender({
    self: 'a',
    incarnation: 7,
    intervalMs: 100,
    clock,
    send: (raw, to) => {
      const body = options.key ? raw.subarray(0, raw.length - TAG_BYTES) : raw;
      const h = decodeHeartbeat(body);
      if (h) sent.push({ h, to, raw });
    },
    ...options,
  });
  const state = (s: Partial<SenderState> = {}): SenderState => ({
    joined: true,
    leaving: false,
    macs: ['02:00:00:00:00:01'],
    peers: ['192.0.2.12', '2001:db8::13'],
    ...s,
  });
  sender.start();
  return { clock, sent, sender, state };
}

describe('HeartbeatSender', () => {
  it('heartbeats every interval to every peer only once joined, numbered; bursts go out at once either way', () => {
    const { clock, sent, sender, state } = setup();
    sender.pulse(state({ joined: false }));
    clock.advance(300);
    expect(sent).toEqual([]);
    sender.burst(2);
    expect(sent.map((x) => x.to)).toEqual(['192.0.2.12', '2001:db8::13', '192.0.2.12', '2001:db8::13']);
    sender.pulse(state());
    clock.advance(200);
    expect(sent.length).toBe(8);
    expect(sent.map((x) => x.h.seq)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(sent.every((x) => x.h.node === 'a' && x.h.incarnation === 7 && x.h.state === 'alive')).toBe(true);
    expect(sent[0]?.h.macs).toEqual(['02:00:00:00:00:01']);
    sender.pulse(state({ leaving: true }));
    clock.advance(100);
    expect(sent.at(-1)?.h.state).toBe('leaving');
    sender.stop();
    expect(clock.pending).toBe(0);
  });

  it('keeps heartbeating through a main-thread stall shorter than maxStallMs, then stops until the next pulse', () => {
    const { clock, sent, sender, state } = setup({ maxStallMs: 1_000 });
    sender.pulse(state({ peers: ['192.0.2.12'] }));
    clock.advance(1_000); // no pulse for a second: still sending
    expect(sent.length).toBe(10);
    clock.advance(500); // stalled too long: this speaker may be hung, so it goes quiet
    expect(sent.length).toBe(10);
    expect(sender.skipped).toBe(5);
    sender.pulse(state({ peers: ['192.0.2.12'] }));
    clock.advance(100);
    expect(sent.length).toBe(11);
    sender.stop();
  });

  it('signs every heartbeat with the shared key', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const { clock, sent, sender, state } = setup({ key });
    sender.pulse(state({ peers: ['192.0.2.12'] }));
    clock.advance(100);
    const raw = sent[0]?.raw ?? new Uint8Array();
    const body = raw.subarray(0, raw.length - TAG_BYTES);
    expect(Buffer.from(raw.subarray(raw.length - TAG_BYTES))).toEqual(tagOf(body, key));
    sender.stop();
  });
});

/**
 * fakeThread plays the addon's heartbeat thread on a manual clock, as heartbeat.c does: a batch of numbered
 * datagrams, one sent per interval while periodic, numbers at or below the last sent skipped on load.
 */
function fakeThread(clock: ManualClock) {
  const sent: { h: Heartbeat; to: string; raw: Uint8Array }[] = [];
  let batch: { first: number; items: Uint8Array[]; head: number; peers: string[]; periodic: boolean } = {
    first: 1,
    items: [],
    head: 0,
    peers: [],
    periodic: false,
  };
  let last = 0;
  let open = false;
  const loads: { first: number; count: number; periodic: boolean }[] = [];
  const batches: Uint8Array[][] = [];
  const sendNext = (): boolean => {
    const raw = batch.items[batch.head];
    if (!raw) return false;
    for (const to of batch.peers) {
      const h = decodeHeartbeat(raw.subarray(0, raw.length - TAG_BYTES));
      if (h) sent.push({ h, to, raw });
    }
    last = batch.first + batch.head++;
    return true;
  };
  let interval = 0;
  const tick = () => {
    if (!open) return;
    if (batch.periodic) sendNext();
    clock.setTimeout(tick, interval);
  };
  const binding: HeartbeatBinding = {
    heartbeatOpen(_port, intervalMs) {
      open = true;
      interval = intervalMs;
      clock.setTimeout(tick, interval);
      return {} as HeartbeatHandle;
    },
    heartbeatLoad(_h, first, items, peers, periodic) {
      loads.push({ first, count: items.length, periodic });
      batches.push(items);
      const before = last;
      batch = { first, items, head: Math.min(items.length, Math.max(0, last - first + 1)), peers, periodic };
      return before;
    },
    heartbeatLastSent: () => last,
    heartbeatSendNow(_h, n) {
      let k = 0;
      while (k < n && sendNext()) k++;
      return k;
    },
    heartbeatClose() {
      open = false;
    },
  };
  return { binding, sent, loads, batches, isOpen: () => open };
}

describe('NativeSender', () => {
  const key = Buffer.from('0123456789abcdef0123456789abcdef');
  const state = (s: Partial<SenderState> = {}): SenderState => ({
    joined: true,
    leaving: false,
    macs: ['02:00:00:00:00:01'],
    peers: ['192.0.2.12'],
    ...s,
  });
  function setup(maxStallMs = 1_000) {
    const clock = new ManualClock(1_000);
    const t = fakeThread(clock);
    const sender = new NativeSender(
      { self: 'a', incarnation: 7, key, port: 7946, intervalMs: 100, maxStallMs },
      t.binding,
    );
    return { clock, sender, ...t };
  }

  it('hands the thread a stall of numbered, signed heartbeats with every pulse; it sends them only once joined', () => {
    const { clock, sender, sent, loads } = setup();
    sender.pulse(state({ joined: false }));
    expect(loads.at(-1)).toEqual({ first: 1, count: 11, periodic: false });
    clock.advance(300);
    expect(sent).toEqual([]);
    sender.burst(1); // joining: one at once
    sender.pulse(state());
    clock.advance(300);
    expect(sent.map((x) => x.h.seq)).toEqual([1, 2, 3, 4]);
    expect(sent.every((x) => x.h.node === 'a' && x.h.incarnation === 7 && x.h.state === 'alive')).toBe(true);
    const raw = sent[0]?.raw ?? new Uint8Array();
    const body = raw.subarray(0, raw.length - TAG_BYTES);
    expect(Buffer.from(raw.subarray(raw.length - TAG_BYTES))).toEqual(tagOf(body, key));
    // every load numbers on from the last one sent
    expect(loads.at(-1)).toEqual({ first: 2, count: 11, periodic: true });
    sender.stop();
  });

  it('keeps sending through a main-thread stall of maxStallMs, then stops until the next pulse', () => {
    const { clock, sender, sent } = setup(1_000);
    sender.pulse(state());
    clock.advance(1_000); // no pulse for a second: the batch still holds heartbeats
    expect(sent.length).toBe(10);
    clock.advance(500); // stalled too long: the batch ran out, this speaker may be hung
    expect(sent.length).toBe(11); // the one spare against a send racing the load
    sender.pulse(state());
    clock.advance(100);
    expect(sent.length).toBe(12);
    const seqs = sent.map((x) => x.h.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    sender.stop();
  });

  it('after leaving, everything it sends says "leaving", the burst at once included', () => {
    const { clock, sender, sent } = setup();
    sender.pulse(state());
    clock.advance(200);
    const before = sent.length;
    sender.pulse(state({ leaving: true }));
    sender.burst(3);
    expect(sent.length).toBe(before + 3);
    clock.advance(500);
    expect(sent.slice(before).map((x) => x.h.state)).toEqual(sent.slice(before).map(() => 'leaving'));
    expect(sent.length).toBe(before + 8);
    sender.stop();
  });

  it('signs only the heartbeats a pulse adds, until what they say changes', () => {
    const { clock, sender, batches, sent } = setup();
    sender.pulse(state());
    clock.advance(100);
    sender.pulse(state());
    const [a = [], b = []] = batches.slice(-2);
    // numbered on by one: all but the last are the previous batch's own datagrams, reused as they are
    expect(b.slice(0, -1).every((d, i) => d === a[i + 1])).toBe(true);
    expect(b.at(-1)).not.toBe(a.at(-1));
    sender.pulse(state({ macs: ['02:00:00:00:00:02'] }));
    const c = batches.at(-1) ?? [];
    expect(c.some((d) => b.includes(d))).toBe(false);
    clock.advance(100);
    expect(sent.at(-1)?.h.macs).toEqual(['02:00:00:00:00:02']);
    sender.pulse(state({ macs: ['02:00:00:00:00:02'], leaving: true }));
    clock.advance(100);
    expect(sent.at(-1)?.h.state).toBe('leaving');
    sender.stop();
  });

  it('stop ends the thread; later pulses and bursts do nothing', () => {
    const { clock, sender, sent, isOpen } = setup();
    sender.pulse(state());
    sender.stop();
    expect(isOpen()).toBe(false);
    sender.pulse(state());
    sender.burst(2);
    clock.advance(500);
    expect(sent).toEqual([]);
  });
});
