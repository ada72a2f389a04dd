// EventRecorder with a recording fake of the Events API and a manual clock: repeats bump one Event's count,
// a failed write is retried with backoff until it lands, and a create whose answer was lost is adopted.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { EventRecorder, type EventsApi } from './events.ts';

const target = { kind: 'Service', apiVersion: 'v1', namespace: 'app', name: 'web', uid: 'u1' };

function fakeApi() {
  const calls: { verb: 'create' | 'patch'; name: string; count: number }[] = [];
  let failNext = 0;
  let conflictNext = false;
  const api = {
    async createNamespacedEvent(req: { body: k8s.CoreV1Event }) {
      if (failNext > 0) {
        failNext--;
        throw new Error('API server unavailable');
      }
      calls.push({ verb: 'create', name: req.body.metadata?.name ?? '', count: req.body.count ?? 0 });
      if (conflictNext) {
        conflictNext = false;
        throw new k8s.ApiException(409, 'AlreadyExists', '{}', {});
      }
      return req.body;
    },
    async patchNamespacedEvent(req: { name: string; body: { count: number } }) {
      calls.push({ verb: 'patch', name: req.name, count: req.body.count });
      return {} as k8s.CoreV1Event;
    },
  } as unknown as EventsApi;
  return {
    api,
    calls,
    failTimes: (n: number) => void (failNext = n),
    answerLost: () => void (conflictNext = true),
  };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('EventRecorder', () => {
  it('creates an Event once and patches its count for repeats within ten minutes', async () => {
    const clock = new ManualClock(1_000_000);
    const f = fakeApi();
    const r = new EventRecorder(new k8s.KubeConfig(), { component: 'test', clock, api: f.api });
    r.event(target, 'Normal', 'IPAllocated', 'Assigned IP ["192.0.2.1"]');
    await settle();
    clock.advance(1000);
    r.event(target, 'Normal', 'IPAllocated', 'Assigned IP ["192.0.2.1"]');
    await settle();
    expect(f.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['patch', 2],
    ]);
    expect(f.calls[1]?.name).toBe(f.calls[0]?.name);
    r.stop();
  });

  it('retries a failed write with backoff until it lands, and adopts a create whose answer was lost', async () => {
    const clock = new ManualClock(1_000_000);
    const f = fakeApi();
    const r = new EventRecorder(new k8s.KubeConfig(), { component: 'test', clock, api: f.api });
    f.failTimes(2);
    r.event(target, 'Warning', 'AllocationFailed', 'no available IPs');
    await settle();
    expect(f.calls).toEqual([]);
    clock.advance(60_000); // past both backoff delays (100 ms, then 200 ms, with jitter)
    await settle();
    clock.advance(60_000);
    await settle();
    expect(f.calls.map((c) => [c.verb, c.count])).toEqual([['create', 1]]);

    f.answerLost();
    r.event(target, 'Warning', 'AddressConflict', 'Address "192.0.2.9" is already in use');
    await settle();
    expect(f.calls.slice(1).map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['patch', 1],
    ]);
    r.stop();
  });
});
