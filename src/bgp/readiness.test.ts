import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { READY_WAIT_MS, bgpReadiness } from './readiness.ts';

describe('bgpReadiness', () => {
  it('is ready at once without peers', () => {
    expect(bgpReadiness([], 0)).toEqual({ ready: true, reason: 'noPeers', waiting: [] });
  });

  it('waits while a session is not established, and names the peers it waits for', () => {
    const peers = [
      { name: 'router-a', state: 'ESTABLISHED' },
      { name: 'router-b', state: 'ACTIVE' },
      { name: 'router-c', state: undefined },
    ];
    expect(bgpReadiness(peers, 5_000)).toEqual({ ready: false, waiting: ['router-b', 'router-c'] });
  });

  it('is ready once every session is established', () => {
    const peers = [
      { name: 'router-a', state: 'ESTABLISHED' },
      { name: 'router-b', state: 'ESTABLISHED' },
    ];
    expect(bgpReadiness(peers, 1)).toEqual({ ready: true, reason: 'established', waiting: [] });
  });

  it('reports ready anyway after the bounded wait, naming the peers still down', () => {
    const peers = [{ name: 'router-a', state: 'IDLE' }];
    expect(bgpReadiness(peers, READY_WAIT_MS - 1).ready).toBe(false);
    expect(bgpReadiness(peers, READY_WAIT_MS)).toEqual({
      ready: true,
      reason: 'waitedTooLong',
      waiting: ['router-a'],
    });
  });

  it('is never ready early while any session is down, and always ready after the wait', () => {
    const state = fc.constantFrom('ESTABLISHED', 'ACTIVE', 'IDLE', 'CONNECT', 'OPENSENT', undefined);
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.string(), state }), { maxLength: 6 }),
        fc.nat(2 * READY_WAIT_MS),
        (peers, waited) => {
          const r = bgpReadiness(peers, waited);
          const down = peers.some((p) => p.state !== 'ESTABLISHED');
          if (waited >= READY_WAIT_MS || !down) expect(r.ready).toBe(true);
          else expect(r.ready).toBe(false);
          expect(r.waiting).toEqual(peers.filter((p) => p.state !== 'ESTABLISHED').map((p) => p.name));
        },
      ),
    );
  });
});
