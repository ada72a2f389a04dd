import { describe, expect, it } from 'vitest';
import { planPoolChange } from './plan.ts';
import { configOf, svc } from '../../test/support/allocator-testkit.ts';

describe('planPoolChange', () => {
  const current = configOf({
    lab: { addresses: ['192.0.2.0/31'] },
    other: { addresses: ['198.51.100.0/32'] },
  });
  const services = [
    { view: svc('a', { ingress: ['192.0.2.0'], created: '2024-01-01T00:00:00Z' }) },
    { view: svc('b', { ingress: ['192.0.2.1'], created: '2024-01-02T00:00:00Z' }) },
    { view: svc('c', { ingress: ['198.51.100.0'], created: '2024-01-03T00:00:00Z' }) },
    { view: svc('d', { created: '2024-01-04T00:00:00Z' }) },
  ];

  it('shrinking the pools: a keeps, b moves (and says why), c loses, d stays pending', () => {
    const next = configOf({ lab: { addresses: ['192.0.2.0/32'] }, fresh: { addresses: ['203.0.113.0/32'] } });
    expect(planPoolChange(current, next, { services })).toEqual([
      {
        key: 'default/a',
        outcome: 'keep',
        before: ['192.0.2.0'],
        after: ['192.0.2.0'],
        beforePool: 'lab',
        afterPool: 'lab',
      },
      {
        key: 'default/b',
        outcome: 'change',
        before: ['192.0.2.1'],
        after: ['203.0.113.0'],
        beforePool: 'lab',
        afterPool: 'fresh',
        reason: 'address "192.0.2.1" is no longer in any IPAddressPool',
      },
      {
        key: 'default/c',
        outcome: 'lose',
        before: ['198.51.100.0'],
        after: [],
        beforePool: 'other',
        reason:
          'address "198.51.100.0" is no longer in any IPAddressPool; Failed to allocate IP for "default/c": no available IPs for IPv4: pool "fresh" has no free IPv4 address; pool "lab" has no free IPv4 address',
      },
      {
        key: 'default/d',
        outcome: 'pending',
        before: [],
        after: [],
        reason:
          'Failed to allocate IP for "default/d": no available IPs for IPv4: pool "fresh" has no free IPv4 address; pool "lab" has no free IPv4 address',
      },
    ]);
  });

  it('growing a pool: everyone keeps, the pending Service gains', () => {
    const next = configOf({
      lab: { addresses: ['192.0.2.0/30'] },
      other: { addresses: ['198.51.100.0/32'] },
    });
    expect(planPoolChange(current, next, { services }).map((e) => [e.key, e.outcome, e.after])).toEqual([
      ['default/a', 'keep', ['192.0.2.0']],
      ['default/b', 'keep', ['192.0.2.1']],
      ['default/c', 'keep', ['198.51.100.0']],
      ['default/d', 'gain', ['192.0.2.2']],
    ]);
  });

  it('restricting a pool to a namespace moves the Services of other namespaces, in order', () => {
    const next = configOf({
      lab: { addresses: ['192.0.2.0/31'], serviceAllocation: { namespaces: ['prod'] } },
      other: { addresses: ['198.51.100.0/30'] },
    });
    const plan = planPoolChange(current, next, { services: services.slice(0, 2) });
    expect(plan.map((e) => [e.key, e.outcome, e.after, e.reason])).toEqual([
      [
        'default/a',
        'change',
        ['198.51.100.0'],
        'pool "lab" no longer allows this service: namespace "default" is not in its serviceAllocation',
      ],
      [
        'default/b',
        'change',
        ['198.51.100.1'],
        'pool "lab" no longer allows this service: namespace "default" is not in its serviceAllocation',
      ],
    ]);
  });

  it('the same inputs in another order give the same plan', () => {
    const next = configOf({ lab: { addresses: ['192.0.2.1/32'] }, fresh: { addresses: ['203.0.113.0/31'] } });
    const one = planPoolChange(current, next, { services });
    const two = planPoolChange(current, next, { services: [...services].reverse() });
    expect(two).toEqual(one);
  });

  it('avoided addresses count in both replays', () => {
    const next = configOf({ lab: { addresses: ['192.0.2.0/30'] } });
    const plan = planPoolChange(current, next, {
      services: [{ view: svc('n') }],
      avoided: [{ ip: '192.0.2.0', reason: 'ARP reply from 02:00:00:00:00:09' }],
    });
    expect(plan[0]).toMatchObject({ outcome: 'keep', before: ['192.0.2.1'], after: ['192.0.2.1'] });
  });
});
