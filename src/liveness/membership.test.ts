import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Membership, decodeHeartbeat, encodeHeartbeat, type Heartbeat } from './membership.ts';

const hb = (node: string, seq: number, extra: Partial<Heartbeat> = {}): Heartbeat => ({
  v: 1,
  node,
  incarnation: 1,
  seq,
  state: 'alive',
  ...extra,
});

describe('Membership', () => {
  it('tells the story of a peer joining, falling silent, restarting and leaving gracefully', () => {
    const m = new Membership({ self: 'n1', timeoutMs: 300 });
    expect(m.alive()).toEqual(['n1']);
    expect(m.receive(hb('n2', 1), 0)).toEqual({ joined: ['n2'], left: [] });
    expect(m.receive(hb('n2', 2), 100).joined).toEqual([]);
    expect(m.expire(400)).toEqual({ joined: [], left: [] }); // heard at 100, 300 ms ago: still alive
    expect(m.expire(401)).toEqual({ joined: [], left: ['n2'] }); // silent for 301 ms: dead
    expect(m.receive(hb('n2', 1, { incarnation: 2 }), 500).joined).toEqual(['n2']); // restarted: new incarnation
    expect(m.receive(hb('n2', 2, { incarnation: 2, state: 'leaving' }), 510).left).toEqual(['n2']);
    expect(m.receive(hb('n2', 1, { incarnation: 2 }), 520).joined).toEqual([]); // a late datagram cannot revive it
    expect(m.alive()).toEqual(['n1']);
  });

  it('ignores its own heartbeats and a stale incarnation', () => {
    const m = new Membership({ self: 'n1', timeoutMs: 300 });
    expect(m.receive(hb('n1', 5), 0).joined).toEqual([]);
    m.receive(hb('n3', 1, { incarnation: 5 }), 0);
    m.expire(1000);
    expect(m.receive(hb('n3', 99, { incarnation: 4 }), 1000).joined).toEqual([]);
  });

  it('stops counting itself once leaving', () => {
    const m = new Membership({ self: 'n1', timeoutMs: 300 });
    m.leave();
    expect(m.alive()).toEqual([]);
    expect(m.isAlive('n1')).toBe(false);
  });
});

describe('heartbeat codec', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(
        fc.record({
          v: fc.constant(1),
          node: fc.string({ minLength: 1, maxLength: 60 }),
          incarnation: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          state: fc.constantFrom('alive' as const, 'leaving' as const),
        }),
        (h) => {
          expect(decodeHeartbeat(encodeHeartbeat(h))).toEqual(h);
        },
      ),
    );
  });
  it('never throws on garbage and rejects it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => decodeHeartbeat(bytes) === undefined || true),
    );
    for (const bad of [
      '',
      '{}',
      '[2,"n",1,1,0]',
      '[1,"",1,1,0]',
      '[1,"n",1.5,1,0]',
      '[1,"n",1,1,2]',
      '\xff\xfe',
    ]) {
      expect(decodeHeartbeat(new TextEncoder().encode(bad))).toBeUndefined();
    }
  });
});

describe('peer MACs', () => {
  it('remembers which MACs belong to other speakers, so their answers are not conflicts', () => {
    const m = new Membership({ self: 'n1', timeoutMs: 300 });
    m.receive({ v: 1, node: 'n2', incarnation: 1, seq: 1, state: 'alive', macs: ['02:1b:00:00:01:02'] }, 0);
    expect(m.peerOwning('02:1b:00:00:01:02')).toBe('n2');
    expect(m.peerOwning('02:1b:00:00:00:f0')).toBeUndefined();
    m.expire(1000); // dead, but its frames may still be on the wire: still a speaker's MAC
    expect(m.peerOwning('02:1b:00:00:01:02')).toBe('n2');
  });

  it('round-trips MACs and rejects malformed ones', () => {
    const h = {
      v: 1,
      node: 'n',
      incarnation: 1,
      seq: 2,
      state: 'alive' as const,
      macs: ['02:00:00:00:00:01'],
    };
    expect(decodeHeartbeat(encodeHeartbeat(h))).toEqual(h);
    expect(decodeHeartbeat(new TextEncoder().encode('[1,"n",1,2,0,["not-a-mac"]]'))).toBeUndefined();
    expect(decodeHeartbeat(new TextEncoder().encode('[1,"n",1,2,0]'))).toEqual({
      v: 1,
      node: 'n',
      incarnation: 1,
      seq: 2,
      state: 'alive',
    });
  });
});
