import * as k8s from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { LeaderElector, type LeaseApi } from './leader.ts';

/**
 * FakeLeases is one Lease in memory behind the three calls the elector makes. While `slow` is set, a replace
 * waits until release() is called: the renewal's response is late, though the API server stored it at once.
 */
class FakeLeases {
  lease: k8s.V1Lease | undefined;
  renewTimes: number[] = [];
  private gate: { promise: Promise<void>; resolve: () => void } | undefined;

  slow(): void {
    let resolve = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    this.gate = { promise, resolve };
  }

  release(): void {
    this.gate?.resolve();
    this.gate = undefined;
  }

  readonly api: LeaseApi = {
    readNamespacedLease: async () => {
      if (!this.lease) throw new k8s.ApiException(404, 'not found', '', {});
      return structuredClone(this.lease);
    },
    createNamespacedLease: async ({ body }) => {
      this.lease = structuredClone(body);
      return body;
    },
    replaceNamespacedLease: async ({ body }) => {
      this.lease = structuredClone(body);
      this.renewTimes.push(new Date(body.spec?.renewTime ?? 0).getTime());
      await this.gate?.promise;
      return body;
    },
  };
}

// lets every promise the fake resolved run its continuation (the elector's awaits)
const settle = () => new Promise<void>((r) => setImmediate(r));

const LEASE_S = 15;
const DEADLINE_S = 10;
const RETRY_S = 2;

async function leader(clock: ManualClock, leases: FakeLeases): Promise<LeaderElector> {
  const elector = new LeaderElector(new k8s.KubeConfig(), {
    namespace: 'ns',
    name: 'ironlb-controller',
    identity: 'a',
    leaseDurationSeconds: LEASE_S,
    renewDeadlineSeconds: DEADLINE_S,
    retryPeriodSeconds: RETRY_S,
    clock,
    api: leases.api,
  });
  elector.start();
  await settle();
  expect(elector.isLeader()).toBe(true);
  return elector;
}

describe('LeaderElector renewal timing', () => {
  it('times a renewal from when it was sent: a slow response does not stretch the window', async () => {
    const clock = new ManualClock(0);
    const leases = new FakeLeases();
    const elector = await leader(clock, leases); // the Lease is created at t=0

    // t=2 s: the renewal is sent, the API server stores renewTime=2 s, the answer takes 8.5 s to arrive
    leases.slow();
    clock.advance(RETRY_S * 1000);
    await settle();
    const sentAt = RETRY_S * 1000;
    expect(leases.renewTimes).toEqual([sentAt]);
    clock.advance(8_500);
    leases.release();
    await settle();
    leases.slow(); // the next renewal (due at 12.5 s) hangs: only the one above counts
    expect(elector.isLeader()).toBe(true);

    // the others see the Lease expire at sentAt + leaseDuration = 17 s; we stop acting at sentAt +
    // renewDeadline = 12 s, not at answer + renewDeadline = 20.5 s, past the moment a standby may take over
    clock.advance(sentAt + DEADLINE_S * 1000 - 1 - clock.now());
    expect(elector.isLeader()).toBe(true);
    clock.advance(1);
    expect(clock.now()).toBe(12_000);
    expect(elector.isLeader()).toBe(false);
    expect(clock.now()).toBeLessThan(sentAt + LEASE_S * 1000);
    leases.release();
    await elector.stop();
  });

  it('property: whatever the answer delay, the leader acts only before sentAt + renewDeadline', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30_000 }), async (delay) => {
        const clock = new ManualClock(1_000_000);
        const leases = new FakeLeases();
        const elector = await leader(clock, leases);
        leases.slow();
        clock.advance(RETRY_S * 1000);
        await settle();
        const sentAt = clock.now();
        clock.advance(delay);
        leases.release();
        await settle();
        leases.slow(); // later renewals hang, so only this one can keep us leader
        // the answer came at sentAt + delay: we lead from then until sentAt + renewDeadline, never after
        const end = sentAt + DEADLINE_S * 1000;
        expect(elector.isLeader()).toBe(clock.now() < end);
        if (clock.now() < end) {
          clock.advance(end - 1 - clock.now());
          expect(elector.isLeader()).toBe(true);
          clock.advance(1);
        }
        expect(elector.isLeader()).toBe(false);
        // and that is before any other replica may take the Lease over (renewTime = sentAt)
        expect(leases.renewTimes[0]).toBe(sentAt);
        expect(end).toBeLessThan(sentAt + LEASE_S * 1000);
        leases.release();
        await elector.stop();
      }),
      { numRuns: 50 },
    );
  });
});
