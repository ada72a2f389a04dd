// spec.loadBalancerClass: a controller without --lb-class serves only Services without a class; one with the
// flag serves exactly that class. Both run at once here, each with its own pools, and must never touch the
// other's Services (nor a third class nobody serves). This file runs a class-less controller, which would
// serve every class-less Service of the cluster: it refuses to start if another controller is running.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { otherControllers, startController, stopAllControllers } from './support/controller.ts';
import { POOL_ANNOTATION, TestEnv, ingressIPs } from './support/objects.ts';
import { allReconciled, endWorlds, trackEnv, worldClients } from './support/world.ts';

const kubeconfig = inject('kubeconfig');
const c = worldClients(kubeconfig);

beforeAll(() => {
  const others = otherControllers(kubeconfig);
  if (others.length > 0) {
    throw new Error(`Another ironlb-controller runs against this control plane (pids ${others.join(', ')})`);
  }
});
afterEach(stopAllControllers);
afterAll(endWorlds);

describe('controller: loadBalancerClass', () => {
  it('serves class-less Services without the flag, exactly its class with it, and leaves every other class alone', async () => {
    // one Service namespace; two config namespaces, one per controller
    const env = trackEnv(await new TestEnv(c, 'lbclass').create());
    const classed = trackEnv(await new TestEnv(c, 'lbclass-b').create());
    // the class-less controller's pool serves only this namespace: other files' class-less Services (if any
    // are left) get an AllocationFailed Event at most, never an address
    await env.pool('plain-pool', {
      addresses: ['192.0.2.10/32'],
      serviceAllocation: { namespaces: [env.ns] },
    });
    await classed.pool('class-pool', { addresses: ['198.51.100.10/32'] });

    const none = await startController({
      kubeconfig,
      namespace: env.configNs,
      identity: 'no-class',
      waitLeader: true,
    });
    const withClass = await startController({
      kubeconfig,
      namespace: classed.configNs,
      lbClass: env.lbClass,
      identity: 'with-class',
      waitLeader: true,
    });
    env.log = none.log;

    await env.service('plain', { lbClass: null });
    await env.service('classy', { lbClass: env.lbClass });
    await env.service('foreign', { lbClass: 'example.com/other' });
    expect(await env.waitIPs('plain')).toEqual(['192.0.2.10']);
    expect(await env.waitIPs('classy')).toEqual(['198.51.100.10']);
    expect((await env.getService('plain'))?.metadata?.annotations?.[POOL_ANNOTATION]).toBe('plain-pool');
    expect((await env.getService('classy'))?.metadata?.annotations?.[POOL_ANNOTATION]).toBe('class-pool');

    // Events are written after the status: wait for them before comparing the full lists
    await env.waitEvent('plain', 'IPAllocated');
    await env.waitEvent('classy', 'IPAllocated');
    // both have looked at every Service of the cluster at least once since
    await allReconciled(c, none);
    await allReconciled(c, withClass);
    const by = async (name: string) =>
      (await env.events(name)).map((e) => `${e.reportingInstance ?? e.source?.host}:${e.reason}`);
    expect(await by('plain')).toEqual(['no-class:IPAllocated']);
    expect(await by('classy')).toEqual(['with-class:IPAllocated']);
    // nobody serves example.com/other: no address, no Event, no annotation
    const foreign = await env.getService('foreign');
    expect(ingressIPs(foreign)).toEqual([]);
    expect(foreign?.metadata?.annotations?.[POOL_ANNOTATION]).toBeUndefined();
    expect(await by('foreign')).toEqual([]);

    // a change to each Service makes both controllers look at both again: neither may write to them
    const v1 = (await env.patchService('plain', { metadata: { labels: { touched: 'yes' } } })).metadata
      ?.resourceVersion;
    const v2 = (await env.patchService('classy', { metadata: { labels: { touched: 'yes' } } })).metadata
      ?.resourceVersion;
    // probes queued after those updates: once each controller has refused its probe, it has seen the updates
    await env.service('probe-plain', {
      lbClass: null,
      annotations: { 'metallb.io/loadBalancerIPs': '192.0.2.10' },
    });
    await env.service('probe-classy', {
      lbClass: env.lbClass,
      annotations: { 'metallb.io/loadBalancerIPs': '198.51.100.10' },
    });
    expect((await env.waitEvent('probe-plain', 'AllocationFailed')).reportingInstance).toBe('no-class');
    expect((await env.waitEvent('probe-classy', 'AllocationFailed')).reportingInstance).toBe('with-class');
    expect((await env.getService('plain'))?.metadata?.resourceVersion).toBe(v1);
    expect((await env.getService('classy'))?.metadata?.resourceVersion).toBe(v2);
    expect(await by('plain')).toEqual(['no-class:IPAllocated']);
    expect(await by('classy')).toEqual(['with-class:IPAllocated']);
  });
});
