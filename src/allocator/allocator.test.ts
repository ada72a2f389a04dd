import { describe, expect, it } from 'vitest';
import { Allocator, type Assignment } from './allocator.ts';
import { AllocationError } from './errors.ts';
import { configOf, svc } from '../../test/support/allocator-testkit.ts';
import type { ServiceView } from '../service/view.ts';

type Step =
  | { story: string; assign: ServiceView; ns?: Record<string, string>; want: Partial<Assignment> }
  | { story: string; assign: ServiceView; ns?: Record<string, string>; fails: string; code: string }
  | { story: string; release: string }
  | { story: string; avoid: string; reason: string; holders?: string[] }
  | { story: string; unavoid: string };

function play(a: Allocator, steps: Step[]): void {
  for (const step of steps) {
    if ('release' in step) {
      expect(a.release(step.release), step.story).toBe(true);
    } else if ('avoid' in step) {
      expect(a.avoid(step.avoid, step.reason), step.story).toEqual(step.holders ?? []);
    } else if ('unavoid' in step) {
      expect(a.unavoid(step.unavoid), step.story).toBe(true);
    } else if ('want' in step) {
      let got: Assignment | undefined;
      try {
        got = a.assign(step.assign, step.ns ?? {});
      } catch (e) {
        throw new Error(`${step.story}: ${(e as Error).message}`, { cause: e });
      }
      expect(got, step.story).toMatchObject(step.want);
    } else {
      let err: unknown;
      try {
        a.assign(step.assign, step.ns ?? {});
      } catch (e) {
        err = e;
      }
      expect(err, step.story).toBeInstanceOf(AllocationError);
      expect((err as AllocationError).message, step.story).toBe(step.fails);
      expect((err as AllocationError).code, step.story).toBe(step.code);
    }
  }
}

describe('Allocator: lowest free address in spec order', () => {
  it('hands out addresses in the order the user wrote them, and reuses freed ones', () => {
    const a = new Allocator(configOf({ lab: { addresses: ['192.0.2.10-192.0.2.11', '192.0.2.1/32'] } }));
    play(a, [
      {
        story: 's1 gets the first address written',
        assign: svc('s1'),
        want: { ips: ['192.0.2.10'], pool: 'lab', source: 'autoAssign', changed: true },
      },
      { story: 's2 gets the next', assign: svc('s2'), want: { ips: ['192.0.2.11'] } },
      {
        story: 's3 gets the second range, though its number is lower',
        assign: svc('s3'),
        want: { ips: ['192.0.2.1'] },
      },
      {
        story: 's4 finds the pool exhausted',
        assign: svc('s4'),
        fails:
          'Failed to allocate IP for "default/s4": no available IPs for IPv4: pool "lab" has no free IPv4 address',
        code: 'poolExhausted',
      },
      { story: 's2 goes away', release: 'default/s2' },
      { story: 's4 gets the freed address', assign: svc('s4'), want: { ips: ['192.0.2.11'] } },
      {
        story: 's1 assigned again keeps its address',
        assign: svc('s1'),
        want: { ips: ['192.0.2.10'], source: 'kept' },
      },
    ]);
    expect(a.poolStatus('lab')).toEqual({
      assignedIPv4: 3n,
      assignedIPv6: 0n,
      availableIPv4: 0n,
      availableIPv6: 0n,
      capacityIPv4: 3n,
      capacityIPv6: 0n,
    });
  });

  it('keeps what status says, and never lets a newcomer steal it after a restart', () => {
    const a = new Allocator(configOf({ lab: { addresses: ['192.0.2.10-192.0.2.12'] } }));
    const old = svc('old', { ingress: ['192.0.2.10'] });
    a.restore(old);
    play(a, [
      {
        story: 'a new Service is assigned first, yet skips the restored address',
        assign: svc('new'),
        want: { ips: ['192.0.2.11'] },
      },
      {
        story: 'the restored Service keeps its address, unchanged',
        assign: old,
        want: { ips: ['192.0.2.10'], source: 'kept', changed: false },
      },
    ]);
  });

  it('an older Service wins a contested status address, whatever the restore order', () => {
    for (const order of [
      ['first', 'second'],
      ['second', 'first'],
    ]) {
      const a = new Allocator(configOf({ lab: { addresses: ['192.0.2.10/31'] } }));
      const views: Record<string, ServiceView> = {
        first: svc('first', { ingress: ['192.0.2.10'], created: '2024-01-01T00:00:00Z' }),
        second: svc('second', { ingress: ['192.0.2.10'], created: '2024-06-01T00:00:00Z' }),
      };
      for (const name of order) a.restore(views[name] as ServiceView);
      expect(a.holdersOf('192.0.2.10')).toEqual(['default/first']);
      expect(a.assign(views.second as ServiceView)).toMatchObject({
        ips: ['192.0.2.11'],
        dropped: {
          ips: ['192.0.2.10'],
          reason: 'address "192.0.2.10" is in use by "default/first", which does not allow sharing',
        },
      });
    }
  });
});

describe('Allocator: requested IPs and the address-pool annotation', () => {
  const config = configOf({
    lab: { addresses: ['192.0.2.0/28'] },
    manual: { addresses: ['198.51.100.0/30'], autoAssign: false },
    v6: { addresses: ['2001:db8::/126'] },
  });

  it('honours requested IPs and explains every refusal', () => {
    const a = new Allocator(config);
    play(a, [
      {
        story: 'a requested IP from a manual pool',
        assign: svc('pinned', { annotations: { 'metallb.io/loadBalancerIPs': '198.51.100.2' } }),
        want: { ips: ['198.51.100.2'], pool: 'manual', source: 'requested' },
      },
      {
        story: 'spec.loadBalancerIP works too',
        assign: svc('legacy', { loadBalancerIP: '192.0.2.5' }),
        want: { ips: ['192.0.2.5'], pool: 'lab' },
      },
      {
        story: 'the same IP for another Service is refused and the holder named',
        assign: svc('thief', { annotations: { 'metallb.io/loadBalancerIPs': '198.51.100.2' } }),
        fails:
          'Failed to allocate IP for "default/thief": requested IP "198.51.100.2" is in use by "default/pinned", which does not allow sharing',
        code: 'addressInUse',
      },
      {
        story: 'an IP outside every pool',
        assign: svc('outside', { annotations: { 'metallb.io/loadBalancerIPs': '203.0.113.1' } }),
        fails:
          'Failed to allocate IP for "default/outside": requested IP "203.0.113.1" is not in any IPAddressPool',
        code: 'requestedIPNotInPool',
      },
      {
        story: 'an IPv6 address for an IPv4 Service',
        assign: svc('wrongfam', { annotations: { 'metallb.io/loadBalancerIPs': '2001:db8::1' } }),
        fails:
          'Failed to allocate IP for "default/wrongfam": requested IPs "2001:db8::1" do not match the service\'s IP families (IPv4)',
        code: 'familyMismatch',
      },
      {
        story: 'requested IP and pool annotation disagree',
        assign: svc('conflict', {
          annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.7', 'metallb.io/address-pool': 'manual' },
        }),
        fails:
          'Failed to allocate IP for "default/conflict": requested IPs "192.0.2.7" are in pool "lab", not in pool "manual" named by metallb.io/address-pool',
        code: 'requestedPoolConflict',
      },
      {
        story: 'the annotation and spec.loadBalancerIP together',
        assign: svc('both', {
          annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.7' },
          loadBalancerIP: '192.0.2.8',
        }),
        fails:
          'Failed to allocate IP for "default/both": spec.loadBalancerIP and metallb.io/loadBalancerIPs are both set: use only the annotation',
        code: 'invalidService',
      },
    ]);
  });

  it('the address-pool annotation reaches a pool with autoAssign off; automatic allocation never does', () => {
    const a = new Allocator(config);
    play(a, [
      {
        story: 'by annotation',
        assign: svc('m1', { annotations: { 'metallb.io/address-pool': 'manual' } }),
        want: { ips: ['198.51.100.0'], source: 'annotation' },
      },
      {
        story: 'the old prefix still works',
        assign: svc('m2', { annotations: { 'metallb.universe.tf/address-pool': 'manual' } }),
        want: { ips: ['198.51.100.1'] },
      },
      {
        story: 'automatic allocation stays out of it',
        assign: svc('auto'),
        want: { pool: 'lab', ips: ['192.0.2.0'] },
      },
      {
        story: 'an unknown pool',
        assign: svc('ghost', { annotations: { 'metallb.io/address-pool': 'ghost' } }),
        fails:
          'Failed to allocate IP for "default/ghost": pool "ghost" named by metallb.io/address-pool does not exist',
        code: 'poolNotFound',
      },
      {
        story: 'an IPv6 Service asks an IPv4-only pool',
        assign: svc('v6', { families: ['IPv6'], annotations: { 'metallb.io/address-pool': 'manual' } }),
        fails:
          'Failed to allocate IP for "default/v6": no available IPs in pool "manual": pool "manual" has no IPv6 addresses',
        code: 'poolExhausted',
      },
      {
        story: 'moving a Service to another pool by annotation gives up the old address',
        assign: svc('auto', { ingress: ['192.0.2.0'], annotations: { 'metallb.io/address-pool': 'manual' } }),
        want: {
          ips: ['198.51.100.2'],
          dropped: {
            ips: ['192.0.2.0'],
            reason: 'metallb.io/address-pool asks for pool "manual", not "lab"',
          },
        },
      },
    ]);
  });
});

describe('Allocator: serviceAllocation', () => {
  const config = configOf({
    low: { addresses: ['10.0.1.0/32'], serviceAllocation: { priority: 20, namespaces: ['prod'] } },
    high: { addresses: ['10.0.2.0/32'], serviceAllocation: { priority: 10, namespaces: ['prod'] } },
    unset: { addresses: ['10.0.3.0/32'], serviceAllocation: {} },
    general: { addresses: ['10.0.4.0/31'] },
    web: {
      addresses: ['10.0.5.0/32'],
      serviceAllocation: {
        priority: 1,
        namespaceSelectors: [{ matchLabels: { team: 'web' } }],
        serviceSelectors: [{ matchLabels: { app: 'web' } }],
      },
    },
  });

  it('matching pools by priority (lower first, unset last), then the others', () => {
    const a = new Allocator(config);
    play(a, [
      {
        story: 'priority 10 first',
        assign: svc('p1', { namespace: 'prod' }),
        want: { pool: 'high', source: 'serviceAllocation' },
      },
      { story: 'then priority 20', assign: svc('p2', { namespace: 'prod' }), want: { pool: 'low' } },
      {
        story: 'then the empty serviceAllocation (priority unset)',
        assign: svc('p3', { namespace: 'prod' }),
        want: { pool: 'unset' },
      },
      {
        story: 'then pools without serviceAllocation',
        assign: svc('p4', { namespace: 'prod' }),
        want: { pool: 'general', source: 'autoAssign' },
      },
      {
        story: 'another namespace never reaches prod pools',
        assign: svc('d1', { namespace: 'dev' }),
        want: { pool: 'general', ips: ['10.0.4.1'] },
      },
    ]);
  });

  it('namespace selectors read the labels the caller passes; service selectors read the Service', () => {
    const a = new Allocator(config);
    play(a, [
      {
        story: 'labelled namespace and Service',
        assign: svc('w1', { namespace: 'shop', labels: { app: 'web' } }),
        ns: { team: 'web' },
        want: { pool: 'web' },
      },
      {
        story: 'Service label missing',
        assign: svc('w2', { namespace: 'shop' }),
        ns: { team: 'web' },
        want: { pool: 'unset' },
      },
      {
        story: 'requested IP in a pool that refuses the Service',
        assign: svc('w3', { namespace: 'shop', annotations: { 'metallb.io/loadBalancerIPs': '10.0.2.0' } }),
        fails:
          'Failed to allocate IP for "shop/w3": pool "high" of the requested IPs does not allow this service: namespace "shop" is not in its serviceAllocation',
        code: 'poolNotAllowed',
      },
    ]);
  });

  it('says why no pool may serve the Service', () => {
    const a = new Allocator(
      configOf({
        manual: { addresses: ['10.0.0.0/32'], autoAssign: false },
        prod: { addresses: ['10.0.1.0/32'], serviceAllocation: { namespaces: ['prod'] } },
      }),
    );
    play(a, [
      {
        story: 'nothing matches',
        assign: svc('x'),
        fails:
          'Failed to allocate IP for "default/x": no available IPs: no IPAddressPool may serve this service (pool "manual": autoAssign is false; pool "prod": namespace "default" is not in its serviceAllocation)',
        code: 'noPoolMatches',
      },
    ]);
  });
});

describe('Allocator: sharing', () => {
  const share = (
    name: string,
    key: string,
    ports: Array<[string, number]>,
    extra: Parameters<typeof svc>[1] = {},
  ) =>
    svc(name, { ...extra, ports, annotations: { 'metallb.io/allow-shared-ip': key, ...extra.annotations } });

  it('shares only with the same key, disjoint ports and the same backends', () => {
    const a = new Allocator(configOf({ lab: { addresses: ['192.0.2.1-192.0.2.4'] } }));
    play(a, [
      {
        story: 'dns-tcp takes the first address',
        assign: share('dns-tcp', 'dns', [['TCP', 53]]),
        want: { ips: ['192.0.2.1'] },
      },
      {
        story: 'dns-udp shares it: same key, other protocol',
        assign: share('dns-udp', 'dns', [['UDP', 53]]),
        want: { ips: ['192.0.2.1'] },
      },
      {
        story: 'dns-again clashes on TCP/53 and moves on',
        assign: share('dns-again', 'dns', [['TCP', 53]]),
        want: { ips: ['192.0.2.2'] },
      },
      {
        story: 'a Service without a key never shares',
        assign: svc('plain', { ports: [['TCP', 8080]] }),
        want: { ips: ['192.0.2.3'] },
      },
      {
        story: 'asking for a shared address with another key names the holders',
        assign: share('other', 'web', [['TCP', 443]], {
          annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.1' },
        }),
        fails:
          'Failed to allocate IP for "default/other": requested IP "192.0.2.1" is in use by "default/dns-tcp", "default/dns-udp" with sharing key "dns", not "web"',
        code: 'addressInUse',
      },
      {
        story: 'same key but different Local backends',
        assign: share('local', 'dns', [['TCP', 5353]], {
          local: { app: 'other' },
          annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.1' },
        }),
        fails:
          'Failed to allocate IP for "default/local": requested IP "192.0.2.1" is shared by "default/dns-tcp", "default/dns-udp" with different backends (with externalTrafficPolicy Local the selectors must be equal)',
        code: 'addressInUse',
      },
      {
        story: 'same key, a port in use',
        assign: share('dup', 'dns', [['UDP', 53]], {
          annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.1' },
        }),
        fails:
          'Failed to allocate IP for "default/dup": requested IP "192.0.2.1" is shared by "default/dns-tcp", "default/dns-udp" but port UDP/53 is already used by "default/dns-udp"',
        code: 'addressInUse',
      },
    ]);
    expect(a.holdersOf('192.0.2.1')).toEqual(['default/dns-tcp', 'default/dns-udp']);
    expect(a.poolStatus('lab')).toMatchObject({ assignedIPv4: 3n, availableIPv4: 1n });
    a.release('default/dns-tcp');
    expect(a.poolStatus('lab')).toMatchObject({ assignedIPv4: 3n, availableIPv4: 1n });
    a.release('default/dns-udp');
    expect(a.poolStatus('lab')).toMatchObject({ assignedIPv4: 2n, availableIPv4: 2n });
  });

  it('a sharer never joins an avoided address', () => {
    const a = new Allocator(configOf({ lab: { addresses: ['192.0.2.1-192.0.2.3'] } }));
    a.assign(share('first', 'k', [['TCP', 80]]));
    expect(a.avoid('192.0.2.1', 'NDP answer from elsewhere')).toEqual(['default/first']);
    expect(a.assign(share('second', 'k', [['TCP', 81]])).ips).toEqual(['192.0.2.2']);
  });

  it('a sharer takes a shareable address below the lowest free one', () => {
    const a = new Allocator(configOf({ lab: { addresses: ['192.0.2.1-192.0.2.9'] } }));
    a.assign(svc('filler'));
    a.assign(share('first', 'k', [['TCP', 80]]));
    a.release('default/filler');
    expect(a.assign(share('second', 'k', [['TCP', 81]])).ips).toEqual(['192.0.2.1']);
    expect(a.assign(share('third', 'k', [['TCP', 82]])).ips).toEqual(['192.0.2.1']);
  });
});

describe('Allocator: dual stack', () => {
  const config = configOf({
    a4: { addresses: ['192.0.2.1/32'] },
    b46: { addresses: ['192.0.2.2/32', '2001:db8::2/128'] },
    c6: { addresses: ['2001:db8::3/128'] },
  });

  it('RequireDualStack takes both families from one pool; PreferDualStack settles for one', () => {
    const a = new Allocator(config);
    play(a, [
      {
        story: 'both families from b46, the only pool with both',
        assign: svc('req', { families: ['IPv4', 'IPv6'], policy: 'RequireDualStack' }),
        want: { pool: 'b46', ips: ['192.0.2.2', '2001:db8::2'] },
      },
      {
        story: 'a second dual-stack Service finds no pool with both families free',
        assign: svc('req2', { families: ['IPv6', 'IPv4'], policy: 'RequireDualStack' }),
        fails:
          'Failed to allocate IP for "default/req2": no available IPs for IPv6, IPv4: pool "a4" has no IPv6 addresses; pool "b46" has no free IPv6 address; pool "c6" has no IPv4 addresses',
        code: 'poolExhausted',
      },
      {
        story: 'PreferDualStack takes the first pool with its primary family',
        assign: svc('pref', { families: ['IPv6', 'IPv4'], policy: 'PreferDualStack' }),
        want: { pool: 'c6', ips: ['2001:db8::3'] },
      },
      {
        story: 'IPv6 single stack',
        assign: svc('six', { families: ['IPv6'] }),
        fails:
          'Failed to allocate IP for "default/six": no available IPs for IPv6: pool "a4" has no IPv6 addresses; pool "b46" has no free IPv6 address; pool "c6" has no free IPv6 address',
        code: 'poolExhausted',
      },
      { story: 'IPv4 single stack', assign: svc('four'), want: { pool: 'a4', ips: ['192.0.2.1'] } },
    ]);
  });

  it('a PreferDualStack Service holding one family gains the other from the same pool when it frees up', () => {
    const a = new Allocator(configOf({ both: { addresses: ['192.0.2.1/32', '2001:db8::1/127'] } }));
    a.assign(svc('blocker', { families: ['IPv6'] }));
    a.assign(svc('blocker2', { families: ['IPv6'] }));
    const pref = svc('pref', { families: ['IPv4', 'IPv6'], policy: 'PreferDualStack' });
    expect(a.assign(pref).ips).toEqual(['192.0.2.1']);
    a.release('default/blocker');
    const later = svc('pref', {
      families: ['IPv4', 'IPv6'],
      policy: 'PreferDualStack',
      ingress: ['192.0.2.1'],
    });
    expect(a.assign(later)).toMatchObject({
      ips: ['192.0.2.1', '2001:db8::'],
      source: 'kept',
      changed: true,
    });
  });

  it('requested dual-stack IPs must sit in one pool', () => {
    const a = new Allocator(config);
    play(a, [
      {
        story: 'split across pools',
        assign: svc('split', {
          families: ['IPv4', 'IPv6'],
          policy: 'RequireDualStack',
          annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.1,2001:db8::3' },
        }),
        fails:
          'Failed to allocate IP for "default/split": requested IPs "192.0.2.1", "2001:db8::3" are in different pools',
        code: 'requestedIPNotInPool',
      },
      {
        story: 'together',
        assign: svc('together', {
          families: ['IPv4', 'IPv6'],
          policy: 'RequireDualStack',
          annotations: { 'metallb.io/loadBalancerIPs': '2001:db8::2,192.0.2.2' },
        }),
        want: { pool: 'b46', ips: ['2001:db8::2', '192.0.2.2'] },
      },
    ]);
  });
});

describe('Allocator: avoidBuggyIPs and avoided addresses', () => {
  it('skips .0 and .255 in pools that ask for it', () => {
    const a = new Allocator(configOf({ lab: { addresses: ['10.0.0.254-10.0.1.1'], avoidBuggyIPs: true } }));
    play(a, [
      { story: '.254 is fine', assign: svc('s1'), want: { ips: ['10.0.0.254'] } },
      { story: '.255 and .0 are skipped', assign: svc('s2'), want: { ips: ['10.0.1.1'] } },
      {
        story: 'asking for .255 explains why',
        assign: svc('s3', { annotations: { 'metallb.io/loadBalancerIPs': '10.0.0.255' } }),
        fails:
          'Failed to allocate IP for "default/s3": requested IP "10.0.0.255" ends in .0 or .255 and its pool sets avoidBuggyIPs',
        code: 'requestedIPNotInPool',
      },
    ]);
    expect(a.poolOf('10.0.1.0')).toBeUndefined();
    expect(a.poolOf('10.0.1.1')).toBe('lab');
    expect(a.poolStatus('lab')).toMatchObject({ capacityIPv4: 2n, availableIPv4: 0n });
  });

  it('avoid keeps an address out of circulation and moves its holder on the next assign', () => {
    const a = new Allocator(configOf({ lab: { addresses: ['192.0.2.1-192.0.2.3'] } }));
    play(a, [
      { story: 's1 gets .1', assign: svc('s1'), want: { ips: ['192.0.2.1'] } },
      { story: 'a host answers ARP for .2', avoid: '192.0.2.2', reason: 'ARP reply from 02:00:00:00:00:01' },
      { story: 's2 skips .2', assign: svc('s2'), want: { ips: ['192.0.2.3'] } },
      {
        story: 'a conflict on .1 names its holder',
        avoid: '192.0.2.1',
        reason: 'ARP reply from 02:00:00:00:00:02',
        holders: ['default/s1'],
      },
      {
        story: 's1 is reassigned: nothing left',
        assign: svc('s1', { ingress: ['192.0.2.1'] }),
        fails:
          'Failed to allocate IP for "default/s1": no available IPs for IPv4: pool "lab" has no free IPv4 address',
        code: 'poolExhausted',
      },
      { story: 'the other host leaves .2', unavoid: '192.0.2.2' },
      {
        story: 's1 moves to .2 and says why',
        assign: svc('s1', { ingress: ['192.0.2.1'] }),
        want: {
          ips: ['192.0.2.2'],
          dropped: {
            ips: ['192.0.2.1'],
            reason: 'address "192.0.2.1" is avoided: ARP reply from 02:00:00:00:00:02',
          },
        },
      },
      {
        story: 'requesting an avoided address',
        assign: svc('s3', { annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.1' } }),
        fails:
          'Failed to allocate IP for "default/s3": requested IP "192.0.2.1" is avoided: ARP reply from 02:00:00:00:00:02',
        code: 'addressAvoided',
      },
    ]);
    expect(a.avoidedAddresses()).toEqual([{ ip: '192.0.2.1', reason: 'ARP reply from 02:00:00:00:00:02' }]);
    expect(a.poolStatus('lab')).toMatchObject({ assignedIPv4: 2n, availableIPv4: 0n });
  });
});

describe('Allocator: configuration changes', () => {
  it('moves holdings to their new pool, drops those left outside, and says why on reassign', () => {
    const a = new Allocator(configOf({ old: { addresses: ['192.0.2.0/30'] } }));
    a.assign(svc('s1'));
    a.assign(svc('s2'));
    const lost = a.setConfig(
      configOf({ renamed: { addresses: ['192.0.2.0/31'] }, fresh: { addresses: ['198.51.100.0/30'] } }),
    );
    expect(lost).toEqual([]);
    expect(a.allocationOf('default/s1')).toEqual({ pool: 'renamed', ips: ['192.0.2.0'] });
    expect(
      a.setConfig(
        configOf({ fresh: { addresses: ['198.51.100.0/30'] }, tiny: { addresses: ['192.0.2.1/32'] } }),
      ),
    ).toEqual(['default/s1']);
    expect(a.assign(svc('s1', { ingress: ['192.0.2.0'] }))).toMatchObject({
      pool: 'fresh',
      ips: ['198.51.100.0'],
      dropped: { ips: ['192.0.2.0'], reason: 'address "192.0.2.0" is no longer in any IPAddressPool' },
    });
  });

  it('with no pools at all, a Service gets a clear answer', () => {
    const a = new Allocator();
    expect(() => a.assign(svc('s'))).toThrow(
      'Failed to allocate IP for "default/s": no available IPs: no IPAddressPool is configured',
    );
  });

  it('an invalid Service keeps what it holds', () => {
    const a = new Allocator(configOf({ lab: { addresses: ['192.0.2.0/30'] } }));
    a.assign(svc('s'));
    expect(() => a.assign(svc('s', { annotations: { 'metallb.io/loadBalancerIPs': 'bogus' } }))).toThrow(
      AllocationError,
    );
    expect(a.allocationOf('default/s')?.ips).toEqual(['192.0.2.0']);
  });
});

describe('Allocator: huge pools', () => {
  it.each([
    ['an IPv4 /8', '10.0.0.0/8', ['IPv4'] as const, ['10.0.0.0', '10.0.0.1', '10.0.0.2']],
    ['an IPv6 /64', '2001:db8::/64', ['IPv6'] as const, ['2001:db8::', '2001:db8::1', '2001:db8::2']],
    ['a huge IPv6 range', '2000::/3', ['IPv6'] as const, ['2000::', '2000::1', '2000::2']],
  ])('allocates from %s without walking it', (_story, cidr, families, first) => {
    const a = new Allocator(configOf({ big: { addresses: [cidr] } }));
    const got = [0, 1, 2].map((i) => a.assign(svc(`s${i}`, { families: [...families] })).ips[0]);
    expect(got).toEqual(first);
    const status = a.poolStatus('big');
    expect((status?.assignedIPv4 ?? 0n) + (status?.assignedIPv6 ?? 0n)).toBe(3n);
  });
});
