// The controller on the real API server: how a LoadBalancer Service gets, keeps, shares and gives back an
// address. Each story runs its own controller process with its own config namespace and loadBalancerClass,
// so the stories (and other test files) never see each other's pools or Services.
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { stopAllControllers, waitMetric } from './support/controller.ts';
import { POOL_ANNOTATION, ingressIPs, type PoolSpec } from './support/objects.ts';
import { endWorlds, world as makeWorld, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const c = worldClients(kubeconfig);
const world = (id: string, pools: Record<string, PoolSpec>) => makeWorld(c, kubeconfig, `alloc-${id}`, pools);

afterEach(stopAllControllers);
afterAll(endWorlds);

describe('controller: allocation', () => {
  it('gives the lowest free address in spec order, annotates the pool and records IPAllocated', async () => {
    // the first range listed is used first, though the second is numerically lower
    const { env, ctl } = await world('basic', {
      lab: { addresses: ['192.0.2.10-192.0.2.11', '192.0.2.0/30'] },
    });
    await env.service('a');
    expect(await env.waitIPs('a')).toEqual(['192.0.2.10']);
    await env.service('b');
    expect(await env.waitIPs('b')).toEqual(['192.0.2.11']);
    await env.service('c');
    expect(await env.waitIPs('c')).toEqual(['192.0.2.0']);

    const a = await env.getService('a');
    expect(a?.metadata?.annotations?.[POOL_ANNOTATION]).toBe('lab');
    expect(a?.status?.loadBalancer?.ingress?.[0]?.ipMode).toBe('VIP');
    const ev = await env.waitEvent('a', 'IPAllocated');
    expect(ev.type).toBe('Normal');
    expect(ev.message).toContain('192.0.2.10');
    expect(ev.message).toContain('"lab"');
    expect(await ctl.metric('ironlb_controller_allocations_total', { source: 'autoAssign' })).toBe(3);
    await waitMetric(ctl, 'metallb_allocator_addresses_in_use_total', { pool: 'lab' }, 3);
    expect(await ctl.metric('metallb_allocator_addresses_total', { pool: 'lab' })).toBe(6);
  });

  it("gives a deleted Service's address to the next Service", async () => {
    const { env } = await world('reuse', { lab: { addresses: ['198.51.100.1-198.51.100.3'] } });
    await env.service('a');
    expect(await env.waitIPs('a')).toEqual(['198.51.100.1']);
    await env.service('b');
    expect(await env.waitIPs('b')).toEqual(['198.51.100.2']);
    await env.deleteService('a');
    // the controller learns of the delete from its watch; c must get a's address, the lowest free again
    await env.waitPoolStatus('lab', 'one address assigned', (st) => st.assignedIPv4 === 1);
    await env.service('c');
    expect(await env.waitIPs('c')).toEqual(['198.51.100.1']);
    expect(ingressIPs(await env.getService('b'))).toEqual(['198.51.100.2']);
  });

  it('honours spec.loadBalancerIP, metallb.io/loadBalancerIPs (one per family) and the old annotation', async () => {
    const { env, ctl } = await world('requested', {
      req: { addresses: ['203.0.113.0/28', 'fd00:db8:1::/124'] },
    });
    await env.service('by-spec', { loadBalancerIP: '203.0.113.7' });
    expect(await env.waitIPs('by-spec')).toEqual(['203.0.113.7']);

    await env.service('dual', {
      annotations: { 'metallb.io/loadBalancerIPs': '203.0.113.8,fd00:db8:1::8' },
      ipFamilyPolicy: 'RequireDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
    });
    expect((await env.waitIPs('dual', 2)).sort()).toEqual(['203.0.113.8', 'fd00:db8:1::8']);

    await env.service('old', { annotations: { 'metallb.universe.tf/loadBalancerIPs': '203.0.113.9' } });
    expect(await env.waitIPs('old')).toEqual(['203.0.113.9']);
    const warn = await env.waitEvent('old', 'deprecatedAnnotation');
    expect(warn.type).toBe('Warning');
    expect(warn.message).toContain('metallb.io/loadBalancerIPs');
    expect(await ctl.metric('ironlb_controller_allocations_total', { source: 'requested' })).toBe(3);

    // nothing else took the requested addresses: an unrequesting Service gets the lowest free one
    await env.service('auto');
    expect(await env.waitIPs('auto')).toEqual(['203.0.113.0']);
  });

  it('refuses contradictory or impossible requests with an AllocationFailed Event saying why', async () => {
    const { env } = await world('badrequest', { req: { addresses: ['203.0.113.16/28'] } });
    await env.service('both', {
      loadBalancerIP: '203.0.113.17',
      annotations: { 'metallb.io/loadBalancerIPs': '203.0.113.18' },
    });
    const both = await env.waitEvent('both', 'AllocationFailed');
    expect(both.type).toBe('Warning');
    expect(both.message).toContain('spec.loadBalancerIP and metallb.io/loadBalancerIPs are both set');

    await env.service('outside', { annotations: { 'metallb.io/loadBalancerIPs': '10.255.0.1' } });
    const outside = await env.waitEvent('outside', 'AllocationFailed');
    expect(outside.message).toContain('Failed to allocate IP for "ctl-alloc-badrequest/outside"');
    expect(outside.message).toContain('requested IP "10.255.0.1" is not in any IPAddressPool');

    await env.service('twov4', {
      annotations: { 'metallb.io/loadBalancerIPs': '203.0.113.19,203.0.113.20' },
    });
    expect((await env.waitEvent('twov4', 'AllocationFailed')).message).toContain('two IPv4 addresses');

    // a well-formed neighbour is served all the same, and the refused ones hold nothing
    await env.service('fine');
    expect(await env.waitIPs('fine')).toEqual(['203.0.113.16']);
    for (const name of ['both', 'outside', 'twov4'])
      expect(ingressIPs(await env.getService(name))).toEqual([]);
  });

  it('serves metallb.io/address-pool even from an autoAssign: false pool, which is never used otherwise', async () => {
    const { env } = await world('pools', {
      auto: { addresses: ['198.51.100.0/31'] },
      manual: { addresses: ['198.51.100.64/30'], autoAssign: false },
    });
    await env.service('asks', { annotations: { 'metallb.io/address-pool': 'manual' } });
    expect(await env.waitIPs('asks')).toEqual(['198.51.100.64']);
    expect((await env.getService('asks'))?.metadata?.annotations?.[POOL_ANNOTATION]).toBe('manual');

    await env.service('x1');
    await env.service('x2');
    expect(await env.waitIPs('x1')).toEqual(['198.51.100.0']);
    expect(await env.waitIPs('x2')).toEqual(['198.51.100.1']);
    // "auto" is full; "manual" has three free addresses but is not for automatic assignment
    await env.service('x3');
    const ev = await env.waitEvent('x3', 'AllocationFailed');
    expect(ev.message).toContain('no available IPs');
    expect(ingressIPs(await env.getService('x3'))).toEqual([]);
    await env.waitPoolStatus('manual', 'one address assigned', (st) => st.assignedIPv4 === 1);

    await env.service('ghost', { annotations: { 'metallb.io/address-pool': 'nope' } });
    expect((await env.waitEvent('ghost', 'AllocationFailed')).message).toContain('pool "nope"');
  });

  it('shares an address under one allow-shared-ip key when ports differ, and refuses it otherwise', async () => {
    const { env } = await world('sharing', { share: { addresses: ['192.0.2.64/29'] } });
    const key = (k: string, extra: Record<string, string> = {}) => ({
      'metallb.io/allow-shared-ip': k,
      ...extra,
    });
    await env.service('web', { annotations: key('k1'), ports: [{ port: 80 }] });
    expect(await env.waitIPs('web')).toEqual(['192.0.2.64']);
    await env.service('tls', { annotations: key('k1'), ports: [{ port: 443 }] });
    expect(await env.waitIPs('tls')).toEqual(['192.0.2.64']);
    // UDP 80 is another (protocol, port) pair
    await env.service('dns', { annotations: key('k1'), ports: [{ port: 80, protocol: 'UDP' }] });
    expect(await env.waitIPs('dns')).toEqual(['192.0.2.64']);

    // same key, same port, asking for that address: refused, naming the port and its owner
    await env.service('clash', {
      annotations: key('k1', { 'metallb.io/loadBalancerIPs': '192.0.2.64' }),
      ports: [{ port: 80 }],
    });
    const clash = await env.waitEvent('clash', 'AllocationFailed');
    expect(clash.message).toContain('port TCP/80 is already used by "ctl-alloc-sharing/web"');
    // same key, same port, no request: it simply gets an address of its own
    await env.service('own', { annotations: key('k1'), ports: [{ port: 80 }] });
    expect(await env.waitIPs('own')).toEqual(['192.0.2.65']);
    // no key at all: never shares
    await env.service('nokey', {
      annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.64' },
      ports: [{ port: 8080 }],
    });
    expect((await env.waitEvent('nokey', 'AllocationFailed')).message).toContain(
      'metallb.io/allow-shared-ip',
    );

    // externalTrafficPolicy Local: only Services with the same selector share
    await env.service('local-a', {
      annotations: key('k2'),
      externalTrafficPolicy: 'Local',
      selector: { app: 'a' },
      ports: [{ port: 80 }],
    });
    expect(await env.waitIPs('local-a')).toEqual(['192.0.2.66']);
    await env.service('local-b', {
      annotations: key('k2', { 'metallb.io/loadBalancerIPs': '192.0.2.66' }),
      externalTrafficPolicy: 'Local',
      selector: { app: 'b' },
      ports: [{ port: 81 }],
    });
    expect((await env.waitEvent('local-b', 'AllocationFailed')).message).toContain('different backends');
    await env.service('local-a2', {
      annotations: key('k2', { 'metallb.io/loadBalancerIPs': '192.0.2.66' }),
      externalTrafficPolicy: 'Local',
      selector: { app: 'a' },
      ports: [{ port: 81 }],
    });
    expect(await env.waitIPs('local-a2')).toEqual(['192.0.2.66']);

    // pool status counts a shared address once: .64 (web, tls, dns), .65 (own), .66 (local-a, local-a2)
    const st = await env.waitPoolStatus('share', '3 assigned', (x) => x.assignedIPv4 === 3);
    expect(st.availableIPv4).toBe(5);
    for (const name of ['clash', 'nokey', 'local-b'])
      expect(ingressIPs(await env.getService(name))).toEqual([]);
  });

  it('fails with "no available IPs" when the pool is exhausted and serves the waiting Service as soon as one is freed', async () => {
    const { env, ctl } = await world('exhaust', { tiny: { addresses: ['192.0.2.200-192.0.2.201'] } });
    await env.service('s1');
    await env.service('s2');
    expect(await env.waitIPs('s1')).toEqual(['192.0.2.200']);
    expect(await env.waitIPs('s2')).toEqual(['192.0.2.201']);
    await env.service('s3');
    const ev = await env.waitEvent('s3', 'AllocationFailed');
    expect(ev.message).toMatch(/^Failed to allocate IP for "ctl-alloc-exhaust\/s3": no available IPs/);
    expect(ev.message).toContain('pool "tiny"');
    await waitMetric(ctl, 'ironlb_controller_pending_services', undefined, 1);
    expect(
      await ctl.metric('ironlb_controller_allocation_failures_total', { reason: 'poolExhausted' }),
    ).toBeGreaterThan(0);

    const t0 = Date.now();
    await env.deleteService('s1');
    // the failed Service was parked with a 5-minute safety requeue; freeing an address must wake it at once
    expect(await env.waitIPs('s3', 1, { timeoutMs: 60_000 })).toEqual(['192.0.2.200']);
    const ms = Date.now() - t0;
    console.log(`exhaustion: waiting Service got the freed address ${ms} ms after the delete`);
    expect(ms).toBeLessThan(60_000);
    await waitMetric(ctl, 'ironlb_controller_pending_services', undefined, 0);
  });

  it('releases the address when a Service stops being a LoadBalancer', async () => {
    const { env } = await world('typechange', { lab: { addresses: ['192.0.2.128/30'] } });
    await env.service('flip');
    expect(await env.waitIPs('flip')).toEqual(['192.0.2.128']);
    // what a user does; the API server itself wipes status.loadBalancer and loadBalancerClass on this change
    await env.patchService('flip', { spec: { type: 'ClusterIP' } });
    const svc = await env.waitService(
      'flip',
      'status and pool annotation cleared',
      (s) => ingressIPs(s).length === 0 && s.metadata?.annotations?.[POOL_ANNOTATION] === undefined,
    );
    expect(svc.spec?.type).toBe('ClusterIP');
    expect((await env.waitEvent('flip', 'ClearAssignment')).message).toContain('no longer a LoadBalancer');
    await env.service('next');
    expect(await env.waitIPs('next')).toEqual(['192.0.2.128']);
  });
});
