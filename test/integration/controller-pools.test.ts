// The controller on the real API server, from the pools' side: removing a pool, serviceAllocation (namespaces,
// namespace labels that change, Service labels, priority), dual stack, pool status, and bad pools next to
// good ones. Each story has its own controller, config namespace and loadBalancerClass.
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { stopAllControllers, waitMetric } from './support/controller.ts';
import { POOL_ANNOTATION, ingressIPs, validCondition, type PoolSpec } from './support/objects.ts';
import { endWorlds, world as makeWorld, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const c = worldClients(kubeconfig);
const world = (id: string, pools: Record<string, PoolSpec>) => makeWorld(c, kubeconfig, `pools-${id}`, pools);
const poolOf = (svc: { metadata?: { annotations?: Record<string, string> } } | undefined) =>
  svc?.metadata?.annotations?.[POOL_ANNOTATION];

afterEach(stopAllControllers);
afterAll(endWorlds);

describe('controller: pools', () => {
  it('moves Services off a deleted pool into one that fits, and clears them when none is left', async () => {
    const { env } = await world('removal', {
      old: { addresses: ['192.0.2.0/30'] },
      spare: { addresses: ['198.51.100.0/30'] },
    });
    // both pools may serve; without serviceAllocation the first by name is used
    await env.service('a');
    await env.service('b');
    expect(await env.waitIPs('a')).toEqual(['192.0.2.0']);
    expect(await env.waitIPs('b')).toEqual(['192.0.2.1']);

    await env.deletePool('old');
    // annotation and status are two writes: wait for both
    await env.waitService(
      'a',
      'moved to 198.51.100.0 of pool "spare"',
      (s) => poolOf(s) === 'spare' && ingressIPs(s).join() === '198.51.100.0',
    );
    expect(await env.waitIPs('b')).toEqual(['198.51.100.1']);
    const cleared = await env.waitEvent('a', 'ClearAssignment');
    expect(cleared.type).toBe('Warning');
    expect(cleared.message).toContain('192.0.2.0');
    expect(cleared.message).toContain('no longer in any IPAddressPool');
    await env.waitEvent('a', 'IPAllocated', '198.51.100.0');

    await env.deletePool('spare');
    const gone = await env.waitService(
      'a',
      'no address and no pool annotation',
      (s) => ingressIPs(s).length === 0 && poolOf(s) === undefined,
    );
    expect(gone.status?.loadBalancer?.ingress ?? []).toEqual([]);
    await env.waitEvent('a', 'ClearAssignment', '198.51.100.0');
    expect((await env.waitEvent('b', 'AllocationFailed')).message).toContain('no available IPs');
  });

  it('serviceAllocation.namespaces keeps a pool for the listed namespaces', async () => {
    const { env } = await world('namespaces', {
      general: { addresses: ['192.0.2.16/30'] },
      reserved: { addresses: ['192.0.2.20/30'], serviceAllocation: { namespaces: ['ctl-pools-namespaces'] } },
    });
    const other = await env.namespace('other');
    await env.service('inside');
    await env.service('outside', {}, other);
    expect(await env.waitIPs('inside')).toEqual(['192.0.2.20']);
    expect(await env.waitIPs('outside', 1, { namespace: other })).toEqual(['192.0.2.16']);
    expect(poolOf(await env.getService('inside'))).toBe('reserved');
  });

  it('follows namespace labels: served once a namespaceSelector matches, moved when the label changes', async () => {
    const { env } = await world('nslabels', {
      'team-a': {
        addresses: ['192.0.2.32/30'],
        serviceAllocation: { namespaceSelectors: [{ matchLabels: { team: 'a' } }] },
      },
      'team-b': {
        addresses: ['192.0.2.48/30'],
        serviceAllocation: { namespaceSelectors: [{ matchLabels: { team: 'b' } }] },
      },
    });
    await env.service('app');
    const refused = await env.waitEvent('app', 'AllocationFailed');
    expect(refused.message).toContain('no IPAddressPool may serve this service');
    expect(refused.message).toContain('namespace "ctl-pools-nslabels" is not in its serviceAllocation');

    await env.labelNamespace(env.ns, { team: 'a' });
    expect(await env.waitIPs('app')).toEqual(['192.0.2.32']);
    expect(poolOf(await env.getService('app'))).toBe('team-a');

    await env.labelNamespace(env.ns, { team: 'b' });
    await env.waitService(
      'app',
      'moved to 192.0.2.48 of pool "team-b"',
      (s) => poolOf(s) === 'team-b' && ingressIPs(s).join() === '192.0.2.48',
    );
    expect((await env.waitEvent('app', 'ClearAssignment')).message).toContain(
      'no longer allows this service',
    );

    await env.labelNamespace(env.ns, { team: null });
    await env.waitService('app', 'address cleared', (s) => ingressIPs(s).length === 0);
  });

  it('serviceSelectors choose by Service labels, and lower priority numbers are tried first', async () => {
    const { env } = await world('selectors', {
      // no serviceAllocation: used only after every matching pool, whatever its name
      'aaa-general': { addresses: ['192.0.2.64/30'] },
      frontend: {
        addresses: ['192.0.2.68/32'],
        serviceAllocation: { serviceSelectors: [{ matchLabels: { tier: 'frontend' } }] },
      },
      p20: {
        addresses: ['192.0.2.80/32'],
        serviceAllocation: { priority: 20, namespaces: ['ctl-pools-selectors'] },
      },
      p10: {
        addresses: ['192.0.2.72/32'],
        serviceAllocation: { priority: 10, namespaces: ['ctl-pools-selectors'] },
      },
    });
    await env.service('fe', { labels: { tier: 'frontend' } });
    // frontend (no priority) comes after p10 and p20 for a frontend Service as well
    expect(await env.waitIPs('fe')).toEqual(['192.0.2.72']);
    await env.service('s2', { labels: { tier: 'frontend' } });
    expect(await env.waitIPs('s2')).toEqual(['192.0.2.80']);
    await env.service('s3', { labels: { tier: 'frontend' } });
    expect(await env.waitIPs('s3')).toEqual(['192.0.2.68']);
    expect(poolOf(await env.getService('s3'))).toBe('frontend');
    // a Service without the label skips "frontend"; the matching pools are full, so the general pool serves it
    await env.service('plain');
    expect(await env.waitIPs('plain')).toEqual(['192.0.2.64']);
    expect(poolOf(await env.getService('plain'))).toBe('aaa-general');
  });

  it('gives one address per family to dual-stack Services and refuses RequireDualStack from a one-family pool', async () => {
    const { env } = await world('dualstack', {
      dual: { addresses: ['192.0.2.96/30', 'fd00:db8:2::/126'] },
      v4only: { addresses: ['192.0.2.104/30'], autoAssign: false },
    });
    await env.service('single6', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] });
    expect(await env.waitIPs('single6')).toEqual(['fd00:db8:2::']);
    await env.service('prefer', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] });
    expect(await env.waitIPs('prefer', 2)).toEqual(['192.0.2.96', 'fd00:db8:2::1']);
    await env.service('prefer6', { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'] });
    // addresses in the Service's family order
    expect(await env.waitIPs('prefer6', 2)).toEqual(['fd00:db8:2::2', '192.0.2.97']);
    await env.service('require', { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] });
    expect(await env.waitIPs('require', 2)).toEqual(['192.0.2.98', 'fd00:db8:2::3']);

    // the v4-only pool: PreferDualStack settles for IPv4, RequireDualStack is refused and says why
    await env.service('prefer-v4only', {
      ipFamilyPolicy: 'PreferDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
      annotations: { 'metallb.io/address-pool': 'v4only' },
    });
    expect(await env.waitIPs('prefer-v4only')).toEqual(['192.0.2.104']);
    await env.service('require-v4only', {
      ipFamilyPolicy: 'RequireDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
      annotations: { 'metallb.io/address-pool': 'v4only' },
    });
    const ev = await env.waitEvent('require-v4only', 'AllocationFailed');
    expect(ev.message).toContain('pool "v4only" has no IPv6 addresses');
    expect(ingressIPs(await env.getService('require-v4only'))).toEqual([]);

    // status counts per family: dual has 4 + 4 addresses, 3 IPv4 and 4 IPv6 given out
    const st = await env.waitPoolStatus(
      'dual',
      'counts settled',
      (s) => s.assignedIPv4 === 3 && s.assignedIPv6 === 4,
    );
    expect(st).toMatchObject({ assignedIPv4: 3, availableIPv4: 1, assignedIPv6: 4, availableIPv6: 0 });
    expect(validCondition(st)).toMatchObject({ status: 'True', reason: 'Valid' });
    const v4 = await env.waitPoolStatus('v4only', 'one assigned', (s) => s.assignedIPv4 === 1);
    expect(v4).toMatchObject({ assignedIPv4: 1, availableIPv4: 3, assignedIPv6: 0, availableIPv6: 0 });
  });

  it('marks an overlapping pool Valid=False naming the pool it overlaps, and keeps serving from the valid one', async () => {
    const { env, ctl } = await world('overlap', { first: { addresses: ['192.0.2.112/29'] } });
    await waitMetric(ctl, 'metallb_k8s_client_config_stale_bool', undefined, 0);
    // no webhook here: the API server's schema alone admits the overlap, so the controller must cope
    await env.pool('second', { addresses: ['192.0.2.116-192.0.2.125'] });
    const bad = await env.waitPoolStatus(
      'second',
      'Valid=False',
      (s) => validCondition(s)?.status === 'False',
    );
    const cond = validCondition(bad);
    expect(cond?.reason).toBe('Invalid');
    expect(cond?.message).toContain('overlaps');
    expect(cond?.message).toContain('IPAddressPool "first"');
    const ev = await env.waitEvent('second', 'InvalidConfiguration', 'overlaps', { namespace: env.configNs });
    expect(ev.type).toBe('Warning');
    await waitMetric(ctl, 'metallb_k8s_client_config_stale_bool', undefined, 1);
    expect(await ctl.metric('ironlb_config_invalid_objects', { kind: 'IPAddressPool' })).toBe(1);

    const good = await env.waitPoolStatus('first', 'Valid=True', (s) => validCondition(s)?.status === 'True');
    expect(good.availableIPv4).toBe(8);
    await env.service('s');
    expect(await env.waitIPs('s')).toEqual(['192.0.2.112']);
    expect(poolOf(await env.getService('s'))).toBe('first');

    await env.deletePool('second');
    await waitMetric(ctl, 'metallb_k8s_client_config_stale_bool', undefined, 0);
  });

  it('keeps serving from a good pool next to a malformed one', async () => {
    const { env, ctl } = await world('malformed', {
      // a reversed range passes the CRD schema (each end is an address) but not the parse step
      broken: { addresses: ['192.0.2.150-192.0.2.140'] },
      good: { addresses: ['192.0.2.160/30'] },
    });
    const bad = await env.waitPoolStatus(
      'broken',
      'Valid=False',
      (s) => validCondition(s)?.status === 'False',
    );
    expect(validCondition(bad)?.message).toContain('reversed');
    await env.service('one');
    await env.service('two');
    expect(await env.waitIPs('one')).toEqual(['192.0.2.160']);
    expect(await env.waitIPs('two')).toEqual(['192.0.2.161']);
    // asking for the broken pool fails alone, with a reason
    await env.service('wants-broken', { annotations: { 'metallb.io/address-pool': 'broken' } });
    expect((await env.waitEvent('wants-broken', 'AllocationFailed')).message).toContain('pool "broken"');
    await env.service('three');
    expect(await env.waitIPs('three')).toEqual(['192.0.2.162']);
    expect(await ctl.metric('metallb_k8s_client_config_stale_bool')).toBe(1);
    const good = await env.waitPoolStatus('good', '3 assigned', (s) => s.assignedIPv4 === 3);
    expect(good.availableIPv4).toBe(1);
  });

  it('keeps the last working version of a pool when an edit breaks it, so no Service loses its address', async () => {
    const { env } = await world('badedit', { lab: { addresses: ['192.0.2.176/30'] } });
    await env.service('s');
    expect(await env.waitIPs('s')).toEqual(['192.0.2.176']);
    // without the webhook nothing stops this edit; MetalLB keeps running its last good configuration
    await env.pool('lab', { addresses: ['192.0.2.190-192.0.2.180'] });
    const bad = await env.waitPoolStatus(
      'lab',
      'Valid=False',
      (st) => validCondition(st)?.status === 'False',
    );
    expect(validCondition(bad)?.message).toContain('reversed');
    // a Service created afterwards is reconciled after s: once it has an address, s has been looked at again
    await env.service('probe');
    expect(await env.waitIPs('probe')).toEqual(['192.0.2.177']);
    expect(ingressIPs(await env.getService('s'))).toEqual(['192.0.2.176']);
    expect((await env.events('s')).map((e) => e.reason)).not.toContain('ClearAssignment');

    // a valid edit applies: the old addresses leave the pool, so both Services move
    await env.pool('lab', { addresses: ['192.0.2.184/30'] });
    await env.waitPoolStatus('lab', 'Valid=True', (st) => validCondition(st)?.status === 'True');
    expect(
      (await env.waitService('s', 'moved', (x) => ingressIPs(x)[0]?.startsWith('192.0.2.18') ?? false))
        .status,
    ).toBeDefined();
    await env.waitService('probe', 'moved', (x) => ingressIPs(x)[0]?.startsWith('192.0.2.18') ?? false);
    const both = [
      ingressIPs(await env.getService('s'))[0],
      ingressIPs(await env.getService('probe'))[0],
    ].sort();
    expect(both).toEqual(['192.0.2.184', '192.0.2.185']);
  });
});
