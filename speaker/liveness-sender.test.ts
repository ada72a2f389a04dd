// HeartbeatSender on a manual clock with a recording send: what it sends, when, and when it stops because the
// main thread stopped pulsing. The worker thread that runs it in the speaker is in liveness.int.test.ts.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../edge/clock.ts';
import { decodeHeartbeat, type Heartbeat } from '../src/liveness/membership.ts';
import { HeartbeatSender, TAG_BYTES, tagOf, type SenderState } from './liveness-sender.ts';

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
